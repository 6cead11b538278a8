"""Two accounts of one user name must never make the app ask for code after code: the
same UPN in two tenants, and the emulator started afresh on the same port (a re-created
account: same UPN, new object id, new tenant). Also: no second code right after one, and
a wrong tenant says "Check --tenant". The real app through Pilot, real msal over HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.certificates._shared import (  # the SDK's own, process-wide
    http_challenge_cache as certificates_challenges,
)
from azure.keyvault.keys._shared import http_challenge_cache as keys_challenges
from azure.keyvault.secrets._shared import http_challenge_cache as secrets_challenges
from textual.widgets import OptionList, Static

from kvtui.core.config import Settings
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext, build_context
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.item_table import ItemTable
from tests.conftest import POLL_INTERVAL
from tests.support import identity_admin
from tests.ui.conftest import SIZE, wait_screen, wait_until


def shown(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def codes_issued(info: EmulatorInfo) -> int:
    return len(identity_admin(info, "GET")["device_codes"])


async def approve_as(info: EmulatorInfo, code: str, oid: str | None = None) -> None:
    body = {"oid": oid} if oid else None
    await asyncio.to_thread(identity_admin, info, "POST", f"/device-codes/{code}/approve", body)


async def new_code(pilot: Any) -> tuple[LoginScreen, str]:
    """The login screen showing a device code (no list of accounts before it)."""
    login = await wait_screen(pilot, LoginScreen)
    await wait_until(pilot, lambda: login.phase != "starting", "the login screen to settle")
    assert login.phase == "code", (login.phase, [a.username for a in login.accounts])
    assert login.flow is not None
    return login, login.flow.user_code


async def listed(pilot: Any) -> VaultScreen:
    """The vault screen, once its secrets are listed."""
    vault = await wait_screen(pilot, VaultScreen)

    def count() -> int:
        return sum(t.total_count for t in vault.query("#table-secrets").results(ItemTable))

    await wait_until(pilot, lambda: count() > 0, "the secrets listed")
    # Every tab listed and its status line drawn: leaving earlier lets a status timer
    # fire on a screen being torn down (seen as NoMatches '#table-keys' at exit).
    await wait_until(
        pilot,
        lambda: all(
            t.loader is not None and t.loader.is_finished and not t.status_pending
            for t in vault.tabs
        ),
        "every tab listed",
    )
    return vault


def context(info: EmulatorInfo, folder: Path, vault: str, tenant: str) -> AppContext:
    """`kvtui --authority <emulator>/<tenant> --vault ...` with the token cache and
    state file in ``folder`` (the same folder: the same cache)."""
    base = info.authority.rsplit("/", 1)[0]
    settings = Settings(
        authority=f"{base}/{tenant}",
        ca_bundle=info.ca_bundle,
        client_id=info.client_id,
        arm_url=info.arm_url,
        vault=vault,
        token_cache=str(folder / "cache" / "tokens.bin"),
    )
    ctx = build_context(settings, state_path=folder / "state" / "state.json")
    ctx.retry_total = 0
    return ctx


# -- the same UPN in two tenants ------------------------------------------------------


async def test_same_user_name_in_another_tenant_signs_in_with_one_code(
    info: EmulatorInfo, emulator: EmulatorThread, tmp_path: Path, identity: Any
) -> None:
    upn = f"twin-{uuid.uuid4().hex[:8]}@kvtui-demo.example"
    first = identity_admin(info, "POST", "/users", {"upn": upn, "home_tenant": "home"})
    second = identity_admin(info, "POST", "/users", {"upn": upn, "home_tenant": "other"})
    name = uuid.uuid4().hex[:10]
    home_vault = emulator.call(emulator.emulator.add_vault(f"h{name}", seed="demo")).url
    other_vault = emulator.call(
        emulator.emulator.add_vault(f"o{name}", seed="demo", tenant=info.other_tenant_id)
    ).url

    app = KvtuiApp(context(info, tmp_path, home_vault, info.tenant_id))
    async with drive(app, size=SIZE) as pilot:
        _, code = await new_code(pilot)
        await approve_as(info, code, first["oid"])
        vault = await listed(pilot)
        assert vault.account.home_account_id == f"{first['oid']}.{info.tenant_id}"

    # The same user name, at home in the other tenant: the first account does not fit
    # it (never signed in there), so it is neither used silently nor offered.
    before = codes_issued(info)
    app = KvtuiApp(context(info, tmp_path, other_vault, info.other_tenant_id))
    async with drive(app, size=SIZE) as pilot:
        _, code = await new_code(pilot)
        await approve_as(info, code, second["oid"])
        vault = await listed(pilot)
        assert vault.account.username == upn
        assert vault.account.home_account_id == f"{second['oid']}.{info.other_tenant_id}"
        assert app.screen is vault
    assert codes_issued(info) == before + 1

    # With `organizations` both accounts are offered, each under its own tenant.
    app = KvtuiApp(context(info, tmp_path, other_vault, "organizations"))
    async with drive(app, size=SIZE) as pilot:
        # The account used last (the second) continues silently.
        vault = await listed(pilot)
        assert vault.account.home_account_id == f"{second['oid']}.{info.other_tenant_id}"
    accounts = await context(info, tmp_path, home_vault, "organizations").sign_in.accounts()
    assert {a.tenant_id for a in accounts} == {info.tenant_id, info.other_tenant_id}


async def test_no_second_code_when_the_new_sign_in_still_gives_no_token(
    info: EmulatorInfo, vault_url: str, tmp_path: Path, identity: Any
) -> None:
    """Approved by an account that is not in the vault's tenant: the token for the vault
    cannot be had. The app says so and waits for ctrl+r; it does not ask for code after
    code (each approval used to be followed by a new code)."""
    upn = f"outsider-{uuid.uuid4().hex[:8]}@kvtui-demo.example"
    outsider = identity_admin(info, "POST", "/users", {"upn": upn, "home_tenant": "other"})
    before = codes_issued(info)
    app = KvtuiApp(context(info, tmp_path, vault_url, "organizations"))
    async with drive(app, size=SIZE) as pilot:
        _, code = await new_code(pilot)
        await approve_as(info, code, outsider["oid"])
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: vault.query("#error-secrets"), "the secrets tab")
        error = vault.query_one("#error-secrets", Static)
        await wait_until(pilot, lambda: error.display, "the listing error")
        await wait_until(
            pilot,
            lambda: vault.tab.loader is not None and vault.tab.loader.is_finished,
            "the listing",
        )
        text = str(error.content)
        assert "Signed in, but still no token for this vault" in text
        assert "AADSTS50020" in text
        assert "ctrl+r" in text
        for _ in range(10):  # nothing else is under way: no login screen comes back
            await pilot.pause(0.05)
        assert app.screen is vault
        assert codes_issued(info) == before + 1
        await pilot.press("ctrl+r")  # the person asks: a new code
        await new_code(pilot)
        assert codes_issued(info) == before + 2


# -- the emulator started afresh on the same port -----------------------------------


def free_port_pair() -> int:
    """A port P below the ephemeral range with P and P+1 free (the emulator's identity
    platform and its one vault)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with contextlib.ExitStack() as stack:
            try:
                for p in (port, port + 1):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", p))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair below 32000")


