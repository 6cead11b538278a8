"""Certificate files with their private key (kvtui/core/certfiles.py): a PFX or PEM
checked before it is imported (kvtui/core/writes.py ``import_certificate``), a
certificate's key read from its secret and written as PFX or PEM, against the emulator
and checked with the official SDK; a non-exportable key is said plainly; read-only
refuses the import but not the download; neither a password nor a key reaches the log."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from azure.keyvault.certificates import CertificateContentType, CertificatePolicy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from kvtui.core import certfiles, writes
from kvtui.core.certfiles import PEM, PKCS12, CertificateFileError, NoPrivateKey
from kvtui.core.errors import PermissionDenied, VaultError
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo
from kvtui.emulator.store import Vault
from tests.emulator.admin_support import Admin
from tests.support import Clients, open_service

PASSWORD = "pfx-pa55word-never-logged"


@pytest.fixture
async def svc(info: EmulatorInfo, vault: Vault) -> AsyncIterator[VaultService]:
    async with open_service(info, vault.url) as service:
        yield service


# -- files made here, as openssl would -------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(
    cn: str, key: certfiles.PrivateKey, issuer_key: certfiles.PrivateKey | None = None,
    issuer: str | None = None,
) -> x509.Certificate:  # fmt: skip
    now = datetime.now(timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(issuer or cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or key, hashes.SHA256())


def chain() -> tuple[rsa.RSAPrivateKey, x509.Certificate, x509.Certificate]:
    """A leaf's key, the leaf, and the CA that issued it."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = issue("Test CA", ca_key)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, issue("www.example.com", key, ca_key, issuer="Test CA"), ca


def pem_of(*parts: object) -> bytes:
    out = b""
    for part in parts:
        if isinstance(part, x509.Certificate):
            out += part.public_bytes(serialization.Encoding.PEM)
        else:
            out += part.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
    return out


def spki(public: object) -> bytes:
    return public.public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# -- telling the formats apart, checking a file (no vault) ------------------------------


def test_the_format_is_told_from_the_bytes() -> None:
    key, leaf, ca = chain()
    pfx = pkcs12.serialize_key_and_certificates(b"x", key, leaf, [ca], serialization.NoEncryption())
    assert certfiles.file_format(pfx) == PKCS12
    assert certfiles.file_format(base64.encodebytes(pfx)) == PKCS12  # az's base64 text
    assert certfiles.file_format(b"Bag Attributes\n" + pem_of(key, leaf)) == PEM
    assert certfiles.file_format(b"hello, world") is None
    assert certfiles.asks_password(pfx)  # (it may be empty)
    assert not certfiles.asks_password(pem_of(key, leaf))
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    assert certfiles.asks_password(encrypted + pem_of(leaf))
    assert not certfiles.asks_password(b"neither")


