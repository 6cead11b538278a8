"""The palette's "Search all vaults" and "Expiring across vaults" (issue 11), through
Pilot, against an emulator of each test's own (a fresh one starts in a tenth of a
second), so that "every vault the account can see" through ARM is exactly the test's
vaults: alpha, beta and gamma, in two subscriptions. The app signs in silently from a
token cache signed in once per test, as a second start of kvtui would.

Checked with the SDK (the items and their dates are set with it) and the emulator's
request log (what the metadata cache spares, what ctrl+r lists again)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.certificates import CertificatePolicy
from azure.keyvault.certificates._shared import (  # the SDK's own, process-wide
    http_challenge_cache as certificates_challenges,
)
from azure.keyvault.keys._shared import http_challenge_cache as keys_challenges
from azure.keyvault.secrets._shared import http_challenge_cache as secrets_challenges
from textual.pilot import Pilot
from textual.widgets import Input, Static

from kvtui.core.config import Settings
from kvtui.core.models import Kind
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext, build_context
from kvtui.ui.screens.cross_vault import CrossVaultScreen
from kvtui.ui.screens.expiring import ExpiringScreen
from kvtui.ui.screens.picker import PickerScreen
from kvtui.ui.screens.search import SearchScreen
from kvtui.ui.screens.vault import VaultScreen
from tests.support import (
    SignedInCache,
    identity_admin,
    kv_clients,
    requests_session,
    token_cache_path,
)
from tests.ui.conftest import SIZE, at_size, wait_screen, wait_until
from tests.ui.test_key_hints import screen_lines
from tests.ui.test_literal import HOSTILE, RAW, assert_literal
from tests.ui.test_palette import run_command
from tests.ui.vaults import finished

VALUE = "a-value-never-listed-Qx71"


@dataclass
class World:
    emulator: EmulatorThread
    info: EmulatorInfo
    folder: Path
    vaults: dict[str, str]
    """name -> URL: alpha, beta, gamma."""

    def context(self, vault: str | None = None, **settings: Any) -> AppContext:
        """kvtui's context, signed in (``--vault NAME``: that vault's URL; None: the
        picker)."""
        values: dict[str, Any] = {
            "authority": self.info.authority,
            "ca_bundle": self.info.ca_bundle,
            "client_id": self.info.client_id,
            "arm_url": self.info.arm_url,
            "vault": self.vaults[vault] if vault else None,
            "token_cache": str(token_cache_path(self.folder)),
        }
        s = Settings(**{**values, **settings})
        ctx = build_context(s, state_path=self.folder / "state" / "state.json")
        ctx.retry_total = 0
        return ctx

    def admin(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        with requests_session(self.info.ca_bundle) as http:
            resp = http.request(
                method,
                f"{self.info.admin_url}{path}",
                json=body,
                headers=self.info.admin_headers(),
                timeout=10,
            )
        if expect is not None:
            assert resp.status_code == expect, (resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def last_request(self) -> int:
        return int(self.admin("GET", "/requests")["last"])

    def lists_since(self, seq: int) -> list[tuple[str, str]]:
        """(vault, list operation) of the answered vault list requests after ``seq``."""
        return sorted(
            (e["vault"], e["operation"])
            for e in self.admin("GET", f"/requests?since={seq}")["value"]
            if e["status"] != 401 and str(e["operation"]).endswith("/list")
        )


def _clear_challenges() -> None:
    """A new kvtui process starts without the SDK's challenge cache (per host:port): an
    earlier emulator of this process may have had these ports and another tenant."""
    for challenges in (secrets_challenges, keys_challenges, certificates_challenges):
        challenges.clear()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    emulator = EmulatorThread(
        EmulatorSettings(vaults=["alpha"], approve="manual", state_dir=tmp_path / "emulator")
    )
    info = emulator.start()
    _clear_challenges()
    try:
        identity_admin(info, "PATCH", "/settings", {"interval": 0})
        for name in ("beta", "gamma"):  # round-robin over the home tenant's subscriptions
            emulator.call(emulator.emulator.add_vault(name))
        folder = tmp_path / "kvtui"
        SignedInCache(info, tmp_path / "signing-in").copy_to(folder)
        yield World(emulator, info, folder, dict(info.vaults))
    finally:
        emulator.stop()
        _clear_challenges()


async def seed(world: World) -> None:
    """beta: a secret tagged env=prod; gamma: a key of team payments; alpha: a secret of
    its own."""
    async with kv_clients(world.info, world.vaults["beta"]) as kv:
        await kv.secrets.set_secret("db-password", VALUE, tags={"env": "prod"})
    async with kv_clients(world.info, world.vaults["gamma"]) as kv:
        await kv.keys.create_rsa_key("signing-key", tags={"team": "payments"})
    async with kv_clients(world.info, world.vaults["alpha"]) as kv:
        await kv.secrets.set_secret("alpha-note", VALUE)


def found(screen: CrossVaultScreen) -> list[tuple[str, str, str]]:
    """(vault, kind, name) of each row, in order."""
    return [(r.target.name, r.item.kind.singular, r.item.name) for r in screen.rows]


def table_text(screen: CrossVaultScreen) -> list[str]:
    """The table's rows as drawn cells, joined by spaces (literal text, truncated)."""
    table = screen.table
    return [" ".join(cell.plain for cell in table.get_row_at(n)) for n in range(table.row_count)]


