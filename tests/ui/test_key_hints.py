"""Every key a hint names comes from the bindings, keymap applied (issue 8: "with
``"vault.reveal" = "x"`` in the keymap, no hint on screen mentions r for reveal")."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from textual.widgets import HelpPanel, Markdown

from kvtui.core.errors import NetworkError, SessionExpired, UnknownVault
from kvtui.core.models import Kind
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.detail_pane import DetailPane
from kvtui.ui.widgets.error_panel import error_hint, not_signed_in_message
from tests.support import Clients
from tests.ui.conftest import at_size, wait_screen, wait_until

_TEXT = re.compile(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', re.S)


def screen_lines(app: KvtuiApp) -> list[str]:
    """The terminal's lines as the user reads them (from Textual's SVG screenshot: one
    ``<text>`` per run of same-styled cells, in order along each line)."""
    lines: dict[float, list[str]] = {}
    for y, body in _TEXT.findall(app.export_screenshot()):
        text = html.unescape(re.sub(r"<[^>]+>", "", body)).replace("\xa0", " ")
        lines.setdefault(float(y), []).append(text)
    return ["".join(parts) for _, parts in sorted(lines.items())]


#: A key "r" named on its own: not ctrl+r, ^r, nor a letter of a word.
R_KEY = re.compile(r"(?<![\w+^])r(?![\w+])")


def r_for_reveal(lines: list[str]) -> list[str]:
    return [line for line in lines if "reveal" in line.lower() and R_KEY.search(line)]


async def test_reveal_remapped_to_x_shows_x_in_every_hint(
    kv: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """At 80x24, then (the terminal resized) 120x35."""
    await kv.secrets.set_secret("a-secret", "the value")
    app = KvtuiApp(make_context(kv.vault_url, keymap={"vault.reveal": "x"}))
    async with drive(app, size=(80, 24)) as pilot:
        vault = await wait_screen(pilot, VaultScreen)
        detail = vault.query_one(f"#detail-{Kind.SECRETS.value}", DetailPane)
        tab = vault.tab_of(Kind.SECRETS)
        await wait_until(pilot, lambda: detail.item is not None, "the first secret highlighted")

        async def no_hint_names_r() -> None:
            assert "x reveals · c copies · y copy menu" in detail.text
            lines = screen_lines(app)
            assert r_for_reveal(lines) == [], lines
            assert any("x reveals" in line for line in lines), lines  # the pane, on screen

            await pilot.press("question_mark")  # the help panel: the screen's text and keys
            await wait_until(pilot, lambda: app.screen.query(HelpPanel), "the help panel")
            markdown = app.screen.query_one(HelpPanel).query_one(Markdown)
            await wait_until(pilot, lambda: "reveals" in markdown.source, "the screen's help")
            assert "**x** reveals a secret's value" in markdown.source
            assert not re.search(r"\*\*r\*\*", markdown.source), markdown.source
            await pilot.pause()
            lines = screen_lines(app)
            assert r_for_reveal(lines) == [], lines
            assert any("The vault" in line for line in lines), lines  # the help panel on show
            await pilot.press("question_mark")

            await pilot.press("enter")  # the item in full: its actions name x too
            assert tab.is_open
            await pilot.pause()
            lines = screen_lines(app)
            assert r_for_reveal(lines) == [], lines
            assert any("x reveal" in line for line in lines), lines
            await pilot.press("x")  # and x reveals, in the item view
            await wait_until(pilot, lambda: detail.revealed, "the value revealed")
            assert "the value" in detail.text
            await pilot.pause()
            assert r_for_reveal(screen_lines(app)) == []

        for size in [(80, 24), (120, 35)]:
            async with at_size(pilot, size):
                await no_hint_names_r()
                await pilot.press("escape")  # the start again, for the next size
                assert not tab.is_open and not detail.revealed


async def test_hints_follow_remapped_reload_back_and_open_keys(
    kv: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    keymap = {"vault.reload": "f5", "vault.open": "ctrl+o", "vault.back": "ctrl+g"}
    app = KvtuiApp(make_context(kv.vault_url, keymap=keymap))
    async with drive(app) as pilot:
        vault = await wait_screen(pilot, VaultScreen)
        await wait_until(pilot, lambda: all(t.loader for t in vault.tabs), "the tabs loading")
        vault.tab_of(Kind.SECRETS).show_error(NetworkError("connection refused"))
        hint = str(vault.query_one(f"#error-hint-{Kind.SECRETS.value}").render())
        assert "press f5 to retry" in hint and "ctrl+r" not in hint
        vault.tab_of(Kind.SECRETS).show_error(UnknownVault("no vault named x"))
        hint = str(vault.query_one(f"#error-hint-{Kind.SECRETS.value}").render())
        assert "press ctrl+o to open another vault" in hint
        assert "**{vault.reload}** reloads the tab" in VaultScreen.HELP  # the template
        assert "**f5** reloads the tab" in vault.HELP  # what the help panel reads


def test_default_wording_kept() -> None:
    assert "press ctrl+r to retry" in error_hint(NetworkError("down"))
    assert "press o to open another vault" in error_hint(UnknownVault("x"))
    assert "press ctrl+r to sign in" in not_signed_in_message(
        SessionExpired("no token", tenant="t", scopes=("s",))
    )


async def test_login_hints_follow_the_keymap(
    vault_url: str, make_context: Callable[..., AppContext], identity: Any
) -> None:
    keymap = {"login.copy_code": "k", "login.restart": "n", "login.cancel": "ctrl+g"}
    app = KvtuiApp(make_context(vault_url, keymap=keymap))
    async with drive(app) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        waiting = str(login.query_one("#device-waiting").render())
        assert waiting == (
            "Waiting for you to approve… (k copies the code, n new code, ctrl+g cancels)"
        )
        assert "- **n** asks for a new code" in login.HELP
        assert "**ctrl\\+g** cancels" in login.HELP
