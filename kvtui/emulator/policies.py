"""Per-item state that is not a version, as dataclasses: a certificate's policy and its
last operation, a key's rotation policy; and a vault's certificate issuers.

Each builds its JSON shape (``to_json``: what the service answers, and what persistence
and backups store) and reads it back (``from_json``) in one place. Plain data: what
clients send is checked elsewhere (certpolicy.py, keys.py); no HTTP, no vault.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# -- certificate policies ---------------------------------------------------------------


@dataclass
class KeyProps:
    """A certificate policy's ``key_props``."""

    kty: str
    """RSA, RSA-HSM, EC or EC-HSM."""
    exportable: bool = True
    reuse_key: bool = False
    key_size: int | None = None
    crv: str | None = None
    """EC keys only: P-256, P-384, P-521 or P-256K."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exportable": self.exportable, "kty": self.kty}
        if self.key_size is not None:
            out["key_size"] = self.key_size
        if self.crv is not None:
            out["crv"] = self.crv
        out["reuse_key"] = self.reuse_key
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KeyProps:
        return cls(
            kty=str(d["kty"]),
            exportable=bool(d.get("exportable", True)),
            reuse_key=bool(d.get("reuse_key", False)),
            key_size=None if d.get("key_size") is None else int(d["key_size"]),
            crv=d.get("crv"),
        )


@dataclass
class X509Props:
    """A certificate policy's ``x509_props``."""

    subject: str
    ekus: list[str]
    key_usage: list[str]
    validity_months: int
    sans: dict[str, list[str]] = field(default_factory=dict)
    """dns_names, emails, upns, uris, ipAddresses: only those given."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject": self.subject}
        if self.sans:
            out["sans"] = {k: list(v) for k, v in self.sans.items()}
        out["ekus"] = list(self.ekus)
        out["key_usage"] = list(self.key_usage)
        out["validity_months"] = self.validity_months
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> X509Props:
        return cls(
            subject=str(d.get("subject") or ""),
            ekus=list(d.get("ekus") or []),
            key_usage=list(d.get("key_usage") or []),
            validity_months=int(d.get("validity_months") or 12),
            sans={k: list(v) for k, v in (d.get("sans") or {}).items()},
        )


@dataclass
class LifetimeAction:
    """One of a certificate policy's ``lifetime_actions``."""

    action_type: str
    """AutoRenew or EmailContacts."""
    lifetime_percentage: int | None = None
    days_before_expiry: int | None = None

    def to_json(self) -> dict[str, Any]:
        trigger: dict[str, Any] = {}
        if self.lifetime_percentage is not None:
            trigger["lifetime_percentage"] = self.lifetime_percentage
        if self.days_before_expiry is not None:
            trigger["days_before_expiry"] = self.days_before_expiry
        return {"trigger": trigger, "action": {"action_type": self.action_type}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LifetimeAction:
        trigger = d.get("trigger") or {}
        action = d.get("action") or {}
        return cls(
            action_type=str(action.get("action_type") or ""),
            lifetime_percentage=trigger.get("lifetime_percentage"),
            days_before_expiry=trigger.get("days_before_expiry"),
        )


@dataclass
class IssuerParameters:
    """A certificate policy's (or operation's) ``issuer``."""

    name: str
    """Self, Unknown or an issuer of the vault."""
    cty: str | None = None
    cert_transparency: bool | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.cty is not None:
            out["cty"] = self.cty
        if self.cert_transparency is not None:
            out["cert_transparency"] = self.cert_transparency
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> IssuerParameters:
        return cls(
            name=str(d.get("name") or ""),
            cty=d.get("cty"),
            cert_transparency=d.get("cert_transparency"),
        )

    @property
    def unknown(self) -> bool:
        """Issuer ``Unknown``: the certificate waits for a signed chain to be merged."""
        return self.name.lower() == "unknown"


@dataclass
class PolicyAttributes:
    enabled: bool
    created: int
    updated: int

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "created": self.created, "updated": self.updated}


