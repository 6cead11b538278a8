"""Enter opens the highlighted item in a full-height view (its details, versions and the
keys of its actions); esc goes back to the list with the cursor and the filter as they
were. ctrl+r and a renewed sign-in keep the highlighted row (by name) and the filter.
Through Pilot against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from kvtui.core.models import Kind
from kvtui.emulator import EmulatorInfo
from kvtui.emulator.store import Vault
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.screens.vault import VaultScreen
from tests.support import Clients, identity_admin, kv_clients
from tests.ui.conftest import SIZE, WIDE, at_size, wait_screen, wait_until
from tests.ui.vaults import (
    finished,
    listed,
    on_screen,
    open_vault,
    screen_lines,
    sign_in_by_code,
    vault_screen,
)


@pytest.fixture
async def kv_demo(info: EmulatorInfo, demo_vault: Vault) -> AsyncIterator[Clients]:
    """The official clients on the demo vault (to change it behind the app's back)."""
    async with kv_clients(info, demo_vault.url) as clients:
        yield clients


async def test_enter_opens_the_item_in_full_and_esc_goes_back_where_it_was(
    demo_vault: Vault,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """At 40x12, then (the terminal resized) 80x24 and 120x35: the same steps at each
    size, from the same start (no filter, the cursor on the first row)."""
    async with open_vault(make_context(demo_vault.url), size=(40, 12)) as (app, pilot, vault):
        tab = vault.tab_of(Kind.SECRETS)

        async def open_and_go_back(size: tuple[int, int]) -> None:
            await pilot.press("slash", *"billing", "enter", "down", "down")
            item = tab.table.cursor_item
            assert item is not None and tab.table.filter_text == "billing"
            others = [i.name for i in tab.table.rows if i is not item]

            await pilot.press("enter")
            assert tab.is_open and tab.pane.has_focus
            await wait_until(pilot, lambda: tab.pane.detail is not None, "the item's details")
            await pilot.pause()
            lines = screen_lines(app)
            assert on_screen(app, item.name[: size[0] - 12]), lines
            # Its actions, each with its key; the list of items has made way.
            assert on_screen(app, "r reveal"), lines
            assert on_screen(app, "esc back"), lines
            assert not any(o in line for o in others for line in lines), lines
            versions = tab.item_view.versions_list
            assert versions is not None and versions.item_name == item.name
            if size[1] >= 20:  # its versions, below (a short terminal has no room)
                await wait_until(pilot, lambda: versions.versions, "the versions listed")
                await pilot.pause()
                assert on_screen(app, "newest first")

            # The actions work in the view: r reveals, v lists the versions.
            await pilot.press("r")
            await wait_until(pilot, lambda: tab.pane.revealed, "the value")
            assert tab.pane.value is not None
            value = tab.pane.value.text.splitlines()
            first = next(line.strip() for line in value if line.strip())
            await wait_until(pilot, lambda: on_screen(app, first[:12]), "the value on screen")
            await pilot.press("v")
            if size[1] >= 20:  # the list below takes the keys
                assert app.screen is vault and versions.has_focus_within
                await pilot.press("down")
                assert tab.is_open
            else:  # the versions in a modal
                modal = await wait_screen(pilot, VersionsScreen)
                assert modal.item_name == item.name
                await pilot.press("escape")
                await wait_screen(pilot, VaultScreen)

            # esc: back to the list, the cursor on the same item, the filter kept.
            await pilot.press("escape")
            assert not tab.is_open and not tab.pane.revealed
            assert tab.table.has_focus
            assert tab.table.cursor_item is item
            assert tab.table.filter_text == "billing"
            await pilot.pause()
            assert on_screen(app, item.name[:10])
            assert not on_screen(app, first[:12])

        for size in [(40, 12), SIZE, WIDE]:
            async with at_size(pilot, size):
                await open_and_go_back(size)
                # The start again, for the next size: esc clears the filter.
                await pilot.press("escape", "home")
                assert tab.table.filter_text == "" and tab.table.cursor_row == 0


async def test_the_item_view_offers_what_applies_to_a_key(
    demo_vault: Vault, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    async with open_vault(make_context(demo_vault.url, read_only=True), listed_first=None) as (
        _app,
        pilot,
        vault,
    ):
        await wait_until(pilot, lambda: listed(vault, Kind.KEYS), "the keys")
        await pilot.press("2", "enter")
        tab = vault.tab_of(Kind.KEYS)
        assert tab.is_open
        actions = str(tab.item_view.actions.content)
        assert "s save pem" in actions and "c copy" in actions
        assert "reveal" not in actions and "save cer" not in actions
        await pilot.press("1")  # another tab, and back: still open
        await pilot.press("2")
        assert tab.is_open and tab.pane.has_focus
        await pilot.press("escape")
        assert not tab.is_open and tab.table.has_focus


async def test_a_reload_keeps_the_highlighted_row_and_the_filter(
    demo_vault: Vault,
    kv_demo: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    async with open_vault(make_context(demo_vault.url)) as (_app, pilot, vault):
        tab = vault.tab_of(Kind.SECRETS)
        await pilot.press("slash", *"billing", "enter", "down", "down", "down")
        chosen = tab.table.cursor_item
        assert chosen is not None
        before = tab.table.row_count
        # New secrets come before it: the row moves down, the cursor follows the name.
        for name in ("billing-0", "billing-00"):
            await kv_demo.secrets.set_secret(name, "v")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the reload")
        assert "billing-0" in [i.name for i in tab.table.rows]
        current = tab.table.cursor_item
        assert current is not None and current is not chosen  # the new listing's item
        assert current.name == chosen.name
        assert tab.table.row_count == before + 2
        assert tab.table.filter_text == "billing"
        await wait_until(pilot, lambda: tab.pane.item is current, "its details")


async def test_a_renewed_sign_in_keeps_the_highlighted_row_and_the_filter(
    info: EmulatorInfo,
    demo_vault: Vault,
    kv_demo: Clients,
    make_context: Callable[..., AppContext],
    identity: Any,
) -> None:
    app = KvtuiApp(make_context(demo_vault.url))
    async with drive(app, size=SIZE) as pilot:
        await sign_in_by_code(pilot, info)
        vault = await vault_screen(pilot)
        await wait_until(pilot, lambda: listed(vault, Kind.SECRETS), "the secrets")
        tab = vault.tab_of(Kind.SECRETS)
        await pilot.press("slash", *"billing", "enter", "down", "down", "down")
        chosen = tab.table.cursor_item
        assert chosen is not None
        # Let the highlighted item's detail be read, or it meets the revocation first.
        await wait_until(pilot, lambda: tab.pane.detail is not None, "the detail read")
        await asyncio.to_thread(
            identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True}
        )
        await kv_demo.secrets.set_secret("billing-0", "v")
        await pilot.press("ctrl+r")
        await sign_in_by_code(pilot, info)
        await wait_until(pilot, lambda: app.screen is vault, "back on the vault screen")
        await wait_until(
            pilot, lambda: "billing-0" in [i.name for i in tab.table.rows], "the new list"
        )
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the listing")
        current = tab.table.cursor_item
        assert current is not None and current.name == chosen.name
        assert tab.table.filter_text == "billing"


async def test_the_item_view_closes_when_a_reload_no_longer_lists_its_item(
    demo_vault: Vault,
    kv_demo: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    async with open_vault(make_context(demo_vault.url)) as (_app, pilot, vault):
        tab = vault.tab_of(Kind.SECRETS)
        await pilot.press("down", "enter")
        item = tab.table.cursor_item
        assert item is not None and tab.is_open
        await kv_demo.secrets.delete_secret(item.name)  # the async client: no poller
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the reload")
        # (The table takes the focus just after: Widget.focus is deferred.)
        await wait_until(pilot, lambda: not tab.is_open and tab.table.has_focus, "back to the list")
        current = tab.table.cursor_item
        assert current is not None and current.name != item.name
