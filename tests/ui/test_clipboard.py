"""Clearing a copied secret when tmux cannot be asked (kvtui/ui/clipboard.py): the
clipboard is still overwritten and the message says that tmux may keep a copy, without
a traceback. The tmux buffers themselves are tested in a real tmux: tests/e2e."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.message import Message
from textual.notifications import Notify

from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.clipboard import BLANK
from kvtui.ui.launch import AppContext
from tests.ui.conftest import SIZE, wait_until
from tests.ui.test_vault_screen import listed, vault_screen


class Notes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.seen.append((message.notification.message, message.notification.severity))


async def test_a_tmux_that_does_not_answer_is_said_not_raised(
    demo_vault: Vault,
    make_context: Callable[..., AppContext],
    signed_in: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
) -> None:
    # $TMUX names a server that is not there (or tmux is not installed at all).
    monkeypatch.setenv("TMUX", f"{tmp_path}/no-such-tmux-socket,1,0")
    notes = Notes()
    app = KvtuiApp(make_context(demo_vault.url, clipboard_clear_seconds=1))
    async with drive(app, size=SIZE, message_hook=notes) as pilot:
        vault = await vault_screen(pilot)
        await wait_until(pilot, lambda: listed(vault, Kind.SECRETS), "the secrets")
        await pilot.press("c")
        await wait_until(pilot, lambda: app.clipboard not in ("", BLANK), "the value copied")
        await wait_until(pilot, lambda: app.clipboard == BLANK, "the clipboard cleared")
        await wait_until(
            pilot,
            lambda: any("tmux's buffers may still hold" in text for text, _ in notes.seen),
            "the warning",
        )
        text, severity = next(n for n in notes.seen if "tmux's buffers" in n[0])
        assert text.startswith("Cleared the clipboard, but tmux's buffers may still hold")
        assert severity == "warning"
        assert not any(s == "error" for _, s in notes.seen)  # no "Something went wrong"
