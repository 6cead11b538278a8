"""The certificates data plane, driven through the official async CertificateClient."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ssl
import time
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.certificates import (
    CertificateContact,
    CertificateContentType,
    CertificatePolicy,
    CertificatePolicyAction,
    KeyCurveName,
    KeyType,
    KeyUsageType,
    LifetimeAction,
    PlatformManaged,
    WellKnownIssuerNames,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.emulator.certstore import create_self_signed
from tests.support import VAULT_SCOPE, Clients, ClientSecretMsalCredential, kv_clients


def _spki(key_or_cert: object) -> bytes:
    pub = key_or_cert.public_key()  # type: ignore[attr-defined]
    return pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _ec_policy(subject: str = "CN=bulk") -> CertificatePolicy:
    return CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        subject=subject,
        key_type=KeyType.ec,
        key_curve_name=KeyCurveName.p_256,
        validity_in_months=1,
    )


def _self_signed(cn: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    t = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t)
        .not_valid_after(t + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"{cn}.test")]), False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


async def test_create_self_signed_finishes_fast_with_backing_secret_and_key(kv: Clients) -> None:
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        subject="CN=web.contoso.test, O=Contoso",
        san_dns_names=["web.contoso.test", "www.contoso.test"],
        san_emails=["ops@contoso.test"],
        validity_in_months=6,
        key_usage=[KeyUsageType.digital_signature, KeyUsageType.key_encipherment],
        enhanced_key_usage=["1.3.6.1.5.5.7.3.1"],
    )
    started = time.monotonic()
    cert = await kv.certificates.create_certificate("web", policy, tags={"env": "t"})
    assert time.monotonic() - started < 3
    assert cert.name == "web" and cert.properties.tags == {"env": "t"}

    parsed = x509.load_der_x509_certificate(bytes(cert.cer))
    assert parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "web.contoso.test"
    )
    assert parsed.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Contoso"
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["web.contoso.test", "www.contoso.test"]
    assert san.get_values_for_type(x509.RFC822Name) == ["ops@contoso.test"]
    days = (parsed.not_valid_after_utc - parsed.not_valid_before_utc).days
    assert 180 <= days <= 185
    assert cert.properties.not_before == parsed.not_valid_before_utc
    assert cert.properties.expires_on == parsed.not_valid_after_utc
    digest = parsed.fingerprint(hashes.SHA1())
    assert cert.properties.x509_thumbprint == digest

    secret = await kv.secrets.get_secret("web")
    assert secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.managed is True
    assert secret.properties.key_id == cert.key_id
    key, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value or ""), None)
    assert key is not None and leaf is not None
    assert _spki(key) == _spki(parsed) and leaf == parsed

    backing = await kv.keys.get_key("web")
    assert backing.id == cert.key_id and backing.key_type == "RSA"
    assert backing.properties.managed is True

    policy_back = await kv.certificates.get_certificate_policy("web")
    assert policy_back.san_dns_names == ["web.contoso.test", "www.contoso.test"]
    assert policy_back.validity_in_months == 6
    assert policy_back.enhanced_key_usage == ["1.3.6.1.5.5.7.3.1"]
    op = await kv.certificates.get_certificate_operation("web")
    assert op.status == "completed" and op.target


async def test_ec_pem_certificate_secret_holds_key_and_chain(kv: Clients) -> None:
    policy = _ec_policy("CN=pem")
    policy._content_type = CertificateContentType.pem  # no public setter in the SDK
    cert = await kv.certificates.create_certificate("pem", policy)
    secret = await kv.secrets.get_secret("pem")
    assert secret.properties.content_type == "application/x-pem-file"
    pem = (secret.value or "").encode()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(pem, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    leaf = x509.load_pem_x509_certificates(pem)[0]
    assert leaf.public_bytes(serialization.Encoding.DER) == bytes(cert.cer)
    assert _spki(key) == _spki(leaf)
    backing = await kv.keys.get_key("pem")
    assert backing.key_type == "EC" and backing.key.crv == "P-256"


async def test_non_exportable_secret_has_no_private_key(kv: Clients) -> None:
    policy = _ec_policy("CN=locked")
    policy._exportable = False
    cert = await kv.certificates.create_certificate("locked", policy)
    secret = await kv.secrets.get_secret("locked")
    key, _, others = pkcs12.load_key_and_certificates(base64.b64decode(secret.value or ""), None)
    assert key is None
    assert [c.public_bytes(serialization.Encoding.DER) for c in others] == [bytes(cert.cer)]
    policy_back = await kv.certificates.get_certificate_policy("locked")
    assert policy_back.exportable is False


async def test_import_pfx_with_password_and_pem(kv: Clients) -> None:
    key, cert = _self_signed("imported")
    pfx = pkcs12.serialize_key_and_certificates(
        b"x", key, cert, None, serialization.BestAvailableEncryption(b"pw")
    )
    got = await kv.certificates.import_certificate("pfx", pfx, password="pw", tags={"a": "b"})
    assert bytes(got.cer) == cert.public_bytes(serialization.Encoding.DER)
    assert got.policy is not None and got.policy.subject == "CN=imported"
    assert got.policy.san_dns_names == ["imported.test"]
    assert got.policy.issuer_name == "Unknown"
    secret = await kv.secrets.get_secret("pfx")
    back_key, _, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value or ""), None)
    assert back_key is not None and _spki(back_key) == _spki(cert)

    with pytest.raises(HttpResponseError) as err:
        await kv.certificates.import_certificate("bad", pfx, password="wrong")
    assert err.value.status_code == 400

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)
    policy = CertificatePolicy.get_default()
    policy._content_type = CertificateContentType.pem
    got = await kv.certificates.import_certificate("pem", pem, policy=policy)
    assert got.policy is not None and got.policy.content_type == CertificateContentType.pem
    secret = await kv.secrets.get_secret("pem")
    assert "BEGIN PRIVATE KEY" in (secret.value or "")


async def test_list_pages_versions_and_update(kv: Clients) -> None:
    names = [f"bulk{i:02d}" for i in range(27)]
    await asyncio.gather(*[kv.certificates.create_certificate(n, _ec_policy()) for n in names])
    listed = [c.name async for c in kv.certificates.list_properties_of_certificates()]
    assert listed == names
    pages = kv.certificates.list_properties_of_certificates().by_page()
    first = [c async for c in await pages.__anext__()]
    assert len(first) == 25 and first[0].x509_thumbprint

    await kv.certificates.create_certificate("bulk00", _ec_policy())
    versions = [v async for v in kv.certificates.list_properties_of_certificate_versions("bulk00")]
    assert len(versions) == 2 and all(v.version for v in versions)
    latest = await kv.certificates.get_certificate("bulk00")
    old = next(v for v in versions if v.version != latest.properties.version)
    by_version = await kv.certificates.get_certificate_version("bulk00", old.version or "")
    assert by_version.cer != latest.cer

    updated = await kv.certificates.update_certificate_properties(
        "bulk00", enabled=False, tags={"k": "v"}
    )
    assert updated.properties.enabled is False and updated.properties.tags == {"k": "v"}
    secret_props = [p async for p in kv.secrets.list_properties_of_secrets()]
    backing = next(p for p in secret_props if p.name == "bulk00")
    assert backing.enabled is False


async def test_policy_update(kv: Clients) -> None:
    await kv.certificates.create_certificate("pol", _ec_policy("CN=a"))
    policy = await kv.certificates.get_certificate_policy("pol")
    assert policy.subject == "CN=a" and policy.key_type == KeyType.ec
    policy._subject = "CN=b"
    policy._validity_in_months = 24
    updated = await kv.certificates.update_certificate_policy("pol", policy)
    assert updated.subject == "CN=b" and updated.validity_in_months == 24
    renewed = await kv.certificates.create_certificate("pol", updated)
    leaf = x509.load_der_x509_certificate(bytes(renewed.cer))
    assert leaf.subject.rfc4514_string() == "CN=b"


async def test_delete_recover_purge_with_backing_objects(kv: Clients) -> None:
    await kv.certificates.create_certificate("gone", _ec_policy())
    deleted = await kv.certificates.delete_certificate("gone")
    assert deleted.recovery_id and deleted.deleted_on and deleted.cer
    with pytest.raises(ResourceNotFoundError):
        await kv.certificates.get_certificate("gone")
    with pytest.raises(ResourceNotFoundError):
        await kv.secrets.get_secret("gone")
    with pytest.raises(ResourceNotFoundError):
        await kv.keys.get_key("gone")
    listed = [d.name async for d in kv.certificates.list_deleted_certificates()]
    assert listed == ["gone"]
    got = await kv.certificates.get_deleted_certificate("gone")
    assert got.policy is not None and got.policy.subject == "CN=bulk"

    with pytest.raises(HttpResponseError) as err:
        await kv.certificates.create_certificate("gone", _ec_policy())
    assert err.value.status_code == 409
    assert err.value.error is not None
    assert err.value.error.innererror == {"code": "ObjectIsDeletedButRecoverable"}

    recovered = await kv.certificates.recover_deleted_certificate("gone")
    assert recovered.name == "gone"
    assert (await kv.secrets.get_secret("gone")).value
    assert (await kv.keys.get_key("gone")).id == recovered.key_id

    await kv.certificates.delete_certificate("gone")
    await kv.certificates.purge_deleted_certificate("gone")
    assert [d async for d in kv.certificates.list_deleted_certificates()] == []
    assert [d async for d in kv.secrets.list_deleted_secrets()] == []
    assert [d async for d in kv.keys.list_deleted_keys()] == []
    await kv.certificates.create_certificate("gone", _ec_policy())


async def test_contacts_round_trip(kv: Clients) -> None:
    with pytest.raises(ResourceNotFoundError):
        await kv.certificates.get_contacts()
    contacts = [
        CertificateContact(email="a@contoso.test", name="A", phone="1"),
        CertificateContact(email="b@contoso.test"),
    ]
    saved = await kv.certificates.set_contacts(contacts)
    assert [c.email for c in saved] == ["a@contoso.test", "b@contoso.test"]
    got = await kv.certificates.get_contacts()
    assert got[0].name == "A" and got[0].phone == "1"
    removed = await kv.certificates.delete_contacts()
    assert len(removed) == 2
    with pytest.raises(ResourceNotFoundError):
        await kv.certificates.get_contacts()


async def test_issuers_round_trip(kv: Clients) -> None:
    created = await kv.certificates.create_issuer(
        "digi", "Test", account_id="acct", password="secret", organization_id="org"
    )
    assert created.provider == "Test" and created.account_id == "acct"
    assert created.password is None
    updated = await kv.certificates.update_issuer("digi", account_id="other")
    assert updated.account_id == "other" and updated.organization_id == "org"
    await kv.certificates.create_issuer("zeta", "OneCertV2-PublicCA")
    issuers = [(i.name, i.provider) async for i in kv.certificates.list_properties_of_issuers()]
    assert issuers == [("digi", "Test"), ("zeta", "OneCertV2-PublicCA")]
    deleted = await kv.certificates.delete_issuer("digi")
    assert deleted.name == "digi"
    with pytest.raises(ResourceNotFoundError):
        await kv.certificates.get_issuer("digi")


async def test_unknown_issuer_pending_then_merge(kv: Clients) -> None:
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=csr.test")
    op = await kv.certificates.create_certificate("csr", policy)
    assert op.status == "inProgress" and op.csr
    csr = x509.load_der_x509_csr(bytes(op.csr))
    assert csr.subject.rfc4514_string() == "CN=csr.test"
    assert [c async for c in kv.certificates.list_properties_of_certificates()] == []
    pending = kv.certificates.list_properties_of_certificates(include_pending=True)
    assert [c.name async for c in pending] == ["csr"]
    assert (await kv.certificates.get_certificate("csr")).cer is None

    cancelled = await kv.certificates.cancel_certificate_operation("csr")
    assert cancelled.cancellation_requested is True

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    t = dt.datetime.now(dt.timezone.utc)
    signed = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_name)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t)
        .not_valid_after(t + dt.timedelta(days=90))
        .sign(ca_key, hashes.SHA256())
    )
    der = signed.public_bytes(serialization.Encoding.DER)
    merged = await kv.certificates.merge_certificate("csr", [der])
    assert bytes(merged.cer) == der
    assert (await kv.certificates.get_certificate_operation("csr")).status == "completed"
    secret = await kv.secrets.get_secret("csr")
    key, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value or ""), None)
    assert key is not None and leaf == signed

    second = await kv.certificates.create_certificate("csr", policy)
    assert second.status == "inProgress"
    deleted_op = await kv.certificates.delete_certificate_operation("csr")
    assert deleted_op.status == "inProgress"
    with pytest.raises(ResourceNotFoundError):
        await kv.certificates.get_certificate_operation("csr")
    assert (await kv.certificates.get_certificate("csr")).cer == merged.cer


async def test_backup_restore_into_another_vault(kv: Clients, emulator: EmulatorThread) -> None:
    cert = await kv.certificates.create_certificate("bk", _ec_policy())
    blob = await kv.certificates.backup_certificate("bk")
    other = emulator.call(emulator.emulator.add_vault(f"restore{time.time_ns()}"))
    async with kv_clients(emulator.info, other.url) as kv2:
        restored = await kv2.certificates.restore_certificate_backup(blob)
        assert restored.cer == cert.cer and restored.properties.version == cert.properties.version
        secret = await kv2.secrets.get_secret("bk")
        assert secret.value and secret.properties.version == cert.properties.version
        assert (await kv2.keys.get_key("bk")).key_type == "EC"
        with pytest.raises(HttpResponseError) as err:
            await kv2.certificates.restore_certificate_backup(blob)
        assert err.value.status_code == 409


async def test_seeded_expired_certificate_is_complete(
    kv: Clients, emulator: EmulatorThread
) -> None:
    vault = next(v for v in emulator.state.vaults.values() if v.url == kv.vault_url)
    year_ago = int(time.time()) - 400 * 86400

    async def seed() -> None:
        create_self_signed(
            vault,
            "old",
            dns_names=["old.test"],
            not_before=year_ago,
            key_type="EC",
            tags={"seed": "1"},
        )

    emulator.call(seed())
    cert = await kv.certificates.get_certificate("old")
    assert cert.properties.expires_on is not None
    assert cert.properties.expires_on < dt.datetime.now(dt.timezone.utc)
    assert cert.policy is not None and cert.policy.subject == "CN=old"
    assert cert.properties.tags == {"seed": "1"}
    secret = await kv.secrets.get_secret("old")
    key, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value or ""), None)
    assert key is not None and leaf is not None and _spki(key) == _spki(leaf)
    assert (await kv.keys.get_key("old")).properties.expires_on == cert.properties.expires_on


@pytest.mark.parametrize("api_version", ["7.3", "7.4", "7.5", None])
async def test_a_policy_with_decipher_only_alone_is_honoured_not_a_500(
    emulator: EmulatorThread, api_version: str | None
) -> None:
    """Self-issued, decipherOnly without keyAgreement, EKUs, key reuse and an email
    lifetime action: the service accepts it (the emulator answered 500)."""
    vault = emulator.call(emulator.emulator.add_vault(f"odd{time.time_ns()}"))
    kwargs = {"api_version": api_version} if api_version else {}
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        subject="CN=odd.example",
        key_usage=[KeyUsageType.decipher_only],
        enhanced_key_usage=["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
        reuse_key=True,
        lifetime_actions=[
            LifetimeAction(action=CertificatePolicyAction.email_contacts, lifetime_percentage=80)
        ],
    )
    async with kv_clients(emulator.info, vault.url, **kwargs) as kv:
        made = await kv.certificates.create_certificate("odd", policy)
        assert made.cer
        back = await kv.certificates.get_certificate_policy("odd")
    # The policy reads back as asked; the certificate's key usage has keyAgreement too
    # (decipherOnly means nothing without it, RFC 5280 4.2.1.3).
    assert back.key_usage == [KeyUsageType.decipher_only]
    assert back.reuse_key is True
    assert back.lifetime_actions[0].action == CertificatePolicyAction.email_contacts
    cert = x509.load_der_x509_certificate(bytes(made.cer))
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.decipher_only and usage.key_agreement and not usage.digital_signature
    ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [e.dotted_string for e in ekus] == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]


async def _raw(
    info: EmulatorInfo,
    kv: Clients,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    api_version: str = "2026-04-01",
) -> tuple[int, dict[str, Any]]:
    """A request the SDK cannot express, over HTTPS with a real token: (status, JSON)."""
    async with ClientSecretMsalCredential(info) as cred:
        token = (await cred.get_token(VAULT_SCOPE)).token
    headers = {"Authorization": f"Bearer {token}"}
    ctx = ssl.create_default_context(cafile=info.ca_bundle)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ctx), trust_env=False
    ) as http:
        url = f"{kv.vault_url.rstrip('/')}/{path}?api-version={api_version}"
        async with http.request(method, url, json=body, headers=headers) as resp:
            return resp.status, await resp.json()


def _ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Merge Test CA")])
    t = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t)
        .not_valid_after(t + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _sign_csr(
    csr_der: bytes, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> x509.Certificate:
    csr = x509.load_der_x509_csr(csr_der)
    t = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca[1].subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t)
        .not_valid_after(t + dt.timedelta(days=90))
        .sign(ca[0], hashes.SHA256())
    )


def _pem_body(cert: x509.Certificate, newlines: bool) -> bytes:
    """The base64 text of a certificate's DER: a PEM body without its armour."""
    lines = cert.public_bytes(serialization.Encoding.PEM).splitlines()[1:-1]
    return b"\n".join(lines) if newlines else b"".join(lines)


