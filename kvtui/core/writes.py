"""Writes to a vault, without Textual: the secrets' create and new version; for every
kind, the edit of properties, delete, recover, purge, backup (a read) and restore, over
the service's SDK clients.

Every write goes through :func:`_write`:

- **Read-only first.** When the service's vault is read-only (``--read-only``, or a
  ``read_only_vaults`` pattern: :mod:`kvtui.core.readonly`), the write is refused with
  :class:`ReadOnlyVault` before any request is sent. The UI hides write actions in
  that mode too; this is the second lock.
- **Errors as reads have them**: :func:`~kvtui.core.errors.classify` words a 403 with
  the permission and the role that grants it, a 409, throttling, the network.
- **An audit record** in the log file (logger ``kvtui.audit``): kind, name, action,
  version and outcome. Never a value; names are logged escaped (``%r``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from kvtui.core.errors import VaultError
from kvtui.core.models import DeletedItem, Item, Kind
from kvtui.core.vault import (
    VaultService,
    deleted_item,
    item_from_certificate,
    item_from_key,
    item_from_secret,
)

audit = logging.getLogger("kvtui.audit")

T = TypeVar("T")


class ReadOnlyVault(VaultError):
    """A write refused before any request: the vault is read-only. ``rule`` says why
    (``--read-only``, ``matches prod-*``)."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


async def _write(
    service: VaultService,
    kind: Kind,
    action: str,
    name: str,
    send: Callable[[], Awaitable[T]],
    version_of: Callable[[T], str | None] = lambda _: None,
) -> T:
    """``send()`` unless the vault is read-only; the outcome in the audit log."""
    rule = service.read_only_rule
    if rule is not None:
        audit.info("refused %s %s %r: read-only (%s)", action, kind.singular, name, rule)
        raise ReadOnlyVault(
            f"Not sent: this vault is read-only ({rule}), so {kind.singular} {name} "
            f"was not {_past(action)}.",
            rule,
        )
    try:
        result = await send()
    except Exception as exc:
        error = service.classify(exc, what=f"{action.capitalize()} {kind.singular} {name}")
        audit.warning(
            "failed %s %s %r: %s (%s)",
            action,
            kind.singular,
            name,
            type(error).__name__,
            error.status if error.status is not None else "no answer",
        )
        raise error from exc
    audit.info("%s %s %r version=%s: ok", action, kind.singular, name, version_of(result) or "-")
    return result


def _past(action: str) -> str:
    return {"set": "set", "update": "updated", "delete": "deleted", "recover": "recovered",
            "purge": "purged", "restore": "restored",
            "rotate": "rotated"}.get(action, action)  # fmt: skip


def _version(item: Item) -> str | None:
    return item.version


@dataclass(frozen=True, slots=True)
class SecretFields:
    """What a secret's form sets besides its value; None leaves a property as it is
    (on a new secret: the service's default)."""

    content_type: str | None = None
    tags: dict[str, str] | None = None
    enabled: bool | None = None
    not_before: datetime | None = None
    expires: datetime | None = None

    def sdk_kwargs(self) -> dict[str, Any]:
        return {
            "content_type": self.content_type,
            "tags": self.tags,
            "enabled": self.enabled,
            "not_before": self.not_before,
            "expires_on": self.expires,
        }


async def set_secret(
    service: VaultService, name: str, value: str, fields: SecretFields | None = None
) -> Item:
    """A new secret, or a new version of one: the new version's properties."""
    kwargs = (fields or SecretFields()).sdk_kwargs()

    async def send() -> Item:
        secret = await service.secrets.set_secret(name, value, **kwargs)
        return item_from_secret(secret.properties, with_version=True)

    return await _write(service, Kind.SECRETS, "set", name, send, _version)


async def update_secret_properties(
    service: VaultService, name: str, fields: SecretFields, version: str | None = None
) -> Item:
    """Change a version's properties (the current one by default), not its value."""

    async def send() -> Item:
        props = await service.secrets.update_secret_properties(name, version, **fields.sdk_kwargs())
        return item_from_secret(props, with_version=True)

    return await _write(service, Kind.SECRETS, "update", name, send, _version)


async def delete_secret(service: VaultService, name: str) -> DeletedItem:
    """Delete a secret (every version); soft-deleted where the vault keeps deleted
    items. Returns once the service says it is deleted."""

    async def send() -> DeletedItem:
        return deleted_item(Kind.SECRETS, await service.secrets.delete_secret(name))

    return await _write(service, Kind.SECRETS, "delete", name, send)


async def recover_deleted_secret(service: VaultService, name: str) -> Item:
    """Bring a deleted secret back; returns once it reads back."""

    async def send() -> Item:
        secret = await service.secrets.recover_deleted_secret(name)
        return item_from_secret(secret, with_version=True)

    return await _write(service, Kind.SECRETS, "recover", name, send, _version)


