"""Certificates data plane: ``/certificates``, ``/deletedcertificates``, contacts, issuers.

A certificate version is stored in ``vault.certificates`` (``data``: ``cer``, ``x5t``);
its private key lives in the backing key and its PFX/PEM in the backing secret, both
of the same name and version, both marked ``managed`` (as in the service). The policy
and the last certificate operation are per-item state (``Item.extra``).

Issuer ``Self`` (or any issuer configured in the vault, which the emulator issues
itself) completes at once: the 202 answers ``inProgress`` as the service does, and the
first poll of the operation sees ``completed``, so the SDK's poller never sleeps.
Issuer ``Unknown`` stays ``inProgress`` with a CSR until the signed chain is merged.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import copy
import datetime as dt
import hashlib
import ipaddress
import re
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kvtui.emulator.common import (
    VAULT_KEY,
    KvError,
    b64url_encode,
    bad_parameter,
    json_body,
    operation,
    page,
)
from kvtui.emulator.crypto import (
    CURVES,
    PrivateKey,
    add_key_version,
    generate_private_key,
    jwk_from_private_key,
    private_key_from_jwk,
)
from kvtui.emulator.keys import KEYS
from kvtui.emulator.lifecycle import ObjectKind, add_routes
from kvtui.emulator.secrets import SECRETS, add_secret_version
from kvtui.emulator.store import (
    Attributes,
    Item,
    Vault,
    Version,
    new_version,
    now,
)

KIND = "certificates"
PKCS12 = "application/x-pkcs12"
PEM = "application/x-pem-file"
CONTENT_TYPES = (PKCS12, PEM)
RSA_SIZES = (2048, 3072, 4096)
PENDING_DETAILS = (
    "Pending certificate created. Certificate request is in progress. This may take some "
    "time based on the issuer provider. Please check again later."
)
UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
DEFAULT_EKUS = [
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string,
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
]
KEY_USAGES = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)
_KU_ARGS = {
    "digitalSignature": "digital_signature",
    "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
    "encipherOnly": "encipher_only",
    "decipherOnly": "decipher_only",
}
DN_OIDS: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "STREET": NameOID.STREET_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "T": NameOID.TITLE,
    "G": NameOID.GIVEN_NAME,
    "SN": NameOID.SURNAME,
    "POSTALCODE": NameOID.POSTAL_CODE,
}
DN_SHORT = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "S",
    NameOID.COUNTRY_NAME: "C",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.TITLE: "T",
    NameOID.GIVEN_NAME: "G",
    NameOID.SURNAME: "SN",
    NameOID.POSTAL_CODE: "PostalCode",
}


def parse_tags(body: dict[str, Any]) -> dict[str, str] | None:
    return CERTIFICATES.parse_tags(body)


"""Tags of a certificate, refused in a secret's words (as the emulator always has)."""


# -- errors ---------------------------------------------------------------------------------


def pending_not_found(name: str) -> KvError:
    return KvError(404, "PendingCertificateNotFound", f"Pending certificate not found: {name}")


# -- X.509 ----------------------------------------------------------------------------------


def parse_dn(text: str) -> x509.Name:
    """``CN=a, O=b`` (X.500 order, as Key Vault policies write it) to an x509.Name."""
    parts = [p.strip() for p in re.split(r"(?<!\\)[,;]", text) if p.strip()]
    attrs = []
    for part in parts:
        key, sep, value = part.partition("=")
        oid = DN_OIDS.get(key.strip().upper())
        value = value.strip().strip('"').replace("\\,", ",")
        if not sep or oid is None or not value:
            raise bad_parameter(f"The subject name {text!r} is not a valid X.500 name.")
        attrs.append(x509.NameAttribute(oid, value))
    if not attrs:
        raise bad_parameter(f"The subject name {text!r} is not a valid X.500 name.")
    return x509.Name(attrs)


def dn_string(name: x509.Name) -> str:
    out = []
    for attr in name:
        short = DN_SHORT.get(attr.oid, attr.oid.dotted_string)
        value = attr.value if isinstance(attr.value, str) else attr.value.decode()
        escaped = value.replace(",", "\\,")
        out.append(f"{short}={escaped}")
    return ", ".join(out)


