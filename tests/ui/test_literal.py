"""Untrusted text (vault error messages, the identity platform's device code) reaches the
screen only through the literal helpers (kvtui/ui/text.py): escapes, bidirectional and
invisible characters as visible stand-ins, markup as written.

Two layers: every notification goes through ``KvtuiApp.notify``, which makes its text
visible and never renders markup; and a lint over kvtui's source fails on a ``notify(``
call whose text is not built only from constants and ``visible()``/``literal()``. The
tests after the lint drive each error path against the emulator with hostile messages.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.command import Command, CommandList, CommandPalette
from textual.content import Content
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.screen import Screen
from textual.widgets import Static

import kvtui
from kvtui.core.models import Kind
from kvtui.emulator import EmulatorInfo
from kvtui.emulator.store import Vault
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.picker import PickerScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.text import literal_markup, visible
from kvtui.ui.widgets.detail_pane import DetailPane
from tests.emulator.admin_support import Admin
from tests.ui.conftest import SIZE, wait_screen, wait_until

# -- the lint -------------------------------------------------------------------------------

SOURCE = Path(kvtui.__file__).parent
#: Format specs only numbers accept: ``{count:d}`` cannot smuggle a string in.
NUMERIC_SPECS = frozenset("bcdeEfFgGnoxX%")


def _is_helper_call(node: ast.expr) -> bool:
    """``visible(...)`` or ``literal(...).plain``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "visible"
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "plain"
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "literal"
    )


def _numeric_spec(spec: ast.expr | None) -> bool:
    if not isinstance(spec, ast.JoinedStr) or len(spec.values) != 1:
        return False
    part = spec.values[0]
    return isinstance(part, ast.Constant) and str(part.value)[-1:] in NUMERIC_SPECS


def safe_text(node: ast.expr) -> bool:
    """Whether ``node`` is text kvtui wrote, or text passed through the literal helpers:
    a string constant, ``visible(...)``, ``literal(...).plain``, a conditional of those,
    or an f-string whose every ``{...}`` is one of those or a number (``{n:d}``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if _is_helper_call(node):
        return True
    if isinstance(node, ast.IfExp):
        return safe_text(node.body) and safe_text(node.orelse)
    if isinstance(node, ast.JoinedStr):
        return all(
            isinstance(part, ast.Constant)
            or (
                isinstance(part, ast.FormattedValue)
                and (safe_text(part.value) or _numeric_spec(part.format_spec))
            )
            for part in node.values
        )
    return False


def raw_notify_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, why)`` for each ``notify(`` call whose message or title is not
    :func:`safe_text`, or that does not turn markup off. ``super().notify`` (the
    wrapper handing on) is the one call left alone."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "notify":
            continue
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and getattr(func.value.func, "id", None) == "super"
        ):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        message = node.args[0] if node.args else keywords.get("message")
        if message is None or not safe_text(message):
            found.append((node.lineno, "message not built from constants and visible()"))
        title = keywords.get("title")
        if title is not None and not safe_text(title):
            found.append((node.lineno, "title not built from constants and visible()"))
        markup = keywords.get("markup")
        if not (isinstance(markup, ast.Constant) and markup.value is False):
            found.append((node.lineno, "no markup=False"))
    return found


def test_lint_catches_raw_notify_calls() -> None:
    """The lint itself: what it lets through and what it stops."""
    ok = """
self.notify("Copied.", markup=False)
self.notify(visible(exc), title="Cannot copy", severity="error", markup=False)
app.notify(f"Copied {visible(name, multiline=False)} ({n:d} s)", markup=False)
notify(literal(f"{exc}").plain, title="Oops", markup=False)
self.notify(f"{n:,d} buffer{'s' if n != 1 else ''}", markup=False)
super().notify(text, title=title, markup=False)
"""
    assert raw_notify_calls(ast.parse(ok)) == []
    raw = """
