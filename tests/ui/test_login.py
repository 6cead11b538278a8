"""The login screen and start-up, driven through Pilot against the emulator with real
msal over HTTPS: device code shown and approved, silent second start, known accounts,
declined/expired codes, Conditional Access, cancel, and signing in again mid-session."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList, Static

from kvtui.emulator import EmulatorInfo
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.detail_pane import DetailPane
from kvtui.ui.widgets.item_table import ItemTable
from tests.support import Clients, approve_device_code, identity_admin
from tests.ui.conftest import SIZE, wait_screen, wait_until

NAMES = ["alpha", "beta-2", "gamma-db-password"]
SECRET_VALUE = "do-not-cache-me-9f3a"


def shown(screen: Any, selector: str) -> str:
    """The text a Static shows."""
    return str(screen.query_one(selector, Static).content)


def listed(screen: VaultScreen) -> list[str]:
    return [
        item.name
        for table in screen.query("#table-secrets").results(ItemTable)
        for item in table.rows
    ]


async def seed(kv: Clients) -> None:
    for name in NAMES:
        await kv.secrets.set_secret(name, SECRET_VALUE)


async def code_on_screen(pilot: Any) -> tuple[LoginScreen, str]:
    login = await wait_screen(pilot, LoginScreen)
    await wait_until(pilot, lambda: login.phase == "code", "a device code on screen")
    assert login.flow is not None
    code = login.flow.user_code
    assert shown(login, "#device-code") == code
    assert shown(login, "#device-url") == login.flow.verification_uri
    assert "expires in 1" in shown(login, "#device-countdown")  # 15:00 .. 14:xx
    return login, code


async def approve(info: EmulatorInfo, code: str, action: str = "approve") -> None:
    await asyncio.to_thread(approve_device_code, info, code, action)


async def test_code_approved_opens_the_vault_and_the_second_start_is_silent(
    info: EmulatorInfo,
    kv: Clients,
    make_context: Callable[..., AppContext],
    identity: Any,
    tmp_path: Path,
) -> None:
    await seed(kv)
    app = KvtuiApp(make_context(kv.vault_url))
    async with drive(app, size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await pilot.press("c")
        assert app.clipboard == code  # sent to the terminal as OSC 52
        await approve(info, code)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "the secrets listed")
        assert vault.account.username == "demo.user@kvtui-demo.example"
        assert "demo.user@kvtui-demo.example" in shown(vault, "#vault-header")
        assert kv.vault_url in shown(vault, "#vault-header")

    cache = tmp_path / "cache" / "tokens.bin"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert SECRET_VALUE.encode() not in cache.read_bytes()

    # Tomorrow: a new app on the same cache goes straight to the vault.
    codes_before = len(identity_admin(info, "GET")["device_codes"])
    again = KvtuiApp(make_context(kv.vault_url))
    async with drive(again, size=SIZE) as pilot:
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "the secrets listed")
        assert not any(isinstance(s, LoginScreen) for s in again.screen_stack)
    assert len(identity_admin(info, "GET")["device_codes"]) == codes_before


async def test_declined_code_is_explained_and_r_gives_a_new_code(
    info: EmulatorInfo, kv: Clients, make_context: Callable[..., AppContext], identity: Any
) -> None:
    await seed(kv)
    app = KvtuiApp(make_context(kv.vault_url))
    async with drive(app, size=SIZE) as pilot:
        login, code = await code_on_screen(pilot)
        await approve(info, code, "decline")
        await wait_until(pilot, lambda: login.phase == "error", "the error panel")
        assert "declined" in shown(login, "#error-message")
        await pilot.press("r")
        login, second = await code_on_screen(pilot)
        assert second != code
        await approve(info, second)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "the secrets listed")


async def test_expired_code_is_explained_and_r_gives_a_new_code(
    info: EmulatorInfo, vault_url: str, make_context: Callable[..., AppContext], identity: Any
) -> None:
    identity(expires_in=1)
    app = KvtuiApp(make_context(vault_url))
    async with drive(app, size=SIZE) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "error", "the code to expire")
        assert "expired" in shown(login, "#error-message")
        identity(expires_in=900)
        await pilot.press("r")
        login, code = await code_on_screen(pilot)
        await approve(info, code)
        await wait_screen(pilot, VaultScreen)


async def test_conditional_access_block_says_what_to_do(
    vault_url: str, make_context: Callable[..., AppContext], identity: Any, info: EmulatorInfo
) -> None:
    identity(block_device_code=True)
    app = KvtuiApp(make_context(vault_url))
    async with drive(app, size=SIZE) as pilot:
        login, code = await code_on_screen(pilot)
        await approve(info, code)
        await wait_until(pilot, lambda: login.phase == "error", "the error panel")
        message = shown(login, "#error-message")
        assert "Conditional Access" in message
        assert "compliant device" in message
        assert "Fix the cause" in shown(login, "#error-hint")


async def test_escape_cancels_sign_in_and_quits(
    vault_url: str, make_context: Callable[..., AppContext], identity: Any
) -> None:
    app = KvtuiApp(make_context(vault_url))
    async with drive(app, size=SIZE) as pilot:
        login, _ = await code_on_screen(pilot)
        flow = login.flow
        assert flow is not None
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.is_running, "the app to quit")
    # The poll in its thread was told to stop (it returns within 0.2 s).
    assert flow.cancelled


async def test_known_account_is_offered_and_needs_a_new_code_when_its_session_died(
    info: EmulatorInfo,
    kv: Clients,
    make_context: Callable[..., AppContext],
    identity: Any,
) -> None:
    await seed(kv)
    first = KvtuiApp(make_context(kv.vault_url))
    async with drive(first, size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await approve(info, code)
        await wait_screen(pilot, VaultScreen)
    # The refresh token dies and no access token is left: silent sign-in cannot work.
    await asyncio.to_thread(
        identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True}
    )
    ctx = make_context(kv.vault_url)
    for acc in list(ctx.sign_in.cache.search("AccessToken")):
        ctx.sign_in.cache.modify("AccessToken", acc)
    app = KvtuiApp(ctx)
    async with drive(app, size=SIZE) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        assert login.phase == "accounts"
        options = login.query_one("#account-list", OptionList)
        assert "demo.user@kvtui-demo.example" in str(options.get_option_at_index(0).prompt)
        assert "another account" in str(options.get_option_at_index(1).prompt)
        await pilot.press("enter")  # continue as the known account
        login, code = await code_on_screen(pilot)
        assert "has to sign in again" in shown(login, "#login-reason")
        await approve(info, code)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "the secrets listed")


async def test_sign_in_required_mid_session_returns_to_the_vault(
    info: EmulatorInfo, kv: Clients, make_context: Callable[..., AppContext], identity: Any
) -> None:
    await seed(kv)
    app = KvtuiApp(make_context(kv.vault_url))
    async with drive(app, size=SIZE) as pilot:
        _, code = await code_on_screen(pilot)
        await approve(info, code)
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: listed(vault) == NAMES, "the secrets listed")
        # The highlighted secret's detail is read in the background: let it finish, or it
        # can meet the revocation first and bring the login screen before ctrl+r (which
        # the login screen then takes, so nothing lists again).
        pane = vault.query_one("#detail-secrets", DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None, "the detail read")
        # Sessions revoked (CAE) and the refresh token with them: the vault refuses the
        # cached token, msal cannot refresh -> SignInRequired.
        await asyncio.to_thread(
            identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True}
        )
        await kv.secrets.set_secret("delta", SECRET_VALUE)
        await pilot.press("ctrl+r")
        login, code = await code_on_screen(pilot)
        assert app.screen_stack[-2] is vault  # on top of where the user was
        assert "expired" in shown(login, "#login-reason")
        await approve(info, code)
        await wait_until(pilot, lambda: app.screen is vault, "back on the vault screen")
        await wait_until(pilot, lambda: listed(vault) == sorted([*NAMES, "delta"]), "the new list")


async def test_hostile_text_from_flags_and_errors_is_shown_literally(
    info: EmulatorInfo, make_context: Callable[..., AppContext], identity: Any
) -> None:
    base = info.authority.rsplit("/", 1)[0]
    ctx = make_context(
        vault="https://127.0.0.1:9/[bold]x[/]", authority=f"{base}/no-such[bold]tenant"
    )
    app = KvtuiApp(ctx)
    async with drive(app, size=SIZE) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "error", "the error panel")
        assert "no-such[bold]tenant" in shown(login, "#login-title")
        assert "no-such[bold]tenant" in shown(login, "#error-message")
        assert "Traceback" not in shown(login, "#error-message")
        await pilot.press("r")  # retrying shows the same error again, still no crash
        await wait_until(pilot, lambda: login.phase == "error", "the error panel again")
        assert app.is_running


async def test_at_40x12_the_address_code_and_countdown_show_whole(
    vault_url: str, make_context: Callable[..., AppContext], identity: Any
) -> None:
    app = KvtuiApp(make_context(vault_url))
    async with drive(app, size=(40, 12)) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "code", "a device code on screen")
        await pilot.pause()
        screen = login.region
        for selector in ("#device-url", "#device-code", "#device-countdown"):
            widget = login.query_one(selector, Static)
            assert widget.region.height > 0, selector
            assert screen.contains_region(widget.region), (selector, widget.region)
        assert login.flow is not None
        assert login.flow.user_code in shown(login, "#device-code")
        await pilot.press("escape")


@pytest.mark.parametrize("frames", range(8))
async def test_quitting_as_the_login_screen_mounts_is_quiet(
    make_context: Callable[..., AppContext], frames: int
) -> None:
    """Leaving the app a few frames after it starts, while the login screen is being
    mounted, raises nothing (it printed a NoMatches traceback, about 1 run in 10)."""
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE) as pilot:
        for _ in range(frames):
            await pilot.pause(0)
    assert app.return_code in (0, None)