def add_months(t: int, months: int) -> int:
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    total = d.month - 1 + months
    year, month = d.year + total // 12, total % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def thumbprint(der: bytes) -> str:
    """``x5t``: base64url SHA-1 of the DER certificate."""
    return b64url_encode(hashlib.sha1(der).digest())


def _utc(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def _san_names(sans: dict[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    names += [x509.DNSName(d) for d in sans.get("dns_names") or []]
    names += [x509.RFC822Name(e) for e in sans.get("emails") or []]
    for upn in sans.get("upns") or []:
        raw = upn.encode()
        der = b"\x0c" + _der_len(len(raw)) + raw  # UTF8String
        names.append(x509.OtherName(UPN_OID, der))
    names += [x509.UniformResourceIdentifier(u) for u in sans.get("uris") or []]
    try:
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sans.get("ipAddresses") or []]
    except ValueError as exc:
        raise bad_parameter(f"Invalid IP address in the subject alternative names: {exc}") from exc
    return names


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _extensions(
    key: PrivateKey, x509_props: dict[str, Any]
) -> list[tuple[x509.ExtensionType, bool]]:
    exts: list[tuple[x509.ExtensionType, bool]] = []
    sans = _san_names(x509_props.get("sans") or {})
    if sans:
        exts.append((x509.SubjectAlternativeName(sans), False))
    usages = x509_props.get("key_usage") or []
    if usages:
        flags = {arg: name in usages for name, arg in _KU_ARGS.items()}
        exts.append((x509.KeyUsage(**flags), True))
    ekus = x509_props.get("ekus") or []
    if ekus:
        exts.append((x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in ekus]), False))
    exts.append((x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    return exts


def build_certificate(
    key: PrivateKey,
    x509_props: dict[str, Any],
    not_before: int,
    *,
    serial: int | None = None,
    deterministic: bool = False,
) -> x509.Certificate:
    """A self-signed certificate as the policy's x509_props describe it. ``serial``
    (default: random) and ``deterministic`` (an EC key signs with RFC 6979's
    deterministic ECDSA; RSA PKCS#1 v1.5 signatures are deterministic anyway) make the
    same certificate from the same key every time."""
    subject = parse_dn(x509_props["subject"]) if x509_props.get("subject") else x509.Name([])
    not_after = add_months(not_before, int(x509_props.get("validity_months") or 12))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(_utc(not_before))
        .not_valid_after(_utc(not_after))
    )
    for ext, critical in _extensions(key, x509_props):
        builder = builder.add_extension(ext, critical=critical)
    if deterministic and isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(key, hashes.SHA256())


def build_csr(key: PrivateKey, x509_props: dict[str, Any]) -> str:
    """The operation's ``csr``: base64 DER PKCS#10."""
    subject = parse_dn(x509_props["subject"]) if x509_props.get("subject") else x509.Name([])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    for ext, critical in _extensions(key, x509_props):
        if not isinstance(ext, x509.SubjectKeyIdentifier):
            builder = builder.add_extension(ext, critical=critical)
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode()


def secret_value(
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    key: PrivateKey | None,
    content_type: str,
) -> str:
    """The backing secret's value: base64 PFX, or PEM (key, then the chain, leaf first).
    ``key`` is None for a non-exportable key: the value then has the certificates only."""
    if content_type == PEM:
        out = b""
        if key is not None:
            out += key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        for c in [cert, *chain]:
            out += c.public_bytes(serialization.Encoding.PEM)
        return out.decode()
    if key is None:  # certificates only, as a PFX of a non-exportable key is
        pfx = pkcs12.serialize_key_and_certificates(
            None, None, None, [cert, *chain], serialization.NoEncryption()
        )
    else:
        pfx = pkcs12.serialize_key_and_certificates(
            None, key, cert, chain or None, serialization.NoEncryption()
        )
    return base64.b64encode(pfx).decode()


def load_import(
    raw: bytes, password: str | None, content_type: str
) -> tuple[PrivateKey, x509.Certificate, list[x509.Certificate]]:
    """The key, leaf and chain of an imported PFX or PEM file."""
    try:
        if content_type == PEM:
            certs = x509.load_pem_x509_certificates(raw)
            loaded: Any = serialization.load_pem_private_key(
                raw, password.encode() if password else None
            )
            chain = certs
        else:
            loaded_key, leaf, extra = pkcs12.load_key_and_certificates(
                raw, password.encode() if password else None
            )
            loaded = loaded_key
            chain = ([leaf] if leaf else []) + list(extra)
    except (ValueError, TypeError) as exc:
        fmt = "PEM" if content_type == PEM else "PFX"
        raise bad_parameter(
            f"The specified {fmt} X.509 certificate content can not be read. Please check "
            f"if certificate is in valid {fmt} format and the password is correct."
        ) from exc
    if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) or not chain:
        raise bad_parameter(
            "The certificate to import must contain an RSA or EC private key and its "
            "X.509 certificate."
        )
    pub = loaded.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaf_cert = next((c for c in chain if _spki(c) == pub), None)
    if leaf_cert is None:
        raise bad_parameter("The private key does not match the certificate's public key.")
    return loaded, leaf_cert, [c for c in chain if c is not leaf_cert]


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# -- policy ---------------------------------------------------------------------------------