self.notify(str(exc), title="Cannot copy", markup=False)
self.notify(f"Copied the code {code}", markup=False)
self.notify(visible(exc), title=name, markup=False)
self.notify(visible(exc))
self.notify(message=exc, markup=False)
self.notify(f"{n:>10}", markup=False)
"""
    assert [line for line, _ in raw_notify_calls(ast.parse(raw))] == [2, 3, 4, 5, 6, 7]


def test_every_notify_call_in_kvtui_is_literal() -> None:
    """No ``notify(`` in kvtui shows text that did not go through the literal helpers."""
    problems = [
        f"{path.relative_to(SOURCE.parent)}:{line}: {why}"
        for path in sorted(SOURCE.rglob("*.py"))
        for line, why in raw_notify_calls(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert problems == []


# -- every error path the emulator's faults reach, with hostile text ------------------------

#: A terminal title (OSC 0), a clipboard write (OSC 52 of "INJECTED"), a screen clear, an
#: SGR, markup and a right-to-left override: what a hostile vault or identity platform
#: could put in an error message.
HOSTILE = (
    "\x1b]0;PWNED\x07 \x1b]52;c;SU5KRUNURUQ=\x07 \x1b[2J\x1b[31m [bold]loud[/] "
    "[link=https://x.example]y \u202eevil\u202c"
)
#: How each part of it must show (no spaces inside: a wrapped line keeps each whole).
SHOWN = ("␛]0;PWNED␇", "␛]52;c;SU5KRUNURUQ=␇", "␛[2J␛[31m", "[bold]loud[/]", "<U+202E>evil<U+202C>")
RAW = ("\x1b", "\x07", "\u202e", "\u202c")


def assert_literal(text: str, *, upper: bool = False) -> None:
    """Every hostile part is shown as its visible stand-in, markup as written; nothing
    raw is left. ``upper``: the text went through ``str.upper()`` on the way."""
    for part in SHOWN:
        if upper:
            assert part.upper() in text.upper(), (part, text)
        else:
            assert part in text, (part, text)
    for ch in RAW:
        assert ch not in text, (ch, text)


class Notes:
    """The notifications the app posts (``message_hook``), as Textual gets them."""

    def __init__(self) -> None:
        self.notes: list[Notification] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.notes.append(message.notification)

    def titled(self, title: str) -> list[Notification]:
        return [n for n in self.notes if n.title == title]


def static_text(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


async def test_app_notify_shows_any_text_literally(
    make_context: Callable[..., AppContext],
) -> None:
    """The wrapper alone: a raw message and title, with markup asked for (as Textual's
    own notifications do), still reach the toast as plain visible text."""
    notes = Notes()
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE, message_hook=notes) as pilot:
        app.notify(HOSTILE, title=f"T {HOSTILE}", markup=False)
        app.notify("Press [b]q[/b] to quit")  # markup on: tags dropped, not rendered
        app.notify(HOSTILE)  # markup on, but not valid markup: shown as written
        app.notify("bad[/x] markup")  # no crash either
        await wait_until(pilot, lambda: len(notes.notes) == 4, "four notifications")
        first, second, third, fourth = notes.notes
        assert_literal(first.message)
        assert_literal(first.title)
        assert "\n" not in first.title
        assert second.message == "Press q to quit"
        assert_literal(third.message)
        assert fourth.message == "bad[/x] markup"
        assert not any(n.markup for n in notes.notes)


async def test_vault_errors_show_escapes_markup_and_bidi_literally(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """Listing, copy, reveal, key detail, save and versions errors, each carrying the
    vault's hostile message (a 501: not retried)."""
    name = demo_vault.name
    faults: list[dict[str, Any]] = [
        {"operation": "certificates/list"},
        {"operation": "secrets/get"},
        {"path": "/versions$"},
        {"operation": "keys/get"},
    ]
    for fault in faults:
        body = {"type": "status", "status": 501, "vault": name, "message": HOSTILE, **fault}
        await admin.call("POST", "/faults", body, expect=201)
    notes = Notes()
    app = KvtuiApp(make_context(demo_vault.url))
    async with drive(app, size=SIZE, message_hook=notes) as pilot:
        vault = await wait_screen(pilot, VaultScreen)
        # Listing: the error panel of the certificates tab.
        await wait_until(
            pilot, lambda: vault.tab_of(Kind.CERTIFICATES).error is not None, "listing"
        )
        assert_literal(static_text(vault, "#error-certificates"))

        secrets = vault.query_one("#detail-secrets", DetailPane)
        await wait_until(pilot, lambda: secrets.item is not None, "a secret highlighted")
        # Copy: the "Cannot copy" notification.
        await pilot.press("c")
        await wait_until(pilot, lambda: notes.titled("Cannot copy"), "the copy error")
        assert_literal(notes.titled("Cannot copy")[0].message)
        # Reveal: the value's error in the detail pane.
        await pilot.press("r")
        await wait_until(pilot, lambda: secrets.value_failed, "the reveal error")
        assert_literal(secrets.text)

        # Key detail: the pane's error.
        await pilot.press("2")
        keys = vault.query_one("#detail-keys", DetailPane)
        await wait_until(pilot, lambda: keys.detail_error is not None, "the key detail error")
        assert_literal(keys.text)
        # Save: the "Cannot save" notification.
        await pilot.press("s")
        await wait_until(pilot, lambda: notes.titled("Cannot save"), "the save error")
        assert_literal(notes.titled("Cannot save")[0].message)
        # Versions: the modal's status line.
        await pilot.press("v")
        versions = await wait_screen(pilot, VersionsScreen)
        status = versions.query_one("#versions-status", Static)
        await wait_until(pilot, lambda: status.has_class("-error"), "the versions error")
        assert_literal(str(status.content))
        assert all(not n.markup for n in notes.notes)


async def test_arm_errors_in_the_picker_are_literal(
    info: EmulatorInfo,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    fault = {"type": "status", "service": "arm", "status": 500, "message": HOSTILE}
    await admin.call("POST", "/faults", {**fault, "path": "^/subscriptions$"}, expect=201)
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE) as pilot:
        picker = await wait_screen(pilot, PickerScreen)
        await wait_until(pilot, lambda: not picker.searching, "ARM answered")
        errors = static_text(picker, "#picker-errors")
        assert "Azure Resource Manager failed (500)" in errors
        assert_literal(errors)


async def test_device_code_parts_and_sign_in_errors_are_literal(
    info: EmulatorInfo,
    admin: Admin,
    make_context: Callable[..., AppContext],
    identity: Callable[..., dict[str, Any]],
) -> None:
    """The code, the address and msal's message from the identity platform, the copy
    notification, and an error while polling for the token."""
    identity(approve="manual", user_code=HOSTILE, verification_uri=HOSTILE)
    notes = Notes()
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE, message_hook=notes) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "code", "the device code")
        assert_literal(static_text(login, "#device-code"), upper=True)
        assert_literal(static_text(login, "#device-url"))
        assert_literal(static_text(login, "#device-message"), upper=True)
        await pilot.press("c")
        await wait_until(pilot, lambda: notes.notes, "the copy notification")
        assert notes.notes[0].message.startswith("Copied the code ")
        assert_literal(notes.notes[0].message, upper=True)

        fault = {
            "type": "status",
            "service": "identity",
            "status": 400,
            "path": "/token$",
            "code": "invalid_grant",
            "message": HOSTILE,
            "count": 1,
        }
        await admin.call("POST", "/faults", fault, expect=201)
        await wait_until(pilot, lambda: login.phase == "error", "the sign-in error")
        assert_literal(static_text(login, "#error-message"))


