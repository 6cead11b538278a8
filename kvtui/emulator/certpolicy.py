"""Certificate policies from what clients send: defaults filled in and checked
(``normalize_policy``), and a PATCH applied (``merge_policy``); the result is a
:class:`~kvtui.emulator.policies.CertificatePolicy` (its JSON shape is built there).

Answers a bad policy with the service's 400 BadParameter. No vault state, no routes.
"""

from __future__ import annotations

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
DEFAULT_EKUS = [
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string,
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
]


def _key_props(raw: dict[str, Any], key: PrivateKey | None) -> KeyProps:
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
        size = key.key_size if isinstance(key, rsa.RSAPrivateKey) else raw.get("key_size")
        size = int(size or 2048)
        if size not in RSA_SIZES:
            raise bad_parameter(f"RSA key size {size} is not supported; use 2048, 3072 or 4096.")
        out.key_size = size
    else:
        crv = raw.get("crv") or "P-256"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            crv = next(n for n, c in CURVES.items() if c.name == key.curve.name)
        if crv not in CURVES:
            raise bad_parameter(f"Curve {crv} is not supported.")
        out.key_size = CURVES[crv].key_size
        out.crv = crv
    return out


def _x509_props(raw: dict[str, Any], kty: str, cert: x509.Certificate | None) -> X509Props:
    if cert is not None:
        return X509Props.from_json(props_from_certificate(cert))
    sans = {k: list(v) for k, v in (raw.get("sans") or {}).items() if v}
    subject = raw.get("subject") or ""
    if not subject and not sans:
        raise bad_parameter("The policy must have a subject or subject alternative names.")
    if subject:
        parse_dn(subject)
    months = int(raw.get("validity_months") or 12)
    if not 1 <= months <= 1200:
        raise bad_parameter("validity_months must be between 1 and 1200.")
    usages = raw.get("key_usage")
    if usages is None:
        usages = (
            ["digitalSignature", "keyEncipherment"]
            if kty.startswith("RSA")
            else ["digitalSignature"]
        )
    bad = [u for u in usages if u not in KEY_USAGES]
    if bad:
        raise bad_parameter(f"Unknown key usage {bad[0]}.")
    ekus = raw.get("ekus")
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
    key_props = _key_props(raw.get("key_props") or {}, key)
    content_type = (raw.get("secret_props") or {}).get("contentType") or PKCS12
    if content_type not in CONTENT_TYPES:
        raise bad_parameter(f"Content type {content_type} is not supported.")
    raw_issuer = raw.get("issuer") or {}
    if not isinstance(raw_issuer, dict):
        raise bad_parameter("The policy's issuer must be a JSON object.")
    issuer = IssuerParameters.from_json(raw_issuer)
    issuer.name = issuer.name or default_issuer
    raw_actions = raw.get("lifetime_actions")
    if not isinstance(raw_actions, list | None) or not all(
        isinstance(a, dict) for a in raw_actions or []
    ):
        raise bad_parameter("The policy's lifetime_actions must be a list of objects.")
    actions = [LifetimeAction.from_json(a) for a in raw_actions or []]
    if not actions:
        kind = "EmailContacts" if issuer.unknown else "AutoRenew"
        actions = [LifetimeAction(kind, lifetime_percentage=80)]
    attrs = raw.get("attributes") or {}
    return CertificatePolicy(
        key_props=key_props,
        content_type=content_type,
        x509_props=_x509_props(raw.get("x509_props") or {}, key_props.kty, cert),
        lifetime_actions=actions,
        issuer=issuer,
        attributes=PolicyAttributes(
            enabled=attrs.get("enabled") is not False, created=now, updated=now
        ),
    )


def merge_policy(old: CertificatePolicy, patch: dict[str, Any], now: int) -> CertificatePolicy:
    """A policy PATCH: each given section's given fields replace the stored ones;
    ``now`` (unix seconds): the time it is updated at."""
    raw: dict[str, Any] = old.to_json()
    for section in ("key_props", "secret_props", "x509_props", "issuer"):
        given = patch.get(section)
        if isinstance(given, dict):
            raw.setdefault(section, {}).update({k: v for k, v in given.items() if v is not None})
    if patch.get("lifetime_actions"):
        raw["lifetime_actions"] = patch["lifetime_actions"]
    if isinstance(patch.get("attributes"), dict) and patch["attributes"].get("enabled") is not None:
        raw["attributes"]["enabled"] = bool(patch["attributes"]["enabled"])
    policy = normalize_policy(raw, default_issuer=raw["issuer"].get("name") or "Unknown", now=now)
    policy.attributes.created = old.attributes.created
    policy.attributes.enabled = raw["attributes"].get("enabled", True)
    return policy