def test_a_file_is_checked_before_anything_is_sent() -> None:
    key, leaf, ca = chain()
    enc = serialization.BestAvailableEncryption(PASSWORD.encode())
    pfx = pkcs12.serialize_key_and_certificates(b"x", key, leaf, [ca], enc)
    ok = certfiles.prepare_import(pfx, PASSWORD)
    assert (ok.content_type, ok.data, ok.password) == (PKCS12, pfx, PASSWORD)
    assert ok.subject == "CN=www.example.com" and ok.key == "RSA 2048" and ok.certificates == 2
    assert "PFX: CN=www.example.com, RSA 2048 key, with 1 more in its chain" in ok.summary()
    assert PASSWORD not in repr(ok)

    with pytest.raises(CertificateFileError, match="password is wrong") as wrong:
        certfiles.prepare_import(pfx, "not-it")
    assert wrong.value.password
    with pytest.raises(CertificateFileError, match="Type its password"):
        certfiles.prepare_import(pfx, "")
    # Base64 text of a PFX: sent as the PFX itself.
    assert certfiles.prepare_import(base64.b64encode(pfx), PASSWORD).data == pfx
    # An empty password is a password too.
    none = serialization.NoEncryption()
    bare = pkcs12.serialize_key_and_certificates(b"x", key, leaf, None, none)
    assert certfiles.prepare_import(bare, "").password is None

    # PEM: the CA first, the leaf after; sent leaf first, the key as PKCS#8.
    pem = certfiles.prepare_import(pem_of(ca, key, leaf))
    assert pem.content_type == PEM and pem.password is None
    sent = x509.load_pem_x509_certificates(pem.data)
    assert sent == [leaf, ca]
    assert pem.data.startswith(b"-----BEGIN PRIVATE KEY-----")

    # An encrypted PEM key: asked for, decrypted here, sent without a password.
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
    ) + pem_of(leaf)
    with pytest.raises(CertificateFileError, match="encrypted: type its password"):
        certfiles.prepare_import(encrypted)
    with pytest.raises(CertificateFileError, match="password is wrong"):
        certfiles.prepare_import(encrypted, "nope")
    opened = certfiles.prepare_import(encrypted, PASSWORD)
    assert opened.password is None and b"ENCRYPTED" not in opened.data

    # What the service would refuse, said here.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        b"not a certificate at all": "neither a PFX",
        pem_of(leaf, ca): "no private key",
        pem_of(key): "no certificate",
        pem_of(other, leaf): "belongs to none of its 1 certificate",
        pem_of(key, other, leaf): "2 private keys",
        pkcs12.serialize_key_and_certificates(
            b"x", None, None, [leaf], serialization.NoEncryption()
        ): "PFX file holds no private key",
    }
    for data, said in cases.items():
        with pytest.raises(CertificateFileError, match=said):
            certfiles.prepare_import(data)
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_pem = ed.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(CertificateFileError, match="Ed25519: Key Vault holds RSA and EC"):
        certfiles.prepare_import(ed_pem + pem_of(leaf))


# -- against the vault --------------------------------------------------------------------


