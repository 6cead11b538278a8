"""Certificate policies from what clients send: defaults filled in and checked
(``normalize_policy``), and a PATCH applied (``merge_policy``); the result is a
:class:`~kvtui.emulator.policies.CertificatePolicy` (its JSON shape is built there).

Answers a bad policy with the service's 400 BadParameter. No vault state, no routes.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from kvtui.emulator.common import bad_parameter
from kvtui.emulator.crypto import CURVES, PrivateKey
from kvtui.emulator.policies import (
    CertificatePolicy,
    IssuerParameters,
    KeyProps,
    LifetimeAction,
    PolicyAttributes,
    X509Props,
)
from kvtui.emulator.x509build import (
    KEY_USAGES,
    PEM,
    PKCS12,
    parse_dn,
    props_from_certificate,
    san_names,
)

CONTENT_TYPES = (PKCS12, PEM)
RSA_SIZES = (2048, 3072, 4096)
OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
"""A dotted object identifier (an EKU), as x509.ObjectIdentifier takes it."""
DEFAULT_EKUS = [
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string,
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
]


LIFETIME_ACTIONS = ("AutoRenew", "EmailContacts")
SAN_KINDS = ("dns_names", "emails", "upns", "uris", "ipAddresses")


# -- shapes: a value of the wrong JSON type is the service's 400, never a 500 ------------


def _section(raw: dict[str, Any], name: str, within: str = "") -> dict[str, Any]:
    """``raw[name]``: a JSON object, or {} when absent or null (``within``: where
    ``raw`` is in the policy, for the message)."""
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_parameter(f"The policy's {within}{name} must be a JSON object.")
    return value


def _int(value: Any, what: str) -> int | None:
    """An integer field (None when absent); a whole float is taken as the service does."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_parameter(f"{what} must be an integer.")
    return value