@dataclass
class CertificatePolicy:
    """A certificate's policy as the service stores it."""

    key_props: KeyProps
    content_type: str
    """``secret_props.contentType``: PKCS12 or PEM."""
    x509_props: X509Props
    lifetime_actions: list[LifetimeAction]
    issuer: IssuerParameters
    attributes: PolicyAttributes
    platform_managed: dict[str, Any] | None = None
    """``platformManaged`` (api-version 2026-04-01): ``certificateUsage`` and, when given,
    ``metadata`` (free-form JSON), kept as the client sent them; None when not given."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key_props": self.key_props.to_json(),
            "secret_props": {"contentType": self.content_type},
            "x509_props": self.x509_props.to_json(),
            "lifetime_actions": [a.to_json() for a in self.lifetime_actions],
            "issuer": self.issuer.to_json(),
            "attributes": self.attributes.to_json(),
        }
        if self.platform_managed is not None:
            out["platformManaged"] = copy.deepcopy(self.platform_managed)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CertificatePolicy:
        attrs = d.get("attributes") or {}
        return cls(
            key_props=KeyProps.from_json(d["key_props"]),
            content_type=str((d.get("secret_props") or {}).get("contentType") or ""),
            x509_props=X509Props.from_json(d.get("x509_props") or {}),
            lifetime_actions=[LifetimeAction.from_json(a) for a in d.get("lifetime_actions") or []],
            issuer=IssuerParameters.from_json(d.get("issuer") or {}),
            attributes=PolicyAttributes(
                enabled=attrs.get("enabled", True) is not False,
                created=int(attrs.get("created") or 0),
                updated=int(attrs.get("updated") or 0),
            ),
            platform_managed=copy.deepcopy(d.get("platformManaged")),
        )


@dataclass
class CertificateOperation:
    """A certificate's last operation (create, import or merge)."""

    issuer: IssuerParameters
    csr: str
    """base64 DER PKCS#10 (x509build.build_csr)."""
    version: str
    """The certificate version the operation makes."""
    request_id: str
    status: str = "inProgress"
    """inProgress, completed (or cancelled, failed)."""
    cancellation_requested: bool = False
    error: dict[str, Any] | None = None
    preserve_order: bool | None = None
    """``preserveCertOrder`` as the create or import asked (None: not given)."""

    def to_json(self) -> dict[str, Any]:
        """As persisted (certificates.py's ``operation_json`` is the service's shape)."""
        out: dict[str, Any] = {
            "issuer": self.issuer.to_json(),
            "csr": self.csr,
            "cancellation_requested": self.cancellation_requested,
            "status": self.status,
            "request_id": self.request_id,
            "version": self.version,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.preserve_order is not None:
            out["preserveCertOrder"] = self.preserve_order
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CertificateOperation:
        return cls(
            issuer=IssuerParameters.from_json(d.get("issuer") or {}),
            csr=str(d.get("csr") or ""),
            version=str(d["version"]),
            request_id=str(d.get("request_id") or ""),
            status=str(d.get("status") or "inProgress"),
            cancellation_requested=bool(d.get("cancellation_requested")),
            error=d.get("error"),
            preserve_order=d.get("preserveCertOrder"),
        )


@dataclass
class CertificateIssuer:
    """A certificate issuer configured in a vault (``/certificates/issuers/{name}``)."""

    name: str
    provider: str
    created: int
    updated: int
    enabled: bool = True
    credentials: dict[str, Any] | None = None
    """``account_id`` and ``pwd`` as the client gave them (the password is never answered)."""
    org_details: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """As persisted (certificates.py's ``issuer_json`` is the service's shape)."""
        out: dict[str, Any] = {"name": self.name, "provider": self.provider}
        if self.credentials is not None:
            out["credentials"] = self.credentials
        if self.org_details is not None:
            out["org_details"] = self.org_details
        out["attributes"] = {
            "enabled": self.enabled,
            "created": self.created,
            "updated": self.updated,
        }
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CertificateIssuer:
        attrs = d.get("attributes") or {}
        created = int(attrs.get("created") or 0)
        return cls(
            name=str(d["name"]),
            provider=str(d.get("provider") or ""),
            created=created,
            updated=int(attrs.get("updated") or created),
            enabled=attrs.get("enabled", True) is not False,
            credentials=d.get("credentials"),
            org_details=d.get("org_details"),
        )


# -- key rotation policies ---------------------------------------------------------------


@dataclass
class RotationAction:
    """One of a rotation policy's ``lifetimeActions``: exactly one trigger is set."""

    type: str
    """Rotate or Notify."""
    time_after_create: str | None = None
    """An ISO 8601 duration, e.g. P90D."""
    time_before_expiry: str | None = None

    def to_json(self) -> dict[str, Any]:
        trigger: dict[str, Any] = {}
        if self.time_after_create is not None:
            trigger["timeAfterCreate"] = self.time_after_create
        if self.time_before_expiry is not None:
            trigger["timeBeforeExpiry"] = self.time_before_expiry
        return {"trigger": trigger, "action": {"type": self.type}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RotationAction:
        trigger = d.get("trigger") or {}
        return cls(
            type=str((d.get("action") or {}).get("type") or ""),
            time_after_create=trigger.get("timeAfterCreate"),
            time_before_expiry=trigger.get("timeBeforeExpiry"),
        )


@dataclass
class RotationPolicy:
    """A key's rotation policy. The default one (never set) has no times."""

    actions: list[RotationAction]
    expiry_time: str | None = None
    """An ISO 8601 duration: how long a new version lives."""
    created: int | None = None
    updated: int | None = None

    @classmethod
    def default(cls) -> RotationPolicy:
        """What the service answers for a key whose policy was never set."""
        return cls([RotationAction("Notify", time_before_expiry="P30D")])

    def to_json(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        if self.expiry_time is not None:
            attributes["expiryTime"] = self.expiry_time
        attributes["created"] = self.created
        attributes["updated"] = self.updated
        return {
            "lifetimeActions": [a.to_json() for a in self.actions],
            "attributes": attributes,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RotationPolicy:
        attrs = d.get("attributes") or {}
        return cls(
            actions=[RotationAction.from_json(a) for a in d.get("lifetimeActions") or []],
            expiry_time=attrs.get("expiryTime"),
            created=attrs.get("created"),
            updated=attrs.get("updated"),
        )
