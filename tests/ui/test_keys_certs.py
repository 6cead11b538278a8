"""Keys and certificates from the vault screen, through Pilot against the emulator, each
step checked with the official SDK: ``n`` on the keys tab makes a key (a name and
``ctrl+s``: RSA 2048), ``u`` then ``y`` rotates it; ``C`` encrypts, ``ctrl+y`` copies a
ciphertext the vault decrypts back, decrypt masks its plaintext; operations a key does
not permit say why; ``n`` on the certificates tab makes a self-signed certificate from a
name and a subject, and an Unknown-issuer one stays pending; read-only hides them."""

from __future__ import annotations

import json
from collections.abc import Callable

from azure.keyvault.keys.crypto import EncryptionAlgorithm
from textual.command import Command, CommandList, CommandPalette
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from kvtui.core import keyops
from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.certificate_form import CertificateForm
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.copy_menu import CopyMenu
from kvtui.ui.modals.key_form import KeyForm
from kvtui.ui.modals.key_ops import KeyOperations
from kvtui.ui.modals.rotation_form import RotationForm
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.screens.vault import VaultScreen
from tests.support import Clients
from tests.ui.conftest import wait_screen, wait_until
from tests.ui.test_writes import Notes
from tests.ui.vaults import finished, open_vault, pane, table

TEXT = "attack at dawn"


def text_of(screen: object, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())  # type: ignore[attr-defined]


async def test_a_key_made_rotated_and_used(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    notes = Notes()
    async with open_vault(make_context(vault.url), message_hook=notes, listed_first=None) as (
        app,
        pilot,
        screen,
    ):
        await wait_until(pilot, lambda: finished(screen, Kind.KEYS), "the empty keys")
        await pilot.press("2", "n")
        form = await wait_screen(pilot, KeyForm)
        # The name comes first; the defaults are RSA 2048 with every operation.
        assert app.focused is form.query_one("#form-name")
        await pilot.press(*"payments-kek", "ctrl+s")
        await wait_screen(pilot, VaultScreen)
        key = await sdk.keys.get_key("payments-kek")
        assert key.key_type == "RSA" and int.from_bytes(key.key.n, "big").bit_length() == 2048
        assert set(key.key_operations or []) == {
            "encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"
        }  # fmt: skip
        assert [i.name for i in table(screen, Kind.KEYS).rows] == ["payments-kek"]
        await wait_until(
            pilot,
            lambda: any("Made key payments-kek: RSA 2048" in m for m in notes.messages),
            "the key's note",
        )

        # u, then y: a second version.
        await pilot.press("u")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: any("Rotated" in m for m in notes.messages), "rotated")
        versions = [v async for v in sdk.keys.list_properties_of_key_versions("payments-kek")]
        assert len(versions) == 2

        # C: the focus in the input, encrypt with RSA-OAEP-256; ctrl+s, then ctrl+y.
        await pilot.press("C")
        ops = await wait_screen(pilot, KeyOperations)
        assert app.focused is ops.query_one("#keyops-input", TextArea)
        assert ops.query_one("#keyops-operation", Select).value == "encrypt"
        assert ops.query_one("#keyops-algorithm", Select).value == "RSA-OAEP-256"
        await pilot.press(*TEXT, "ctrl+s")
        await wait_until(pilot, lambda: ops.outcome is not None, "the ciphertext")
        assert ops.outcome is not None
        shown = text_of(ops, "#keyops-result")
        assert shown == keyops.b64url(ops.outcome.data)  # whole
        assert "made locally with the public key" in text_of(ops, "#keyops-result-title")
        await pilot.press("ctrl+y")
        copied = app.clipboard
        assert copied == shown
        crypto = sdk.keys.get_cryptography_client("payments-kek")
        back = await crypto.decrypt(
            EncryptionAlgorithm.rsa_oaep_256, keyops.parse_input(copied, "base64")
        )
        assert back.plaintext == TEXT.encode()

        # Decrypt it here: the plaintext is masked until ctrl+t.
        ops.query_one("#keyops-operation", Select).value = "decrypt"
        await pilot.pause()
        assert ops.query_one("#keyops-mode", Select).value == "base64"
        ops.query_one("#keyops-input", TextArea).text = copied
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: ops.outcome is not None and ops.outcome.secret, "the plaintext"
        )
        assert TEXT not in text_of(ops, "#keyops-result")
        assert "Hidden" in text_of(ops, "#keyops-result-title")
        await pilot.press("ctrl+t")
        assert text_of(ops, "#keyops-result") == TEXT
        assert "by the vault" in text_of(ops, "#keyops-result-title")

        # Sign, then verify the signature: checked locally and by the vault.
        ops.query_one("#keyops-operation", Select).value = "sign"
        await pilot.pause()
        ops.query_one("#keyops-input", TextArea).text = "release notes"
        assert ops.query_one("#keyops-mode", Select).value == "text"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: ops.outcome is not None and ops.outcome.operation == "sign", "signed"
        )
        assert ops.outcome is not None
        signature = keyops.b64url(ops.outcome.data)
        ops.query_one("#keyops-operation", Select).value = "verify"
        await pilot.pause()
        ops.query_one("#keyops-signature").value = signature  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: ops.outcome is not None and ops.outcome.valid is not None, "verified"
        )
        title = text_of(ops, "#keyops-result-title")
        assert title.startswith("Valid signature (RS256)")
        assert "locally with the public key, and by the vault" in title
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)