@pytest.mark.parametrize(
    "form",
    ["der", "pem", "pem-body", "pem-body-lines", "pem-chain-in-one-entry"],
)
async def test_merge_takes_der_pem_and_the_base64_text_of_der(kv: Clients, form: str) -> None:
    """The SDK base64-encodes each x5c entry's bytes: the service takes DER, PEM (the
    SDK's own merge test sends a PEM body's bytes) and the base64 text of DER."""
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=merge.test")
    op = await kv.certificates.create_certificate("m", policy)
    ca = _ca()
    leaf = _sign_csr(bytes(op.csr or b""), ca)
    der = leaf.public_bytes(serialization.Encoding.DER)
    ca_pem = ca[1].public_bytes(serialization.Encoding.PEM)
    x5c: list[bytes] = {
        "der": [der, ca[1].public_bytes(serialization.Encoding.DER)],
        "pem": [leaf.public_bytes(serialization.Encoding.PEM), ca_pem],
        "pem-body": [_pem_body(leaf, False), _pem_body(ca[1], False)],
        "pem-body-lines": [_pem_body(leaf, True), _pem_body(ca[1], True)],
        "pem-chain-in-one-entry": [leaf.public_bytes(serialization.Encoding.PEM) + ca_pem],
    }[form]
    merged = await kv.certificates.merge_certificate("m", x5c)
    assert bytes(merged.cer or b"") == der
    assert (await kv.certificates.get_certificate_operation("m")).status == "completed"
    secret = await kv.secrets.get_secret("m")
    key, got_leaf, chain = pkcs12.load_key_and_certificates(
        base64.b64decode(secret.value or ""), None
    )
    assert key is not None and got_leaf == leaf and chain == [ca[1]]


