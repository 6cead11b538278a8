"""The vault screen under faults and in small terminals (issue 7, section 5), through
Pilot against the emulator: a reload that fails keeps the rows it had (marked stale);
a long RBAC 403 panel scrolls and keeps its hint in view; at 40x12 a revealed value
and filter results are on screen; the throttle banner and "Listed attributes only" do
not outlive what they report."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Static

from kvtui.core.errors import Throttled
from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.footer import Footer
from tests.emulator.admin_support import Admin
from tests.ui.conftest import SIZE, WIDE, at_size, wait_until
from tests.ui.vaults import (
    add_fault,
    finished,
    listed,
    on_screen,
    open_vault,
    pane,
    screen_lines,
    shown,
    table,
)

# -- 1. ctrl+r during a fault keeps the rows, marked stale --------------------------------


async def test_a_reload_that_fails_keeps_the_rows_marked_stale(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    async with open_vault(make_context(demo_vault.url)) as (app, pilot, vault):
        secrets = table(vault, Kind.SECRETS)
        await pilot.press("down", "down")
        chosen = secrets.cursor_item
        assert chosen is not None and secrets.total_count == 63
        fault = await add_fault(
            admin, type="throttle", vault=demo_vault.name, operation="secrets/list", retry_after=30
        )

        for _ in range(2):  # a persistent fault: ctrl+r again changes nothing
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the reload")
            assert isinstance(vault.tab_of(Kind.SECRETS).error, Throttled)
            assert secrets.total_count == 63 and secrets.row_count == 63
            assert secrets.cursor_item is not None
            assert secrets.cursor_item.name == chosen.name
            status = shown(vault, "#status-secrets")
            assert "63 secrets" in status and "stale" in status
            assert secrets.has_class("-stale")
            assert on_screen(app, chosen.name)
            assert not on_screen(app, "no items")

        await admin.call("DELETE", f"/faults/{fault}", expect=204)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the reload")
        assert vault.tab_of(Kind.SECRETS).error is None
        assert secrets.total_count == 63 and not secrets.has_class("-stale")
        assert "stale" not in shown(vault, "#status-secrets")
        assert secrets.cursor_item is not None and secrets.cursor_item.name == chosen.name
        assert secrets.cursor_item is not chosen  # the new listing's item


async def test_a_reload_that_fails_midway_keeps_the_whole_earlier_list(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    async with open_vault(make_context(demo_vault.url)) as (_app, pilot, vault):
        secrets = table(vault, Kind.SECRETS)
        before = [i.name for i in secrets.rows]
        # 63 secrets: pages of 25, 25, 13. The reload's first page comes at once, the
        # second is held (until its fault is removed), the third fails.
        pages = {"vault": demo_vault.name, "operation": "secrets/list"}
        failing = await add_fault(admin, type="status", status=500, skip=2, **pages)
        held = await add_fault(admin, type="latency", latency_ms=600_000, skip=1, **pages)
        await pilot.press("ctrl+r")
        # While the new listing streams in, the earlier rows stay as they were.
        await wait_until(
            pilot, lambda: "Reloading… 25 secrets" in shown(vault, "#status-secrets"), "a page"
        )
        assert [i.name for i in secrets.rows] == before
        await admin.call("DELETE", f"/faults/{held}", expect=204)  # the second page comes
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the reload failed")
        assert vault.tab_of(Kind.SECRETS).error is not None
        assert [i.name for i in secrets.rows] == before
        assert "stale" in shown(vault, "#status-secrets")
        _, fault = await admin.call("GET", f"/faults/{failing}", expect=200)
        assert "skip" not in fault  # it was the third page that failed


# -- 2. the RBAC 403 panel wraps and scrolls; its hint stays in view ---------------------


async def test_a_long_rbac_403_keeps_its_hint_in_view(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """At 40x12, then (the terminal resized) 80x24 and 120x35."""
    v = new_vault("demo")
    await admin.call("PATCH", f"/vaults/{v.name}", {"rbac": True}, expect=200)
    rule = {"keys": ["all"], "certificates": ["all"]}  # secrets: nothing, not even list
    await admin.call("PUT", f"/permissions/{v.name}/*", rule, expect=200)
    context = make_context(v.url)
    async with open_vault(context, size=(40, 12), listed_first=None) as (app, pilot, vault):
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the secrets' error")
        assert vault.tab_of(Kind.SECRETS).error is not None
        message = shown(vault, "#error-secrets")
        assert "Caller is not authorized" in message and "Vault:" in message
        assert len(message) > 600  # the real RBAC 403 is long: many lines, wrapped
        scroll = vault.query_one("#error-scroll-secrets")
        for size in [(40, 12), SIZE, WIDE]:
            async with at_size(pilot, size):
                lines = screen_lines(app)
                assert any("ctrl+r to retry" in line for line in lines), "\n".join(lines)
                assert any("⚠ Listing secrets" in line for line in lines)  # how it starts
                # The rest of the message is a scroll away.
                assert scroll.max_scroll_y > 0 or size == WIDE
                scroll.scroll_end(animate=False)
                await pilot.pause()
                assert on_screen(app, "location=westeurope")  # the end of the message
                assert on_screen(app, "ctrl+r to retry")
                scroll.scroll_home(animate=False)  # the start again, for the next size


# -- 3. 40x12: r shows the value, / keeps result rows ------------------------------------


async def test_a_small_terminal_shows_the_revealed_value(
    demo_vault: Vault,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """At 40x12, then (the terminal resized) 80x24; then a value revealed at 80x24 stays
    in sight when the terminal goes back to 40x12."""
    async with open_vault(make_context(demo_vault.url), size=(40, 12)) as (app, pilot, vault):
        secrets = table(vault, Kind.SECRETS)
        detail = pane(vault, Kind.SECRETS)

        async def reveal_and_mask() -> None:
            await pilot.press("down", "down", "down")  # billing-db-connection: a short value
            item = secrets.cursor_item
            assert item is not None
            await wait_until(pilot, lambda: detail.item is item, "the secret highlighted")

            await pilot.press("r")
            await wait_until(pilot, lambda: detail.revealed, "the value revealed")
            assert detail.value is not None
            value = detail.value.text.splitlines()
            first = next(line.strip() for line in value if line.strip())[:12]
            await wait_until(pilot, lambda: on_screen(app, first), "the value on screen")
            assert on_screen(app, item.name[:10])  # the row it belongs to, too
            await pilot.press("escape")
            assert not detail.revealed
            await pilot.pause()
            assert not on_screen(app, first)

        for size in [(40, 12), (80, 24)]:
            async with at_size(pilot, size):
                await reveal_and_mask()
                await pilot.press("home")  # the start again, for the next size
                assert secrets.cursor_row == 0

        # Revealed at 80x24, then the terminal made smaller: the value stays in sight.
        await pilot.press("down", "down", "down", "r")
        await wait_until(pilot, lambda: detail.value is not None, "the value revealed")
        assert detail.value is not None
        first = next(line.strip() for line in detail.value.text.splitlines() if line.strip())
        async with at_size(pilot, (40, 12)):
            await wait_until(pilot, lambda: on_screen(app, first[:12]), "the value in sight")


async def test_a_small_terminal_shows_the_filtered_rows(
    demo_vault: Vault,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """At 40x12, then (the terminal resized) 80x24."""
    async with open_vault(make_context(demo_vault.url), size=(40, 12)) as (app, pilot, vault):
        secrets = table(vault, Kind.SECRETS)
        for size in [(40, 12), (80, 24)]:
            async with at_size(pilot, size):
                await pilot.press("slash", *"billing")
                assert secrets.row_count == 6
                names = [i.name for i in secrets.rows]
                await pilot.pause()
                lines = screen_lines(app)
                visible = [n for n in names if any(n[:10] in line for line in lines)]
                assert len(visible) >= 3, "\n".join(lines)
                assert any("billing" in line for line in lines[:6])  # the box: what was typed
                await pilot.press("enter")  # the box goes, the detail pane comes back
                await pilot.pause()
                assert secrets.cursor_item is not None
                assert on_screen(app, secrets.cursor_item.name[:10])

                # The start again, for the next size: esc clears the filter.
                await pilot.press("escape", "home")
                assert secrets.filter_text == "" and secrets.cursor_row == 0


# -- 4. stale banners ------------------------------------------------------------------


async def test_the_throttle_banner_goes_when_the_sdk_gives_up(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    v = new_vault("demo")
    await add_fault(admin, type="throttle", vault=v.name, operation="keys/list", retry_after=30)
    # retry_total=0: the SDK gives up at the first 429
    context = make_context(v.url)
    async with open_vault(context, size=(40, 12), listed_first=None) as (app, pilot, vault):
        await wait_until(pilot, lambda: finished(vault, Kind.KEYS), "the keys' error")
        assert isinstance(vault.tab_of(Kind.KEYS).error, Throttled)
        await pilot.pause()
        banner = vault.query_one("#vault-throttle", Static)
        assert not banner.display, str(banner.content)
        assert not on_screen(app, "Vault is throttling")
        assert "throttling" in shown(vault, "#error-keys")  # the error says it instead


async def test_the_throttle_banner_goes_when_a_throttled_reveal_gives_up(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    async with open_vault(make_context(demo_vault.url)) as (_app, pilot, vault):
        detail = pane(vault, Kind.SECRETS)
        await wait_until(pilot, lambda: detail.detail is not None, "the detail")
        await add_fault(
            admin, type="throttle", vault=demo_vault.name, operation="secrets/get", retry_after=30
        )
        await pilot.press("r")
        await wait_until(pilot, lambda: detail.value_failed, "the reveal failed")
        assert "throttling" in (detail.value_note or "")
        banner = vault.query_one("#vault-throttle", Static)
        # The reveal's worker is over: nobody waits the 30 s (within the app's next
        # frames, not after the 30 s the banner used to count down).
        await wait_until(pilot, lambda: not banner.display, "the banner gone")


async def test_the_throttle_banner_shows_while_the_sdk_waits(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v = new_vault("demo")
    ctx = make_context(v.url)
    ctx.retry_total = 1  # the SDK waits the Retry-After (2 s) and tries again
    # What the banner says after each update of it: when the session reports a change,
    # and at the screen's ticks, which end a wait that ran out before its request was
    # answered (the session reports nothing then). Polling could miss a 2 s banner on a
    # loaded machine.
    seen: list[str] = []
    tick = VaultScreen._tick_throttle

    def record(screen: VaultScreen) -> None:
        tick(screen)
        if screen.is_mounted:
            banner = screen.query_one("#vault-throttle", Static)
            seen.append(str(banner.content) if banner.display else "")

    monkeypatch.setattr(VaultScreen, "_tick_throttle", record)
    async with open_vault(ctx, listed_first=None) as (_app, pilot, vault):
        await wait_until(pilot, lambda: listed(vault, Kind.KEYS), "the keys")
        banner = vault.query_one("#vault-throttle", Static)
        await add_fault(
            admin, type="throttle", vault=v.name, operation="keys/list", retry_after=2, count=1
        )
        await pilot.press("2", "ctrl+r")
        await wait_until(pilot, lambda: finished(vault, Kind.KEYS), "the keys after the wait")
        # 2 s, not 1: "1 s" is also the least the banner says, whatever the wait.
        assert any("Vault is throttling: waiting 2 s" in line for line in seen), seen
        assert vault.tab_of(Kind.KEYS).error is None
        await pilot.pause()
        assert not banner.display and seen[-1] == ""


async def test_listed_attributes_only_goes_when_the_permission_is_back(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    path = f"/permissions/{demo_vault.name}/*"
    list_only = {"secrets": ["list"], "keys": ["all"], "certificates": ["all"]}
    await admin.call("PUT", path, list_only, expect=200)
    async with open_vault(make_context(demo_vault.url)) as (_app, pilot, vault):
        detail = pane(vault, Kind.SECRETS)

        def limited() -> bool:
            return "Listed attributes only" in (detail.detail_error or "")

        def full() -> bool:
            return detail.detail is not None and not detail.detail_error

        await wait_until(pilot, limited, "the list-only note")
        await admin.call("DELETE", path, expect=204)
        # r reads the value: the permission is back, so the details are read again.
        await pilot.press("r")
        await wait_until(pilot, lambda: detail.revealed, "the value")
        await wait_until(pilot, full, "the details after r")
        assert "Listed attributes only" not in detail.text
        await pilot.press("escape")

        # ctrl+r reads the highlighted item's details again.
        await admin.call("PUT", path, list_only, expect=200)
        await pilot.press("down")
        await wait_until(pilot, limited, "the note on the next secret")
        await admin.call("DELETE", path, expect=204)
        await pilot.press("ctrl+r")
        await wait_until(pilot, full, "the details after ctrl+r")
        assert "Listed attributes only" not in detail.text

        # Moving off the item and back reads them again.
        await admin.call("PUT", path, list_only, expect=200)
        await pilot.press("down")
        await wait_until(pilot, limited, "the note again")
        await admin.call("DELETE", path, expect=204)
        await pilot.press("up", "down")
        await wait_until(pilot, full, "the details after moving back")


async def test_a_large_list_survives_a_failed_reload_and_is_swapped_in_one_step(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    # 1,000 rows (40 pages): the same code path as 10,000, which took 20 s to list on
    # a loaded 2-core machine; ItemTable.replace_items swapped 10,000 in 0.2 s.
    v = new_vault("bulk:1000")
    context = make_context(v.url)
    async with open_vault(context, size=(40, 12), listed_first=None) as (app, pilot, vault):
        secrets = table(vault, Kind.SECRETS)
        await wait_until(pilot, lambda: listed(vault, Kind.SECRETS), "the 1,000 secrets")
        assert secrets.total_count == 1_000
        await pilot.press("end")
        last = secrets.cursor_item
        assert last is not None
        fault = await add_fault(
            admin, type="throttle", vault=v.name, operation="secrets/list", retry_after=30
        )
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "the reload failed")
        assert secrets.total_count == 1_000 and secrets.cursor_item is last
        assert "1,000 secrets" in shown(vault, "#status-secrets")
        assert "stale" in shown(vault, "#status-secrets")

        await admin.call("DELETE", f"/faults/{fault}", expect=204)
        await pilot.press("ctrl+r")
        # The earlier rows stay, every frame, until the new listing is complete.
        for _ in range(1000):  # 20 s at most
            assert secrets.total_count == 1_000
            if finished(vault, Kind.SECRETS):
                break
            await pilot.pause(0.02)
        assert vault.tab_of(Kind.SECRETS).error is None and not vault.tab_of(Kind.SECRETS).stale
        assert secrets.total_count == 1_000
        assert secrets.cursor_item is not None and secrets.cursor_item.name == last.name
        assert on_screen(app, last.name)


async def test_a_reload_keeps_the_key_types_read_before(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    async with open_vault(make_context(demo_vault.url), listed_first=None) as (app, pilot, vault):
        keys = table(vault, Kind.KEYS)
        await wait_until(pilot, lambda: listed(vault, Kind.KEYS), "the keys")
        await wait_until(pilot, lambda: all(i.key_type for i in keys.rows), "the key types")
        # Details are slow now: the types after the reload come from the earlier rows.
        await add_fault(
            admin, type="latency", vault=demo_vault.name, operation="keys/get", latency_ms=3000
        )
        await pilot.press("2", "ctrl+r")
        await wait_until(pilot, lambda: finished(vault, Kind.KEYS), "the reload")
        assert vault.tab_of(Kind.KEYS).error is None
        assert all(i.key_type for i in keys.rows)
        assert any("RSA 2048" in line for line in screen_lines(app))


async def test_a_small_terminal_keeps_help_and_quit_in_the_footer(
    demo_vault: Vault,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """The footer loses keys at its right end: `?` (every key) and quit stay in view,
    and a key is shown whole or not at all. At 40x12, then (the terminal resized)
    80x24. A click on a key presses it; the mouse over a key shows what it does."""
    async with open_vault(make_context(demo_vault.url), size=(40, 12)) as (app, pilot, vault):
        footer = vault.query_one(Footer)
        for size in [(40, 12), (80, 24)]:
            async with at_size(pilot, size):
                await wait_until(pilot, lambda: on_screen(app, "Help"), "help in the footer")
                line = screen_lines(app)[-1]
                assert "? Help" in line
                assert "^q Quit" in line
                keys, palette = line.split("▏")
                assert palette.strip() == "^p palette"
                whole = {f"{k.display} {k.description}" for k in footer.keys}
                shown = keys.strip().split("  ")
                assert set(shown) <= whole, f"a key cut short: {line!r}"
                assert len(shown) < len(whole)  # some did not fit

        # The mouse over "/ Filter": its tooltip; a click: the filter box.
        x = line.index("/ Filter")
        await pilot.hover(Footer, offset=(x, 0))
        assert footer.tooltip == "Filter the table as you type"
        await pilot.click(Footer, offset=(x, 0))
        assert vault.tab_of(Kind.SECRETS).filter_box.has_focus


async def test_an_empty_table_says_loading_until_the_vault_answers(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """A vault that has not answered yet is not shown as empty: "loading…", then "no
    items" once its listing says so."""
    empty = new_vault()
    held = await add_fault(
        admin, type="latency", latency_ms=600_000, vault=empty.name, operation="secrets/list"
    )
    async with open_vault(make_context(empty.url), listed_first=None) as (app, pilot, vault):
        secrets = table(vault, Kind.SECRETS)
        await wait_until(pilot, lambda: on_screen(app, "loading…"), "the table waiting")
        assert not on_screen(app, "no items")
        await admin.call("DELETE", f"/faults/{held}", expect=204)  # the listing goes on
        await wait_until(pilot, lambda: finished(vault, Kind.SECRETS), "listed")
        await wait_until(pilot, lambda: on_screen(app, "no items"), "the table empty")
        assert secrets.total_count == 0 and not secrets.waiting
