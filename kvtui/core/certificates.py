"""Certificate administration, without Textual: a certificate's pending operation (its
CSR, merging the certificate signed elsewhere, cancel, delete), its policy (read and
edit), and the vault's certificate issuers and contacts.

Every write goes through :func:`kvtui.core.writes._write`: refused before sending when
the vault is read-only, errors worded as reads' are, one audit record each (never an
issuer's password). Reads raise :class:`~kvtui.core.errors.VaultError` too; a pending
operation, or contacts, that the vault does not have are None or empty, not errors.

What is shown is worded here, as :mod:`kvtui.core.present` words the detail pane:
:class:`~kvtui.core.present.Section` s of rows, every value untrusted (the UI shows them
literally).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.certificates import (
    AdministratorContact,
    CertificateContact,
    CertificateContentType,
    CertificateIssuer,
    CertificateOperation,
    CertificatePolicy,
    CertificatePolicyAction,
    LifetimeAction,
)
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from kvtui.core.convert import item_from_certificate
from kvtui.core.details import lifetime_action_text
from kvtui.core.models import Item, Kind
from kvtui.core.present import UNSET, Row, Section, minute_text, yes_no
from kvtui.core.validation import InvalidValue, shown
from kvtui.core.vault import VaultService
from kvtui.core.writes import _write

CSR_BEGIN = "-----BEGIN CERTIFICATE REQUEST-----"
CSR_END = "-----END CERTIFICATE REQUEST-----"
#: A signed certificate (chain) file read for a merge: no bigger than this.
MAX_CHAIN = 1024 * 1024
#: Contact and issuer lists the service takes.
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def _text(value: object) -> str:
    """An SDK enum or string as its text (``KeyType.rsa`` → ``RSA``); "" when unset."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _row(label: str, value: str | Iterable[str] | None, tone: Any = "") -> Row:
    lines = (value,) if isinstance(value, str) else tuple(value or ())
    return Row(label, lines if any(lines) else (UNSET,), tone)


async def _read(service: VaultService, what: str, call: Any) -> Any:
    try:
        return await call()
    except Exception as exc:
        raise service.classify(exc, what=what) from exc


# -- the pending operation --------------------------------------------------------------


def csr_pem(csr: bytes) -> str:
    """The CSR (DER, as the vault gives it) as PEM: what a CA asks for."""
    body = base64.b64encode(csr).decode("ascii")
    return "\n".join([CSR_BEGIN, *textwrap.wrap(body, 64), CSR_END]) + "\n"


@dataclass(frozen=True)
class PendingOperation:
    """A certificate's create operation, as the vault says it is."""

    name: str
    status: str
    status_details: str = ""
    issuer: str = ""
    cancellation_requested: bool = False
    error: str = ""
    csr: bytes = b""
    target: str = ""
    request_id: str = ""

    @property
    def in_progress(self) -> bool:
        """Still waiting: for a merge (issuer Unknown) or for the issuer."""
        return self.status.lower() == "inprogress"

    @property
    def csr_pem(self) -> str:
        return csr_pem(self.csr) if self.csr else ""

    def sections(self) -> list[Section]:
        rows = (
            _row("Certificate", self.name),
            _row("Status", self.status),
            _row("Details", self.status_details),
            _row("Issuer", self.issuer),
            _row("Cancellation", "requested" if self.cancellation_requested else "not requested"),
            _row("Error", self.error, "expired" if self.error else ""),
            _row("Target", self.target),
            _row("Request id", self.request_id),
        )
        sections = [Section("Operation", rows)]
        if self.csr:
            sections.append(Section("CSR (PEM)", note=self.csr_pem.rstrip("\n"), note_tone=""))
        else:
            sections.append(Section("CSR", note="none"))
        return sections


def _operation(name: str, op: CertificateOperation) -> PendingOperation:
    error = ""
    if op.error is not None:
        code, message = _text(getattr(op.error, "code", "")), _text(op.error.message)
        error = f"{code}: {message}" if code and message else code or message
    return PendingOperation(
        name=name,
        status=_text(op.status),
        status_details=_text(op.status_details),
        issuer=_text(op.issuer_name),
        cancellation_requested=bool(op.cancellation_requested),
        error=error,
        csr=bytes(op.csr or b""),
        target=_text(op.target),
        request_id=_text(op.request_id),
    )


