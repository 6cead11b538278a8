"""The certificates tab's administration (kvtui/ui/certificate_admin.py) through Pilot
against the emulator, each step checked with the official SDK: a pending certificate's
CSR shown, copied and saved, signed by a CA made here and merged from a file; cancel
and delete of an operation; the policy edited; issuers and contacts created, edited and
deleted; a read-only vault offers none of the writes and sends none. Every dialog
keeps its hint at 80x24 and 40x12."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.certificates import CertificateContact, CertificatePolicy
from cryptography import x509
from rich.console import Console
from textual.command import Command, CommandList, CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Checkbox, Input, OptionList, Static, TextArea

from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.contacts import ContactsForm, ContactsScreen
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.issuers import IssuerForm, IssuersScreen
from kvtui.ui.modals.open_file import OpenFileScreen
from kvtui.ui.modals.pending import PendingPicker, PendingScreen
from kvtui.ui.modals.policy import PolicyForm, PolicyScreen
from kvtui.ui.modals.rows import SectionsView
from kvtui.ui.screens.vault import VaultScreen
from tests.core.test_certificates_admin import LocalCA
from tests.emulator.admin_support import Admin
from tests.support import Clients
from tests.ui.conftest import at_size, wait_screen, wait_until
from tests.ui.vaults import finished, open_vault, table

PASSWORD = "issuer-pa55word"


async def unknown_issuer(sdk: Clients, name: str) -> None:
    """A certificate to be signed elsewhere: pending, with a CSR."""
    policy = CertificatePolicy("Unknown", subject=f"CN={name}.example.com")
    await sdk.certificates.create_certificate(name, policy)


def text_of(view: SectionsView) -> str:
    """What a rows view holds, as plain text (wide enough not to fold a CSR line)."""
    console = Console(file=io.StringIO(), width=120, color_system=None, record=True)
    console.print(view.content)
    return console.export_text()


async def certificates_tab(pilot: Pilot[Any], screen: VaultScreen) -> None:
    await pilot.press("3")
    await wait_until(pilot, lambda: screen.tab.kind is Kind.CERTIFICATES, "the certificates")
    await wait_until(pilot, lambda: finished(screen, Kind.CERTIFICATES), "certificates listed")


def palette_texts(palette: CommandPalette) -> list[str]:
    options = palette.query_one(CommandList).options
    return [o.hit.text or "" for o in options if isinstance(o, Command)]


async def command(pilot: Pilot[Any], label: str) -> None:
    """Run the palette's command ``label`` (typed, then enter on it)."""
    await pilot.press("colon", *label)
    palette = await wait_screen(pilot, CommandPalette)
    await wait_until(pilot, lambda: any(t.startswith(label) for t in palette_texts(palette)), label)
    texts = palette_texts(palette)
    index = next(n for n, t in enumerate(texts) if t.startswith(label))
    palette.query_one(CommandList).highlighted = index
    await pilot.press("enter")


async def offered(pilot: Pilot[Any], typed: str) -> list[str]:
    """The palette's commands for ``typed`` (then closed)."""
    await pilot.press("colon", *typed)
    palette = await wait_screen(pilot, CommandPalette)
    await wait_until(pilot, lambda: bool(palette_texts(palette)), "commands listed")
    texts = palette_texts(palette)
    await pilot.press("escape")
    return texts


def hint(screen: Screen[Any]) -> str:
    return str(screen.query_one(".dialog-hint", Static).render())


def fits(screen: Screen[Any], body: str) -> bool:
    """The hint on screen, and some of the content above it."""
    height = screen.app.size.height
    shown = screen.query_one(".dialog-hint").region
    content = screen.query_one(body).region
    return 0 < shown.bottom <= height and shown.height > 0 and content.height > 0