async def test_an_ec_key_signs_only_and_says_why(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    async with open_vault(make_context(vault.url), listed_first=None) as (_app, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.KEYS), "the empty keys")
        await pilot.press("2", "n")
        form = await wait_screen(pilot, KeyForm)
        await pilot.press(*"ec-signer")
        form.query_one("#key-shape", Select).value = "EC P-384"
        await pilot.pause()
        encrypt = form.query_one("#key-op-encrypt", Checkbox)
        assert encrypt.disabled and not encrypt.value
        assert form.query_one("#key-op-sign", Checkbox).value
        # An exportable key needs a release policy: said, nothing sent.
        form.query_one("#key-exportable", Checkbox).value = True
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "needs a release policy" in text_of(form, "#form-message"), "refused"
        )
        form.query_one("#key-exportable", Checkbox).value = False
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        key = await sdk.keys.get_key("ec-signer")
        assert key.key.crv == "P-384" and set(key.key_operations or []) == {"sign", "verify"}

        await pilot.press("C")
        ops = await wait_screen(pilot, KeyOperations)
        assert ops.query_one("#keyops-operation", Select).value == "sign"
        assert ops.query_one("#keyops-algorithm", Select).value == "ES384"
        ops.query_one("#keyops-operation", Select).value = "encrypt"
        await pilot.pause()
        why = text_of(ops, "#keyops-why")
        assert "an EC key cannot encrypt" in why
        await pilot.press(*"x", "ctrl+s")
        await wait_until(
            pilot, lambda: "Cannot encrypt" in text_of(ops, "#keyops-message"), "refused"
        )
        assert ops.outcome is None


async def test_certificates_self_signed_and_pending(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    notes = Notes()
    async with open_vault(make_context(vault.url), message_hook=notes, listed_first=None) as (
        _app,
        pilot,
        screen,
    ):
        await wait_until(pilot, lambda: finished(screen, Kind.CERTIFICATES), "the empty list")
        await pilot.press("3", "n")
        form = await wait_screen(pilot, CertificateForm)
        # A bad subject is said, and nothing is lost.
        await pilot.press(*"web-tls", "tab", *"www.example.com", "ctrl+s")
        await wait_until(
            pilot,
            lambda: "not a distinguished name" in text_of(form, "#form-message"),
            "the subject refused",
        )
        form.query_one("#cert-subject").value = "CN=www.example.com"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        cert = await sdk.certificates.get_certificate("web-tls")
        assert cert.policy is not None and cert.policy.subject == "CN=www.example.com"
        assert cert.policy.issuer_name == "Self" and cert.policy.validity_in_months == 12
        assert cert.policy.key_type == "RSA" and cert.policy.key_size == 2048
        assert cert.policy.lifetime_actions[0].lifetime_percentage == 80
        assert [i.name for i in table(screen, Kind.CERTIFICATES).rows] == ["web-tls"]

        # The Unknown issuer: pending, with a CSR; the message says where to go on.
        await pilot.press("n")
        form = await wait_screen(pilot, CertificateForm)
        await pilot.press(*"partner-tls", "tab", *"CN=partner.example.com")
        form.query_one("#cert-issuer", Select).value = "Unknown"
        form.query_one("#cert-sans").value = "partner.example.com, email:ops@example.com"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: any("is pending" in m for m in notes.messages), "said")
        op = await sdk.certificates.get_certificate_operation("partner-tls")
        assert op.status == "inProgress" and op.csr
        policy = await sdk.certificates.get_certificate_policy("partner-tls")
        assert policy.san_dns_names == ["partner.example.com"]
        assert policy.san_emails == ["ops@example.com"]


