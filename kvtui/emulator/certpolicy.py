"""Certificate policies as the service stores them: what a client sent, with defaults
filled in and checked (``normalize_policy``), and a PATCH applied (``merge_policy``).

Answers a bad policy with the service's 400 BadParameter. No vault state, no routes.
"""

from __future__ import annotations

import copy
from typing import Any, TypedDict, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from kvtui.emulator.common import bad_parameter
from kvtui.emulator.crypto import CURVES, PrivateKey
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


class _KeyProps(TypedDict):
    exportable: bool
    kty: str
    """RSA, RSA-HSM, EC or EC-HSM."""
    reuse_key: bool


class KeyProps(_KeyProps, total=False):
    """A policy's ``key_props`` (as stored, so as the service answers them)."""

    key_size: int
    crv: str
    """EC keys only: P-256, P-384, P-521 or P-256K."""


class _X509Props(TypedDict):
    subject: str
    ekus: list[str]
    key_usage: list[str]
    validity_months: int


class X509Props(_X509Props, total=False):
    """A policy's ``x509_props``."""

    sans: dict[str, list[str]]
    """dns_names, emails, upns, uris, ipAddresses: only those given."""


class PolicyAttributes(TypedDict):
    enabled: bool
    created: int
    updated: int


class CertificatePolicy(TypedDict):
    """A certificate's policy as the service stores it (``Item.extra["policy"]``; a
    plain dict at run time, so it persists and answers as JSON unchanged)."""

    key_props: KeyProps
    secret_props: dict[str, str]
    """``{"contentType": PKCS12 or PEM}``."""
    x509_props: X509Props
    lifetime_actions: list[dict[str, Any]]
    issuer: dict[str, Any]
    """``name`` (Self, Unknown or an issuer of the vault) and what the client gave."""
    attributes: PolicyAttributes


def _key_props(raw: dict[str, Any], key: PrivateKey | None) -> KeyProps:
    kty = str(raw.get("kty") or "").upper() or None
    if key is not None:
        base = "EC" if isinstance(key, ec.EllipticCurvePrivateKey) else "RSA"
        kty = f"{base}-HSM" if kty and kty.endswith("-HSM") else base
    kty = kty or ("EC" if raw.get("crv") else "RSA")
    if kty not in ("RSA", "RSA-HSM", "EC", "EC-HSM"):
        raise bad_parameter(f"Key type {raw.get('kty')} is not supported for certificates.")
    out: dict[str, Any] = {
        "exportable": bool(raw["exportable"]) if raw.get("exportable") is not None else True,
        "kty": kty,
    }
    if kty.startswith("RSA"):
        size = key.key_size if isinstance(key, rsa.RSAPrivateKey) else raw.get("key_size")
        size = int(size or 2048)
        if size not in RSA_SIZES:
            raise bad_parameter(f"RSA key size {size} is not supported; use 2048, 3072 or 4096.")
        out["key_size"] = size
    else:
        crv = raw.get("crv") or "P-256"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            crv = next(n for n, c in CURVES.items() if c.name == key.curve.name)
        if crv not in CURVES:
            raise bad_parameter(f"Curve {crv} is not supported.")
        out["key_size"] = CURVES[crv].key_size
        out["crv"] = crv
    out["reuse_key"] = bool(raw.get("reuse_key") or False)
    return cast(KeyProps, out)


def _x509_props(raw: dict[str, Any], kty: str, cert: x509.Certificate | None) -> X509Props:
    if cert is not None:
        return cast(X509Props, props_from_certificate(cert))
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
    out: dict[str, Any] = {"subject": subject}
    if sans:
        out["sans"] = sans
    out["ekus"] = list(DEFAULT_EKUS if ekus is None else ekus)
    out["key_usage"] = list(usages)
    out["validity_months"] = months
    san_names(sans)
    return cast(X509Props, out)


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
    issuer = dict(raw.get("issuer") or {})
    issuer["name"] = issuer.get("name") or default_issuer
    issuer = {k: v for k, v in issuer.items() if v is not None}
    actions = raw.get("lifetime_actions")
    if not actions:
        kind = "EmailContacts" if issuer["name"].lower() == "unknown" else "AutoRenew"
        actions = [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": kind}}]
    t = now
    attrs = raw.get("attributes") or {}
    return {
        "key_props": key_props,
        "secret_props": {"contentType": content_type},
        "x509_props": _x509_props(raw.get("x509_props") or {}, key_props["kty"], cert),
        "lifetime_actions": actions,
        "issuer": issuer,
        "attributes": {
            "enabled": attrs.get("enabled") is not False,
            "created": t,
            "updated": t,
        },
    }


def merge_policy(old: CertificatePolicy, patch: dict[str, Any], now: int) -> CertificatePolicy:
    """A policy PATCH: each given section's given fields replace the stored ones;
    ``now`` (unix seconds): the time it is updated at."""
    raw: dict[str, Any] = copy.deepcopy(cast(dict[str, Any], old))
    for section in ("key_props", "secret_props", "x509_props", "issuer"):
        given = patch.get(section)
        if isinstance(given, dict):
            raw.setdefault(section, {}).update({k: v for k, v in given.items() if v is not None})
    if patch.get("lifetime_actions"):
        raw["lifetime_actions"] = patch["lifetime_actions"]
    if isinstance(patch.get("attributes"), dict) and patch["attributes"].get("enabled") is not None:
        raw["attributes"]["enabled"] = bool(patch["attributes"]["enabled"])
    policy = normalize_policy(raw, default_issuer=raw["issuer"].get("name") or "Unknown", now=now)
    policy["attributes"]["created"] = old["attributes"]["created"]
    policy["attributes"]["enabled"] = raw["attributes"].get("enabled", True)
    return policy