async def purge_deleted_secret(service: VaultService, name: str) -> None:
    """Delete a deleted secret for good (refused under purge protection)."""
    await _write(
        service, Kind.SECRETS, "purge", name, lambda: service.secrets.purge_deleted_secret(name)
    )


async def restore_secret_backup(service: VaultService, backup: bytes) -> Item:
    """A secret from a backup blob (``backup_secret``), with all its versions."""

    async def send() -> Item:
        props = await service.secrets.restore_secret_backup(backup)
        return item_from_secret(props, with_version=True)

    return await _write(service, Kind.SECRETS, "restore", "(from a backup)", send, _version)


# -- every kind: properties, delete, recover, purge, backup, restore ----------------------


def _item_of(kind: Kind, props: Any) -> Item:
    if kind is Kind.SECRETS:
        return item_from_secret(props, with_version=True)
    if kind is Kind.KEYS:
        return item_from_key(props, with_version=True)
    return item_from_certificate(props, with_version=True)


async def update_properties(
    service: VaultService, kind: Kind, name: str, fields: SecretFields, version: str | None = None
) -> Item:
    """Change a secret's, key's or certificate's properties (enabled, dates, tags; a
    secret's content type), never its value or key material."""
    if kind is Kind.SECRETS:
        return await update_secret_properties(service, name, fields, version)
    kwargs: dict[str, Any] = {
        "enabled": fields.enabled,
        "not_before": fields.not_before,
        "expires_on": fields.expires,
        "tags": fields.tags,
    }
    if kind is Kind.CERTIFICATES:
        # A certificate's dates come from the certificate itself: only these change.
        kwargs = {"enabled": fields.enabled, "tags": fields.tags}

    async def send() -> Item:
        if kind is Kind.KEYS:
            key = await service.keys.update_key_properties(name, version, **kwargs)
            return _item_of(kind, key.properties)
        cert = await service.certificates.update_certificate_properties(name, version, **kwargs)
        return _item_of(kind, cert.properties)

    return await _write(service, kind, "update", name, send, _version)


async def delete_item(service: VaultService, kind: Kind, name: str) -> DeletedItem:
    """Delete an item of any kind (every version); returns once the service says so."""
    if kind is Kind.SECRETS:
        return await delete_secret(service, name)

    async def send() -> DeletedItem:
        if kind is Kind.KEYS:
            gone: Any = await service.keys.delete_key(name)
        else:
            gone = await service.certificates.delete_certificate(name)
        return deleted_item(kind, gone)

    return await _write(service, kind, "delete", name, send)


async def recover_item(service: VaultService, kind: Kind, name: str) -> Item:
    """Bring a deleted item back; returns once it reads back (the SDK polls for it)."""
    if kind is Kind.SECRETS:
        return await recover_deleted_secret(service, name)

    async def send() -> Item:
        if kind is Kind.KEYS:
            key = await service.keys.recover_deleted_key(name)
            return _item_of(kind, key.properties)
        cert = await service.certificates.recover_deleted_certificate(name)
        return _item_of(kind, cert.properties)

    return await _write(service, kind, "recover", name, send, _version)


async def purge_item(service: VaultService, kind: Kind, name: str) -> None:
    """Delete a deleted item for good (refused under purge protection)."""
    if kind is Kind.SECRETS:
        await purge_deleted_secret(service, name)
        return

    async def send() -> None:
        if kind is Kind.KEYS:
            await service.keys.purge_deleted_key(name)
        else:
            await service.certificates.purge_deleted_certificate(name)

    await _write(service, kind, "purge", name, send)


async def backup_item(service: VaultService, kind: Kind, name: str) -> bytes:
    """The item's protected backup blob (every version; only a vault of the same
    subscription and geography can restore it). A read: allowed read-only."""
    try:
        if kind is Kind.SECRETS:
            blob = await service.secrets.backup_secret(name)
        elif kind is Kind.KEYS:
            blob = await service.keys.backup_key(name)
        else:
            blob = await service.certificates.backup_certificate(name)
    except Exception as exc:
        raise service.classify(exc, what=f"Backing up {kind.singular} {name}") from exc
    audit.info("backup %s %r: ok", kind.singular, name)
    return bytes(blob)


async def restore_item(service: VaultService, kind: Kind, backup: bytes) -> Item:
    """An item from a backup blob, with all its versions."""
    if kind is Kind.SECRETS:
        return await restore_secret_backup(service, backup)

    async def send() -> Item:
        if kind is Kind.KEYS:
            key = await service.keys.restore_key_backup(backup)
            return _item_of(kind, key.properties)
        cert = await service.certificates.restore_certificate_backup(backup)
        return _item_of(kind, cert.properties)

    return await _write(service, kind, "restore", "(from a backup)", send, _version)


async def rotate_key(service: VaultService, name: str) -> Item:
    """A new version of a key now, made as its rotation policy says (type, size)."""

    async def send() -> Item:
        key = await service.keys.rotate_key(name)
        return _item_of(Kind.KEYS, key.properties)

    return await _write(service, Kind.KEYS, "rotate", name, send, _version)