async def test_a_pending_certificate_is_signed_elsewhere_and_merged_from_a_file(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
    tmp_path: Path,
) -> None:
    await unknown_issuer(sdk, "web")
    want = await sdk.certificates.get_certificate_operation("web")
    async with open_vault(make_context(vault.url), listed_first=None) as (app, pilot, screen):
        await certificates_tab(pilot, screen)
        assert table(screen, Kind.CERTIFICATES).cursor_item is None  # pending: not listed
        await pilot.press("p")  # the only pending one: straight to it
        pending = await wait_screen(pilot, PendingScreen)
        await wait_until(pilot, lambda: pending.loaded, "the operation read")
        shown = text_of(pending.query_one("#pending-rows", SectionsView))
        assert "inProgress" in shown and "Unknown" in shown
        op = pending.operation
        assert op is not None and op.csr == bytes(want.csr or b"")
        assert "-----BEGIN CERTIFICATE REQUEST-----" in shown
        for line in op.csr_pem.splitlines():
            assert line in shown  # the whole PEM, a line each
        assert "m merge" in hint(pending) and "x cancel op" in hint(pending)

        # c copies it; s saves it (a default name, the path asked).
        await pilot.press("c")
        assert app.clipboard == op.csr_pem
        await pilot.press("s")
        export = await wait_screen(pilot, ExportScreen)
        box = export.query_one("#export-path", Input)
        assert box.value.endswith("web.csr")
        box.value = str(tmp_path / "web.csr")
        await pilot.press("enter")
        await wait_screen(pilot, PendingScreen)
        saved = (tmp_path / "web.csr").read_text()
        assert saved == op.csr_pem

        # Not a certificate: said, nothing merged.
        (tmp_path / "junk.pem").write_text("hello")
        await pilot.press("m")
        opened = await wait_screen(pilot, OpenFileScreen)
        opened.query_one(Input).value = str(tmp_path / "junk.pem")
        await pilot.press("enter")
        await wait_screen(pilot, PendingScreen)
        message = pending.query_one("#pending-message", Static)
        await wait_until(pilot, lambda: "Not merged" in str(message.render()), "refused")

        # The CA signs the saved CSR; its chain is merged from a file.
        ca = LocalCA()
        leaf = ca.sign(saved)
        (tmp_path / "signed.pem").write_bytes(ca.chain_pem(leaf))
        await pilot.press("m")
        opened = await wait_screen(pilot, OpenFileScreen)
        opened.query_one(Input).value = str(tmp_path / "signed.pem")
        await pilot.press("enter")
        await wait_screen(pilot, PendingScreen)
        await wait_until(
            pilot,
            lambda: pending.operation is not None and pending.operation.status == "completed",
            "completed",
        )
        assert "Merged" in str(message.render())
        assert "m merge" not in hint(pending)  # nothing to merge any more
        got = await sdk.certificates.get_certificate("web")
        assert x509.load_der_x509_certificate(bytes(got.cer or b"")) == leaf
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)
        certs = table(screen, Kind.CERTIFICATES)
        await wait_until(pilot, lambda: [i.name for i in certs.rows] == ["web"], "listed now")


async def test_cancel_then_delete_an_operation_picked_among_several(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    await unknown_issuer(sdk, "api")
    await unknown_issuer(sdk, "bff")
    async with open_vault(make_context(vault.url), listed_first=None) as (_app, pilot, screen):
        await certificates_tab(pilot, screen)
        await pilot.press("p")
        picker = await wait_screen(pilot, PendingPicker)
        assert picker.query_one(OptionList).option_count == 2
        await pilot.press("enter")  # the first: api
        pending = await wait_screen(pilot, PendingScreen)
        assert pending.certificate == "api"
        await wait_until(pilot, lambda: pending.loaded, "read")

        await pilot.press("x")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("n")  # nothing
        await wait_screen(pilot, PendingScreen)
        assert not (await sdk.certificates.get_certificate_operation("api")).cancellation_requested
        await pilot.press("x")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(pilot, PendingScreen)
        await wait_until(
            pilot,
            lambda: pending.operation is not None and pending.operation.cancellation_requested,
            "cancellation requested",
        )
        assert (await sdk.certificates.get_certificate_operation("api")).cancellation_requested
        assert "x cancel op" not in hint(pending)

        await pilot.press("d")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(pilot, PendingScreen)
        await wait_until(pilot, lambda: pending.operation is None, "deleted")
        rows = text_of(pending.query_one("#pending-rows", SectionsView))
        assert "has no pending operation" in rows
        assert "d delete op" not in hint(pending) and "c copy CSR" not in hint(pending)
        with pytest.raises(ResourceNotFoundError):
            await sdk.certificates.get_certificate_operation("api")
        assert (await sdk.certificates.get_certificate_operation("bff")).status == "inProgress"
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)


