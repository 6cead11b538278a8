from __future__ import annotations
import asyncio
from typing import Any
from collections.abc import Callable
from kvtui.emulator import EmulatorInfo
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.detail_pane import DetailPane
from tests.support import Clients, identity_admin
from tests.ui.conftest import SIZE, wait_screen, wait_until
from tests.ui.test_login import code_on_screen, approve, listed, seed, NAMES

async def test_reveal_a(info: EmulatorInfo, kv: Clients, make_context: Callable[..., AppContext], identity: Any) -> None:
    await seed(kv)
    app = KvtuiApp(make_context(kv.vault_url))
    async with app.run_test(size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await approve(info, code)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "listed")
        pane = vault.query_one("#detail-secrets", DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None, "detail")
        await asyncio.to_thread(identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True})
        await pilot.press("r")
        login, code = await code_on_screen(pilot)
        print("pane note while login:", pane.value_note)
        await approve(info, code)
        await wait_until(pilot, lambda: app.screen is vault, "back")
        for _ in range(40):
            await pilot.pause(0.1)
        print("after:", pane.revealed, pane.value_note, pane.value_failed)
        assert pane.revealed

async def test_reveal_d(info: EmulatorInfo, kv: Clients, make_context: Callable[..., AppContext], identity: Any) -> None:
    await seed(kv)
    app = KvtuiApp(make_context(kv.vault_url))
    async with app.run_test(size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await approve(info, code)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "listed")
        pane = vault.query_one("#detail-secrets", DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None, "detail")
        await asyncio.to_thread(identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True})
        await pilot.press("down", "r")
        login, code = await code_on_screen(pilot)
        print("pane note while login:", pane.value_note, pane.item.name)
        await approve(info, code)
        await wait_until(pilot, lambda: app.screen is vault, "back")
        for _ in range(40):
            await pilot.pause(0.1)
        print("after:", pane.revealed, pane.value_note, pane.value_failed, pane.item.name)
        assert pane.revealed

async def test_reveal_e(info: EmulatorInfo, kv: Clients, make_context: Callable[..., AppContext], identity: Any) -> None:
    await seed(kv)
    app = KvtuiApp(make_context(kv.vault_url))
    async with app.run_test(size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await approve(info, code)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "listed")
        pane = vault.query_one("#detail-secrets", DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None, "detail")
        await asyncio.to_thread(identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True})
        identity(interval=1)
        await pilot.press("ctrl+r")
        lg = await wait_screen(pilot, LoginScreen)
        import sys; print("phase at r", lg.phase, file=sys.stderr)
        await pilot.press("r")
        print("phase after r", lg.phase, pane.value_note, file=sys.stderr)
        login, code = await code_on_screen(pilot)
        print("pane note while login:", pane.value_note, pane.item.name, len(identity_admin(info, "GET")["device_codes"]))
        await approve(info, code)
        await wait_until(pilot, lambda: app.screen is vault, "back")
        for _ in range(40):
            await pilot.pause(0.1)
        print("after:", pane.revealed, pane.value_note, pane.value_failed, pane.item.name)
        assert pane.revealed
