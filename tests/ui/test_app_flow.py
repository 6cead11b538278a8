"""Start-up without --vault: the picker's open-by-URL modal, its validation, and opening
another vault from the vault screen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.widgets import Input, Static

from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.open_vault import OpenVaultScreen
from kvtui.ui.screens.picker import PickerScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.item_table import ItemTable
from tests.support import Clients, approve_device_code
from tests.ui.conftest import SIZE, wait_screen, wait_until
from tests.ui.test_login import code_on_screen


async def test_without_a_vault_the_user_types_one_and_can_open_another(
    info: EmulatorInfo,
    kv: Clients,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    identity: Any,
) -> None:
    await kv.secrets.set_secret("first-vault-secret", "x")
    other = emulator.call(emulator.emulator.add_vault(f"other{id(kv) % 100000}"))
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await asyncio.to_thread(approve_device_code, info, code)
        await wait_screen(pilot, PickerScreen)
        await pilot.press("ctrl+o")  # the picker's "Open by name or URL…"
        modal = await wait_screen(pilot, OpenVaultScreen)
        await pilot.press(*"no", "enter")  # too short for a vault name
        assert "vault name" in str(modal.query_one("#open-vault-error", Static).content)
        assert app.screen is modal
        modal.query_one(Input).value = kv.vault_url
        await pilot.press("enter")
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(
            pilot, lambda: all(t.loader is not None for t in vault.tabs), "the tabs loading"
        )
        names = vault.query_one("#table-secrets", ItemTable)
        await wait_until(pilot, lambda: names.total_count == 1, "the first vault's secret")

        await pilot.press("o")  # the picker again, then its open-by-URL modal
        await wait_screen(pilot, PickerScreen)
        await pilot.press("ctrl+o")
        modal = await wait_screen(pilot, OpenVaultScreen)
        modal.query_one(Input).value = other.url
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, VaultScreen) and app.screen.vault_url == other.url,
            "the other vault",
        )
        second = app.screen
        assert isinstance(second, VaultScreen)
        await wait_until(
            pilot,
            lambda: (
                all(t.loader is not None for t in second.tabs)  # the tabs' widgets are mounted
                and "0 secrets" in str(second.query_one("#status-secrets", Static).content)
            ),
            "the other vault listed (empty)",
        )


async def test_a_vault_in_another_tenant_opens_without_a_second_sign_in(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    identity: Any,
) -> None:
    """The vault's challenge names the guest tenant: the token comes silently for it."""
    guest = emulator.call(
        emulator.emulator.add_vault(f"guest{id(identity) % 100000}", tenant=info.other_tenant_id)
    )
    app = KvtuiApp(make_context(guest.url))
    async with drive(app, size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await asyncio.to_thread(approve_device_code, info, code)
        vault = await wait_screen(pilot, VaultScreen)
        # The tabs' widgets are there once the loads have started (TabbedContent
        # mounts its panes after the screen).
        await wait_until(
            pilot, lambda: all(t.loader is not None for t in vault.tabs), "the tabs loading"
        )
        status = vault.query_one("#status-secrets", Static)
        await wait_until(pilot, lambda: str(status.content) == "0 secrets", "the guest vault")
        assert vault.account.tenant_id == info.tenant_id  # signed in at home