async def search_for(
    pilot: Pilot[Any], screen: SearchScreen, query: str, wanted: list[tuple[str, str, str]]
) -> None:
    box = screen.query_one("#search-query", Input)
    box.value = ""
    await pilot.press(*query)
    await wait_until(
        pilot,
        lambda: screen.settled and found(screen) == wanted,
        f"{wanted} found by {query!r} (found {found(screen)})",
    )


def opened_on(app: KvtuiApp, url: str, kind: Kind, name: str) -> bool:
    """The vault of ``url`` on show, on the tab of ``kind``, ``name`` highlighted."""
    screen = app.screen
    if not isinstance(screen, VaultScreen) or screen.vault_url.rstrip("/") != url.rstrip("/"):
        return False
    if not screen.is_mounted or screen.kind is not kind:
        return False
    item = screen.tab.table.cursor_item
    return item is not None and item.name == name and screen.tab.table.has_focus


async def test_search_finds_by_name_and_tag_in_another_vault_and_opens_it(
    world: World,
) -> None:
    await seed(world)
    app = KvtuiApp(world.context("alpha"))
    async with drive(app, size=SIZE) as pilot:
        await wait_screen(pilot, VaultScreen)
        before = world.last_request()
        await run_command(pilot, "search all", "Search all vaults…")
        search = await wait_screen(pilot, SearchScreen)
        assert search.query_one("#search-query", Input).has_focus

        await search_for(pilot, search, "db-pass", [("beta", "secret", "db-password")])
        assert [r.matched for r in search.rows] == [("name",)]
        [line] = table_text(search)
        assert line.split()[:4] == ["beta", "secret", "db-password", "name"]
        status = str(search.query_one("#cross-status", Static).content)
        assert "1 found in 3 vaults" in status, status
        every_list = sorted(
            (vault, f"{kind.value}/list") for vault in ("alpha", "beta", "gamma") for kind in Kind
        )
        # The request log has a request once it is answered: wait for the last one.
        await wait_until(
            pilot, lambda: len(world.lists_since(before)) >= len(every_list), "every listing"
        )
        assert world.lists_since(before) == every_list  # each vault listed, once

        await search_for(pilot, search, "tag:team=payments", [("gamma", "key", "signing-key")])
        assert [r.matched for r in search.rows] == [("tag team=payments",)]
        assert not any(VALUE in line for line in screen_lines(app))

        await pilot.press("enter")  # the item, in its vault
        await wait_until(
            pilot,
            lambda: opened_on(app, world.vaults["gamma"], Kind.KEYS, "signing-key"),
            "gamma open on its keys, signing-key highlighted",
        )
        assert len(app.screen_stack) == 2  # in place of alpha's screen
        # (gamma's screen shows the search's cached rows first, then lists gamma itself)
        gamma = app.screen
        assert isinstance(gamma, VaultScreen)
        await wait_until(pilot, lambda: all(finished(gamma, kind) for kind in Kind), "gamma listed")

        # A second search: from the metadata cache, no vault is listed again.
        before = world.last_request()
        await run_command(pilot, "search all", "Search all vaults…")
        search = await wait_screen(pilot, SearchScreen)
        await search_for(pilot, search, "env=prod", [])
        await search_for(pilot, search, "tag:env=prod", [("beta", "secret", "db-password")])
        assert world.lists_since(before) == []
        # ctrl+r reads every vault again.
        before = world.last_request()
        await pilot.press("ctrl+r")
        await wait_until(
            pilot,
            lambda: search.settled and world.lists_since(before) == every_list,
            "every vault listed again",
        )
        assert found(search) == [("beta", "secret", "db-password")]

        # Enter on an item of the vault on show: the same screen, the item highlighted.
        await search_for(pilot, search, "signing", [("gamma", "key", "signing-key")])
        vault = app.screen_stack[-2]
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)
        await run_command(pilot, "search all", "Search all vaults…")
        search = await wait_screen(pilot, SearchScreen)
        await search_for(pilot, search, "alpha-n", [("alpha", "secret", "alpha-note")])
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: opened_on(app, world.vaults["alpha"], Kind.SECRETS, "alpha-note"),
            "alpha open, alpha-note highlighted",
        )
        assert vault not in app.screen_stack