async def test_read_only_offers_no_new_key_or_certificate_but_key_operations(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    await sdk.keys.create_rsa_key("existing")
    async with open_vault(make_context(vault.url, read_only=True), listed_first=Kind.KEYS) as (
        app,
        pilot,
        _screen,
    ):
        for tab in ("2", "3"):
            await pilot.press(tab, "n")
            await pilot.pause()
            assert isinstance(app.screen, VaultScreen)
        await pilot.press("2", "C")  # encrypt changes nothing in the vault
        ops = await wait_screen(pilot, KeyOperations)
        await pilot.press(*TEXT, "ctrl+s")
        await wait_until(pilot, lambda: ops.outcome is not None, "the ciphertext")
    assert [k.name async for k in sdk.keys.list_properties_of_keys()] == ["existing"]
    assert [c async for c in sdk.certificates.list_properties_of_certificates()] == []


async def test_a_rotation_policy_viewed_and_edited_from_the_palette(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    await sdk.keys.create_rsa_key("rotating")
    async with open_vault(make_context(vault.url), listed_first=Kind.KEYS) as (_, pilot, _s):
        await pilot.press("2", "colon", *"rotation")
        palette = await wait_screen(pilot, CommandPalette)
        await wait_until(
            pilot,
            lambda: any(
                (o.hit.text or "").startswith("Rotation policy")
                for o in palette.query_one(CommandList).options
                if isinstance(o, Command)
            ),
            "the command",
        )
        await pilot.press("enter")
        form = await wait_screen(pilot, RotationForm)
        form.query_one("#rot-expiry", Input).value = "90x"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "not a duration" in text_of(form, "#form-message"), "refused"
        )
        form.query_one("#rot-expiry", Input).value = "2y"
        form.query_one("#rot-days", Input).value = "30d"
        form.query_one("#rot-when", Select).value = "before"
        form.query_one("#rot-notify", Input).value = "P45D"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
    policy = await sdk.keys.get_key_rotation_policy("rotating")
    assert policy.expires_in == "P2Y"
    actions = {str(a.action.value if hasattr(a.action, "value") else a.action).lower(): a
               for a in policy.lifetime_actions}  # fmt: skip
    assert actions["rotate"].time_before_expiry == "P30D"
    assert actions["notify"].time_before_expiry == "P45D"


async def test_the_copy_menu_offers_the_public_key_as_jwk(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    key = await sdk.keys.create_ec_key("jwk-key", curve="P-256")
    async with open_vault(make_context(vault.url), listed_first=Kind.KEYS) as (app, pilot, s):
        await pilot.press("2")
        tab_pane = pane(s, Kind.KEYS)
        await wait_until(pilot, lambda: tab_pane.detail is not None, "the key's details")
        await pilot.press("y")
        menu = await wait_screen(pilot, CopyMenu)
        number = next(i for i, c in enumerate(menu.choices, 1) if c.label == "Public key (JWK)")
        await pilot.press(str(number))
        await wait_screen(pilot, VaultScreen)
        jwk = json.loads(app.clipboard)
    assert jwk["kid"] == key.id and jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert jwk["x"] == keyops.b64url(key.key.x)  # type: ignore[attr-defined]
    assert "d" not in jwk


async def test_key_operations_on_an_older_version_from_the_versions_window(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    first = await sdk.keys.create_rsa_key("versioned")
    await sdk.keys.create_rsa_key("versioned")
    async with open_vault(make_context(vault.url), listed_first=Kind.KEYS) as (_app, pilot, _s):
        await pilot.press("2", "v")
        window = await wait_screen(pilot, VersionsScreen)
        await wait_until(pilot, lambda: len(window.versions) == 2, "both versions")
        await pilot.press("down")
        await wait_until(
            pilot,
            lambda: (
                window.highlighted is not None
                and window.highlighted.version == first.properties.version
            ),
            "the older version highlighted",
        )
        await pilot.press("C")
        ops = await wait_screen(pilot, KeyOperations)
        await pilot.press(*TEXT, "ctrl+s")
        await wait_until(pilot, lambda: ops.outcome is not None, "the ciphertext")
        assert ops.outcome is not None
        assert ops.outcome.key_id == first.id  # the older version's
        older = sdk.keys.get_cryptography_client("versioned", key_version=first.properties.version)
        back = await older.decrypt(EncryptionAlgorithm.rsa_oaep_256, ops.outcome.data)
        assert back.plaintext == TEXT.encode()


async def test_esc_closes_an_untouched_form_at_once_and_asks_once_typed(
    vault: Vault, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    async with open_vault(make_context(vault.url), listed_first=None) as (_, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.CERTIFICATES), "the empty list")
        for tab, form_type in (("2", KeyForm), ("3", CertificateForm)):
            await pilot.press(tab, "n")
            form = await wait_screen(pilot, form_type)
            await pilot.pause()
            await pilot.press("escape")  # its Selects and boxes set themselves: not typing
            await wait_screen(pilot, VaultScreen)
            await pilot.press("n")
            form = await wait_screen(pilot, form_type)
            await pilot.press("x", "escape")
            await wait_screen(pilot, ConfirmDialog)
            await pilot.press("y")
            await wait_screen(pilot, VaultScreen)
        assert not form.is_attached
