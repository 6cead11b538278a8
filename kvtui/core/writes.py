"""Writes to a vault, without Textual: the secrets' create, new version, edit of
properties, delete, recover, purge and restore, over the service's SecretClient.

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
from kvtui.core.vault import VaultService, deleted_item, item_from_secret

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
            "purge": "purged", "restore": "restored"}.get(action, action)  # fmt: skip


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