async def test_import_a_pfx_and_a_pem_then_read_them_back_with_their_keys(
    svc: VaultService, sdk: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key, leaf, ca = chain()
    enc = serialization.BestAvailableEncryption(PASSWORD.encode())
    pfx = pkcs12.serialize_key_and_certificates(b"x", key, leaf, [ca], enc)
    ready = certfiles.prepare_import(pfx, PASSWORD)
    item = await writes.import_certificate(
        svc, "web-pfx", ready.data, ready.password, ready.content_type, tags={"from": "file"}
    )
    got = await sdk.certificates.get_certificate("web-pfx")
    assert got.properties is not None
    assert item.version == got.properties.version and got.properties.tags == {"from": "file"}
    assert x509.load_der_x509_certificate(bytes(got.cer or b"")) == leaf
    secret = await sdk.secrets.get_secret("web-pfx")
    assert secret.properties.content_type == PKCS12
    bundle = await certfiles.read_with_key(svc, "web-pfx")
    assert spki(bundle.key.public_key()) == spki(key.public_key())
    assert bundle.certificate == leaf and bundle.chain == (ca,)

    # A PEM (an EC key this time), CA first in the file.
    ec_key = ec.generate_private_key(ec.SECP384R1())
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_leaf = issue("api.example.com", ec_key, ca_key, issuer="Test CA")
    ready = certfiles.prepare_import(pem_of(ca, ec_key, ec_leaf))
    assert ready.key == "EC P-384"
    await writes.import_certificate(svc, "api-pem", ready.data, None, ready.content_type)
    secret = await sdk.secrets.get_secret("api-pem")
    assert secret.properties.content_type == PEM
    assert "PRIVATE KEY" in (secret.value or "")
    got = await sdk.certificates.get_certificate("api-pem")
    assert x509.load_der_x509_certificate(bytes(got.cer or b"")) == ec_leaf
    bundle = await certfiles.read_with_key(svc, "api-pem")
    assert bundle.content_type == PEM and certfiles.key_matches(bundle.key, ec_leaf)

    # Written out again: a PFX with a new password, a PEM with and without one.
    out = certfiles.to_pfx(bundle, "n3w", "api-pem")
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(out, b"wrong")
    loaded = pkcs12.load_pkcs12(out, b"n3w")
    assert loaded.cert is not None and loaded.cert.certificate == ec_leaf
    assert loaded.cert.friendly_name == b"api-pem"
    assert certfiles.key_matches(loaded.key, ec_leaf)
    bare = certfiles.to_pfx(bundle, "", "api-pem")
    assert pkcs12.load_key_and_certificates(bare, None)[1] == ec_leaf
    plain = certfiles.to_pem(bundle, None)
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert certfiles.key_matches(serialization.load_pem_private_key(plain, None), ec_leaf)
    locked = certfiles.to_pem(bundle, "n3w")
    assert locked.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert x509.load_pem_x509_certificates(locked) == [ec_leaf, ca]
    assert certfiles.key_matches(serialization.load_pem_private_key(locked, b"n3w"), ec_leaf)

    # A downloaded PFX imports again under another name: the same certificate.
    again = certfiles.prepare_import(certfiles.to_pfx(bundle, "n3w", "x"), "n3w")
    await writes.import_certificate(svc, "api-copy", again.data, again.password, PKCS12)
    copy = await sdk.certificates.get_certificate("api-copy")
    assert copy.properties is not None and got.properties is not None
    assert copy.properties.x509_thumbprint == got.properties.x509_thumbprint

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in logged and "n3w" not in logged and "PRIVATE KEY" not in logged
    audit = [r.getMessage() for r in caplog.records if r.name == "kvtui.audit"]
    assert "import certificate 'web-pfx' version=" in audit[0]
    assert "export certificate 'web-pfx' with its private key: ok" in audit


async def test_a_certificate_made_in_the_vault_comes_out_with_its_key(
    svc: VaultService, sdk: Clients
) -> None:
    for content_type in (CertificateContentType.pkcs12, CertificateContentType.pem):
        name = f"made-{content_type.name}"
        policy = CertificatePolicy(
            issuer_name="Self", subject="CN=made.example.com", content_type=content_type
        )
        made = await sdk.certificates.create_certificate(name, policy)
        leaf = x509.load_der_x509_certificate(bytes(made.cer or b""))  # type: ignore[union-attr]
        bundle = await certfiles.read_with_key(svc, name)
        assert bundle.certificate == leaf and certfiles.key_matches(bundle.key, leaf)
        assert bundle.content_type == str(content_type.value)


async def test_a_key_that_is_not_exportable_is_said_plainly(
    svc: VaultService, sdk: Clients, admin: Admin, vault: Vault
) -> None:
    for content_type in (CertificateContentType.pkcs12, CertificateContentType.pem):
        name = f"locked-{content_type.name}"
        # (With exportable=False alone the SDK sends no key properties: a key type too.)
        policy = CertificatePolicy(
            issuer_name="Self",
            subject="CN=x",
            exportable=False,
            key_type="RSA",
            content_type=content_type,
        )
        await sdk.certificates.create_certificate(name, policy)
        with pytest.raises(NoPrivateKey, match=f"Certificate {name} has no private key"):
            await certfiles.read_with_key(svc, name)

    # No permission to read secrets: said, and why a certificate needs it.
    rule = {"secrets": ["list"], "keys": ["list"], "certificates": ["get", "list"]}
    await admin.call("PUT", f"/permissions/{vault.name}/*", rule, expect=200)
    try:
        with pytest.raises(PermissionDenied, match="secrets get permission"):
            await certfiles.read_with_key(svc, "locked-pkcs12")
    finally:
        await admin.call("DELETE", f"/permissions/{vault.name}/*", expect=None)


async def test_read_only_refuses_the_import_but_not_the_download(
    svc: VaultService, sdk: Clients, admin: Admin, vault: Vault
) -> None:
    policy = CertificatePolicy(issuer_name="Self", subject="CN=ro.example.com")
    await sdk.certificates.create_certificate("ro", policy)
    key, leaf, _ = chain()
    ready = certfiles.prepare_import(pem_of(key, leaf))
    _, seen = await admin.call("GET", f"/requests?vault={vault.name}", expect=200)
    svc.read_only_rule = "--read-only"
    with pytest.raises(writes.ReadOnlyVault, match="was not imported"):
        await writes.import_certificate(svc, "ro-import", ready.data, None, PEM)
    _, after = await admin.call(
        "GET", f"/requests?vault={vault.name}&since={seen['last']}", expect=200
    )
    assert after["value"] == []  # nothing sent
    assert (await certfiles.read_with_key(svc, "ro")).certificate.subject == _name("ro.example.com")

    # The service's own refusal of a bad file keeps its words.
    svc.read_only_rule = None
    with pytest.raises(VaultError, match="Import certificate bad"):
        await writes.import_certificate(svc, "bad", b"garbage", None, PKCS12)
