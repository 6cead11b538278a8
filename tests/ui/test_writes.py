"""Writing to a vault from the vault screen (kvtui/ui/writing.py), through Pilot against
the emulator, each step checked with the official SDK: ``n`` creates, ``u`` makes a new
version, ``e`` edits properties, ``d`` then ``y`` deletes (and ``ctrl+z`` undoes), ``D``
lists the deleted, ``R`` recovers, ``P`` purges only once the name is typed; marked rows
act together; a failed write keeps the form; read-only sends nothing."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from textual.command import Command, CommandList, CommandPalette
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import Input, Static, TextArea

from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.generate import GenerateDialog
from kvtui.ui.modals.item_form import ItemForm
from kvtui.ui.modals.open_file import OpenFileScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.footer import Footer
from tests.emulator.admin_support import Admin
from tests.support import Clients
from tests.ui.conftest import wait_screen, wait_until
from tests.ui.vaults import finished, open_vault, pane, table

VALUE = "n3w-s3cret-value"


class Notes:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.messages.append(message.notification.message)


def names(vault: VaultScreen, deleted: bool = False) -> list[str]:
    tab = vault.tab_of(Kind.SECRETS)
    t = tab.deleted.table if deleted else tab.live_table
    return [i.name for i in t.rows]


async def deleted_names(sdk: Clients) -> list[str]:
    return [s.name async for s in sdk.secrets.list_deleted_secrets() if s.name]


async def test_create_version_edit_delete_recover_purge(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    notes = Notes()
    async with open_vault(make_context(vault.url), message_hook=notes, listed_first=None) as (
        app,
        pilot,
        screen,
    ):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "the empty list")
        # n: a form; an invalid name is flagged while typing.
        await pilot.press("n")
        form = await wait_screen(pilot, ItemForm)
        await pilot.press(*"db_pass")
        note = form.query_one("#form-name-note", Static)
        assert note.has_class("-bad") and "letters, digits and dashes" in str(note.render())
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace")
        await pilot.press(*"-password")
        assert not note.has_class("-bad")
        await pilot.press("tab", *VALUE, "ctrl+s")
        await wait_screen(pilot, VaultScreen)
        got = await sdk.secrets.get_secret("db-password")
        assert got.value == VALUE
        assert names(screen) == ["db-password"]  # in place: no reload
        first = got.properties.version
        assert table(screen, Kind.SECRETS).cursor_item.version == first  # type: ignore[union-attr]

        # u: a new version; the value is empty, the content type prefilled.
        detail = pane(screen, Kind.SECRETS)
        await wait_until(pilot, lambda: detail.detail is not None, "the details read")
        await sdk.secrets.update_secret_properties("db-password", content_type="text/plain")
        await pilot.press("u")
        form = await wait_screen(pilot, ItemForm)
        await wait_until(pilot, lambda: form.is_mounted, "the form")
        assert form.query_one("#form-value", TextArea).text == ""
        await pilot.press(*(VALUE + "-2"), "ctrl+s")
        # The properties changed after the pane read them: the form says so first.
        message = form.query_one("#form-message", Static)
        await wait_until(pilot, lambda: "changed since" in str(message.render()), "the warning")
        await pilot.press("ctrl+r")  # load it as it is now
        await wait_until(
            pilot,
            lambda: form.query_one("#form-content-type", Input).value == "text/plain",
            "reloaded",
        )
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        got = await sdk.secrets.get_secret("db-password")
        assert got.value == VALUE + "-2" and got.properties.version != first
        assert got.properties.content_type == "text/plain"

        # e: properties only; the value stays.
        await pilot.press("e")
        form = await wait_screen(pilot, ItemForm)
        expires = form.query_one("#form-expires", Input)
        expires.value = "2031-01-31"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        got = await sdk.secrets.get_secret("db-password")
        assert got.value == VALUE + "-2"
        assert got.properties.expires_on == datetime(2031, 1, 31, tzinfo=timezone.utc)

        # d, then n: nothing; d, then y: deleted (soft).
        await pilot.press("d")
        confirm = await wait_screen(pilot, ConfirmDialog)
        assert any("Recoverable for 90 days" in str(s.render()) for s in confirm.query(Static))
        await pilot.press("n")
        await wait_screen(pilot, VaultScreen)
        assert (await sdk.secrets.get_secret("db-password")).value
        await pilot.press("d")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: names(screen) == [], "the row gone")
        assert await deleted_names(sdk) == ["db-password"]

        # D lists it; R then y recovers it.
        await pilot.press("D")
        await wait_until(pilot, lambda: names(screen, True) == ["db-password"], "deleted list")
        assert "Recovery id" in pane(screen, Kind.SECRETS).text
        await pilot.press("R")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: names(screen, True) == [], "recovered")
        assert (await sdk.secrets.get_secret("db-password")).value == VALUE + "-2"
        await pilot.press("D")  # back to the list: it is there again
        assert names(screen) == ["db-password"]

        # Deleted again; P then y alone purges nothing; the typed name purges.
        await pilot.press("d")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: names(screen) == [], "deleted again")
        await pilot.press("D")
        await wait_until(pilot, lambda: names(screen, True) == ["db-password"], "deleted list")
        await pilot.press("P")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y", "enter")
        assert isinstance(app.screen, ConfirmDialog)  # "y" is not the name
        assert await deleted_names(sdk) == ["db-password"]
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)
        await pilot.press("P")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press(*"db-password", "enter")
        await wait_until(pilot, lambda: names(screen, True) == [], "purged")
        assert await deleted_names(sdk) == []
        with pytest.raises(ResourceNotFoundError):
            await sdk.secrets.get_secret("db-password")


async def test_undo_a_delete_and_act_on_marked_rows(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    for name in ("alpha", "bravo", "charlie"):
        await sdk.secrets.set_secret(name, "v")
    async with open_vault(make_context(vault.url)) as (_app, pilot, screen):
        await wait_until(pilot, lambda: len(names(screen)) == 3, "three secrets")
        # Marks: alpha and bravo (space moves down), then disable both, then delete both.
        await pilot.press("space", "space")
        assert [i.name for i in table(screen, Kind.SECRETS).marked_items] == ["alpha", "bravo"]
        await pilot.press("minus")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: [i.enabled for i in table(screen, Kind.SECRETS).rows] == [False, False, True],
            "two disabled",
        )
        props = {p.name: p.enabled async for p in sdk.secrets.list_properties_of_secrets()}
        assert props == {"alpha": False, "bravo": False, "charlie": True}

        await pilot.press("d")
        confirm = await wait_screen(pilot, ConfirmDialog)
        listed = " ".join(str(s.render()) for s in confirm.query(Static))
        assert "alpha" in listed and "bravo" in listed and "charlie" not in listed
        await pilot.press("y")
        await wait_until(pilot, lambda: names(screen) == ["charlie"], "two deleted")
        assert sorted(await deleted_names(sdk)) == ["alpha", "bravo"]

        # ctrl+z, while offered: both back.
        await pilot.press("ctrl+z")
        await wait_until(pilot, lambda: names(screen) == ["alpha", "bravo", "charlie"], "undone")
        assert await deleted_names(sdk) == []


async def test_a_failed_write_keeps_the_form(
    vault: Vault,
    sdk: Clients,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    async with open_vault(make_context(vault.url), listed_first=None) as (_app, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "the empty list")
        rule = {"secrets": ["get", "list"], "keys": ["list"], "certificates": ["list"]}
        await admin.call("PUT", f"/permissions/{vault.name}/*", rule, expect=200)
        await pilot.press("n")
        form = await wait_screen(pilot, ItemForm)
        await pilot.press(*"api-key", "tab", *VALUE, "ctrl+s")
        message = form.query_one("#form-message", Static)
        await wait_until(pilot, lambda: "set" in str(message.render()), "the error")
        text = str(message.render())
        assert "secrets set permission" in text  # (an RBAC vault names the role)
        assert form.is_current  # still open, with everything typed
        assert form.query_one("#form-name", Input).value == "api-key"
        assert form.query_one("#form-value", TextArea).text == VALUE


WRITE_KEYS = ("n", "u", "e", "d", "delete", "space", "plus", "minus", "ctrl+z")
DELETED_VIEW_KEYS = ("R", "P", "space", "d")


@pytest.mark.parametrize("how", ["--read-only", "read_only_vaults"])
async def test_read_only_every_write_key_in_every_tab_changes_nothing(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
    how: str,
) -> None:
    settings = (
        {"read_only": True}
        if how == "--read-only"
        else {"read_only_vaults": ["prod-*", "127.0.0.*"]}
    )
    async with open_vault(make_context(demo_vault.url, **settings)) as (app, pilot, screen):
        assert screen.read_only
        _, before = await admin.call("GET", f"/requests?vault={demo_vault.name}", expect=200)
        for n, kind in enumerate(Kind, 1):
            await pilot.press(str(n))
            await wait_until(pilot, lambda k=kind: finished(screen, k), f"{kind.value} listed")
            # No write in the footer, the help or the palette.
            footer = {k.description for k in screen.query_one(Footer).keys}
            assert "Deleted" in footer  # (a read)
            assert not footer & {"New", "New version", "Edit", "Delete", "Recover", "Purge"}
            help_text = screen.HELP
            assert "Writing" not in help_text and "purges" not in help_text
            await pilot.press(*WRITE_KEYS)
            assert app.screen is screen  # no form, no confirmation
            await pilot.press("D")  # the deleted view: reading is allowed
            tab = screen.tab_of(kind)
            await wait_until(pilot, lambda t=tab: t.deleted.finished, "the deleted listed")
            await pilot.press(*DELETED_VIEW_KEYS)
            assert app.screen is screen
            await pilot.press("D")
        await pilot.press("1", "colon", *"re")  # Reveal, Reload... never Restore
        palette = await wait_screen(pilot, CommandPalette)

        def listed() -> list[str]:
            options = palette.query_one(CommandList).options
            return [o.hit.text or "" for o in options if isinstance(o, Command)]

        await wait_until(pilot, lambda: any(t.startswith("Reveal") for t in listed()), "reveal")
        assert not any("Restore" in t for t in listed())
        await pilot.press("escape")
        _, after = await admin.call(
            "GET", f"/requests?vault={demo_vault.name}&since={before['last']}", expect=200
        )
        writes = [r for r in after["value"] if r["method"] not in ("GET", "HEAD")]
        assert writes == []
        assert {r["method"] for r in after["value"]} == {"GET"}  # it did read


async def test_backup_to_a_private_file_then_restore_from_the_palette(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
    tmp_path: Path,
) -> None:
    await sdk.secrets.set_secret("tls-passphrase", VALUE)
    target = tmp_path / "backups" / "tls.backup"
    target.parent.mkdir()
    async with open_vault(make_context(vault.url)) as (_app, pilot, screen):
        await pilot.press("b")
        export = await wait_screen(pilot, ExportScreen)
        box = export.query_one("#export-path", Input)
        assert box.value.endswith(".secret.backup")  # a default, shown
        box.value = str(target)
        await pilot.press("enter")
        await wait_screen(pilot, VaultScreen)
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert VALUE.encode() not in target.read_bytes()  # the service's protected blob

        # A second backup never replaces the file unasked.
        await pilot.press("b")
        export = await wait_screen(pilot, ExportScreen)
        export.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: export.confirming is not None, "overwrite?")
        await pilot.press("n", "escape")
        await wait_screen(pilot, VaultScreen)

        # Gone for good, then back from the file (the palette: restore has no key).
        await sdk.secrets.delete_secret("tls-passphrase")
        await sdk.secrets.purge_deleted_secret("tls-passphrase")
        await pilot.press("colon", *"restore")
        palette = await wait_screen(pilot, CommandPalette)
        await wait_until(
            pilot,
            lambda: any(
                (o.hit.text or "").startswith("Restore")
                for o in palette.query_one(CommandList).options
                if isinstance(o, Command)
            ),
            "the restore command",
        )
        await pilot.press("enter")
        opened = await wait_screen(pilot, OpenFileScreen)
        opened.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: names(screen) == ["tls-passphrase"], "restored, listed")
        assert (await sdk.secrets.get_secret("tls-passphrase")).value == VALUE


async def test_purge_protection_is_explained_and_nothing_is_sent(
    vault: Vault,
    sdk: Clients,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    await admin.call("PATCH", f"/vaults/{vault.name}", {"purge_protection": True}, expect=200)
    await sdk.secrets.set_secret("kept", "v")
    notes = Notes()
    async with open_vault(make_context(vault.url), message_hook=notes) as (app, pilot, screen):
        await pilot.press("d")
        confirm = await wait_screen(pilot, ConfirmDialog)
        said = " ".join(str(s.render()) for s in confirm.query(Static))
        assert "Purge protection: it cannot be purged before" in said
        await pilot.press("y")
        await wait_until(pilot, lambda: names(screen) == [], "deleted")
        await pilot.press("D")
        await wait_until(pilot, lambda: names(screen, True) == ["kept"], "the deleted")
        # Deleted elsewhere meanwhile: ctrl+r lists the deleted again (not the secrets).
        await sdk.secrets.set_secret("elsewhere", "v")
        await sdk.secrets.delete_secret("elsewhere")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: names(screen, True) == ["elsewhere", "kept"], "relisted")
        _, before = await admin.call("GET", f"/requests?vault={vault.name}", expect=200)
        await pilot.press("P")
        await wait_until(pilot, lambda: any("purge protection" in m for m in notes.messages), "why")
        assert isinstance(app.screen, VaultScreen)  # no dialog: it could only fail
        _, after = await admin.call(
            "GET", f"/requests?vault={vault.name}&since={before['last']}", expect=200
        )
        assert [r for r in after["value"] if r["method"] == "DELETE"] == []
        assert sorted(await deleted_names(sdk)) == ["elsewhere", "kept"]


async def test_a_certificates_secret_is_changed_through_the_certificate(
    demo_vault: Vault, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    notes = Notes()
    async with open_vault(make_context(demo_vault.url), message_hook=notes) as (app, pilot, vault):
        managed = table(vault, Kind.SECRETS).cursor_item
        assert managed is not None and managed.managed  # api-gateway: a certificate's
        for key in ("d", "u", "e"):
            await pilot.press(key)
            assert app.screen is vault  # no dialog: the service would refuse
        await wait_until(pilot, lambda: len(notes.messages) == 3, "three notes")
        assert all("belongs to a certificate" in m for m in notes.messages)


async def test_the_form_generates_hidden_values_checks_fields_and_offers_to_recover(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    await sdk.secrets.set_secret("old-token", "old")
    await sdk.secrets.delete_secret("old-token")
    async with open_vault(make_context(vault.url), listed_first=None) as (app, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "the empty list")
        await pilot.press("n")
        form = await wait_screen(pilot, ItemForm)
        await pilot.press(*"svc-token", "tab", "ctrl+g")
        generate = await wait_screen(pilot, GenerateDialog)
        generate.query_one("#generate-length", Input).value = "48"
        await pilot.press("enter")
        await wait_screen(pilot, ItemForm)
        held = form.hidden_value
        assert held is not None and len(held) == 48
        note = form.query_one("#form-value-note", Static)
        assert held not in str(note.render())  # hidden until asked
        await pilot.press("ctrl+t")
        assert held in str(note.render())
        await pilot.press("ctrl+t")
        assert held not in str(note.render())

        # A date that is not one, and JSON that is not: said, nothing sent, nothing lost.
        form.query_one("#form-content-type", Input).value = "application/json"
        form.query_one("#form-expires", Input).value = "next week"
        await pilot.press("ctrl+s")
        message = form.query_one("#form-message", Static)
        await wait_until(pilot, lambda: "not JSON" in str(message.render()), "not JSON")
        form.query_one("#form-content-type", Input).value = "text/plain"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "Expires: 'next week' is not a date" in str(message.render()), "date"
        )
        form.query_one("#form-expires", Input).value = "+30d"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, VaultScreen)
        got = await sdk.secrets.get_secret("svc-token")
        assert got.value == held and got.properties.content_type == "text/plain"
        assert got.properties.expires_on is not None

        # The name of a deleted secret: the service's 409, and ctrl+r recovers it.
        await pilot.press("n")
        form = await wait_screen(pilot, ItemForm)
        await pilot.press(*"old-token", "tab", *"new", "ctrl+s")
        message = form.query_one("#form-message", Static)
        await wait_until(pilot, lambda: "recover it instead" in str(message.render()), "409")
        await pilot.press("ctrl+r")
        await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: "old-token" in names(screen), "recovered, listed")
        assert (await sdk.secrets.get_secret("old-token")).value == "old"

        # esc with something typed asks first; n keeps the form.
        await pilot.press("n")
        form = await wait_screen(pilot, ItemForm)
        await pilot.press("x", "escape")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("n")
        assert app.screen is form
        await pilot.press("escape")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(pilot, VaultScreen)


async def test_u_on_a_key_rotates_it_after_y(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    first = await sdk.keys.create_rsa_key("signer")
    async with open_vault(make_context(vault.url), listed_first=Kind.KEYS) as (app, pilot, screen):
        await pilot.press("2")
        await wait_until(pilot, lambda: screen.tab.kind is Kind.KEYS, "the keys tab")
        footer = {k.description for k in screen.query_one(Footer).keys}
        assert "Rotate" in footer and "New version" not in footer  # u is rotate here
        await pilot.press("u")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("n")  # nothing
        await wait_screen(pilot, VaultScreen)
        assert (await sdk.keys.get_key("signer")).properties.version == first.properties.version
        await pilot.press("u")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        keys = table(screen, Kind.KEYS)
        await wait_until(
            pilot,
            lambda: (
                keys.cursor_item is not None
                and keys.cursor_item.version not in (None, first.properties.version)
            ),
            "the new version in place",
        )
        now = await sdk.keys.get_key("signer")
        assert now.properties.version == keys.cursor_item.version  # type: ignore[union-attr]
        assert now.key_type == first.key_type and app.screen is screen