async def test_merge_refuses_garbage_and_raw_pem_text_is_taken(
    kv: Clients, info: EmulatorInfo
) -> None:
    """Bytes that are neither DER, PEM nor base64 of DER: the service's 400. An x5c
    entry that is PEM text itself (not base64; the SDK cannot send that) is taken."""
    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=junk.test")
    op = await kv.certificates.create_certificate("junk", policy)
    for junk in [b"not a certificate", b"AAAA", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END"]:
        with pytest.raises(HttpResponseError) as err:
            await kv.certificates.merge_certificate("junk", [junk])
        assert err.value.status_code == 400
        assert err.value.error is not None and err.value.error.code == "BadParameter"
        assert "x5c" in str(err.value.message)
    leaf = _sign_csr(bytes(op.csr or b""), _ca())
    pem = leaf.public_bytes(serialization.Encoding.PEM).decode()
    status, body = await _raw(info, kv, "POST", "certificates/junk/pending/merge", {"x5c": [pem]})
    assert status == 201, body
    assert base64.b64decode(body["cer"]) == leaf.public_bytes(serialization.Encoding.DER)


# -- api-version 2026-04-01: platformManaged, preserveCertOrder, the merge wording ------


async def test_a_platform_managed_policy_is_kept_and_returned(kv: Clients) -> None:
    """policy.platformManaged (certificateUsage, free-form metadata) as the SDK 4.12
    sends it on 2026-04-01: stored, answered in the policy, the certificate and the
    policy PATCH (it answered 500 or was dropped)."""
    metadata = {"owner": "platform", "nested": {"list": [1, "two", None], "flag": True}}
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        subject="CN=pm.test",
        platform_managed=PlatformManaged(certificate_usage="ServerAuth", metadata=metadata),
    )
    made = await kv.certificates.create_certificate("pm", policy)
    assert made.policy is not None and made.policy.platform_managed is not None
    assert made.policy.platform_managed.certificate_usage == "ServerAuth"
    assert made.policy.platform_managed.metadata == metadata
    for got in [
        await kv.certificates.get_certificate_policy("pm"),
        (await kv.certificates.get_certificate("pm")).policy,
    ]:
        assert got is not None and got.platform_managed is not None
        assert got.platform_managed.certificate_usage == "ServerAuth"
        assert got.platform_managed.metadata == metadata
        assert got.subject == "CN=pm.test"

    patched = await kv.certificates.update_certificate_policy(
        "pm",
        CertificatePolicy(platform_managed=PlatformManaged(certificate_usage="ClientAuth")),
    )
    assert patched.platform_managed is not None
    assert patched.platform_managed.certificate_usage == "ClientAuth"
    assert patched.platform_managed.metadata is None
    assert patched.subject == "CN=pm.test"
    # A PATCH without it leaves it as it is.
    again = await kv.certificates.update_certificate_policy(
        "pm", CertificatePolicy(validity_in_months=6)
    )
    assert again.platform_managed is not None
    assert again.platform_managed.certificate_usage == "ClientAuth"

    pending = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.unknown,
        subject="CN=pm2.test",
        platform_managed=PlatformManaged(certificate_usage="ServerAuth"),
    )
    await kv.certificates.create_certificate("pm2", pending)
    got = await kv.certificates.get_certificate_policy("pm2")
    assert got.platform_managed is not None
    assert got.platform_managed.certificate_usage == "ServerAuth"


