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

from azure.keyvault.certificates import (
    CertificateContentType,
    CertificatePolicy,
    CertificatePolicyAction,
    LifetimeAction,
)
from azure.keyvault.keys import (
    KeyReleasePolicy,
    KeyRotationLifetimeAction,
    KeyRotationPolicy,
    KeyRotationPolicyAction,
)

from kvtui.core.convert import item_from_certificate, item_from_key, item_from_secret
from kvtui.core.errors import VaultError
from kvtui.core.models import DeletedItem, Item, Kind
from kvtui.core.vault import VaultService, deleted_item, key_detail

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
            "rotate": "rotated", "create": "created", "import": "imported",
            "merge": "merged", "cancel": "cancelled",
            "delete operation": "changed",
            "set rotation policy of": "changed"}.get(action, action)  # fmt: skip


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


# -- keys and certificates: create ----------------------------------------------------

#: The key types and sizes or curves a new key can have, as the form lists them
#: (``"RSA 2048"``): the first is the default.
KEY_SHAPES = (
    "RSA 2048", "RSA 3072", "RSA 4096", "EC P-256", "EC P-384", "EC P-521",
    "RSA-HSM 2048", "RSA-HSM 3072", "RSA-HSM 4096", "EC-HSM P-256", "EC-HSM P-384",
    "EC-HSM P-521",
)  # fmt: skip
#: The operations a key of a type can be permitted (an EC key signs and verifies).
RSA_OPERATIONS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
EC_OPERATIONS = ("sign", "verify")


def key_shape(shape: str) -> tuple[str, int | None, str | None]:
    """``"RSA 2048"`` → ``("RSA", 2048, None)``; ``"EC P-256"`` → ``("EC", None, "P-256")``."""
    kty, _, size = shape.partition(" ")
    if kty.startswith("EC"):
        return kty, None, size
    return kty, int(size), None


def operations_for(kty: str) -> tuple[str, ...]:
    return EC_OPERATIONS if kty.startswith("EC") else RSA_OPERATIONS


@dataclass(frozen=True)
class NewKey:
    """What the new-key form sends."""

    shape: str = KEY_SHAPES[0]
    operations: tuple[str, ...] | None = None
    """None: every operation the type allows."""
    exportable: bool = False
    release_policy: bytes | None = None
    """The JSON release policy an exportable key must have."""
    fields: SecretFields = SecretFields()


async def create_key(service: VaultService, name: str, new: NewKey | None = None) -> Item:
    """A new key (or a new version of a key of that name), made in the vault."""
    new = new or NewKey()
    kty, size, curve = key_shape(new.shape)
    fields = new.fields
    kwargs: dict[str, Any] = {
        "size": size,
        "curve": curve,
        "key_operations": list(new.operations or operations_for(kty)),
        "enabled": fields.enabled,
        "not_before": fields.not_before,
        "expires_on": fields.expires,
        "tags": fields.tags,
    }
    if new.exportable:
        kwargs["exportable"] = True
    if new.release_policy is not None:
        kwargs["release_policy"] = KeyReleasePolicy(new.release_policy)

    async def send() -> Item:
        key = await service.keys.create_key(name, kty, **kwargs)
        return key_detail(key, with_version=True).item

    return await _write(service, Kind.KEYS, "create", name, send, _version)


@dataclass(frozen=True)
class NewCertificate:
    """What the new-certificate form sends: the policy's fields."""

    subject: str = ""
    issuer: str = "Self"
    """``Self`` (self-signed), ``Unknown`` (a CSR to have signed, then merged), or the
    name of an issuer configured in the vault."""
    dns_names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    upns: tuple[str, ...] = ()
    validity_months: int = 12
    shape: str = KEY_SHAPES[0]
    reuse_key: bool = False
    exportable: bool = True
    content_type: str = "application/x-pkcs12"
    """``application/x-pkcs12`` or ``application/x-pem-file``."""
    action: str = "AutoRenew"
    """The lifetime action: ``AutoRenew`` or ``EmailContacts``."""
    percentage: int | None = 80
    days_before: int | None = None
    enabled: bool = True
    tags: dict[str, str] | None = None

    def policy(self) -> CertificatePolicy:
        kty, size, curve = key_shape(self.shape)
        action = LifetimeAction(
            CertificatePolicyAction(self.action),
            lifetime_percentage=self.percentage,
            days_before_expiry=self.days_before,
        )
        return CertificatePolicy(
            issuer_name=self.issuer,
            subject=self.subject or None,
            san_dns_names=list(self.dns_names) or None,
            san_emails=list(self.emails) or None,
            san_user_principal_names=list(self.upns) or None,
            validity_in_months=self.validity_months,
            key_type=kty,
            key_size=size,
            key_curve_name=curve,
            reuse_key=self.reuse_key,
            exportable=self.exportable,
            content_type=CertificateContentType(self.content_type),
            lifetime_actions=[action],
        )


