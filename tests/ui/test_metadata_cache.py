"""The metadata cache in the app (kvtui/core/cache.py, kvtui/ui/widgets/kind_tab.py):
the second start shows the cached table while the vault has not answered, marked with
its age; the live listing then reconciles it (new rows +, changed ~, gone ones named);
writes follow into the cache; ``metadata_cache = false`` keeps nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.message import Message
from textual.widgets import Static

import kvtui.ui.app
from kvtui.core.cache import MetadataCache
from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.item_table import ItemTable
from tests.emulator.admin_support import Admin
from tests.support import Clients, token_cache_path
from tests.ui.conftest import wait_screen, wait_until
from tests.ui.test_writes import Notes
from tests.ui.vaults import add_fault, finished, open_vault, shown, table, vault_screen


def cache_files(folder: Path) -> list[Path]:
    return sorted(metadata(folder).glob("*.sqlite"))


def metadata_of(screen: VaultScreen) -> Path:
    folder = screen.context.metadata_dir
    assert folder is not None
    return folder


def metadata(folder: Path) -> Path:
    """Beside the token cache (tests/support.py's token_cache_path)."""
    return token_cache_path(folder).parent / "metadata"


async def test_the_second_start_shows_the_cache_then_reconciles_it(
    vault: Vault,
    sdk: Clients,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
    tmp_path: Path,
) -> None:
    for name in ("alpha", "bravo", "charlie", "delta"):
        await sdk.secrets.set_secret(name, f"{name}-value-not-cached", tags={"team": "a"})
    async with open_vault(make_context(vault.url)) as (_, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "listed")
        written = MetadataCache(metadata(tmp_path), screen.account.home_account_id)
        # (The file exists before the listing is in it: wait for the listing.)
        await wait_until(
            pilot, lambda: written.load(vault.url, Kind.SECRETS) is not None, "the cache written"
        )
    [path] = cache_files(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"alpha-value-not-cached" not in path.read_bytes()

    # Meanwhile: one new, one changed, one gone. And the vault's listing is held.
    await sdk.secrets.set_secret("echo", "x")
    await sdk.secrets.update_secret_properties("bravo", tags={"team": "b"})
    await sdk.secrets.delete_secret("delta")
    held = await add_fault(
        admin, type="latency", latency_ms=600_000, vault=vault.name, operation="secrets/list"
    )
    notes = Notes()
    app = KvtuiApp(make_context(vault.url))
    previews: list[tuple[list[str], str]] = []

    def hook(message: Message) -> None:
        notes(message)
        # What the first screen shows under "Signing in…", for as long as it is there
        # (until the vault screen is up).
        if app.screen_stack and (found := app.screen_stack[0].query("#starting-table")):
            status = str(app.screen_stack[0].query_one("#starting", Static).render())
            previews.append(([i.name for i in found.first(ItemTable).rows], status))

    async with drive(app, message_hook=hook) as pilot:
        screen = await vault_screen(pilot)
        # Before the vault screen, under "Signing in…": the cached secrets.
        assert (
            ["alpha", "bravo", "charlie", "delta"],
            f"Signing in… · 4 secrets cached just now · {vault.url}",
        ) in previews
        # The vault screen took them over: the preview is gone.
        assert not app.screen_stack[0].query("#starting-table")
        secrets = table(screen, Kind.SECRETS)
        await wait_until(pilot, lambda: secrets.total_count == 4, "the cached rows")
        assert [i.name for i in secrets.rows] == ["alpha", "bravo", "charlie", "delta"]
        await wait_until(
            pilot, lambda: "cached just now" in shown(screen, "#status-secrets"), "its age"
        )
        assert screen.tab_of(Kind.SECRETS).listing  # the vault has not answered yet

        await admin.call("DELETE", f"/faults/{held}", expect=204)
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "reconciled")
        assert [i.name for i in secrets.rows] == ["alpha", "bravo", "charlie", "echo"]
        assert secrets.model.changes == {"echo": "new", "bravo": "changed"}
        status = shown(screen, "#status-secrets")
        assert "since cached just now: 1 new, 1 changed, 1 gone" in status
        assert any("(delta)" in m and "marked +" in m for m in notes.messages)
        lines = [secrets.render_line(y).text for y in range(1, 6)]
        assert lines[1].startswith("~bravo") and lines[3].startswith("+echo")

        # A write follows into the cache: deleting charlie.
        await pilot.press("down", "down", "d")
        await wait_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: secrets.total_count == 3, "deleted")
        account = screen.account
        cache = MetadataCache(metadata(tmp_path), account.home_account_id)

        def cached_names() -> list[str]:
            got = cache.load(vault.url, Kind.SECRETS)
            return [i.name for i in got.items] if got else []

        await wait_until(pilot, lambda: cached_names() == ["alpha", "bravo", "echo"], "kept")

    # A third start: nothing changed, nothing marked, and the cached rows stay (the
    # listing is compared, not redrawn).
    async with open_vault(make_context(vault.url), listed_first=None) as (_, pilot, screen):
        secrets = table(screen, Kind.SECRETS)
        await wait_until(pilot, lambda: secrets.total_count == 3, "the cached rows")
        shown_first = list(secrets.items)
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "checked")
        assert "unchanged since cached" in shown(screen, "#status-secrets")
        assert secrets.model.changes == {}
        assert all(a is b for a, b in zip(secrets.items, shown_first, strict=True))