def _key_props(raw: dict[str, Any], key: PrivateKey | None) -> dict[str, Any]:
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
    return out


def _x509_props(raw: dict[str, Any], kty: str, cert: x509.Certificate | None) -> dict[str, Any]:
    if cert is not None:
        return _x509_from_cert(cert)
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
    _san_names(sans)
    return out


def _x509_from_cert(cert: x509.Certificate) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": dn_string(cert.subject)}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = {
            "dns_names": san.get_values_for_type(x509.DNSName),
            "emails": san.get_values_for_type(x509.RFC822Name),
            "uris": san.get_values_for_type(x509.UniformResourceIdentifier),
            "ipAddresses": [str(a) for a in san.get_values_for_type(x509.IPAddress)],
        }
        sans = {k: v for k, v in sans.items() if v}
        if sans:
            out["sans"] = sans
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        out["ekus"] = [o.dotted_string for o in eku]
    except x509.ExtensionNotFound:
        out["ekus"] = []
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        usages = []
        for name, arg in _KU_ARGS.items():
            try:
                if getattr(ku, arg):
                    usages.append(name)
            except ValueError:  # encipher_only/decipher_only without key_agreement
                pass
        out["key_usage"] = usages
    except x509.ExtensionNotFound:
        out["key_usage"] = []
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    out["validity_months"] = max(1, round(days / 30.4))
    return out


def normalize_policy(
    raw: dict[str, Any] | None,
    *,
    default_issuer: str,
    key: PrivateKey | None = None,
    cert: x509.Certificate | None = None,
    when: int | None = None,
) -> dict[str, Any]:
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
    t = now() if when is None else when
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


