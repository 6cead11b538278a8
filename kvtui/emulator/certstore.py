"""Certificate state in a vault: a version with its backing key and secret (same name
and version, both ``managed``), the policy and the last certificate operation
(``Item.policy``, ``Item.operation``: policies.py); issuing at once (self-signed, or
an issuer the emulator plays) or starting a pending request (issuer ``Unknown``). No
routes: certificates.py serves these, seed.py uses ``create_self_signed``.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvtui.emulator.certpolicy import normalize_policy
from kvtui.emulator.crypto import (
    PrivateKey,
    add_key_version,
    generate_private_key,
    jwk_from_private_key,
    private_key_from_jwk,
)
from kvtui.emulator.policies import CertificateOperation, CertificatePolicy, IssuerParameters
from kvtui.emulator.secrets import add_secret_version
from kvtui.emulator.store import (
    Attributes,
    CertificateData,
    Item,
    Vault,
    Version,
    new_version,
)
from kvtui.emulator.x509build import PKCS12, build_certificate, build_csr, secret_value, thumbprint


def _policy_key(vault: Vault, name: str, policy: CertificatePolicy) -> PrivateKey:
    """A new key as the policy says, or the current one when ``reuse_key`` is set."""
    kp = policy.key_props
    existing = vault.keys.get(name)
    if kp.reuse_key and existing is not None and existing.versions:
        jwk = existing.latest.data.jwk
        if jwk and str(jwk.get("kty", "")).startswith(kp.kty.split("-")[0]):
            return private_key_from_jwk(jwk)
    return generate_private_key(kp.kty, kp.key_size, kp.crv)


def cert_item(vault: Vault, name: str) -> Item[CertificateData]:
    item = vault.certificates.get(name)
    if item is None:
        item = Item(name=name)
        vault.certificates.put(item)
    return item


def store_version(
    vault: Vault,
    name: str,
    policy: CertificatePolicy,
    key: PrivateKey,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    *,
    tags: dict[str, str] | None,
    enabled: bool,
    version: str | None = None,
    created: int | None = None,
    preserve_order: bool | None = None,
    as_given: list[x509.Certificate] | None = None,
) -> tuple[Item[CertificateData], Version[CertificateData]]:
    """Add a complete certificate version with its backing key and secret (same name and
    version), and make ``policy`` the certificate's policy. ``created``: when the three
    were made (a back-dated issue); default: the vault's time. ``preserve_order``
    (``preserveCertOrder``): the secret keeps the chain in the order the client gave
    it (``as_given``, the leaf ``cert`` among them); otherwise the leaf comes first."""
    version = version or new_version()
    t = vault.clock.now() if created is None else created
    nbf = int(cert.not_valid_before_utc.timestamp())
    der = cert.public_bytes(serialization.Encoding.DER)
    exp = int(cert.not_valid_after_utc.timestamp())
    attrs = {"enabled": enabled, "nbf": nbf, "exp": exp}
    kp = policy.key_props
    jwk = jwk_from_private_key(key, hsm=kp.kty.endswith("-HSM"))
    _, key_version = add_key_version(
        vault, name, jwk, tags=tags, attributes=attrs, managed=True, version=version
    )
    key_version.attributes.created = key_version.attributes.updated = t
    content_type = policy.content_type
    order = as_given if preserve_order and as_given else None
    value = secret_value(cert, chain, key if kp.exportable else None, content_type, order=order)
    _, secret_version = add_secret_version(
        vault,
        name,
        value,
        content_type=content_type,
        tags=tags,
        attributes=attrs,
        managed=True,
        kid=f"keys/{name}/{version}",
        version=version,
    )
    secret_version.attributes.created = secret_version.attributes.updated = t
    item = cert_item(vault, name)
    item.versions = [v for v in item.versions if v.version != version]
    data = CertificateData(
        cer=base64.b64encode(der).decode(), x5t=thumbprint(der), preserve_order=preserve_order
    )
    v = Version(
        version, Attributes(enabled=enabled, nbf=nbf, exp=exp, created=t, updated=t), tags, data
    )
    item.versions.append(v)
    item.policy = policy
    return item, v


def new_operation(
    issuer: IssuerParameters, csr: str, version: str, preserve_order: bool | None = None
) -> CertificateOperation:
    return CertificateOperation(
        IssuerParameters(issuer.name, issuer.cty, issuer.cert_transparency),
        csr,
        version,
        request_id=new_version(),
        preserve_order=preserve_order,
    )


def issue_certificate(
    vault: Vault,
    name: str,
    policy: CertificatePolicy,
    *,
    tags: dict[str, str] | None = None,
    enabled: bool = True,
    not_before: int | None = None,
    key: PrivateKey | None = None,
    serial: int | None = None,
    version: str | None = None,
    preserve_order: bool | None = None,
) -> tuple[Item[CertificateData], Version[CertificateData]]:
    """Issue a certificate at once (self-signed) and record the completed operation,
    valid from the vault's time (or ``not_before``). ``key``, ``serial`` and ``version``
    are for reproducible seeds; on a fixed clock (``Clock.fixed``) an EC key signs
    deterministically (see :func:`build_certificate`)."""
    key = key or _policy_key(vault, name, policy)
    t = vault.clock.now()
    nbf = t if not_before is None else not_before
    x509_props = policy.x509_props.to_json()
    cert = build_certificate(key, x509_props, nbf, serial=serial, deterministic=vault.clock.fixed)
    stale = vault.certificates.get(name)
    if stale is not None:  # a new issuance replaces an unfinished one
        stale.versions = [v for v in stale.versions if not v.data.pending]
        stale.pending_policy = None
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
        created=min(t, nbf),
        preserve_order=preserve_order,
    )
    op = new_operation(policy.issuer, build_csr(key, x509_props), v.version, preserve_order)
    op.status = "completed"
    item.operation = op
    return item, v


def start_pending(
    vault: Vault,
    name: str,
    policy: CertificatePolicy,
    *,
    tags: dict[str, str] | None = None,
    enabled: bool = True,
    preserve_order: bool | None = None,
) -> Item[CertificateData]:
    """Issuer ``Unknown``: a pending version holding the new key until the signed
    certificate is merged (``preserve_order`` then applies to the merged chain)."""
    key = _policy_key(vault, name, policy)
    version = new_version()
    t = vault.clock.now()
    item = cert_item(vault, name)
    item.versions = [v for v in item.versions if not v.data.pending]
    data = CertificateData(
        pending=True, jwk=jwk_from_private_key(key), preserve_order=preserve_order
    )
    item.versions.append(
        Version(version, Attributes(enabled=enabled, created=t, updated=t), tags, data)
    )
    if not any(not v.data.pending for v in item.versions):
        item.policy = policy
    item.pending_policy = policy
    item.operation = new_operation(
        policy.issuer, build_csr(key, policy.x509_props.to_json()), version, preserve_order
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
) -> Item[CertificateData]:
    """Create a complete self-signed certificate (backing key and secret, policy,
    completed operation) synchronously; for seeds and demos. ``subject`` defaults to
    ``CN=<name>``; ``not_before`` (unix seconds) back-dates it, e.g. to make an expired
    or nearly expiring certificate. Created at the vault's time (``vault.clock``); for a
    certificate that is the same every run, pass its ``key`` (of ``key_type``),
    ``serial`` and ``version``, on a fixed clock."""
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
    policy = normalize_policy(raw, default_issuer="Self", now=vault.clock.now())
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
    )
    return item
