"""Certificate administration (kvtui/core/certificates.py) over the real SDK against the
emulator, each step checked with the official client: a pending certificate's CSR, signed
by a CA made here and merged from PEM, DER or PKCS#7; cancel and delete of the
operation; the policy edited without touching what the form does not show; issuers and
contacts; read-only refusals; the audit log never holds an issuer's password."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.certificates import CertificatePolicy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from kvtui.core import certificates as admin
from kvtui.core.validation import InvalidValue
from kvtui.core.vault import VaultService
from kvtui.core.writes import ReadOnlyVault, cancel_certificate_operation
from kvtui.emulator import EmulatorInfo
from kvtui.emulator.store import Vault
from tests.support import Clients, open_service

PASSWORD = "issuer-pa55word-never-logged"


class LocalCA:
    """A certificate authority of the test's own: signs a vault's CSR as a real CA
    would (the subject and key from the CSR, the issuer its own)."""

    def __init__(self, name: str = "kvtui test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def sign(self, csr_pem: str | bytes) -> x509.Certificate:
        data = csr_pem.encode() if isinstance(csr_pem, str) else csr_pem
        csr = x509.load_pem_x509_csr(data)
        assert csr.is_signature_valid
        now = datetime.now(timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.cert.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )

    def chain_pem(self, leaf: x509.Certificate, *, with_key: bool = False) -> bytes:
        """Leaf then CA, as a CA's "full chain" download; ``with_key``: a private key
        block too (a careless bundle), which must never be sent."""
        pem = leaf.public_bytes(serialization.Encoding.PEM)
        pem += self.cert.public_bytes(serialization.Encoding.PEM)
        if with_key:
            pem += self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        return pem


@pytest.fixture
async def svc(info: EmulatorInfo, vault: Vault) -> AsyncIterator[VaultService]:
    async with open_service(info, vault.url) as service:
        yield service


async def pending(sdk: Clients, name: str, subject: str = "CN=web.example.com") -> None:
    await sdk.certificates.create_certificate(name, CertificatePolicy("Unknown", subject=subject))


async def test_a_pending_certificate_signed_elsewhere_and_merged(
    svc: VaultService, sdk: Clients
) -> None:
    await pending(sdk, "web")
    await sdk.certificates.create_certificate("done", CertificatePolicy.get_default())
    assert await admin.pending_names(svc) == ["web"]
    op = await admin.get_operation(svc, "web")
    assert op is not None and op.in_progress and op.issuer == "Unknown"
    assert "Merge" in op.status_details and not op.cancellation_requested
    pem = op.csr_pem
    assert pem.startswith("-----BEGIN CERTIFICATE REQUEST-----\n")
    assert pem.endswith("-----END CERTIFICATE REQUEST-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    csr = x509.load_pem_x509_csr(pem.encode())
    assert csr.subject.rfc4514_string() == "CN=web.example.com"
    sections = op.sections()
    assert [s.title for s in sections] == ["Operation", "CSR (PEM)"]
    assert sections[1].note.startswith("-----BEGIN CERTIFICATE REQUEST-----")

    ca = LocalCA()
    leaf = ca.sign(pem)
    chain = admin.read_chain(ca.chain_pem(leaf, with_key=True))  # the key block left out
    assert [x509.load_der_x509_certificate(d) for d in chain] == [leaf, ca.cert]
    merged = await admin.merge_certificate(svc, "web", chain)
    assert merged.name == "web" and merged.version
    got = await sdk.certificates.get_certificate("web")
    assert x509.load_der_x509_certificate(bytes(got.cer or b"")) == leaf
    done = await admin.get_operation(svc, "web")
    assert done is not None and done.status == "completed" and not done.in_progress
    assert await admin.pending_names(svc) == []


async def test_chains_are_read_from_pem_der_pkcs7_and_base64() -> None:
    ca = LocalCA()
    der = ca.cert.public_bytes(serialization.Encoding.DER)
    assert admin.read_chain(der) == [der]
    assert admin.read_chain(base64.b64encode(der) + b"\n") == [der]
    p7 = pkcs7.serialize_certificates([ca.cert], serialization.Encoding.DER)
    assert admin.read_chain(p7) == [der]
    p7_pem = pkcs7.serialize_certificates([ca.cert], serialization.Encoding.PEM)
    assert admin.read_chain(p7_pem) == [der]
    key_only = ca.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidValue, match="no certificate"):
        admin.read_chain(key_only)
    with pytest.raises(InvalidValue, match="not a certificate"):
        admin.read_chain(b"\x00garbage")
    with pytest.raises(InvalidValue, match="not a certificate"):
        admin.read_chain(b"")


async def test_cancel_then_delete_the_operation(svc: VaultService, sdk: Clients) -> None:
    await pending(sdk, "api")
    assert await cancel_certificate_operation(svc, "api")
    op = await admin.get_operation(svc, "api")
    assert op is not None and op.cancellation_requested
    from kvtui.core.writes import delete_certificate_operation

    await delete_certificate_operation(svc, "api")
    assert await admin.get_operation(svc, "api") is None
    with pytest.raises(ResourceNotFoundError):
        await sdk.certificates.get_certificate_operation("api")
    # A certificate that never had one: None too.
    assert await admin.get_operation(svc, "nothing-here") is None


async def test_the_policy_edited_keeps_what_the_form_does_not_show(
    svc: VaultService, sdk: Clients
) -> None:
    policy = CertificatePolicy(
        "Self",
        subject="CN=old.example.com",
        san_dns_names=["old.example.com"],
        key_type="EC",
        key_curve_name="P-384",
        key_usage=["digitalSignature"],
        enhanced_key_usage=["1.3.6.1.5.5.7.3.2"],
        validity_in_months=12,
    )
    await sdk.certificates.create_certificate("svc", policy)
    current = await admin.get_policy(svc, "svc")
    edit = admin.policy_edit(current)
    assert edit.subject == "CN=old.example.com" and edit.dns_names == ("old.example.com",)
    assert admin.sans_field(edit) == "old.example.com"
    new = admin.PolicyEdit(
        subject="CN=new.example.com, O=Contoso",
        dns_names=("new.example.com", "www.new.example.com"),
        emails=("ops@example.com",),
        validity_months=6,
        reuse_key=True,
        exportable=False,
        content_type="application/x-pem-file",
        action="EmailContacts",
        percentage=None,
        days_before=30,
    )
    await admin.update_policy(svc, "svc", current, new)
    got = await sdk.certificates.get_certificate_policy("svc")
    assert got.subject == "CN=new.example.com, O=Contoso"
    assert got.san_dns_names == ["new.example.com", "www.new.example.com"]
    assert got.san_emails == ["ops@example.com"]
    assert got.validity_in_months == 6 and got.reuse_key is True and got.exportable is False
    assert str(got.content_type) == "application/x-pem-file" or (
        getattr(got.content_type, "value", None) == "application/x-pem-file"
    )
    action = (got.lifetime_actions or [])[0]
    assert str(getattr(action.action, "value", action.action)) == "EmailContacts"
    assert action.days_before_expiry == 30 and action.lifetime_percentage is None
    # Not in the form: as it was.
    assert got.issuer_name == "Self"
    assert str(getattr(got.key_type, "value", got.key_type)) == "EC"
    assert str(getattr(got.key_curve_name, "value", got.key_curve_name)) == "P-384"
    assert got.enhanced_key_usage == ["1.3.6.1.5.5.7.3.2"]
    assert admin.lifetime_field(admin.policy_edit(got)) == "30d"
    rows = {r.label: r.text for r in admin.policy_sections(got)[0].rows}
    assert rows["EKUs"] == "1.3.6.1.5.5.7.3.2 (client authentication)"
    assert rows["Lifetime"] == "Email contacts 30 days before expiry"
    assert rows["SANs"] == "DNS: new.example.com\nDNS: www.new.example.com\nemail: ops@example.com"


async def test_issuers_created_edited_deleted_never_logging_the_password(
    svc: VaultService, sdk: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert await admin.list_issuers(svc) == []
    fields = admin.IssuerFields(
        provider="DigiCert",
        account_id="acct-1",
        password=PASSWORD,
        organization_id="org-7",
        admin_contacts=admin.parse_admins("admin@example.com, Ada, Lovelace, +44 1"),
    )
    assert PASSWORD not in repr(fields)
    made = await admin.create_issuer(svc, "digi", fields)
    assert made.provider == "DigiCert" and made.account_id == "acct-1"
    got = await sdk.certificates.get_issuer("digi")
    assert (got.provider, got.account_id, got.organization_id) == ("DigiCert", "acct-1", "org-7")
    assert [(a.email, a.first_name, a.last_name, a.phone) for a in got.admin_contacts or []] == [
        ("admin@example.com", "Ada", "Lovelace", "+44 1")
    ]
    assert await admin.list_issuers(svc) == [("digi", "DigiCert")]
    info = await admin.get_issuer(svc, "digi")
    assert info.admin_contacts[0].first_name == "Ada"
    assert admin.admin_text(info.admin_contacts[0]) == "admin@example.com, Ada, Lovelace, +44 1"

    # An edit without a password keeps the credentials the vault has.
    edited = admin.IssuerFields(provider="GlobalSign", account_id="acct-1", organization_id="org-8")
    await admin.update_issuer(svc, "digi", edited)
    got = await sdk.certificates.get_issuer("digi")
    assert (got.provider, got.account_id, got.organization_id) == ("GlobalSign", "acct-1", "org-8")

    await admin.delete_issuer(svc, "digi")
    with pytest.raises(ResourceNotFoundError):
        await sdk.certificates.get_issuer("digi")
    assert PASSWORD not in caplog.text
    audit = [r.getMessage() for r in caplog.records if r.name == "kvtui.audit"]
    assert any("create certificate 'issuer digi'" in m for m in audit)
    assert any("delete certificate 'issuer digi'" in m for m in audit)


async def test_contacts_set_read_and_deleted(svc: VaultService, sdk: Clients) -> None:
    assert await admin.get_contacts(svc) == []
    assert admin.contact_sections([])[0].note.startswith("This vault has no")
    typed = "ops@example.com, Ops team, +1 555 0100\n\nsec@example.com"
    contacts = admin.parse_contacts(typed)
    await admin.set_contacts(svc, contacts)
    got = await sdk.certificates.get_contacts()
    assert [(c.email, c.name, c.phone) for c in got] == [
        ("ops@example.com", "Ops team", "+1 555 0100"),
        ("sec@example.com", None, None),
    ]
    back = await admin.get_contacts(svc)
    assert "\n".join(admin.contact_text(c) for c in back) == typed.replace("\n\n", "\n")
    await admin.delete_contacts(svc)
    with pytest.raises(ResourceNotFoundError):
        await sdk.certificates.get_contacts()


def test_typed_contacts_and_admins_are_checked() -> None:
    with pytest.raises(InvalidValue, match="Line 1: 'ops' is not an email address"):
        admin.parse_contacts("ops, Ops")
    with pytest.raises(InvalidValue, match="there twice"):
        admin.parse_contacts("a@example.com\nA@example.com")
    with pytest.raises(InvalidValue, match="Admins, line 2"):
        admin.parse_admins("a@example.com\nnot-an-email")
    assert admin.parse_admins("") == ()


async def test_a_read_only_vault_refuses_every_write(svc: VaultService, sdk: Clients) -> None:
    await pending(sdk, "ro")
    current = await admin.get_policy(svc, "ro")
    svc.read_only_rule = "--read-only"
    writes = [
        admin.merge_certificate(svc, "ro", [b"x"]),
        admin.update_policy(svc, "ro", current, admin.policy_edit(current)),
        admin.create_issuer(svc, "i", admin.IssuerFields("Test")),
        admin.update_issuer(svc, "i", admin.IssuerFields("Test")),
        admin.delete_issuer(svc, "i"),
        admin.set_contacts(svc, [admin.Contact("a@example.com")]),
        admin.delete_contacts(svc),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyVault, match="read-only"):
            await write
    # Reading stays allowed.
    assert await admin.get_operation(svc, "ro") is not None
    assert await admin.list_issuers(svc) == []
