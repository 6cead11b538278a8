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
from pathlib import Path

import kvtui

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
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            if getattr(func.value.func, "id", None) == "super":
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