async def test_preserve_order_is_kept_on_the_certificate_and_the_operation(kv: Clients) -> None:
    """preserveCertOrder on create reads back from the certificate and the operation
    (where the SDK reads it); not given, it is not answered."""
    made = await kv.certificates.create_certificate(
        "keep", _ec_policy("CN=keep.test"), preserve_order=True
    )
    assert made.properties.preserve_order is True
    assert (await kv.certificates.get_certificate("keep")).properties.preserve_order is True
    version = made.properties.version or ""
    again = await kv.certificates.get_certificate_version("keep", version)
    assert again.properties.preserve_order is True
    assert (await kv.certificates.get_certificate_operation("keep")).preserve_order is True

    off = await kv.certificates.create_certificate(
        "off", _ec_policy("CN=off.test"), preserve_order=False
    )
    assert off.properties.preserve_order is False
    plain = await kv.certificates.create_certificate("plain", _ec_policy("CN=plain.test"))
    assert plain.properties.preserve_order is None

    # The deleted certificate has it too.
    poller = await kv.certificates.delete_certificate("keep")
    assert poller.properties.preserve_order is True


@pytest.mark.parametrize("preserve", [True, None])
async def test_unknown_issuer_asks_for_a_merge_and_the_merge_keeps_the_order(
    kv: Clients, preserve: bool | None
) -> None:
    """Issuer Unknown: inProgress, the service's words asking for the merge, a CSR.
    The merged chain's order in the PEM secret: as given with preserveCertOrder, else
    the leaf first (the leaf found by its key, wherever it is in x5c)."""
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.unknown,
        subject="CN=order.test",
        content_type=CertificateContentType.pem,
    )
    op = await kv.certificates.create_certificate("order", policy, preserve_order=preserve)
    want = "Pending certificate created. Please Perform Merge to complete the request."
    for got in [op, await kv.certificates.get_certificate_operation("order")]:
        assert got.status == "inProgress"
        assert got.status_details == want
        assert got.csr and x509.load_der_x509_csr(bytes(got.csr)).subject.rfc4514_string() == (
            "CN=order.test"
        )
        assert got.preserve_order is preserve

    ca = _ca()
    leaf = _sign_csr(bytes(op.csr or b""), ca)
    ca_der = ca[1].public_bytes(serialization.Encoding.DER)
    merged = await kv.certificates.merge_certificate(
        "order", [ca_der, leaf.public_bytes(serialization.Encoding.DER)]
    )
    assert bytes(merged.cer or b"") == leaf.public_bytes(serialization.Encoding.DER)
    assert merged.properties.preserve_order is preserve
    secret = await kv.secrets.get_secret("order")
    in_secret = x509.load_pem_x509_certificates((secret.value or "").encode())
    assert in_secret == ([ca[1], leaf] if preserve else [leaf, ca[1]])
    done = await kv.certificates.get_certificate_operation("order")
    assert done.status == "completed" and done.status_details is None


