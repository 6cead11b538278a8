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


#: An Item's listing fields, in its own order after ``kind``: the metadata cache's rows
#: and the early listing's lines are JSON arrays of them (positional: a third of the
#: time of an object a row to read back; trailing empty fields are left off). Never a
#: value, and an Item has none. The fields after these (a deleted item's) are not kept.
ROW_FIELDS = (
    "name",
    "id",
    "version",
    "enabled",
    "created",
    "updated",
    "not_before",
    "expires",
    "tags",
    "content_type",
    "managed",
    "recovery_level",
    "recoverable_days",
    "key_type",
    "key_size",
    "curve",
    "key_ops",
    "subject",
    "thumbprint",
)
if tuple(f.name for f in fields(Item))[1 : len(ROW_FIELDS) + 1] != ROW_FIELDS:
    raise RuntimeError("kvtui.core.convert.ROW_FIELDS no longer follows Item's fields")
_DATE_AT = tuple(ROW_FIELDS.index(n) for n in ("created", "updated", "not_before", "expires"))
_TAGS_AT = ROW_FIELDS.index("tags")
_OPS_AT = ROW_FIELDS.index("key_ops")
_UTC = timezone.utc
#: Rows decoded per call of the JSON decoder (which holds the GIL throughout).
DECODE_CHUNK = 500


def item_to_row(item: Item) -> list[Any]:
    """An item's listing fields as a list for JSON (:data:`ROW_FIELDS`): dates as
    seconds since the epoch, empty tags and operations as null."""
    row: list[Any] = [getattr(item, name) for name in ROW_FIELDS]
    for at in _DATE_AT:
        if row[at] is not None:
            row[at] = row[at].timestamp()
    row[_TAGS_AT] = row[_TAGS_AT] or None
    row[_OPS_AT] = list(row[_OPS_AT]) or None
    while row and row[-1] is None:
        row.pop()
    return row


def item_to_json(item: Item) -> str:
    """:func:`item_to_row` as compact JSON."""
    return json.dumps(item_to_row(item), separators=(",", ":"), ensure_ascii=False)


def item_from_row(kind: Kind, row: list[Any]) -> Item:
    """:func:`item_to_row`'s list, decoded from JSON, as an Item again (the list is
    reused). TypeError or ValueError if it is not one."""
    if not isinstance(row, list):
        raise TypeError(f"an item's row is a list, not {type(row).__name__}")
    size = len(row)
    fromtimestamp = datetime.fromtimestamp
    for at in _DATE_AT:
        if at < size and row[at] is not None:
            row[at] = fromtimestamp(row[at], _UTC)
    if size > _TAGS_AT and row[_TAGS_AT] is None:
        row[_TAGS_AT] = {}
    if size > _OPS_AT:
        row[_OPS_AT] = tuple(row[_OPS_AT] or ())
    return Item(kind, *row)


def items_from_json(kind: Kind, rows: list[str]) -> list[Item]:
    """Rows of :func:`item_to_json` as Items, decoded a few hundred at a time as one
    JSON array (a call a row took twice the time; one call for 50k rows held the GIL,
    and so the app's event loop, for a tenth of a second)."""
    items: list[Item] = []
    for start in range(0, len(rows), DECODE_CHUNK):
        chunk = json.loads("[" + ",".join(rows[start : start + DECODE_CHUNK]) + "]")
        items.extend(item_from_row(kind, row) for row in chunk)
    return items