async def test_the_policy_is_shown_and_edited(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    policy = CertificatePolicy("Self", subject="CN=svc.example.com", validity_in_months=12)
    await sdk.certificates.create_certificate("svc", policy)
    async with open_vault(make_context(vault.url), listed_first=Kind.CERTIFICATES) as (
        _app,
        pilot,
        screen,
    ):
        await certificates_tab(pilot, screen)
        await command(pilot, "Certificate policy")
        shown = await wait_screen(pilot, PolicyScreen)
        await wait_until(pilot, lambda: shown.policy is not None, "the policy read")
        rows = text_of(shown.query_one("#policy-rows", SectionsView))
        for fact in ("CN=svc.example.com", "12 months", "RSA 2048 bits", "Self",
                     "server authentication", "digitalSignature"):  # fmt: skip
            assert fact in rows
        await pilot.press("e")
        form = await wait_screen(pilot, PolicyForm)
        assert form.query_one("#policy-subject", Input).value == "CN=svc.example.com"
        await pilot.press("escape")  # nothing typed: closes without asking
        await wait_screen(pilot, PolicyScreen)

        await pilot.press("e")
        form = await wait_screen(pilot, PolicyForm)
        form.query_one("#policy-subject", Input).value = "svc.example.com"  # not a DN
        await pilot.press("ctrl+s")
        message = form.query_one("#form-message", Static)
        await wait_until(pilot, lambda: "distinguished name" in str(message.render()), "refused")
        form.query_one("#policy-subject", Input).value = "CN=svc2.example.com, O=Contoso"
        form.query_one("#policy-sans", Input).value = "svc2.example.com, email:ops@example.com"
        form.query_one("#policy-months", Input).value = "6"
        form.query_one("#policy-reuse", Checkbox).value = True
        form.query_one("#policy-when", Input).value = "30d"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, PolicyScreen)
        await wait_until(pilot, lambda: "svc2" in text_of(shown.query_one(SectionsView)), "shown")
        got = await sdk.certificates.get_certificate_policy("svc")
        assert got.subject == "CN=svc2.example.com, O=Contoso"
        assert got.san_dns_names == ["svc2.example.com"]
        assert got.san_emails == ["ops@example.com"]
        assert got.validity_in_months == 6 and got.reuse_key is True
        action = (got.lifetime_actions or [])[0]
        assert action.days_before_expiry == 30
        assert got.issuer_name == "Self"  # kept
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)


async def test_issuers_and_contacts_from_the_palette(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    async with open_vault(make_context(vault.url), listed_first=None) as (_app, pilot, screen):
        await certificates_tab(pilot, screen)
        await command(pilot, "Certificate issuers")
        issuers = await wait_screen(pilot, IssuersScreen)
        await wait_until(pilot, lambda: issuers.loaded, "listed")
        assert "has no certificate issuers" in text_of(issuers.query_one(SectionsView))

        await pilot.press("n")
        form = await wait_screen(pilot, IssuerForm)
        await pilot.press(*"digi", "tab", *"DigiCert", "tab", *"acct-1", "tab", *PASSWORD)
        assert PASSWORD not in str(form.query_one("#issuer-password", Input).render())
        form.query_one("#issuer-org", Input).value = "org-7"
        form.query_one("#issuer-admins", TextArea).text = "admin@example.com, Ada, Lovelace"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, IssuersScreen)
        await wait_until(pilot, lambda: issuers.issuers == [("digi", "DigiCert")], "listed")
        got = await sdk.certificates.get_issuer("digi")
        assert (got.provider, got.account_id, got.organization_id) == (
            "DigiCert",
            "acct-1",
            "org-7",
        )
        assert [a.email for a in got.admin_contacts or []] == ["admin@example.com"]
        await wait_until(
            pilot, lambda: "acct-1" in text_of(issuers.query_one(SectionsView)), "its details"
        )
        assert PASSWORD not in text_of(issuers.query_one(SectionsView))

        # enter edits; without a password the credentials stay.
        await pilot.press("enter")
        form = await wait_screen(pilot, IssuerForm)
        assert form.query_one("#issuer-password", Input).value == ""  # never prefilled
        form.query_one("#issuer-provider", Input).value = "GlobalSign"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, IssuersScreen)
        await wait_until(pilot, lambda: issuers.issuers == [("digi", "GlobalSign")], "edited")
        got = await sdk.certificates.get_issuer("digi")
        assert (got.provider, got.account_id) == ("GlobalSign", "acct-1")

        await pilot.press("d")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(pilot, IssuersScreen)
        await wait_until(pilot, lambda: issuers.issuers == [], "deleted")
        with pytest.raises(ResourceNotFoundError):
            await sdk.certificates.get_issuer("digi")
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)

        await command(pilot, "Certificate contacts")
        contacts = await wait_screen(pilot, ContactsScreen)
        await wait_until(pilot, lambda: contacts.contacts == [], "none yet")
        assert "d delete all" not in hint(contacts)
        await pilot.press("e")
        form = await wait_screen(pilot, ContactsForm)
        field = form.query_one("#contacts-field", TextArea)
        field.text = "not-an-email"
        await pilot.press("ctrl+s")
        message = form.query_one("#form-message", Static)
        await wait_until(pilot, lambda: "not an email" in str(message.render()), "refused")
        field.text = "ops@example.com, Ops team, +1 555 0100\nsec@example.com"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, ContactsScreen)
        await wait_until(pilot, lambda: len(contacts.contacts or []) == 2, "saved")
        got_contacts = await sdk.certificates.get_contacts()
        assert [(c.email, c.name) for c in got_contacts] == [
            ("ops@example.com", "Ops team"),
            ("sec@example.com", None),
        ]
        assert "Ops team" in text_of(contacts.query_one(SectionsView))
        await pilot.press("d")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(pilot, ContactsScreen)
        await wait_until(pilot, lambda: contacts.contacts == [], "deleted")
        with pytest.raises(ResourceNotFoundError):
            await sdk.certificates.get_contacts()
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)