def _str_list(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_parameter(f"{what} must be a list of strings.")
    return list(value)


def _platform_managed(raw: Any) -> dict[str, Any] | None:
    """``platformManaged`` (api-version 2026-04-01): ``certificateUsage`` (required) and
    free-form ``metadata``, kept as sent."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_parameter("The policy's platformManaged must be a JSON object.")
    usage = raw.get("certificateUsage")
    if not isinstance(usage, str) or not usage:
        raise bad_parameter("The policy's platformManaged.certificateUsage is required.")
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_parameter("The policy's platformManaged.metadata must be a JSON object.")
    out: dict[str, Any] = {"certificateUsage": usage}
    if metadata is not None:
        out["metadata"] = copy.deepcopy(metadata)
    return out


def _key_props(raw: dict[str, Any], key: PrivateKey | None) -> KeyProps:
    if raw.get("kty") is not None and not isinstance(raw["kty"], str):
        raise bad_parameter(f"Key type {raw['kty']} is not supported for certificates.")
    kty = str(raw.get("kty") or "").upper() or None
    if key is not None:
        base = "EC" if isinstance(key, ec.EllipticCurvePrivateKey) else "RSA"
        kty = f"{base}-HSM" if kty and kty.endswith("-HSM") else base
    kty = kty or ("EC" if raw.get("crv") else "RSA")
    if kty not in ("RSA", "RSA-HSM", "EC", "EC-HSM"):
        raise bad_parameter(f"Key type {raw.get('kty')} is not supported for certificates.")
    out = KeyProps(
        kty=kty,
        exportable=bool(raw["exportable"]) if raw.get("exportable") is not None else True,
        reuse_key=bool(raw.get("reuse_key") or False),
    )
    if kty.startswith("RSA"):
        given = _int(raw.get("key_size"), "key_size")
        size = key.key_size if isinstance(key, rsa.RSAPrivateKey) else (given or 2048)
        if size not in RSA_SIZES:
            raise bad_parameter(f"RSA key size {size} is not supported; use 2048, 3072 or 4096.")
        out.key_size = size
    else:
        crv = raw.get("crv") or "P-256"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            crv = next(n for n, c in CURVES.items() if c.name == key.curve.name)
        if not isinstance(crv, str) or crv not in CURVES:
            raise bad_parameter(f"Curve {crv} is not supported.")
        out.key_size = CURVES[crv].key_size
        out.crv = crv
    return out


def _x509_props(
    raw: dict[str, Any],
    kty: str,
    cert: x509.Certificate | None,
    platform_managed: dict[str, Any] | None,
) -> X509Props:
    if cert is not None:
        return X509Props.from_json(props_from_certificate(cert))
    raw_sans = _section(raw, "sans", "x509_props.")
    # Other members are not part of the service's shape: ignored, as the service does.
    sans = {k: _str_list(raw_sans.get(k), f"sans.{k}") or [] for k in SAN_KINDS}
    sans = {k: v for k, v in sans.items() if v}
    subject = raw.get("subject") or ""
    if not isinstance(subject, str):
        raise bad_parameter("The policy's subject must be a string.")
    if not subject and not sans:
        if platform_managed is not None:
            # The service names a platform-managed certificate from what the platform
            # knows (certificateUsage, metadata); the emulator cannot: refused as the
            # service refuses a request it does not support.
            raise bad_parameter(
                "A platform-managed certificate policy without a subject or subject "
                "alternative names is not supported by this emulator: give the policy "
                "a subject or subject alternative names."
            )
        raise bad_parameter("The policy must have a subject or subject alternative names.")
    if subject:
        parse_dn(subject)
    months = _int(raw.get("validity_months"), "validity_months") or 12
    if not 1 <= months <= 1200:
        raise bad_parameter("validity_months must be between 1 and 1200.")
    usages = _str_list(raw.get("key_usage"), "key_usage")
    if usages is None:
        usages = (
            ["digitalSignature", "keyEncipherment"]
            if kty.startswith("RSA")
            else ["digitalSignature"]
        )
    bad = [u for u in usages if u not in KEY_USAGES]
    if bad:
        raise bad_parameter(f"Unknown key usage {bad[0]}.")
    ekus = _str_list(raw.get("ekus"), "ekus")
    for oid in ekus or []:
        if not OID.fullmatch(oid):
            raise bad_parameter(f"The extended key usage {oid!r} is not an object identifier.")
    san_names(sans)
    return X509Props(
        subject=subject,
        ekus=list(DEFAULT_EKUS if ekus is None else ekus),
        key_usage=list(usages),
        validity_months=months,
        sans=sans,
    )


def normalize_policy(
    raw: dict[str, Any] | None,
    *,
    default_issuer: str,
    key: PrivateKey | None = None,
    cert: x509.Certificate | None = None,
    now: int,
) -> CertificatePolicy:
    """The full policy the service stores, from what a client sent (defaults filled in;
    for an import, key and x509 properties come from the imported key and certificate)."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise bad_parameter("The policy must be a JSON object.")
    platform_managed = _platform_managed(raw.get("platformManaged"))
    key_props = _key_props(_section(raw, "key_props"), key)
    content_type = _section(raw, "secret_props").get("contentType") or PKCS12
    if content_type not in CONTENT_TYPES:
        raise bad_parameter(f"Content type {content_type} is not supported.")
    raw_issuer = _section(raw, "issuer")
    for field in ("name", "cty"):
        if raw_issuer.get(field) is not None and not isinstance(raw_issuer[field], str):
            raise bad_parameter(f"The policy's issuer.{field} must be a string.")
    if not isinstance(raw_issuer.get("cert_transparency"), bool | None):
        raise bad_parameter("The policy's issuer.cert_transparency must be true or false.")
    issuer = IssuerParameters.from_json(raw_issuer)
    issuer.name = issuer.name or default_issuer
    actions = _lifetime_actions(raw.get("lifetime_actions"))
    if not actions:
        kind = "EmailContacts" if issuer.unknown else "AutoRenew"
        actions = [LifetimeAction(kind, lifetime_percentage=80)]
    attrs = _section(raw, "attributes")
    return CertificatePolicy(
        key_props=key_props,
        content_type=content_type,
        x509_props=_x509_props(_section(raw, "x509_props"), key_props.kty, cert, platform_managed),
        lifetime_actions=actions,
        issuer=issuer,
        attributes=PolicyAttributes(
            enabled=attrs.get("enabled") is not False, created=now, updated=now
        ),
        platform_managed=platform_managed,
    )


def _lifetime_actions(raw: Any) -> list[LifetimeAction]:
    if not isinstance(raw, list | None) or not all(isinstance(a, dict) for a in raw or []):
        raise bad_parameter("The policy's lifetime_actions must be a list of objects.")
    actions = []
    for a in raw or []:
        trigger = _section(a, "trigger", "lifetime_actions.")
        action = _section(a, "action", "lifetime_actions.")
        kind = action.get("action_type")
        canonical = next(
            (k for k in LIFETIME_ACTIONS if isinstance(kind, str) and k.lower() == kind.lower()),
            None,
        )
        if canonical is None:
            raise bad_parameter(
                f"The lifetime action type {kind} is not supported; use AutoRenew or EmailContacts."
            )
        actions.append(
            LifetimeAction(
                canonical,
                lifetime_percentage=_int(trigger.get("lifetime_percentage"), "lifetime_percentage"),
                days_before_expiry=_int(trigger.get("days_before_expiry"), "days_before_expiry"),
            )
        )
    return actions


def merge_policy(old: CertificatePolicy, patch: dict[str, Any], now: int) -> CertificatePolicy:
    """A policy PATCH: each given section's given fields replace the stored ones;
    ``now`` (unix seconds): the time it is updated at."""
    raw: dict[str, Any] = old.to_json()
    for section in ("key_props", "secret_props", "x509_props", "issuer"):
        given = _section(patch, section)
        raw.setdefault(section, {}).update({k: v for k, v in given.items() if v is not None})
    if patch.get("lifetime_actions"):
        raw["lifetime_actions"] = patch["lifetime_actions"]
    if patch.get("platformManaged") is not None:  # replaced whole; null leaves it as it is
        raw["platformManaged"] = patch["platformManaged"]
    if _section(patch, "attributes").get("enabled") is not None:
        raw["attributes"]["enabled"] = bool(patch["attributes"]["enabled"])
    policy = normalize_policy(raw, default_issuer=raw["issuer"].get("name") or "Unknown", now=now)
    policy.attributes.created = old.attributes.created
    policy.attributes.enabled = raw["attributes"].get("enabled", True)
    return policy