def merge_policy(old: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A policy PATCH: each given section's given fields replace the stored ones."""
    raw = copy.deepcopy(old)
    for section in ("key_props", "secret_props", "x509_props", "issuer"):
        given = patch.get(section)
        if isinstance(given, dict):
            raw.setdefault(section, {}).update({k: v for k, v in given.items() if v is not None})
    if patch.get("lifetime_actions"):
        raw["lifetime_actions"] = patch["lifetime_actions"]
    if isinstance(patch.get("attributes"), dict) and patch["attributes"].get("enabled") is not None:
        raw["attributes"]["enabled"] = bool(patch["attributes"]["enabled"])
    policy = normalize_policy(raw, default_issuer=raw["issuer"].get("name") or "Unknown")
    policy["attributes"]["created"] = old["attributes"]["created"]
    policy["attributes"]["enabled"] = raw["attributes"].get("enabled", True)
    return policy


# -- state: versions with their backing key and secret -------------------------------------


def _policy_key(vault: Vault, name: str, policy: dict[str, Any]) -> PrivateKey:
    """A new key as the policy says, or the current one when ``reuse_key`` is set."""
    kp = policy["key_props"]
    existing = vault.keys.get(name)
    if kp.get("reuse_key") and existing is not None and existing.versions:
        jwk = existing.latest.data.get("jwk")
        if jwk and str(jwk.get("kty", "")).startswith(kp["kty"].split("-")[0]):
            return private_key_from_jwk(jwk)
    return generate_private_key(kp["kty"], kp.get("key_size"), kp.get("crv"))


def _cert_item(vault: Vault, name: str) -> Item:
    item = vault.certificates.get(name)
    if item is None:
        item = Item(name=name)
        vault.certificates.put(item)
    return item


def store_version(
    vault: Vault,
    name: str,
    policy: dict[str, Any],
    key: PrivateKey,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    *,
    tags: dict[str, str] | None,
    enabled: bool,
    version: str | None = None,
    when: int | None = None,
) -> tuple[Item, Version]:
    """Add a complete certificate version with its backing key and secret (same name and
    version), and make ``policy`` the certificate's policy."""
    version = version or new_version()
    t = now() if when is None else when
    der = cert.public_bytes(serialization.Encoding.DER)
    nbf = int(cert.not_valid_before_utc.timestamp())
    exp = int(cert.not_valid_after_utc.timestamp())
    attrs = {"enabled": enabled, "nbf": nbf, "exp": exp}
    kp = policy["key_props"]
    jwk = jwk_from_private_key(key, hsm=kp["kty"].endswith("-HSM"))
    add_key_version(
        vault, name, jwk, tags=tags, attributes=attrs, managed=True, version=version, when=t
    )
    content_type = policy["secret_props"]["contentType"]
    value = secret_value(cert, chain, key if kp["exportable"] else None, content_type)
    add_secret_version(
        vault,
        name,
        value,
        content_type=content_type,
        tags=tags,
        attributes=attrs,
        managed=True,
        kid=f"keys/{name}/{version}",
        version=version,
        when=t,
    )
    item = _cert_item(vault, name)
    item.versions = [v for v in item.versions if v.version != version]
    data = {"cer": base64.b64encode(der).decode(), "x5t": thumbprint(der)}
    v = Version(
        version, Attributes(enabled=enabled, nbf=nbf, exp=exp, created=t, updated=t), tags, data
    )
    item.versions.append(v)
    item.extra["policy"] = policy
    return item, v


def _operation(
    issuer: dict[str, Any], csr: str, version: str, status: str = "inProgress"
) -> dict[str, Any]:
    return {
        "issuer": dict(issuer),
        "csr": csr,
        "cancellation_requested": False,
        "status": status,
        "request_id": new_version(),
        "version": version,
    }


def issue_certificate(
    vault: Vault,
    name: str,
    policy: dict[str, Any],
    *,
    tags: dict[str, str] | None = None,
    enabled: bool = True,
    not_before: int | None = None,
    key: PrivateKey | None = None,
    serial: int | None = None,
    version: str | None = None,
    when: int | None = None,
    deterministic: bool = False,
) -> tuple[Item, Version]:
    """Issue a certificate at once (self-signed) and record the completed operation.
    ``key``, ``serial``, ``version``, ``when`` (the clock) and ``deterministic`` are for
    reproducible seeds (see :func:`build_certificate`)."""
    key = key or _policy_key(vault, name, policy)
    t = now() if when is None else when
    nbf = t if not_before is None else not_before
    cert = build_certificate(
        key, policy["x509_props"], nbf, serial=serial, deterministic=deterministic
    )
    stale = vault.certificates.get(name)
    if stale is not None:  # a new issuance replaces an unfinished one
        stale.versions = [v for v in stale.versions if not v.data.get("pending")]
        stale.extra.pop("pending_policy", None)
    item, v = store_version(
        vault,
        name,
        policy,
        key,
        cert,
        [],
        tags=tags,
        enabled=enabled,
        version=version,
        when=min(t, nbf),
    )
    op = _operation(policy["issuer"], build_csr(key, policy["x509_props"]), v.version)
    op["status"] = "completed"
    item.extra["operation"] = op
    return item, v


def start_pending(
    vault: Vault,
    name: str,
    policy: dict[str, Any],
    *,
    tags: dict[str, str] | None = None,
    enabled: bool = True,
) -> Item:
    """Issuer ``Unknown``: a pending version holding the new key until the signed
    certificate is merged."""
    key = _policy_key(vault, name, policy)
    version = new_version()
    t = now()
    item = _cert_item(vault, name)
    item.versions = [v for v in item.versions if not v.data.get("pending")]
    data = {"pending": True, "jwk": jwk_from_private_key(key)}
    item.versions.append(
        Version(version, Attributes(enabled=enabled, created=t, updated=t), tags, data)
    )
    if not any(not v.data.get("pending") for v in item.versions):
        item.extra["policy"] = policy
    item.extra["pending_policy"] = policy
    item.extra["operation"] = _operation(
        policy["issuer"], build_csr(key, policy["x509_props"]), version
    )
    return item


def create_self_signed(
    vault: Vault,
    name: str,
    *,
    subject: str = "",
    dns_names: list[str] | None = None,
    validity_months: int = 12,
    not_before: int | None = None,
    key_type: str = "RSA",
    key_size: int = 2048,
    curve: str = "P-256",
    content_type: str = PKCS12,
    tags: dict[str, str] | None = None,
    enabled: bool = True,
    key: PrivateKey | None = None,
    serial: int | None = None,
    version: str | None = None,
    when: int | None = None,
    deterministic: bool = False,
) -> Item:
    """Create a complete self-signed certificate (backing key and secret, policy,
    completed operation) synchronously; for seeds and demos. ``subject`` defaults to
    ``CN=<name>``; ``not_before`` (unix seconds) back-dates it, e.g. to make an expired
    or nearly expiring certificate. For a certificate that is the same every run, pass
    its ``key`` (of ``key_type``), ``serial``, ``version``, ``when`` (the time it is
    created at, default now) and ``deterministic=True``."""
    key_props: dict[str, Any] = {"kty": key_type, "exportable": True, "reuse_key": False}
    if key_type.upper().startswith("EC"):
        key_props["crv"] = curve
    else:
        key_props["key_size"] = key_size
    x509_props: dict[str, Any] = {
        "subject": subject or f"CN={name}",
        "validity_months": validity_months,
    }
    if dns_names:
        x509_props["sans"] = {"dns_names": list(dns_names)}
    raw = {
        "key_props": key_props,
        "secret_props": {"contentType": content_type},
        "x509_props": x509_props,
        "issuer": {"name": "Self"},
    }
    policy = normalize_policy(raw, default_issuer="Self")
    item, _ = issue_certificate(
        vault,
        name,
        policy,
        tags=tags,
        enabled=enabled,
        not_before=not_before,
        key=key,
        serial=serial,
        version=version,
        when=when,
        deterministic=deterministic,
    )
    return item


# -- JSON shapes ----------------------------------------------------------------------------


def policy_json(vault: Vault, item: Item) -> dict[str, Any]:
    return {
        "id": f"{vault.object_id(KIND, item.name)}/policy",
        **copy.deepcopy(item.extra["policy"]),
    }


def bundle_json(vault: Vault, item: Item, v: Version, with_policy: bool = True) -> dict[str, Any]:
    """CertificateBundle; a pending version has no sid, cer or x5t."""
    out: dict[str, Any] = {
        "id": vault.object_id(KIND, item.name, v.version),
        "kid": vault.object_id("keys", item.name, v.version),
    }
    if not v.data.get("pending"):
        out["sid"] = vault.object_id("secrets", item.name, v.version)
        out["x5t"] = v.data["x5t"]
        out["cer"] = v.data["cer"]
    out["attributes"] = v.attributes.to_json()
    if v.tags is not None:
        out["tags"] = v.tags
    if with_policy and "policy" in item.extra:
        out["policy"] = policy_json(vault, item)
    return out


def item_json(vault: Vault, item: Item, v: Version, with_version: bool) -> dict[str, Any]:
    """CertificateItem: what lists return."""
    out: dict[str, Any] = {
        "id": vault.object_id(KIND, item.name, v.version if with_version else None)
    }
    if v.data.get("x5t"):
        out["x5t"] = v.data["x5t"]
    out["attributes"] = v.attributes.to_json()
    if v.tags is not None:
        out["tags"] = v.tags
    return out


def operation_json(
    vault: Vault, item: Item, op: dict[str, Any], status: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"{vault.object_id(KIND, item.name)}/pending",
        "issuer": op["issuer"],
        "csr": op["csr"],
        "cancellation_requested": op["cancellation_requested"],
        "status": status or op["status"],
    }
    if out["status"] == "inProgress":
        out["status_details"] = PENDING_DETAILS
    if op.get("error"):
        out["error"] = op["error"]
    if out["status"] == "completed":
        out["target"] = vault.object_id(KIND, item.name)
    out["request_id"] = op["request_id"]
    return out


def _is_pending(v: Version) -> bool:
    return bool(v.data.get("pending"))


CERTIFICATES = ObjectKind(
    name=KIND,
    noun="Certificate",
    collection=lambda vault: vault.certificates,
    item_json=item_json,
    bundle_json=bundle_json,
    pending=_is_pending,
    backing=(KEYS, SECRETS),
)


# -- request helpers ------------------------------------------------------------------------


def _enabled(body: dict[str, Any]) -> bool:
    attrs = body.get("attributes") or {}
    return attrs.get("enabled") is not False


def _check_new(vault: Vault, name: str) -> None:
    CERTIFICATES.check_name(name)
    if vault.certificates.get_deleted(name) is not None:
        raise CERTIFICATES.deleted_conflict(name)


def _backing(vault: Vault, name: str, version: str) -> list[Version]:
    """The backing key and secret versions of a certificate version."""
    out = []
    for coll in (vault.keys, vault.secrets):
        item = coll.get(name)
        v = item.get(version) if item is not None else None
        if v is not None:
            out.append(v)
    return out


# -- certificates ---------------------------------------------------------------------------


@operation(KIND, "create")
async def create_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    _check_new(vault, name)
    body = await json_body(request)
    tags = parse_tags(body)
    policy = normalize_policy(body.get("policy"), default_issuer="Unknown")
    issuer = policy["issuer"]["name"]
    if issuer.lower() == "unknown":
        item = start_pending(vault, name, policy, tags=tags, enabled=_enabled(body))
    else:
        if issuer.lower() != "self" and issuer.lower() not in vault.issuers:
            raise bad_parameter(f"Issuer {issuer} was not found in this key vault.")
        item, _ = issue_certificate(vault, name, policy, tags=tags, enabled=_enabled(body))
    # The service always answers inProgress; the operation reads completed on the first poll.
    op = operation_json(vault, item, item.extra["operation"], status="inProgress")
    return web.json_response(op, status=202, headers={"Retry-After": "0"})


@operation(KIND, "import")
async def import_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    _check_new(vault, name)
    body = await json_body(request)
    value = body.get("value")
    if not isinstance(value, str) or not value:
        raise bad_parameter("The parameter 'value' (the certificate to import) is required.")
    tags = parse_tags(body)
    raw_policy = body.get("policy") or {}
    content_type = (raw_policy.get("secret_props") or {}).get("contentType") or PKCS12
    data = value.encode() if content_type == PEM and value.startswith("-----") else None
    if data is None:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise bad_parameter("The certificate to import is not valid base64.") from exc
    key, cert, chain = load_import(data, body.get("pwd"), content_type)
    policy = normalize_policy(raw_policy, default_issuer="Unknown", key=key, cert=cert)
    item, v = store_version(
        vault, name, policy, key, cert, chain, tags=tags, enabled=_enabled(body)
    )
    return web.json_response(bundle_json(vault, item, v))


@operation(KIND, "get")
async def get_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    version = request.match_info.get("version") or None
    item, v = CERTIFICATES.lookup(vault, request.match_info["name"], version)
    return web.json_response(bundle_json(vault, item, v, with_policy=version is None))


@operation(KIND, "update")
async def update_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    version = request.match_info.get("version") or None
    item, v = CERTIFICATES.lookup(vault, name, version)
    body = await json_body(request, required=False)
    tags = parse_tags(body) if "tags" in body else v.tags
    attrs = {k: a for k, a in (body.get("attributes") or {}).items() if k == "enabled"}
    for target in [v, *_backing(vault, name, v.version)]:
        target.attributes.apply(attrs)
        target.attributes.updated = now()
        target.tags = tags
    if isinstance(body.get("policy"), dict):
        item.extra["policy"] = merge_policy(item.extra["policy"], body["policy"])
    return web.json_response(bundle_json(vault, item, v, with_policy=version is None))


@operation(KIND, "get")
async def get_policy(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, _ = CERTIFICATES.lookup(vault, request.match_info["name"])
    return web.json_response(policy_json(vault, item))


@operation(KIND, "update")
async def update_policy(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, _ = CERTIFICATES.lookup(vault, request.match_info["name"])
    body = await json_body(request)
    item.extra["policy"] = merge_policy(item.extra["policy"], body)
    item.extra["policy"]["attributes"]["updated"] = now()
    return web.json_response(policy_json(vault, item))


# -- the pending operation ------------------------------------------------------------------


def _pending(vault: Vault, name: str) -> tuple[Item, dict[str, Any]]:
    item = vault.certificates.get(name)
    op = item.extra.get("operation") if item is not None else None
    if item is None or not op:
        raise pending_not_found(name)
    return item, op


@operation(KIND, "get")
async def get_operation(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, op = _pending(vault, request.match_info["name"])
    return web.json_response(operation_json(vault, item, op))


@operation(KIND, "update")
async def update_operation(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, op = _pending(vault, request.match_info["name"])
    body = await json_body(request)
    if body.get("cancellation_requested") is True and op["status"] == "inProgress":
        op["cancellation_requested"] = True
    return web.json_response(operation_json(vault, item, op))


@operation(KIND, "delete")
async def delete_operation(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, op = _pending(vault, name)
    body = operation_json(vault, item, op)
    del item.extra["operation"]
    item.versions = [v for v in item.versions if not v.data.get("pending")]
    if not item.versions:
        vault.certificates.remove(name)
    return web.json_response(body)


@operation(KIND, "create")
async def merge_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, op = _pending(vault, name)
    pending = item.get(op["version"])
    if op["status"] != "inProgress" or pending is None or not pending.data.get("pending"):
        raise pending_not_found(name)
    body = await json_body(request)
    x5c = body.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise bad_parameter("The parameter 'x5c' (the certificate chain to merge) is required.")
    try:
        certs = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
    except (ValueError, TypeError, binascii.Error) as exc:
        raise bad_parameter("The x5c certificates are not valid base64 DER.") from exc
    key = private_key_from_jwk(pending.data["jwk"])
    pub = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if _spki(certs[0]) != pub:
        raise bad_parameter("Public key from x5c does not match the pending certificate's key.")
    policy = item.extra.pop("pending_policy", item.extra["policy"])
    tags = parse_tags(body) if "tags" in body else pending.tags
    enabled = _enabled(body) if "attributes" in body else pending.attributes.enabled
    item, v = store_version(
        vault,
        name,
        policy,
        key,
        certs[0],
        certs[1:],
        tags=tags,
        enabled=enabled,
        version=op["version"],
    )
    op["status"] = "completed"
    return web.json_response(bundle_json(vault, item, v), status=201)


# -- contacts -------------------------------------------------------------------------------


def contacts_json(vault: Vault, contacts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": f"{vault.url}{KIND}/contacts", "contacts": contacts}


def _contacts_not_found() -> KvError:
    return KvError(404, "ContactsNotFound", "Contacts not found")


@operation(KIND, "managecontacts")
async def set_contacts(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    body = await json_body(request)
    raw = body.get("contacts")
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise bad_parameter("The parameter 'contacts' must be a list of contacts.")
    contacts = []
    for c in raw:
        contact = {k: c[k] for k in ("email", "name", "phone") if c.get(k) is not None}
        if not contact.get("email"):
            raise bad_parameter("Each contact must have an email address.")
        contacts.append(contact)
    vault.contacts = contacts
    return web.json_response(contacts_json(vault, contacts))


@operation(KIND, "managecontacts")
async def get_contacts(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    if not vault.contacts:
        raise _contacts_not_found()
    return web.json_response(contacts_json(vault, vault.contacts))


@operation(KIND, "managecontacts")
async def delete_contacts(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    if not vault.contacts:
        raise _contacts_not_found()
    contacts, vault.contacts = vault.contacts, None
    return web.json_response(contacts_json(vault, contacts))


# -- issuers --------------------------------------------------------------------------------


def issuer_json(vault: Vault, name: str, issuer: dict[str, Any]) -> dict[str, Any]:
    """IssuerBundle; the credentials' password is never returned."""
    out: dict[str, Any] = {
        "id": f"{vault.url}{KIND}/issuers/{issuer['name']}",
        "provider": issuer["provider"],
    }
    creds = {k: v for k, v in (issuer.get("credentials") or {}).items() if k != "pwd"}
    if creds:
        out["credentials"] = creds
    if issuer.get("org_details"):
        out["org_details"] = issuer["org_details"]
    out["attributes"] = issuer["attributes"]
    return out


def _issuer_fields(issuer: dict[str, Any], body: dict[str, Any]) -> None:
    if body.get("provider") is not None:
        if not isinstance(body["provider"], str) or not body["provider"]:
            raise bad_parameter("The issuer provider must be a non-empty string.")
        issuer["provider"] = body["provider"]
    for field in ("credentials", "org_details"):
        if isinstance(body.get(field), dict):
            issuer[field] = {k: v for k, v in body[field].items() if v is not None}
    attrs = body.get("attributes") or {}
    if attrs.get("enabled") is not None:
        issuer["attributes"]["enabled"] = bool(attrs["enabled"])
    issuer["attributes"]["updated"] = now()


def _issuer(vault: Vault, name: str) -> dict[str, Any]:
    issuer = vault.issuers.get(name.lower())
    if issuer is None:
        raise KvError(404, "CertificateIssuerNotFound", f"Issuer not found: {name}")
    return issuer


@operation(KIND, "setissuers")
async def set_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    CERTIFICATES.check_name(name)
    body = await json_body(request)
    if not body.get("provider"):
        raise bad_parameter("The parameter 'provider' is required.")
    t = now()
    issuer: dict[str, Any] = {"name": name, "attributes": {"enabled": True, "created": t}}
    _issuer_fields(issuer, body)
    vault.issuers[name.lower()] = issuer
    return web.json_response(issuer_json(vault, name, issuer))


@operation(KIND, "setissuers")
async def update_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    issuer = _issuer(vault, name)
    _issuer_fields(issuer, await json_body(request))
    return web.json_response(issuer_json(vault, name, issuer))


@operation(KIND, "getissuers")
async def get_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    return web.json_response(issuer_json(vault, name, _issuer(vault, name)))


@operation(KIND, "deleteissuers")
async def delete_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    issuer = _issuer(vault, name)
    del vault.issuers[name.lower()]
    return web.json_response(issuer_json(vault, name, issuer))


@operation(KIND, "listissuers")
async def list_issuers(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    entries = [
        (key, {"id": f"{vault.url}{KIND}/issuers/{i['name']}", "provider": i["provider"]})
        for key, i in sorted(vault.issuers.items())
    ]
    return page(request, entries)


def setup(app: web.Application) -> None:
    """Register this module's routes (fixed paths before ``{name}`` patterns)."""
    r = app.router
    add_routes(r, CERTIFICATES)
    r.add_put("/certificates/contacts", set_contacts)
    r.add_get("/certificates/contacts", get_contacts)
    r.add_delete("/certificates/contacts", delete_contacts)
    r.add_get("/certificates/issuers", list_issuers)
    r.add_put("/certificates/issuers/{issuer}", set_issuer)
    r.add_patch("/certificates/issuers/{issuer}", update_issuer)
    r.add_get("/certificates/issuers/{issuer}", get_issuer)
    r.add_delete("/certificates/issuers/{issuer}", delete_issuer)
    r.add_post("/certificates/{name}/create", create_certificate)
    r.add_post("/certificates/{name}/import", import_certificate)
    r.add_get("/certificates/{name}/policy", get_policy)
    r.add_patch("/certificates/{name}/policy", update_policy)
    r.add_get("/certificates/{name}/pending", get_operation)
    r.add_patch("/certificates/{name}/pending", update_operation)
    r.add_delete("/certificates/{name}/pending", delete_operation)
    r.add_post("/certificates/{name}/pending/merge", merge_certificate)
    r.add_get("/certificates/{name}", get_certificate)
    r.add_patch("/certificates/{name}", update_certificate)
    r.add_get("/certificates/{name}/{version:[^/]*}", get_certificate)
    r.add_patch("/certificates/{name}/{version:[^/]*}", update_certificate)
