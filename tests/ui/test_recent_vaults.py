"""Recent vaults (state.json) hold only vaults that opened (issue 7, section 5): a URL
refused when typed, or a vault that cannot be reached, never becomes a recent vault."""

from __future__ import annotations

import json
from collections.abc import Callable

from textual.widgets import Input, Static

from kvtui.core.models import Kind
from kvtui.core.state import VaultHistory
from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.open_vault import OpenVaultScreen
from kvtui.ui.screens.picker import PickerScreen
from kvtui.ui.screens.vault import VaultScreen
from tests.ui.conftest import SIZE, wait_screen, wait_until
from tests.ui.test_picker import closed_port, new_vault, signed_in_picker


async def test_only_vaults_that_answered_become_recent(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    _, good = new_vault(emulator)
    unreachable = f"https://127.0.0.1:{closed_port()}/"
    context = make_context(None)
    app = KvtuiApp(context)
    async with drive(app, size=SIZE) as pilot:
        picker = await signed_in_picker(pilot)

        # Refused as typed: the box says why and stays open.
        await pilot.press("ctrl+o")
        modal = await wait_screen(pilot, OpenVaultScreen)
        for junk, why in (
            ("file:///", "https://"),
            ("https:///", "host"),
            ("https://127.0.0.1:99999/", "port"),
        ):
            modal.query_one(Input).value = junk
            await pilot.press("enter")
            error = str(modal.query_one("#open-vault-error", Static).content)
            assert why in error, error
            assert app.screen is modal

        # Accepted, opened, but the vault never answers: not recent.
        modal.query_one(Input).value = unreachable
        await pilot.press("enter")
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(
            pilot, lambda: vault.tab_of(Kind.SECRETS).error is not None, "the listing failed"
        )
        assert "refused the connection" in str(vault.tab_of(Kind.SECRETS).error)
        assert VaultHistory(context.state_path).recent == []

        # A vault that answers is recorded.
        await pilot.press("o")
        picker = await wait_screen(pilot, PickerScreen)
        await wait_until(pilot, lambda: not picker.searching, "ARM listed")
        await pilot.press("ctrl+o")
        modal = await wait_screen(pilot, OpenVaultScreen)
        modal.query_one(Input).value = good
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, VaultScreen) and app.screen.vault_url == good,
            "the good vault",
        )
        second = app.screen
        assert isinstance(second, VaultScreen)
        await wait_until(
            pilot,
            lambda: "0 secrets" in str(second.query_one("#status-secrets", Static).content),
            "the good vault listed (empty)",
        )
        await wait_until(
            pilot,
            lambda: [r.url for r in VaultHistory(context.state_path).recent] == [good],
            "the good vault recorded",
        )
    saved = json.loads(context.state_path.read_text())
    assert [r["url"] for r in saved["recent"]] == [good]