async def test_import_keeps_the_order_it_was_given(kv: Clients) -> None:
    ca = _ca()
    key = ec.generate_private_key(ec.SECP256R1())
    t = dt.datetime.now(dt.timezone.utc)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imp.test")]))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t)
        .not_valid_after(t + dt.timedelta(days=30))
        .sign(ca[0], hashes.SHA256())
    )
    pem = (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + ca[1].public_bytes(serialization.Encoding.PEM)
        + leaf.public_bytes(serialization.Encoding.PEM)
    )
    pem_policy = CertificatePolicy(content_type=CertificateContentType.pem)
    for name, preserve, want in [("imp1", True, [ca[1], leaf]), ("imp2", None, [leaf, ca[1]])]:
        got = await kv.certificates.import_certificate(
            name, pem, policy=pem_policy, preserve_order=preserve
        )
        assert got.properties.preserve_order is preserve
        secret = await kv.secrets.get_secret(name)
        assert x509.load_pem_x509_certificates((secret.value or "").encode()) == want


async def test_a_platform_managed_policy_the_emulator_cannot_honour_is_400(kv: Clients) -> None:
    """platformManaged with no subject and no SANs: the service names the certificate
    from what the platform knows; the emulator cannot, and answers the service's 400
    BadParameter for a request it does not support (never a 500). The SDK sends it."""
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        platform_managed=PlatformManaged(certificate_usage="ServerAuth"),
    )
    with pytest.raises(HttpResponseError) as err:
        await kv.certificates.create_certificate("pmx", policy)
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == "BadParameter"
    assert "platform-managed" in str(err.value.message)
    assert "not supported" in str(err.value.message)
    with pytest.raises(ResourceNotFoundError):
        await kv.certificates.get_certificate("pmx")


