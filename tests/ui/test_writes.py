"""Writing to a vault from the vault screen (kvtui/ui/writing.py), through Pilot against
the emulator, each step checked with the official SDK: ``n`` creates, ``u`` makes a new
version, ``e`` edits properties, ``d`` then ``y`` deletes (and ``ctrl+z`` undoes), ``D``
lists the deleted, ``R`` recovers, ``P`` purges only once the name is typed; marked rows
act together; a failed write keeps the form; read-only sends nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone

import pytest
from azure.core.exceptions import ResourceNotFoundError
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import Input, Static, TextArea

from kvtui.core.models import Kind
from kvtui.emulator import EmulatorInfo
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.item_form import ItemForm
from kvtui.ui.screens.vault import VaultScreen
from tests.emulator.admin_support import Admin
from tests.support import Clients, kv_clients
from tests.ui.conftest import wait_screen, wait_until
from tests.ui.vaults import finished, open_vault, pane, table

VALUE = "n3w-s3cret-value"


@pytest.fixture
def vault(new_vault: Callable[..., Vault]) -> Vault:
    return new_vault()


@pytest.fixture
async def sdk(info: EmulatorInfo, vault: Vault) -> AsyncIterator[Clients]:
    async with kv_clients(info, vault.url) as clients:
        yield clients


class Notes:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.messages.append(message.notification.message)


def names(vault: VaultScreen, deleted: bool = False) -> list[str]:
    tab = vault.tab_of(Kind.SECRETS)
    t = tab.deleted_table if deleted else tab.live_table
    return [i.name for i in t.rows]


async def deleted_names(sdk: Clients) -> list[str]:
    return [s.name async for s in sdk.secrets.list_deleted_secrets() if s.name]


async def test_create_version_edit_delete_recover_purge(
    vault: Vault, sdk: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    notes = Notes()
    async with open_vault(
        make_context(vault.url), message_hook=notes, listed_first=None
    ) as (app, pilot, screen):
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
