"""The vault picker against the emulator's ARM slice: every vault of every subscription
and tenant, filtering, pinned and recent first (across restarts), opening by URL, and
ARM failures shown in the picker."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kvtui.core.state import VaultHistory
from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.open_vault import OpenVaultScreen
from kvtui.ui.screens.picker import BY_URL, PickerScreen
from kvtui.ui.screens.vault import VaultScreen
from tests.ui.conftest import SIZE, wait_screen, wait_until


def new_vault(emulator: EmulatorThread, tenant: str | None = None) -> tuple[str, str]:
    """A new empty vault of the session emulator: (name, url)."""
    name = f"pk{uuid.uuid4().hex[:12]}"
    vault = emulator.call(emulator.emulator.add_vault(name, tenant=tenant))
    return name, vault.url


async def signed_in_picker(pilot: Pilot[Any]) -> PickerScreen:
    """The picker (no --vault), the app signed in silently (the ``signed_in`` fixture:
    the sign-in itself is tests/ui/test_login.py's)."""
    return await wait_screen(pilot, PickerScreen)


async def recorded(pilot: Pilot[Any], context: AppContext, url: str) -> None:
    """Wait until ``url`` is the most recent vault: recorded at its first answer."""
    await wait_until(
        pilot,
        lambda: [r.url for r in VaultHistory(context.state_path).recent][:1] == [url],
        f"{url} recorded as recent",
    )


def rows(picker: PickerScreen) -> list[tuple[str, str, str]]:
    """(marker, name, url) of the vault rows shown, top to bottom."""
    table = picker.query_one(DataTable)
    out = []
    for row in table.ordered_rows:
        if row.key.value != BY_URL:
            cells = table.get_row(row.key)
            out.append((str(cells[0]), str(cells[1]), str(row.key.value)))
    return out


def cells(picker: PickerScreen, url: str) -> list[str]:
    return [str(c) for c in picker.query_one(DataTable).get_row(url)]


async def listed(pilot: Pilot[Any], picker: PickerScreen, *urls: str) -> None:
    try:
        await wait_until(
            pilot,
            lambda: not picker.searching and set(urls) <= {u for _, _, u in rows(picker)},
            "the vaults listed",
        )
    except AssertionError as exc:
        status = picker.query_one("#picker-status", Static).content
        raise AssertionError(f"{exc} ({status}; {picker.errors})") from None


async def test_lists_every_subscription_of_both_tenants_filters_and_opens(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    _, home = new_vault(emulator)
    guest_name, guest = new_vault(emulator, tenant=info.other_tenant_id)
    context = make_context(None)
    app = KvtuiApp(context)
    async with drive(app, size=SIZE) as pilot:
        picker = await signed_in_picker(pilot)
        await listed(pilot, picker, home, guest)
        status = str(picker.query_one("#picker-status", Static).content)
        assert status.endswith("in 3 subscriptions"), status  # 2 at home, 1 as a guest
        assert cells(picker, guest)[1:] == [
            guest_name,
            "kvtui partner",
            "kvtui-emulator",
            cells(picker, guest)[4],
            "access policy",
        ]
        assert cells(picker, home)[2].startswith("kvtui demo")
        assert str(picker.query_one("#picker-errors", Static).content) == ""

        await pilot.press(*guest_name[:8])  # the start of the guest vault's name
        assert [u for _, _, u in rows(picker)] == [guest]
        await pilot.press("ctrl+u", *"zzz")
        assert rows(picker) == []
        await pilot.press("ctrl+u", *guest_name[2:8], "enter")
        vault = await wait_screen(pilot, VaultScreen)
        assert vault.vault_url == guest
        await recorded(pilot, context, guest)
    recent = VaultHistory(context.state_path).recent
    assert [(r.url, r.name, r.tenant_id) for r in recent] == [
        (guest, guest_name, info.other_tenant_id)
    ]


async def test_pinned_then_recent_come_first_after_a_restart(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    pinned_name, pinned = new_vault(emulator)
    recent_name, recent = new_vault(emulator)
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE) as pilot:
        picker = await signed_in_picker(pilot)
        await listed(pilot, picker, pinned, recent)
        await pilot.press(*pinned_name[:8], "tab", "p")  # tab: to the list; p: pin
        assert rows(picker) == [("★ pinned", pinned_name, pinned)]
        await pilot.press("slash", "ctrl+u", *recent_name[:8], "enter")
        vault = await wait_screen(pilot, VaultScreen)
        assert vault.vault_url == recent
        await recorded(pilot, app.context, recent)

    again = KvtuiApp(make_context(None))  # same state file and token cache: silent
    async with drive(again, size=SIZE) as pilot:
        picker = await wait_screen(pilot, PickerScreen)
        first_two = [("★ pinned", pinned_name, pinned), ("recent", recent_name, recent)]
        await listed(pilot, picker, pinned, recent)
        assert rows(picker)[:2] == first_two
        assert all(marker == "" for marker, _, _ in rows(picker)[2:])
        assert picker.highlighted_url() == pinned
        await pilot.press("down")  # from the filter: the list's cursor moves
        assert picker.highlighted_url() == recent

        await pilot.press(*pinned_name[:8], "tab", "p")  # unpin
        await pilot.press("slash", "ctrl+u")
        assert rows(picker)[0] == ("recent", recent_name, recent)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not again.is_running, "kvtui exits")
    assert VaultHistory(make_context(None).state_path).pinned == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_arm_unreachable_is_a_line_in_the_picker_and_a_url_still_opens(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    _, url = new_vault(emulator)
    context = make_context(None, arm_url=f"https://127.0.0.1:{closed_port()}/")
    app = KvtuiApp(context)
    async with drive(app, size=SIZE) as pilot:
        picker = await signed_in_picker(pilot)
        errors = picker.query_one("#picker-errors", Static)
        await wait_until(pilot, lambda: not picker.searching, "ARM given up")
        assert "Azure Resource Manager at 127.0.0.1:" in str(errors.content)
        assert "refused the connection" in str(errors.content)
        assert "ctrl+o" in str(errors.content)
        assert errors.display
        assert str(picker.query_one("#picker-status", Static).content) == (
            "0 vaults in 0 subscriptions"
        )

        await pilot.press("ctrl+o")
        modal = await wait_screen(pilot, OpenVaultScreen)
        await pilot.press(*"no", "enter")  # too short for a vault name
        assert "vault name" in str(modal.query_one("#open-vault-error", Static).content)
        await pilot.press("escape")
        assert await wait_screen(pilot, PickerScreen) is picker

        await pilot.press(*url, "enter")  # typed into the filter: nothing matches it
        modal = await wait_screen(pilot, OpenVaultScreen)
        assert modal.query_one(Input).value == url
        await pilot.press("enter")
        vault = await wait_screen(pilot, VaultScreen)
        assert vault.vault_url == url
        await recorded(pilot, context, url)
    assert [r.url for r in VaultHistory(context.state_path).recent] == [url]


async def test_a_long_list_shows_the_first_rows_and_typing_narrows_the_rest(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    signed_in: None,
    monkeypatch: Any,
) -> None:
    # Hundreds of vaults would take hundreds of emulator listeners: lower the cap instead.
    import kvtui.ui.screens.picker as picker_module

    monkeypatch.setattr(picker_module, "MAX_ROWS", 3)
    name, url = new_vault(emulator)
    for _ in range(3):
        new_vault(emulator)
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE) as pilot:
        picker = await signed_in_picker(pilot)
        await wait_until(pilot, lambda: not picker.searching, "the search ends")
        table = picker.query_one(DataTable)
        shown = [str(table.get_row(r.key)[1]) for r in table.ordered_rows]
        assert len(rows(picker)) == 4  # three vaults and the "more" line
        assert any("more: type to narrow" in s for s in shown)
        for ch in name:
            await pilot.press(ch)
        assert [u for _, _, u in rows(picker)] == [url]
        assert not any("more:" in str(table.get_row(r.key)[1]) for r in table.ordered_rows)