async def test_device_code_request_error_is_literal(
    admin: Admin,
    make_context: Callable[..., AppContext],
    identity: Callable[..., dict[str, Any]],
) -> None:
    fault = {
        "type": "status",
        "service": "identity",
        "status": 400,
        "path": "/devicecode$",
        "message": HOSTILE,
        "count": 1,
    }
    await admin.call("POST", "/faults", fault, expect=201)
    app = KvtuiApp(make_context(None))
    async with drive(app, size=SIZE) as pilot:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "error", "the sign-in error")
        assert_literal(static_text(login, "#error-message"))


def test_literal_markup_shows_as_written() -> None:
    """For APIs that take only markup (the command palette's help text)."""
    for value in ["https://x.example/[/x]", "[bold]b[/bold]", "\\[q]", "\\\\[q] a\\b", HOSTILE]:
        assert Content.from_markup(literal_markup(value)).plain == visible(value)


async def test_palette_shows_a_recent_vaults_name_literally(
    demo_vault: Vault, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    """A recent vault's display name (it may come from ARM) with escapes and a
    right-to-left override shows with stand-ins in the palette. (A URL like that is no
    longer recorded at all: kvtui/core/state.py keeps only https vault URLs.)"""
    name = "odd\x1bc\x07\u202eevil"  # ESC c: a full terminal reset
    context = make_context(demo_vault.url)
    context.vault_history().record_open("https://odd-vault.vault.azure.net/", name=name)
    app = KvtuiApp(context)
    async with drive(app, size=SIZE) as pilot:
        await wait_screen(pilot, VaultScreen)
        await pilot.press("colon")
        palette = await wait_screen(pilot, CommandPalette)
        await pilot.press(*"odd")

        def prompts() -> list[str]:
            options = palette.query_one(CommandList).options
            return [str(o.prompt) for o in options if isinstance(o, Command)]

        await wait_until(pilot, lambda: any("odd" in p for p in prompts()), "the command")
        shown = next(p for p in prompts() if "odd" in p)
        assert "odd␛c␇<U+202E>evil" in shown
        assert not any(ch in shown for ch in RAW)