@contextlib.contextmanager
def emulator_on(port: int, state_dir: Path) -> Iterator[EmulatorInfo]:
    state_dir.mkdir(parents=True, exist_ok=True)
    thread = EmulatorThread(
        EmulatorSettings(vaults=["restart"], seed="demo", state_dir=state_dir, port=port)
    )
    try:
        thread.start()
        identity_admin(thread.info, "PATCH", "/settings", {"interval": POLL_INTERVAL})
        yield thread.info
    finally:
        thread.stop()


@pytest.mark.parametrize("tenant", ["home", "organizations"])
async def test_emulator_started_afresh_on_the_same_port_needs_one_code(
    tmp_path: Path, tenant: str
) -> None:
    """A new state folder is a new directory: the same UPN with a new object id in a new
    tenant, on the same host:port, so msal's cache still holds the old account."""
    port = free_port_pair()
    folder = tmp_path / "kvtui"

    def ctx(info: EmulatorInfo) -> AppContext:
        tid = info.tenant_id if tenant == "home" else tenant
        return context(info, folder, info.vaults["restart"], tid)

    with emulator_on(port, tmp_path / "state-1") as info:
        app = KvtuiApp(ctx(info))
        async with drive(app, size=SIZE) as pilot:
            _, code = await new_code(pilot)
            await approve_as(info, code)
            old = (await listed(pilot)).account

    # A new kvtui process would start without the Key Vault SDK's challenge cache (one
    # per process, per host:port): clear it, or it names the old emulator's tenant.
    for cache in (secrets_challenges, keys_challenges, certificates_challenges):
        cache.clear()
    with emulator_on(port, tmp_path / "state-2") as info:
        assert info.authority.startswith(f"https://127.0.0.1:{port}/")
        app = KvtuiApp(ctx(info))
        async with drive(app, size=SIZE) as pilot:
            login, code = await new_code(pilot)  # the dead account is not offered
            assert not login.query_one(OptionList).display or not login.accounts
            await approve_as(info, code)
            vault = await listed(pilot)
            assert vault.account.username == old.username
            assert vault.account.home_account_id != old.home_account_id
            assert vault.account.tenant_id == info.tenant_id
            for _ in range(10):
                await pilot.pause(0.05)
            assert app.screen is vault
        assert codes_issued(info) == 1


