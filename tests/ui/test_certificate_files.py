"""Certificates with their private key from the certificates tab (kvtui/ui/
certificate_files.py), through Pilot against the emulator, checked with the official SDK:
"Import a certificate" (palette) takes a PFX with its password (a wrong one is said, the
form keeps everything) and a PEM; ``K`` downloads a certificate with its key as PFX or
PEM after a warning, to a 0600 file; a key that is not exportable is said; read-only
hides the import and keeps the download."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.certificates import CertificatePolicy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from textual.command import Command, CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from kvtui.core.certfiles import PEM, key_matches
from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.import_certificate import ImportCertificateForm
from kvtui.ui.modals.key_file import KeyFileDialog
from kvtui.ui.screens.vault import VaultScreen
from tests.support import Clients
from tests.ui.conftest import wait_screen, wait_until
from tests.ui.test_writes import Notes
from tests.ui.vaults import finished, open_vault, table

PASSWORD = "imp0rt-pa55"


def make_pair(cn: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def palette_has(palette: CommandPalette, start: str) -> bool:
    return any(
        (o.hit.text or "").startswith(start)
        for o in palette.query_one(CommandList).options
        if isinstance(o, Command)
    )


async def on_certificates(pilot: Pilot[Any], screen: VaultScreen) -> None:
    await pilot.press("3")
    await wait_until(pilot, lambda: screen.tab.kind is Kind.CERTIFICATES, "the certificates")
    await wait_until(pilot, lambda: finished(screen, Kind.CERTIFICATES), "listed")


async def open_import(pilot: Pilot[Any]) -> ImportCertificateForm:
    await pilot.press("colon", *"import")
    palette = await wait_screen(pilot, CommandPalette)
    await wait_until(pilot, lambda: palette_has(palette, "Import a certificate"), "import")
    await pilot.press("enter")
    return await wait_screen(pilot, ImportCertificateForm)


def certificates(screen: VaultScreen) -> list[str]:
    return [i.name for i in table(screen, Kind.CERTIFICATES).rows]


async def test_import_a_pfx_with_its_password_then_a_pem(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
    tmp_path: Path,
) -> None:
    key, cert = make_pair("www.example.com")
    pfx = tmp_path / "web.pfx"
    enc = serialization.BestAvailableEncryption(PASSWORD.encode())
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(b"web", key, cert, None, enc))
    pem_key, pem_cert = make_pair("api.example.com")
    pem = tmp_path / "api.pem"
    pem.write_bytes(
        pem_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        + pem_cert.public_bytes(serialization.Encoding.PEM)
    )
    async with open_vault(make_context(vault.url), listed_first=None) as (app, pilot, screen):
        await on_certificates(pilot, screen)
        form = await open_import(pilot)
        await pilot.press(*"web_cert")  # checked as typed
        note = form.query_one("#form-name-note", Static)
        assert note.has_class("-bad") and "letters, digits and dashes" in str(note.render())
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace")
        await pilot.press(*"-cert")
        assert not note.has_class("-bad")
        form.query_one("#import-path", Input).value = str(pfx)
        row = form.query_one("#import-password-row")
        await wait_until(pilot, lambda: row.display, "the password asked")
        assert "PFX (PKCS#12)" in str(form.query_one("#import-file-note", Static).render())
        password = form.query_one("#import-password", Input)
        assert password.password  # masked

        # A wrong password: said, nothing sent, everything kept, the password focused.
        password.focus()
        await pilot.press(*"wrong", "ctrl+s")
        message = form.query_one("#form-message", Static)
        await wait_until(pilot, lambda: "password is wrong" in str(message.render()), "said")
        assert app.screen is form and app.focused is password
        assert password.selected_text == "wrong"  # typing replaces it
        assert form.query_one("#form-name", Input).value == "web-cert"
        assert form.query_one("#import-path", Input).value == str(pfx)
        assert [c async for c in sdk.certificates.list_properties_of_certificates()] == []

        password.value = PASSWORD
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        got = await sdk.certificates.get_certificate("web-cert")
        assert x509.load_der_x509_certificate(bytes(got.cer or b"")) == cert
        secret = await sdk.secrets.get_secret("web-cert")
        assert secret.properties.content_type == "application/x-pkcs12"
        await wait_until(pilot, lambda: certificates(screen) == ["web-cert"], "listed in place")
        # (What the read-only test searches finds both, where writing is allowed.)
        await pilot.press("colon", *"ort")
        palette = await wait_screen(pilot, CommandPalette)
        await wait_until(pilot, lambda: palette_has(palette, "Download with private key"), "it")
        assert palette_has(palette, "Import a certificate")
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)

        # A PEM: no password asked; what it holds is said as the path is typed.
        form = await open_import(pilot)
        await pilot.press(*"api-cert")
        form.query_one("#import-path", Input).value = str(pem)
        file_note = form.query_one("#import-file-note", Static)
        await wait_until(pilot, lambda: "PEM: CN=api.example.com" in str(file_note.render()), "")
        assert not form.query_one("#import-password-row").display
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        got = await sdk.certificates.get_certificate("api-cert")
        assert x509.load_der_x509_certificate(bytes(got.cer or b"")) == pem_cert
        secret = await sdk.secrets.get_secret("api-cert")
        assert secret.properties.content_type == PEM
        await wait_until(pilot, lambda: "api-cert" in certificates(screen), "listed")


async def download(pilot: Pilot[Any], *, fmt: str | None, password: str, target: Path) -> Path:
    """K, y, the format and password, then the file: what the export offered first."""
    await pilot.press("K")
    confirm = await wait_screen(pilot, ConfirmDialog)
    said = " ".join(str(s.render()) for s in confirm.query(Static))
    assert "This file will hold the private key of" in said
    await pilot.press("y")
    dialog = await wait_screen(pilot, KeyFileDialog)
    if fmt is not None:
        dialog.query_one("#key-file-format", Select).value = fmt
    if password:
        await pilot.press(*password, "enter", *password, "enter")
    else:
        await pilot.press("ctrl+s")
    export = await wait_screen(pilot, ExportScreen)
    assert export.mode == 0o600
    box = export.query_one("#export-path", Input)
    offered = Path(box.value)
    box.value = str(target)
    await pilot.press("enter")
    await wait_screen(pilot, VaultScreen)
    return offered


async def test_download_with_the_private_key_as_pfx_and_pem(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
    tmp_path: Path,
) -> None:
    policy = CertificatePolicy(issuer_name="Self", subject="CN=web.example.com")
    made = await sdk.certificates.create_certificate("web", policy)
    cert = x509.load_der_x509_certificate(bytes(made.cer or b""))  # type: ignore[union-attr]
    notes = Notes()
    context = make_context(vault.url)
    async with open_vault(context, message_hook=notes, listed_first=None) as (_a, pilot, screen):
        await on_certificates(pilot, screen)
        # A PFX with a new password (the passwords typed twice must match).
        await pilot.press("K")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("n")  # nothing
        await wait_screen(pilot, VaultScreen)
        await pilot.press("K")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        dialog = await wait_screen(pilot, KeyFileDialog)
        await pilot.press(*"one", "enter", *"two", "enter")
        error = dialog.query_one("#key-file-error", Static)
        assert error.display and "differ" in str(error.render()) and _a.screen is dialog
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)

        target = tmp_path / "web.pfx"
        offered = await download(pilot, fmt=None, password="s3cond", target=target)
        assert offered.name == "web.pfx"
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        with pytest.raises(ValueError):
            pkcs12.load_key_and_certificates(target.read_bytes(), None)
        key, leaf, _ = pkcs12.load_key_and_certificates(target.read_bytes(), b"s3cond")
        assert leaf == cert and key_matches(key, cert)

        # PEM without a password: the key, then the certificate.
        target = tmp_path / "web.pem"
        offered = await download(pilot, fmt=PEM, password="", target=target)
        assert offered.name == "web-with-key.pem"
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        data = target.read_bytes()
        assert data.startswith(b"-----BEGIN PRIVATE KEY-----")
        assert key_matches(serialization.load_pem_private_key(data, None), cert)
        assert x509.load_pem_x509_certificates(data) == [cert]
        await wait_until(pilot, lambda: any("not encrypted" in m for m in notes.messages), "saved")

    # A key that is not exportable: said, and no file asked for.
    locked = CertificatePolicy(
        issuer_name="Self", subject="CN=locked", exportable=False, key_type="RSA"
    )
    await sdk.certificates.create_certificate("locked", locked)
    notes = Notes()
    async with open_vault(context, message_hook=notes, listed_first=None) as (app, pilot, screen):
        await on_certificates(pilot, screen)
        await wait_until(pilot, lambda: len(certificates(screen)) == 2, "both listed")
        assert table(screen, Kind.CERTIFICATES).cursor_item.name == "locked"  # type: ignore[union-attr]
        await pilot.press("K")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: any("no private key" in m for m in notes.messages), "why")
        assert app.screen is screen
        assert any("not exportable" in m and "saves it as PEM" in m for m in notes.messages)


async def test_read_only_hides_the_import_and_keeps_the_download(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
    tmp_path: Path,
) -> None:
    policy = CertificatePolicy(issuer_name="Self", subject="CN=ro.example.com")
    made = await sdk.certificates.create_certificate("ro", policy)
    cert = x509.load_der_x509_certificate(bytes(made.cer or b""))  # type: ignore[union-attr]
    context = make_context(vault.url, read_only=True)
    async with open_vault(context, listed_first=None) as (app, pilot, screen):
        assert screen.read_only
        await on_certificates(pilot, screen)
        await pilot.press("colon", *"ort")  # (both would match)
        palette = await wait_screen(pilot, CommandPalette)
        await wait_until(pilot, lambda: palette_has(palette, "Download with private key"), "it")
        assert not palette_has(palette, "Import a certificate")
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)
        target = tmp_path / "ro.pfx"
        await download(pilot, fmt=None, password="", target=target)
        key, leaf, _ = pkcs12.load_key_and_certificates(target.read_bytes(), None)
        assert leaf == cert and key_matches(key, cert)
        assert app.screen is screen