@dataclass(frozen=True)
class Created:
    """A certificate create's end: the certificate, or the operation still pending
    (Unknown issuer: a CSR to merge), cancelled or failed."""

    item: Item | None
    status: str
    """``completed``, ``inProgress`` (pending merge), ``cancelled`` or ``failed``."""
    detail: str = ""
    csr: bytes = b""


async def create_certificate(service: VaultService, name: str, new: NewCertificate) -> Created:
    """Create a certificate and wait (the SDK polls) until the vault has made it, or
    the operation stops: pending a merge (Unknown issuer), cancelled, failed."""
    policy = new.policy()

    async def send() -> Created:
        done = await service.certificates.create_certificate(
            name, policy, enabled=new.enabled, tags=new.tags
        )
        props = getattr(done, "properties", None)
        if props is not None:
            return Created(_item_of(Kind.CERTIFICATES, props), "completed")
        status = str(getattr(done, "status", "") or "")
        error = getattr(done, "error", None)
        detail = str(getattr(done, "status_details", "") or "")
        if error is not None and getattr(error, "message", None):
            detail = f"{detail} {error.message}".strip()
        return Created(None, status, detail, bytes(getattr(done, "csr", None) or b""))

    return await _write(service, Kind.CERTIFICATES, "create", name, send,
                        lambda c: c.item.version if c.item else None)  # fmt: skip


async def cancel_certificate_operation(service: VaultService, name: str) -> bool:
    """Ask the vault to cancel a pending create; True when it took the request (the
    operation then stops, or completes if it was already too late)."""

    async def send() -> bool:
        op = await service.certificates.cancel_certificate_operation(name)
        return bool(op.cancellation_requested) or str(op.status) == "cancelled"

    return await _write(service, Kind.CERTIFICATES, "cancel", name, send)


async def delete_certificate_operation(service: VaultService, name: str) -> None:
    """Delete a certificate's pending operation (its CSR and key with it)."""

    async def send() -> None:
        await service.certificates.delete_certificate_operation(name)

    await _write(service, Kind.CERTIFICATES, "delete operation", name, send)


@dataclass(frozen=True)
class RotationFields:
    """A key's rotation policy as the form edits it: ISO 8601 durations or None."""

    expires_in: str | None = None
    rotate_after: str | None = None
    """Rotate this long after a version is created."""
    rotate_before: str | None = None
    """Rotate this long before a version expires."""
    notify_before: str | None = None


def _rotation_fields(policy: Any) -> RotationFields:
    after = before = notify = None
    for action in policy.lifetime_actions or []:
        kind = str(getattr(action.action, "value", action.action)).lower()
        if kind == "rotate":
            after, before = action.time_after_create, action.time_before_expiry
        elif kind == "notify":
            notify = action.time_before_expiry
    return RotationFields(policy.expires_in, after, before, notify)


async def read_rotation_policy(service: VaultService, name: str) -> RotationFields:
    """A key's rotation policy (the vault's default when none was set)."""
    try:
        policy = await service.keys.get_key_rotation_policy(name)
    except Exception as exc:
        raise service.classify(exc, what=f"Reading the rotation policy of key {name}") from exc
    return _rotation_fields(policy)


async def set_rotation_policy(
    service: VaultService, name: str, fields: RotationFields
) -> RotationFields:
    """Replace a key's rotation policy; returns it as the vault now has it."""
    actions = []
    if fields.rotate_after or fields.rotate_before:
        actions.append(
            KeyRotationLifetimeAction(
                KeyRotationPolicyAction.rotate,
                time_after_create=fields.rotate_after,
                time_before_expiry=fields.rotate_before,
            )
        )
    if fields.notify_before:
        actions.append(
            KeyRotationLifetimeAction(
                KeyRotationPolicyAction.notify, time_before_expiry=fields.notify_before
            )
        )
    policy = KeyRotationPolicy(expires_in=fields.expires_in, lifetime_actions=actions)

    async def send() -> RotationFields:
        return _rotation_fields(await service.keys.update_key_rotation_policy(name, policy))

    return await _write(service, Kind.KEYS, "set rotation policy of", name, send)


# -- certificates: import -----------------------------------------------------------------


async def import_certificate(
    service: VaultService,
    name: str,
    data: bytes,
    password: str | None,
    content_type: str,
    *,
    enabled: bool | None = None,
    tags: dict[str, str] | None = None,
) -> Item:
    """A certificate with its private key from a file's bytes (a PFX and its password,
    or a PEM: ``content_type`` says which; kvtui/core/certfiles.py checks the file
    first), as a new certificate or a new version of ``name``. Never logs the bytes or
    the password."""
    policy = CertificatePolicy(content_type=CertificateContentType(content_type))

    async def send() -> Item:
        cert = await service.certificates.import_certificate(
            name, data, password=password or None, policy=policy, enabled=enabled, tags=tags
        )
        return _item_of(Kind.CERTIFICATES, cert.properties)

    return await _write(service, Kind.CERTIFICATES, "import", name, send, _version)
