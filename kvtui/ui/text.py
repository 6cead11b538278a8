"""The one way the UI shows a string it did not write (vault names, values, tags, subjects,
messages from the identity platform, the user's own flags): as a rich ``Text``, never
parsed as markup, with every control, bidirectional and invisible character replaced by
the visible stand-in of :func:`kvtui.core.details.make_visible` (``␛``, ``<U+202E>``).

Nothing that reaches the terminal through these helpers can move the cursor, recolour
the screen, write to the clipboard (OSC 52) or hide part of itself."""

from __future__ import annotations

from rich.style import StyleType
from rich.text import Text

from kvtui.core.details import make_visible

__all__ = ["literal", "literal_markup", "visible"]


def visible(value: object, *, multiline: bool = True) -> str:
    """``value`` as a plain string safe to show: control characters made visible. With
    ``multiline`` off, newlines and tabs are made visible too (one-line cells)."""
    return make_visible(str(value), keep_newlines=multiline, keep_tabs=multiline)


def literal_markup(value: object, *, multiline: bool = True) -> str:
    """``value`` as Textual content markup that shows it as written, for the few APIs
    that take only markup strings (the command palette's help text): :func:`visible`,
    then every ``[`` escaped (``\\[``; backslashes before it stay as they are)."""
    return visible(value, multiline=multiline).replace("[", "\\[")


def literal(
    value: object,
    style: StyleType = "",
    *,
    escape_style: StyleType = "",
    multiline: bool = True,
    no_wrap: bool | None = None,
) -> Text:
    """``value`` as literal rich Text: never markup; each unsafe character shown as its
    visible stand-in, styled with ``escape_style`` (so a reader can tell ``␛`` that was
    an ESC from a ``␛`` that was typed). With ``multiline`` off, newlines and tabs are
    unsafe too (a table cell, a header line)."""
    raw = str(value)
    if multiline:
        raw = raw.replace("\r\n", "\n")
    shown = make_visible(raw, keep_newlines=multiline, keep_tabs=multiline)
    if shown == raw:
        return Text(raw, style=style, no_wrap=no_wrap, end="")
    text = Text(style=style, no_wrap=no_wrap, end="")
    plain: list[str] = []
    for ch in raw:
        stand_in = make_visible(ch, keep_newlines=multiline, keep_tabs=multiline)
        if stand_in == ch:
            plain.append(ch)
            continue
        if plain:
            text.append("".join(plain))
            plain.clear()
        text.append(stand_in, escape_style)
    if plain:
        text.append("".join(plain))
    return text
