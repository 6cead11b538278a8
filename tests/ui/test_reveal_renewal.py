"""A reveal pressed while the session is being renewed (the login screen comes up for a
listing at the same moment) is carried out after the sign-in, or said to be dropped;
never silently lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kvtui.emulator import EmulatorInfo
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.detail_pane import DetailPane
from tests.support import Clients, identity_admin
from tests.ui.conftest import SIZE, wait_screen, wait_until
from tests.ui.test_login import NAMES, listed, seed
from tests.ui.vaults import sign_in_by_code


async def test_reveal_pressed_as_the_session_is_renewed_is_carried_out_after_sign_in(
    info: EmulatorInfo, kv: Clients, make_context: Callable[..., AppContext], identity: Any
) -> None:
    await seed(kv)
    app = KvtuiApp(make_context(kv.vault_url))
    async with drive(app, size=SIZE) as pilot:
        await sign_in_by_code(pilot, info)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "the secrets listed")
        pane = vault.query_one("#detail-secrets", DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None, "the detail read")
        assert pane.item is not None and pane.item.name == NAMES[0]
        # The session dies; r (reveal) and a reload (ctrl+r, a moment later, before the
        # login screen takes the keys) both need a sign-in: one login screen serves both,
        # and the reload reads the list again (new rows) after it.
        await asyncio.to_thread(
            identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True}
        )
        await pilot.press("r")
        assert pane.value_note == "Reading the value…"
        vault.action_reload()
        await sign_in_by_code(pilot, info)
        await wait_until(pilot, lambda: app.screen is vault, "back on the vault screen")
        loader = vault.tab.loader
        assert loader is not None
        await wait_until(pilot, lambda: loader.is_finished, "the listing after the sign-in")
        await wait_until(pilot, lambda: listed(vault) == NAMES, "listed again")
        await wait_until(pilot, lambda: pane.detail is not None, "the detail read again")
        await wait_until(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.group == "reveal"),
            "the reveal to end",
        )
        await wait_until(
            pilot,
            lambda: pane.revealed or any("dropped" in n.message for n in app._notifications),
            "the value revealed, or a word that the reveal was dropped",
        )
        assert pane.revealed
        assert pane.item is not None and pane.item.name == NAMES[0]
        assert "do-not-cache-me-9f3a" in pane.text