async def test_expiring_lists_exactly_the_expired_and_expiring_items(world: World) -> None:
    now = datetime.now(timezone.utc)
    async with kv_clients(world.info, world.vaults["alpha"]) as kv:
        s = kv.secrets
        await s.set_secret("old-token", VALUE, expires_on=now - timedelta(days=2))
        await s.set_secret("soon-token", VALUE, expires_on=now + timedelta(days=5))
        await s.set_secret("later-token", VALUE, expires_on=now + timedelta(days=100))
        await s.set_secret("no-expiry", VALUE)
    async with kv_clients(world.info, world.vaults["beta"]) as kv:
        await kv.keys.create_ec_key("soon-key", expires_on=now + timedelta(days=10))
        await kv.secrets.set_secret(
            "disabled-expired", VALUE, enabled=False, expires_on=now - timedelta(days=1)
        )
    async with kv_clients(world.info, world.vaults["gamma"]) as kv:
        # Valid for a month: listed within 40 days; its own secret and key are not.
        policy = CertificatePolicy("Self", subject="CN=short-cert", validity_in_months=1)
        await kv.certificates.create_certificate("short-cert", policy)
    app = KvtuiApp(world.context("alpha", expiry_warning_days=40))
    async with drive(app, size=SIZE) as pilot:
        await wait_screen(pilot, VaultScreen)
        await run_command(pilot, "expiring across", "Expiring across vaults")
        screen = await wait_screen(pilot, ExpiringScreen)
        expected = [
            ("alpha", "secret", "old-token"),
            ("beta", "secret", "disabled-expired"),
            ("alpha", "secret", "soon-token"),
            ("beta", "key", "soon-key"),
            ("gamma", "certificate", "short-cert"),
        ]
        await wait_until(pilot, lambda: screen.settled and found(screen) == expected, f"{expected}")
        lines = table_text(screen)
        assert all("✖ expired" in line for line in lines[:2]), lines
        assert all("⚠ in" in line and "expired" not in line for line in lines[2:]), lines
        assert lines[1].split()[-1] == "no"  # disabled: enabled no
        # In the theme's colours, as the vault's tables: error for expired, warning next.
        expired = screen.get_component_rich_style("cross-vault--expired")
        expiring = screen.get_component_rich_style("cross-vault--expiring")
        assert expired.color is not None and expiring.color is not None
        assert expired.color != expiring.color
        cells = [screen.table.get_row_at(n)[2] for n in range(5)]
        assert [c.style == expired for c in cells] == [True, True, False, False, False]
        assert [c.style == expiring for c in cells] == [False, False, True, True, True]
        # Whole days left, rounded down (as kvtui expiring says them).
        assert [line.split()[-2] for line in lines[:4]] == ["-3", "-2", "4", "9"]
        status = str(screen.query_one("#cross-status", Static).content)
        assert "2 expired, 3 expiring in 3 vaults" in status, status
        assert "Expired and expiring within 40 days" in "\n".join(screen_lines(app))

        await pilot.press("down", "enter")  # beta's disabled, expired secret
        await wait_until(
            pilot,
            lambda: opened_on(app, world.vaults["beta"], Kind.SECRETS, "disabled-expired"),
            "beta open, disabled-expired highlighted",
        )