MALFORMED_POLICIES: list[dict[str, Any]] = [
    {"platformManaged": "ServerAuth", "x509_props": {"subject": "CN=a"}},
    {"platformManaged": {"metadata": {}}, "x509_props": {"subject": "CN=a"}},
    {
        "platformManaged": {"certificateUsage": "x", "metadata": [1]},
        "x509_props": {"subject": "CN=a"},
    },
    {"key_props": "RSA", "x509_props": {"subject": "CN=a"}},
    {"key_props": {"key_size": "big"}, "x509_props": {"subject": "CN=a"}},
    {"key_props": {"kty": "EC", "crv": ["P-256"]}, "x509_props": {"subject": "CN=a"}},
    {"secret_props": "pem", "x509_props": {"subject": "CN=a"}},
    {"x509_props": "CN=a"},
    {"x509_props": {"subject": 5}},
    {"x509_props": {"subject": "CN=a", "validity_months": "twelve"}},
    {"x509_props": {"subject": "CN=a", "sans": ["a.test"]}},
    {"x509_props": {"sans": {"dns_names": [5]}}},
    {"x509_props": {"sans": {"dns_names": ["\u00e9t\u00e9.test"]}}},
    {"x509_props": {"sans": {"emails": ["\u00e9@mail.test"]}}},
    {"x509_props": {"subject": "CN=a", "ekus": ["server auth"]}},
    {"x509_props": {"subject": "CN=a", "key_usage": "digitalSignature"}},
    {"issuer": {"name": 5}, "x509_props": {"subject": "CN=a"}},
    {"lifetime_actions": [{"trigger": "soon"}], "x509_props": {"subject": "CN=a"}},
    {
        "lifetime_actions": [{"trigger": {"days_before_expiry": "x"}, "action": {}}],
        "x509_props": {"subject": "CN=a"},
    },
    {
        "lifetime_actions": [
            {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "X"}}
        ],
        "x509_props": {"subject": "CN=a"},
    },
    {"attributes": "enabled", "x509_props": {"subject": "CN=a"}},
]


