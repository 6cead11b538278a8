"""The command palette (``:`` as in k9s, or ctrl+p): "Open vault…" switches to a vault
chosen in the picker, and each recent vault has a command of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.command import Command, CommandList, CommandPalette
from textual.pilot import Pilot

from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.picker import PickerScreen
from kvtui.ui.screens.vault import VaultScreen
from tests.ui.conftest import SIZE, wait_screen, wait_until
from tests.ui.test_picker import new_vault, recorded


def commands(palette: CommandPalette) -> list[str | None]:
    """The commands listed, by their text (without their help)."""
    options = palette.query_one(CommandList).options
    return [o.hit.text for o in options if isinstance(o, Command)]


async def run_command(pilot: Pilot[Any], query: str, wanted: str, key: str = "colon") -> None:
    """``key`` (``:``), type ``query``, move to the command ``wanted``, enter."""
    await pilot.press(key)
    palette = await wait_screen(pilot, CommandPalette)
    await pilot.press(*query)
    await wait_until(pilot, lambda: wanted in commands(palette), f"the command {wanted!r}")
    listed = palette.query_one(CommandList)
    for _ in range(listed.option_count):
        await pilot.press("down")
        if commands(palette)[listed.highlighted or 0] == wanted:
            break
    await pilot.press("enter")


async def test_colon_opens_the_palette_to_switch_vaults(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    _, first = new_vault(emulator)
    second_name, second = new_vault(emulator)
    app = KvtuiApp(make_context(first))  # --vault URL
    async with drive(app, size=SIZE) as pilot:
        old = await wait_screen(pilot, VaultScreen)
        depth = len(app.screen_stack)
        await recorded(pilot, app.context, first)  # a recent vault once it has answered

        await run_command(pilot, "open vault", "Open vault…")
        picker = await wait_screen(pilot, PickerScreen)
        await pilot.press(*second_name[:8])
        await wait_until(pilot, lambda: picker.highlighted_url() == second, "the second vault")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, VaultScreen) and app.screen.vault_url == second,
            "the second vault open",
        )
        assert len(app.screen_stack) == depth and old not in app.screen_stack

        host = first.split("//")[1].rstrip("/")  # opened by URL: no name known
        await run_command(pilot, host, f"Open vault: {host}", key="ctrl+p")  # ctrl+p too
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, VaultScreen) and app.screen.vault_url == first,
            "back to the first vault, from its recent-vault command",
        )
        assert len(app.screen_stack) == depth
