"""Plain data the UI shows: no SDK objects leak past the vault service."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


class Kind(str, enum.Enum):
    SECRETS = "secrets"
    KEYS = "keys"
    CERTIFICATES = "certificates"

    @property
    def singular(self) -> str:
        return self.value[:-1]


class Status(str, enum.Enum):
    OK = "ok"
    DISABLED = "disabled"
    NOT_YET_VALID = "not yet valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"


@dataclass(slots=True)
class Item:
    """One secret, key or certificate (a version of it when ``version`` is set)."""

    kind: Kind
    name: str
    id: str
    version: str | None = None
    enabled: bool = True
    created: datetime | None = None
    updated: datetime | None = None
    not_before: datetime | None = None
    expires: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    managed: bool = False
    recovery_level: str | None = None
    recoverable_days: int | None = None
    # keys
    key_type: str | None = None
    key_size: int | None = None
    curve: str | None = None
    key_ops: tuple[str, ...] = ()
    # certificates
    subject: str | None = None
    thumbprint: str | None = None
    # deleted items (the tab's deleted view, ``D``)
    deleted: datetime | None = None
    purge_scheduled: datetime | None = None
    recovery_id: str | None = None

    def status(self, now: datetime | None = None, warn_days: int = 30) -> Status:
        """Expired and expiring outrank disabled: they are what must not be missed."""
        t = now or datetime.now(timezone.utc)
        if self.expires is not None and self.expires <= t:
            return Status.EXPIRED
        if self.expires is not None and self.expires <= t + timedelta(days=warn_days):
            return Status.EXPIRING
        if not self.enabled:
            return Status.DISABLED
        if self.not_before is not None and self.not_before > t:
            return Status.NOT_YET_VALID
        return Status.OK

    @property
    def versionless_id(self) -> str:
        if self.version and self.id.endswith("/" + self.version):
            return self.id[: -len(self.version) - 1]
        return self.id


@dataclass(slots=True)
class DeletedItem:
    """A deleted secret, key or certificate, kept by the vault until it is purged (by
    someone, or by the vault at ``purge_scheduled``); ``recovery_id`` brings it back."""

    item: Item
    recovery_id: str | None
    deleted: datetime | None
    purge_scheduled: datetime | None


# -- details (the detail pane of the vault screen) ------------------------------------------
# A detail's ``item`` always has ``version`` set: the version asked for, or the current
# one, so ``item.id`` is versioned and ``item.versionless_id`` is not.


@dataclass(slots=True)
class SecretDetail:
    """A secret's (or one version's) properties: never its value."""

    item: Item
    key_id: str | None = None
    """Set when the secret backs a certificate (``kid`` of the certificate's key)."""


@dataclass(slots=True)
class RotationPolicySummary:
    """A key's rotation policy as lines of text: ``"Rotate 30 days before expiry"``."""

    actions: tuple[str, ...] = ()
    expires_after: str | None = None
    """Expiry given to new versions, as text (``"90 days"``), from ``expiryTime``."""
    created: datetime | None = None
    updated: datetime | None = None


@dataclass(slots=True)
class KeyDetail:
    item: Item
    key_type: str | None = None
    key_size: int | None = None
    """RSA modulus size in bits, from ``n``."""
    curve: str | None = None
    key_ops: tuple[str, ...] = ()
    public_jwk: tuple[tuple[str, str], ...] = ()
    """The public JWK parts in order (``n``, ``e`` or ``crv``, ``x``, ``y``), base64url."""
    exportable: bool = False
    release_policy: bool = False
    hsm: bool = False
    rotation_policy: RotationPolicySummary | None = None
    rotation_policy_error: str | None = None
    """Why the rotation policy is unavailable (e.g. no getrotationpolicy permission)."""


@dataclass(slots=True)
class CertificatePolicySummary:
    issuer_name: str | None = None
    subject: str | None = None
    key_type: str | None = None
    key_size: int | None = None
    curve: str | None = None
    exportable: bool | None = None
    reuse_key: bool | None = None
    content_type: str | None = None
    validity_months: int | None = None
    lifetime_actions: tuple[str, ...] = ()
    """As text: ``"Email contacts at 80 % of lifetime"``, ``"Auto-renew 30 days before expiry"``."""


@dataclass(slots=True)
class CertificateDetail:
    item: Item
    subject: str = ""
    sans: tuple[tuple[str, str], ...] = ()
    """(type, value): type is DNS, email, UPN, IP or URI."""
    issuer: str = ""
    serial: str = ""
    """Hex, upper case, as the portal shows it."""
    sha1: str = ""
    sha256: str = ""
    not_before: datetime | None = None
    not_after: datetime | None = None
    key_type: str | None = None
    key_size: int | None = None
    curve: str | None = None
    signature_algorithm: str | None = None
    self_signed: bool = False
    key_id: str | None = None
    secret_id: str | None = None
    policy: CertificatePolicySummary | None = None
    policy_error: str | None = None
    cer: bytes = field(default=b"", repr=False)
    """The public certificate, DER (never the private key)."""