async def get_operation(service: VaultService, name: str) -> PendingOperation | None:
    """The certificate's create operation; None when it has none (never created by
    the vault, or the operation was deleted)."""
    try:
        op = await service.certificates.get_certificate_operation(name)
    except ResourceNotFoundError:
        return None
    except Exception as exc:
        raise service.classify(exc, what=f"Reading the operation of certificate {name}") from exc
    return _operation(name, op)


async def pending_names(service: VaultService) -> list[str]:
    """The certificates whose newest version is not issued yet (listed only with
    ``includePending``, without a thumbprint): the ones waiting for a merge or an
    issuer, or whose create failed or was cancelled."""

    async def names() -> list[str]:
        listed = service.certificates.list_properties_of_certificates(include_pending=True)
        return sorted([p.name async for p in listed if p.name and not p.x509_thumbprint])

    result: list[str] = await _read(service, "Listing pending certificates", names)
    return result


def read_chain(data: bytes) -> list[bytes]:
    """The certificates (DER each, leaf first as the file has them) of a signed
    certificate file: PEM (one or more ``CERTIFICATE`` blocks; anything else in it,
    a private key included, is left out), DER, PKCS#7 (``.p7b``, PEM or DER) or the
    base64 text of DER. InvalidValue says why a file is none of these."""
    certs: list[x509.Certificate] = []
    if b"-----BEGIN" in data:
        if b"-----BEGIN PKCS7-----" in data or b"-----BEGIN CERTIFICATE-----" not in data:
            try:
                certs = pkcs7.load_pem_pkcs7_certificates(data)
            except ValueError:
                certs = []
        if not certs:
            try:
                certs = x509.load_pem_x509_certificates(data)
            except ValueError:
                raise InvalidValue(
                    "The file holds no certificate: a PEM file needs a "
                    "-----BEGIN CERTIFICATE----- block."
                ) from None
    else:
        candidates = [data]
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(base64.b64decode(b"".join(data.split()), validate=True))
        for der in candidates:
            certs = _der_certificates(der)
            if certs:
                break
        if not certs:
            raise InvalidValue(
                "The file is not a certificate: expected PEM, DER (.cer, .crt) or PKCS#7 (.p7b)."
            )
    return [c.public_bytes(Encoding.DER) for c in certs]


def _der_certificates(der: bytes) -> list[x509.Certificate]:
    if not der:
        return []
    try:
        return [x509.load_der_x509_certificate(der)]
    except ValueError:
        pass
    try:
        return pkcs7.load_der_pkcs7_certificates(der)
    except ValueError:
        return []


async def merge_certificate(service: VaultService, name: str, chain: list[bytes]) -> Item:
    """Complete a pending certificate with the certificate (and chain) its CA signed:
    the new version's properties."""

    async def send() -> Item:
        cert = await service.certificates.merge_certificate(name, chain)
        assert cert.properties is not None
        return item_from_certificate(cert.properties, with_version=True)

    return await _write(service, Kind.CERTIFICATES, "merge", name, send, lambda item: item.version)


# -- the policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyEdit:
    """What the policy form changes; the rest of the policy (issuer, key type, key
    usages, EKUs…) is sent as it was."""

    subject: str = ""
    dns_names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    upns: tuple[str, ...] = ()
    validity_months: int = 12
    reuse_key: bool = False
    exportable: bool = True
    content_type: str = "application/x-pkcs12"
    action: str = "AutoRenew"
    percentage: int | None = 80
    days_before: int | None = None


def policy_edit(policy: CertificatePolicy) -> PolicyEdit:
    """The form's fields, from the policy as it is."""
    action = policy.lifetime_actions[0] if policy.lifetime_actions else None
    edit = PolicyEdit(
        subject=policy.subject or "",
        dns_names=tuple(policy.san_dns_names or ()),
        emails=tuple(policy.san_emails or ()),
        upns=tuple(policy.san_user_principal_names or ()),
        validity_months=policy.validity_in_months or 12,
        reuse_key=bool(policy.reuse_key),
        exportable=policy.exportable is not False,
        content_type=_text(policy.content_type) or "application/x-pkcs12",
    )
    if action is not None:
        edit = replace(
            edit,
            action=_text(action.action) or "AutoRenew",
            percentage=action.lifetime_percentage,
            days_before=action.days_before_expiry,
        )
        if edit.percentage is None and edit.days_before is None:
            edit = replace(edit, percentage=80)
    return edit


def sans_field(edit: PolicyEdit) -> str:
    """The SANs as the forms take them (``a.example.com, email:x@y, upn:u@d``)."""
    parts = [*edit.dns_names, *(f"email:{e}" for e in edit.emails)]
    parts += [f"upn:{u}" for u in edit.upns]
    return ", ".join(parts)