# -- a wrong tenant ---------------------------------------------------------------------


async def test_wrong_tenant_says_check_tenant(
    info: EmulatorInfo, vault_url: str, tmp_path: Path, identity: Any
) -> None:
    app = KvtuiApp(context(info, tmp_path, vault_url, "contoso-typo.onmicrosoft.com"))
    async with drive(app, size=SIZE) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "error", "the error panel")
        message = shown(login, "#error-message")
        assert "Tenant 'contoso-typo.onmicrosoft.com' was not found" in message
        assert "AADSTS90002" in message
        assert "Check --tenant" in message
        assert "Authority would typically" not in message
        assert "Fix the cause" in shown(login, "#error-hint")


# -- signing out in the app -------------------------------------------------------------


async def test_sign_out_in_the_palette_forgets_the_account_and_asks_for_a_code(
    info: EmulatorInfo, emulator: EmulatorThread, tmp_path: Path, identity: Any
) -> None:
    """ "Sign out" (the palette) forgets the account and its tokens as `kvtui logout`
    does: the vault closes, a new code is asked for, and a new start is not silent."""
    from kvtui.core.accounts import cached_accounts
    from kvtui.core.token_cache import open_token_cache
    from tests.ui.test_palette import run_command

    vault_url = emulator.call(
        emulator.emulator.add_vault(f"s{uuid.uuid4().hex[:10]}", seed="demo")
    ).url
    ctx = context(info, tmp_path, vault_url, "organizations")
    app = KvtuiApp(ctx)
    async with drive(app, size=SIZE) as pilot:
        _, code = await new_code(pilot)
        await approve_as(info, code)
        vault = await listed(pilot)
        user = vault.account.username
        assert [a.username for a in cached_accounts(ctx.sign_in.cache)] == [user]
        await run_command(pilot, "sign out", f"Sign out {user}")
        login, _ = await new_code(pilot)  # no account left to offer: a code at once
        assert app.account is None
        assert not any(isinstance(s, VaultScreen) for s in app.screen_stack)
        on_disk = open_token_cache(tmp_path / "cache" / "tokens.bin")
        assert cached_accounts(on_disk) == []
        assert ctx.last_account_id() is None
        assert not login.accounts

    # The next start has nothing to continue as.
    app = KvtuiApp(context(info, tmp_path, vault_url, "organizations"))
    async with drive(app, size=SIZE) as pilot:
        await new_code(pilot)
