"""The SDK's properties of a secret, key or certificate as plain data (an Item). No
SDK import at run time: the early listing (kvtui/core/lister.py) converts the sync
SDK's pages with it without loading the async clients."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kvtui.core.models import Item, Kind

if TYPE_CHECKING:
    from azure.keyvault.certificates import CertificateProperties
    from azure.keyvault.keys import KeyProperties
    from azure.keyvault.secrets import SecretProperties

    PropertiesOf = SecretProperties | KeyProperties | CertificateProperties


def _item(kind: Kind, p: PropertiesOf, with_version: bool, **extra: Any) -> Item:
    """The fields all three kinds' properties share, and the kind's own in ``extra``."""
    return Item(
        kind=kind,
        name=p.name or "",
        id=p.id or "",
        version=p.version if with_version else None,
        enabled=p.enabled is not False,
        created=p.created_on,
        updated=p.updated_on,
        not_before=p.not_before,
        expires=p.expires_on,
        tags=dict(p.tags or {}),
        recovery_level=p.recovery_level,
        recoverable_days=p.recoverable_days,
        **extra,
    )


def item_from_secret(p: SecretProperties, with_version: bool = False) -> Item:
    return _item(
        Kind.SECRETS, p, with_version, content_type=p.content_type, managed=bool(p.managed)
    )


def item_from_secret_json(data: dict[str, Any]) -> Item:
    """A secret of a listing page as the REST API sends it (a ``SecretItem``), as
    :func:`item_from_secret` makes it from the SDK's properties, without the SDK's
    models (a tenth of the time: the early listing converts pages with it)."""
    attributes = data.get("attributes") or {}
    path = urlsplit(str(data.get("id", ""))).path.strip("/").split("/")

    def when(key: str) -> datetime | None:
        value = attributes.get(key)
        return None if value is None else datetime.fromtimestamp(value, timezone.utc)

    return Item(
        kind=Kind.SECRETS,
        name=path[1] if len(path) > 1 else "",
        id=str(data.get("id", "")),
        enabled=attributes.get("enabled") is not False,
        created=when("created"),
        updated=when("updated"),
        not_before=when("nbf"),
        expires=when("exp"),
        tags=dict(data.get("tags") or {}),
        content_type=data.get("contentType"),
        managed=bool(data.get("managed")),
        recovery_level=attributes.get("recoveryLevel"),
        recoverable_days=attributes.get("recoverableDays"),
    )


def item_from_key(p: KeyProperties, with_version: bool = False) -> Item:
    return _item(Kind.KEYS, p, with_version, managed=bool(p.managed))


def item_from_certificate(p: CertificateProperties, with_version: bool = False) -> Item:
    x5t = p.x509_thumbprint
    return _item(Kind.CERTIFICATES, p, with_version, thumbprint=x5t.hex().upper() if x5t else None)


_ITEM_FIELDS = [f.name for f in fields(Item)]
_DATES = {"created", "updated", "not_before", "expires", "deleted", "purge_scheduled"}
#: Fields of an Item that are not kept (a deleted item's are not listings').
_SKIP = {"deleted", "purge_scheduled", "recovery_id"}


def item_to_json(item: Item) -> str:
    """An item's listing fields as compact JSON (the metadata cache's rows, the early
    listing's lines): never a value, and an Item has none."""
    out: dict[str, Any] = {}
    for name in _ITEM_FIELDS:
        if name in _SKIP or name == "kind":
            continue
        value = getattr(item, name)
        if value is None or value == () or value == {}:
            continue
        if name in _DATES:
            value = value.timestamp()
        elif name == "key_ops":
            value = list(value)
        out[name] = value
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def item_from_json(kind: Kind, text: str) -> Item:
    return item_from_data(kind, json.loads(text))


def item_from_data(kind: Kind, data: dict[str, Any]) -> Item:
    """:func:`item_to_json`'s object, decoded, as an Item again."""
    for name in _DATES & data.keys():
        data[name] = datetime.fromtimestamp(data[name], timezone.utc)
    if "key_ops" in data:
        data["key_ops"] = tuple(data["key_ops"])
    return Item(kind=kind, **data)