def lifetime_field(edit: PolicyEdit) -> str:
    """``80%`` or ``30d``, as the forms take it."""
    if edit.days_before is not None:
        return f"{edit.days_before}d"
    return f"{edit.percentage or 80}%"


def edited_policy(current: CertificatePolicy, edit: PolicyEdit) -> CertificatePolicy:
    """The whole policy to send: ``current`` with the form's fields. Whatever the form
    does not show (issuer, key type, size, curve, key usages, EKUs, IP and URI SANs,
    certificate type, transparency) is sent as it was, so nothing else changes."""
    action = LifetimeAction(
        CertificatePolicyAction(edit.action),
        lifetime_percentage=edit.percentage,
        days_before_expiry=edit.days_before,
    )
    return CertificatePolicy(
        issuer_name=current.issuer_name,
        subject=edit.subject or None,
        san_dns_names=list(edit.dns_names) or None,
        san_emails=list(edit.emails) or None,
        san_user_principal_names=list(edit.upns) or None,
        san_ip_addresses=current.san_ip_addresses,
        san_uris=current.san_uris,
        exportable=edit.exportable,
        key_type=current.key_type,
        key_size=current.key_size,
        key_curve_name=current.key_curve_name,
        reuse_key=edit.reuse_key,
        enhanced_key_usage=current.enhanced_key_usage,
        key_usage=current.key_usage,
        content_type=CertificateContentType(edit.content_type),
        validity_in_months=edit.validity_months,
        lifetime_actions=[action],
        certificate_type=current.certificate_type,
        certificate_transparency=current.certificate_transparency,
    )


async def get_policy(service: VaultService, name: str) -> CertificatePolicy:
    """The certificate's policy (pending certificates have one too)."""
    policy: CertificatePolicy = await _read(
        service,
        f"Reading the policy of certificate {name}",
        lambda: service.certificates.get_certificate_policy(name),
    )
    return policy


async def update_policy(
    service: VaultService, name: str, current: CertificatePolicy, edit: PolicyEdit
) -> CertificatePolicy:
    """Write the edited policy; it applies from the next version (renewal) on: the
    current certificate does not change."""
    policy = edited_policy(current, edit)

    async def send() -> CertificatePolicy:
        return await service.certificates.update_certificate_policy(name, policy)

    return await _write(service, Kind.CERTIFICATES, "update", f"{name} (policy)", send)


def _key_text(policy: CertificatePolicy) -> str:
    kty = _text(policy.key_type)
    size = f"{policy.key_size} bits" if policy.key_size else ""
    return " ".join(p for p in (kty, size, _text(policy.key_curve_name)) if p)


def policy_sections(policy: CertificatePolicy) -> list[Section]:
    """Every fact of the policy, as the policy window shows it."""
    sans = [f"DNS: {d}" for d in policy.san_dns_names or ()]
    sans += [f"email: {e}" for e in policy.san_emails or ()]
    sans += [f"UPN: {u}" for u in policy.san_user_principal_names or ()]
    sans += [f"IP: {i}" for i in policy.san_ip_addresses or ()]
    sans += [f"URI: {u}" for u in policy.san_uris or ()]
    actions = [
        lifetime_action_text(_text(a.action), a.lifetime_percentage, a.days_before_expiry)
        for a in policy.lifetime_actions or ()
    ]
    issuer = policy.issuer_name or ""
    if policy.certificate_type:
        issuer += f" (certificate type {policy.certificate_type})"
    validity = f"{policy.validity_in_months} months" if policy.validity_in_months else None
    transparency = policy.certificate_transparency
    rows = [
        _row("Issuer", issuer),
        _row("Subject", policy.subject),
        _row("SANs", sans),
        _row("Validity", validity),
        _row("Key", _key_text(policy)),
        _row("Reuse key", yes_no(policy.reuse_key)),
        _row("Exportable", yes_no(policy.exportable)),
        _row("Content type", _text(policy.content_type)),
        _row("Lifetime", actions or ("none",)),
        _row("Key usage", [_text(k) for k in policy.key_usage or ()]),
        _row("EKUs", [_eku_text(e) for e in policy.enhanced_key_usage or ()]),
    ]
    if transparency is not None:
        rows.append(_row("Transparency", yes_no(transparency)))
    rows.append(_row("Enabled", yes_no(policy.enabled)))
    rows.append(_row("Updated", _utc(policy.updated_on)))
    return [Section("Policy", tuple(rows))]