async def test_read_only_shows_everything_and_offers_no_write(
    vault: Vault,
    sdk: Clients,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    await unknown_issuer(sdk, "web")
    await sdk.certificates.create_certificate("done", CertificatePolicy.get_default())
    await sdk.certificates.create_issuer("digi", "DigiCert")
    await sdk.certificates.set_contacts([CertificateContact(email="ops@example.com")])
    context = make_context(vault.url, read_only=True)
    async with open_vault(context, listed_first=None) as (app, pilot, screen):
        await certificates_tab(pilot, screen)
        _, before = await admin.call("GET", f"/requests?vault={vault.name}", expect=200)
        await pilot.press("p")  # "done" is highlighted, "web" is the pending one
        pending = await wait_screen(pilot, PendingScreen)
        assert pending.certificate == "web"
        await wait_until(pilot, lambda: pending.loaded, "read")
        assert hint(pending).startswith("c copy CSR · s save CSR · esc close")
        await pilot.press("m", "x", "d")
        assert app.screen is pending
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)

        texts = await offered(pilot, "Certificate")
        assert any(t.startswith("Certificate policy") for t in texts)
        assert not any("Edit certificate policy" in t for t in texts)
        await command(pilot, "Certificate policy")
        policy = await wait_screen(pilot, PolicyScreen)
        await wait_until(pilot, lambda: policy.policy is not None, "read")
        assert "edit" not in hint(policy)
        await pilot.press("e")
        assert app.screen is policy
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)

        await command(pilot, "Certificate issuers")
        issuers = await wait_screen(pilot, IssuersScreen)
        await wait_until(pilot, lambda: issuers.detail is not None, "the issuer read")
        assert hint(issuers).startswith("ctrl+r reload")
        await pilot.press("n", "e", "d", "enter")
        assert app.screen is issuers
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)

        await command(pilot, "Certificate contacts")
        contacts = await wait_screen(pilot, ContactsScreen)
        await wait_until(pilot, lambda: contacts.contacts is not None, "read")
        assert "ops@example.com" in text_of(contacts.query_one(SectionsView))
        await pilot.press("e", "d")
        assert app.screen is contacts
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)
        _, after = await admin.call(
            "GET", f"/requests?vault={vault.name}&since={before['last']}", expect=200
        )
        assert {r["method"] for r in after["value"]} == {"GET"}  # it read, and only read


async def test_the_dialogs_fit_80x24_and_40x12(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    await unknown_issuer(sdk, "web")
    await sdk.certificates.create_certificate("svc", CertificatePolicy.get_default())
    await sdk.certificates.create_issuer("digi", "DigiCert", account_id="acct")
    async with open_vault(make_context(vault.url), listed_first=None) as (_app, pilot, screen):
        await certificates_tab(pilot, screen)
        await wait_until(pilot, lambda: table(screen, Kind.CERTIFICATES).cursor_item, "svc")
        dialogs: list[tuple[Callable[[], Any], type[Screen[Any]], str]] = [
            (lambda: pilot.press("p"), PendingScreen, "#pending-body"),
            (lambda: command(pilot, "Certificate policy"), PolicyScreen, "#policy-body"),
            (lambda: command(pilot, "Edit certificate policy"), PolicyForm, "#form-fields"),
            (lambda: command(pilot, "Certificate issuers"), IssuersScreen, "#issuers-body"),
            (lambda: command(pilot, "Certificate contacts"), ContactsScreen, "#contacts-body"),
        ]
        for open_it, kind, body in dialogs:
            await open_it()
            dialog = await wait_screen(pilot, kind)
            for size in ((80, 24), (40, 12)):
                async with at_size(pilot, size):
                    await wait_until(pilot, lambda d=dialog, b=body: fits(d, b), "it fits")
            async with at_size(pilot, (80, 24)):
                await pilot.press("escape")
                await wait_screen(pilot, VaultScreen)
