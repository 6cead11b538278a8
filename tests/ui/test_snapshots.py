"""How the login screen looks (SVG snapshots): the real app and the real device-code
flow against the emulator, made deterministic with a fixed user code and address, a
fixed tenant segment and a frozen countdown. Update with --snapshot-update after review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from kvtui.emulator import EmulatorInfo
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.login import LoginScreen
from tests.ui.conftest import SIZE, wait_screen, wait_until


def test_login_screen_shows_code_address_countdown_and_qr(
    snap_compare: Any, info: EmulatorInfo, make_context: Callable[..., AppContext], identity: Any
) -> None:
    # interval 1: msal notices the cancel when the app exits (0 never sleeps, never checks)
    identity(
        user_code="BHTQ7K2WX", verification_uri="https://microsoft.com/devicelogin", interval=1
    )
    base = info.authority.rsplit("/", 1)[0]
    app = KvtuiApp(
        make_context("https://snapshot.vault.azure.net/", authority=f"{base}/organizations")
    )

    async def code_shown(pilot: Pilot[Any]) -> None:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "code", "the code")
        flow = login.flow
        assert flow is not None
        login.clock = lambda: flow.expires_at - 599.5  # "expires in 9:59"
        login.update_countdown()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=code_shown)