#: The EKUs a policy most often lists, by name.
EKU_NAMES = {
    "1.3.6.1.5.5.7.3.1": "server authentication",
    "1.3.6.1.5.5.7.3.2": "client authentication",
    "1.3.6.1.5.5.7.3.3": "code signing",
    "1.3.6.1.5.5.7.3.4": "email protection",
    "1.3.6.1.5.5.7.3.8": "time stamping",
    "1.3.6.1.5.5.7.3.9": "OCSP signing",
}


def _eku_text(oid: str) -> str:
    name = EKU_NAMES.get(oid)
    return f"{oid} ({name})" if name else oid


def _utc(value: datetime | None) -> str:
    return f"{minute_text(value)} UTC" if value else ""


# -- issuers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminContact:
    """An issuer's organisation administrator."""

    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class IssuerInfo:
    """A certificate issuer as the vault has it (never its password: the service does
    not return it)."""

    name: str
    provider: str = ""
    account_id: str = ""
    organization_id: str = ""
    admin_contacts: tuple[AdminContact, ...] = ()
    enabled: bool | None = None
    created: datetime | None = None
    updated: datetime | None = None

    def sections(self) -> list[Section]:
        admins = [admin_text(a) for a in self.admin_contacts]
        rows = (
            _row("Name", self.name),
            _row("Provider", self.provider),
            _row("Account id", self.account_id),
            _row("Password", "(the vault never returns it)"),
            _row("Organization", self.organization_id),
            _row("Admins", admins),
            _row("Enabled", yes_no(self.enabled)),
            _row("Created", _utc(self.created)),
            _row("Updated", _utc(self.updated)),
        )
        return [Section("Issuer", rows)]


@dataclass(frozen=True)
class IssuerFields:
    """What the issuer form sends. ``password`` None: not sent (an edit keeps the one
    the vault has)."""

    provider: str
    account_id: str = ""
    password: str | None = field(default=None, repr=False)
    organization_id: str = ""
    admin_contacts: tuple[AdminContact, ...] = ()
    enabled: bool = True


def _issuer(name: str, issuer: CertificateIssuer) -> IssuerInfo:
    admins = tuple(
        AdminContact(
            email=c.email or "",
            first_name=c.first_name or "",
            last_name=c.last_name or "",
            phone=c.phone or "",
        )
        for c in issuer.admin_contacts or ()
    )
    return IssuerInfo(
        name=issuer.name or name,
        provider=issuer.provider or "",
        account_id=issuer.account_id or "",
        organization_id=issuer.organization_id or "",
        admin_contacts=admins,
        enabled=issuer.enabled,
        created=issuer.created_on,
        updated=issuer.updated_on,
    )


async def list_issuers(service: VaultService) -> list[tuple[str, str]]:
    """(name, provider) of every issuer configured in the vault, by name."""

    async def listed() -> list[tuple[str, str]]:
        found = [
            (p.name, p.provider or "")
            async for p in service.certificates.list_properties_of_issuers()
            if p.name
        ]
        return sorted(found, key=lambda pair: pair[0].lower())

    result: list[tuple[str, str]] = await _read(service, "Listing certificate issuers", listed)
    return result


async def get_issuer(service: VaultService, name: str) -> IssuerInfo:
    issuer = await _read(
        service,
        f"Reading certificate issuer {name}",
        lambda: service.certificates.get_issuer(name),
    )
    return _issuer(name, issuer)


def _admins(fields: IssuerFields) -> list[AdministratorContact] | None:
    return [
        AdministratorContact(
            first_name=a.first_name or None,
            last_name=a.last_name or None,
            email=a.email,
            phone=a.phone or None,
        )
        for a in fields.admin_contacts
    ] or None


async def create_issuer(service: VaultService, name: str, fields: IssuerFields) -> IssuerInfo:
    """A new issuer, or one replaced whole (every field as given; an empty password
    leaves the issuer without one)."""

    async def send() -> IssuerInfo:
        issuer = await service.certificates.create_issuer(
            name,
            fields.provider,
            enabled=fields.enabled,
            account_id=fields.account_id or None,
            password=fields.password or None,
            organization_id=fields.organization_id or None,
            admin_contacts=_admins(fields),
        )
        return _issuer(name, issuer)

    return await _write(service, Kind.CERTIFICATES, "create", f"issuer {name}", send)