async def test_a_vault_that_answers_403_is_named_and_the_others_are_searched(
    world: World,
) -> None:
    """beta: nothing allowed (403); gamma's keys: a 501 with a hostile message, shown
    literally."""
    await seed(world)
    world.admin("PUT", "/permissions/beta/*", {}, expect=200)  # nothing allowed there
    fault = {"type": "status", "status": 501, "vault": "gamma", "message": HOSTILE}
    world.admin("POST", "/faults", {**fault, "operation": "keys/list"}, expect=201)
    app = KvtuiApp(world.context("alpha"))
    async with drive(app, size=SIZE) as pilot:
        await wait_screen(pilot, VaultScreen)
        await run_command(pilot, "search all", "Search all vaults…")
        search = await wait_screen(pilot, SearchScreen)
        await search_for(pilot, search, "e", [("alpha", "secret", "alpha-note")])
        problems = str(search.query_one("#cross-problems", Static).content)
        assert problems.startswith("Could not read 2 vaults: beta, gamma\n"), problems
        assert "vault beta: secrets: " in problems and "secrets list permission" in problems
        assert "vault beta: keys: " in problems and "vault beta: certificates: " in problems
        [gamma] = [line for line in problems.splitlines() if line.startswith("vault gamma")]
        assert gamma.startswith("vault gamma: keys: ")
        assert_literal(gamma)
        shown = "\n".join(screen_lines(app))
        assert "Could not read 2 vaults: beta, gamma" in shown, shown
        assert not any(ch in shown for ch in RAW)


async def test_from_the_picker_at_40x12(world: World) -> None:
    """No vault open yet (the picker): the search, at 40x12, its hint and a row in view;
    enter opens the vault through the picker, the item highlighted."""
    await seed(world)
    app = KvtuiApp(world.context())
    async with drive(app, size=SIZE) as pilot:
        await wait_screen(pilot, PickerScreen)
        async with at_size(pilot, (40, 12)):
            await run_command(pilot, "search all", "Search all vaults…", key="ctrl+p")
            search = await wait_screen(pilot, SearchScreen)
            await search_for(pilot, search, "db", [("beta", "secret", "db-password")])
            await pilot.pause()
            lines = [line.rstrip() for line in screen_lines(app)]
            assert lines[-1] == "enter open · ctrl+r refresh · esc close", lines
            assert any(line.split()[:3] == ["beta", "secret", "db-password"] for line in lines)
            assert all(len(line) <= 40 for line in lines)
            await pilot.press("enter")
            await wait_until(
                pilot,
                lambda: opened_on(app, world.vaults["beta"], Kind.SECRETS, "db-password"),
                "beta open, db-password highlighted",
            )
            assert not any(isinstance(s, PickerScreen) for s in app.screen_stack)