async def test_a_large_cache_comes_first_rows_first(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first frame holds the whole cache up to PREVIEW_ROWS (10,000 at most: 300
    here), and no more: its first rows come with it, the others after; the vault
    screen then shows them all (the listing held)."""
    vault = new_vault(seed="bulk:700")
    async with open_vault(make_context(vault.url)) as (_, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "listed")
        cache = MetadataCache(metadata_of(screen), screen.account.home_account_id)

        def cached_count() -> int:
            got = cache.load(vault.url, Kind.SECRETS)
            return len(got.items) if got else 0

        await wait_until(pilot, lambda: cached_count() == 700, "the cache written")
    # The CLI then starts the early listing after the first frame, not before it.
    assert make_context(vault.url).has_cached_listing()
    assert not make_context(new_vault().url).has_cached_listing()
    await add_fault(
        admin, type="latency", latency_ms=600_000, vault=vault.name, operation="secrets/list"
    )
    first = await first_preview(make_context(vault.url))
    assert first == (700, f"Signing in… · 700 secrets cached just now · {vault.url}")

    monkeypatch.setattr(kvtui.ui.app, "PREVIEW_ROWS", 300)
    app = KvtuiApp(make_context(vault.url))
    previews: list[tuple[int, str]] = []

    def hook(message: Message) -> None:
        if app.screen_stack and (found := app.screen_stack[0].query("#starting-table")):
            status = str(app.screen_stack[0].query_one("#starting", Static).render())
            previews.append((found.first(ItemTable).total_count, status))

    async with drive(app, message_hook=hook) as pilot:
        screen = await vault_screen(pilot)
        assert previews[0] == (
            300,
            f"Signing in… · 300 of 700 cached secrets shown so far · {vault.url}",
        )
        secrets = table(screen, Kind.SECRETS)
        await wait_until(pilot, lambda: secrets.total_count == 700, "every cached row")
        assert secrets.rows[0].name == "bulk-secret-000000"
        assert "showing the 700 cached" in shown(screen, "#status-secrets")


async def first_preview(context: AppContext) -> tuple[int, str]:
    """The rows of the preview under "Signing in…" when it is first there, and its line."""
    app = KvtuiApp(context)
    previews: list[tuple[int, str]] = []

    def hook(message: Message) -> None:
        stack = app.screen_stack
        if not previews and stack and (found := stack[0].query("#starting-table")):
            status = str(stack[0].query_one("#starting", Static).render())
            previews.append((found.first(ItemTable).total_count, status))
            app.exit()

    async with drive(app, message_hook=hook):
        pass
    return previews[0]


async def test_keys_typed_over_the_preview_reach_the_table(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """Type-ahead: "/cha" typed while the cached rows are shown under "Signing in…"
    filters the vault screen's table once it is up."""
    for name in ("alpha", "bravo", "charlie"):
        await sdk.secrets.set_secret(name, "x")
    async with open_vault(make_context(vault.url)) as (_, pilot, screen):
        cache = MetadataCache(metadata_of(screen), screen.account.home_account_id)
        await wait_until(pilot, lambda: cache.load(vault.url, Kind.SECRETS) is not None, "kept")
    app = KvtuiApp(make_context(vault.url))
    typed: list[str] = []

    def hook(message: Message) -> None:
        # The keys arrive as the terminal's would, while the preview is on screen.
        if not typed and app.screen_stack and app.screen_stack[0].query("#starting-table"):
            typed.extend(["slash", "c", "h", "a"])
            for key in typed:
                app.post_message(events.Key(key, "/" if key == "slash" else key))

    async with drive(app, message_hook=hook) as pilot:
        screen = await vault_screen(pilot)
        secrets = table(screen, Kind.SECRETS)
        box = screen.tab_of(Kind.SECRETS).filter_box
        await wait_until(pilot, lambda: secrets.filter_text == "cha", "the filter typed ahead")
        await wait_until(pilot, lambda: app.focused is box, "the box focused, for more")
        await pilot.press("r")
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "listed")
        assert box.value == "char"
        assert [i.name for i in secrets.rows] == ["charlie"]
    assert typed


async def test_no_cache_keeps_nothing(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
    tmp_path: Path,
) -> None:
    await sdk.secrets.set_secret("only", "x")
    context = make_context(vault.url, metadata_cache=False)
    assert context.metadata_dir is None
    async with open_vault(context) as (_, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "listed")
    assert cache_files(tmp_path) == []