async def update_issuer(service: VaultService, name: str, fields: IssuerFields) -> IssuerInfo:
    """Change an issuer's provider, enabled, organisation and administrators; its
    credentials only when a password is given (the account id goes with it: the vault
    never returns the password, so an account id alone would leave none)."""
    credentials: dict[str, Any] = {}
    if fields.password:
        credentials = {"account_id": fields.account_id or None, "password": fields.password}

    async def send() -> IssuerInfo:
        issuer = await service.certificates.update_issuer(
            name,
            provider=fields.provider,
            enabled=fields.enabled,
            organization_id=fields.organization_id or None,
            admin_contacts=_admins(fields),
            **credentials,
        )
        return _issuer(name, issuer)

    return await _write(service, Kind.CERTIFICATES, "update", f"issuer {name}", send)


async def delete_issuer(service: VaultService, name: str) -> None:
    async def send() -> None:
        await service.certificates.delete_issuer(name)

    await _write(service, Kind.CERTIFICATES, "delete", f"issuer {name}", send)


def admin_text(admin: AdminContact) -> str:
    """``email, first, last, phone`` (trailing empty fields left out): a form's line."""
    parts = [admin.email, admin.first_name, admin.last_name, admin.phone]
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return ", ".join(parts)


def parse_admins(text: str) -> tuple[AdminContact, ...]:
    """Administrators, one a line: ``email, first name, last name, phone`` (only the
    email is needed)."""
    admins = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) > 4:
            raise InvalidValue(
                f"Admins, line {n}: write email, first name, last name, phone (4 at most)."
            )
        parts += [""] * (4 - len(parts))
        _check_email(parts[0], f"Admins, line {n}")
        admins.append(AdminContact(parts[0], parts[1], parts[2], parts[3]))
    return tuple(admins)


def _check_email(email: str, where: str) -> None:
    if not _EMAIL.match(email):
        raise InvalidValue(f"{where}: {shown(email)} is not an email address.")


# -- contacts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """Who the vault emails about its certificates (the EmailContacts lifetime action)."""

    email: str
    name: str = ""
    phone: str = ""


def contact_text(contact: Contact) -> str:
    """``email, name, phone`` (trailing empty fields left out): a form's line."""
    parts = [contact.email, contact.name, contact.phone]
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return ", ".join(parts)


def parse_contacts(text: str) -> list[Contact]:
    """Contacts, one a line: ``email, name, phone`` (only the email is needed)."""
    contacts = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) > 3:
            raise InvalidValue(f"Line {n}: write email, name, phone (a comma between each).")
        parts += [""] * (3 - len(parts))
        _check_email(parts[0], f"Line {n}")
        if parts[0].lower() in seen:
            raise InvalidValue(f"Line {n}: {shown(parts[0])} is there twice.")
        seen.add(parts[0].lower())
        contacts.append(Contact(parts[0], parts[1], parts[2]))
    return contacts


def _contacts(listed: Iterable[CertificateContact]) -> list[Contact]:
    return [Contact(c.email or "", c.name or "", c.phone or "") for c in listed]


async def get_contacts(service: VaultService) -> list[Contact]:
    """The vault's certificate contacts; empty when it has none."""
    try:
        listed = await service.certificates.get_contacts()
    except ResourceNotFoundError:
        return []
    except Exception as exc:
        raise service.classify(exc, what="Reading the certificate contacts") from exc
    return _contacts(listed)


async def set_contacts(service: VaultService, contacts: list[Contact]) -> list[Contact]:
    """Replace the vault's contacts with these (at least one: no contacts is
    :func:`delete_contacts`)."""
    if not contacts:
        raise InvalidValue("Type at least one contact, or delete them all.")
    sdk = [CertificateContact(email=c.email, name=c.name or None, phone=c.phone or None)
           for c in contacts]  # fmt: skip

    async def send() -> list[Contact]:
        return _contacts(await service.certificates.set_contacts(sdk))

    return await _write(service, Kind.CERTIFICATES, "update", "contacts", send)


async def delete_contacts(service: VaultService) -> None:
    async def send() -> None:
        await service.certificates.delete_contacts()

    await _write(service, Kind.CERTIFICATES, "delete", "contacts", send)


def contact_sections(contacts: list[Contact]) -> list[Section]:
    if not contacts:
        return [Section("Contacts", note="This vault has no certificate contacts.")]
    rows = tuple(
        _row(c.email, ", ".join(p for p in (c.name, c.phone) if p) or UNSET) for c in contacts
    )
    return [Section("Contacts", rows)]
