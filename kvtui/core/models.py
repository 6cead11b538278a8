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