@pytest.mark.parametrize("policy", MALFORMED_POLICIES)
async def test_a_malformed_policy_is_bad_parameter_not_500(
    kv: Clients, info: EmulatorInfo, policy: dict[str, Any]
) -> None:
    """Values of the wrong JSON type (the SDK cannot send them: raw HTTPS) answered
    500 when the emulator used them; the service's answer is 400 BadParameter."""
    body = {"policy": {"issuer": {"name": "Self"}, **policy}}
    status, answer = await _raw(info, kv, "POST", "certificates/bad/create", body)
    assert status == 400, answer
    assert answer["error"]["code"] == "BadParameter"


async def test_preserve_order_that_is_not_a_boolean_is_bad_parameter(
    kv: Clients, info: EmulatorInfo
) -> None:
    policy = {"issuer": {"name": "Self"}, "x509_props": {"subject": "CN=a"}}
    for path in ["certificates/bad/create", "certificates/bad/import"]:
        body = {"policy": policy, "preserveCertOrder": "yes", "value": "AAAA"}
        status, answer = await _raw(info, kv, "POST", path, body)
        assert status == 400 and answer["error"]["code"] == "BadParameter", answer
        assert "preserveCertOrder" in answer["error"]["message"]


async def test_malformed_attributes_are_bad_parameter_and_a_bad_policy_patch_changes_nothing(
    kv: Clients, info: EmulatorInfo
) -> None:
    await kv.certificates.create_certificate("attrs", _ec_policy("CN=attrs.test"))
    policy = {"issuer": {"name": "Self"}, "x509_props": {"subject": "CN=a"}}
    for method, path, body in [
        ("POST", "certificates/attrs2/create", {"policy": policy, "attributes": "on"}),
        ("PATCH", "certificates/attrs", {"attributes": ["enabled"]}),
        ("PUT", "certificates/issuers/iss", {"provider": "Test", "attributes": "on"}),
    ]:
        status, answer = await _raw(info, kv, method, path, body)
        assert status == 400 and answer["error"]["code"] == "BadParameter", (path, answer)
    patch = {"attributes": {"enabled": False}, "policy": {"x509_props": {"ekus": "x"}}}
    status, answer = await _raw(info, kv, "PATCH", "certificates/attrs", patch)
    assert status == 400, answer
    cert = await kv.certificates.get_certificate("attrs")
    assert cert.properties.enabled is True


async def test_backup_restore_keeps_platform_managed_and_preserve_order(
    kv: Clients, emulator: EmulatorThread
) -> None:
    """Backups (and persistence, the same JSON) keep both 2026-04-01 fields."""
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        subject="CN=bk2",
        platform_managed=PlatformManaged(certificate_usage="ServerAuth", metadata={"k": 1}),
    )
    await kv.certificates.create_certificate("bk2", policy, preserve_order=True)
    blob = await kv.certificates.backup_certificate("bk2")
    other = emulator.call(emulator.emulator.add_vault(f"restore{time.time_ns()}"))
    async with kv_clients(emulator.info, other.url) as kv2:
        restored = await kv2.certificates.restore_certificate_backup(blob)
        assert restored.properties.preserve_order is True
        got = await kv2.certificates.get_certificate_policy("bk2")
        assert got.platform_managed is not None
        assert got.platform_managed.certificate_usage == "ServerAuth"
        assert got.platform_managed.metadata == {"k": 1}
