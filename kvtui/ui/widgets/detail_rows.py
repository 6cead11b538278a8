"""Draws the presenter's detail rows (:mod:`kvtui.core.present`) as Rich renderables:
one look for the detail pane and the versions view. Every value is shown literally
(:func:`kvtui.ui.text.literal`), each value line as one line, folded when too long.

A widget that draws rows declares the component classes ``<prefix>--label``,
``--heading``, ``--expired``, ``--expiring``, ``--muted`` and ``--escape`` and passes
:func:`row_styles` of itself::

    styles = row_styles(self, "detail-pane")
    Group(*section_parts(detail_sections(item, detail, now, warn_days), styles))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from kvtui.core.present import Row, Section, Tone
from kvtui.ui.text import literal

__all__ = ["ROW_PARTS", "RowStyles", "note_text", "row_grid", "row_styles", "section_parts"]

ROW_PARTS = ("label", "heading", "expired", "expiring", "muted", "escape")
"""The component classes (after ``<prefix>--``) a widget drawing rows declares."""


@dataclass(frozen=True, slots=True)
class RowStyles:
    label: Style
    heading: Style
    expired: Style
    expiring: Style
    muted: Style
    escape: Style

    def tone(self, tone: Tone) -> Style:
        return {
            "": Style(),
            "expired": self.expired,
            "expiring": self.expiring,
            "muted": self.muted,
        }[tone]


def row_styles(widget: Widget, prefix: str) -> RowStyles:
    """The styles of ``widget``'s ``<prefix>--…`` component classes (its CSS)."""
    parts = [widget.get_component_rich_style(f"{prefix}--{n}", partial=True) for n in ROW_PARTS]
    return RowStyles(*parts)


def _value(row: Row, styles: RowStyles) -> Text:
    style = styles.tone(row.tone)
    text = Text(style=style, overflow="fold", end="")
    for n, line in enumerate(row.lines):
        if n:
            text.append("\n")
        text.append_text(literal(line, style, escape_style=styles.escape, multiline=False))
    return text


def row_grid(rows: Iterable[Row], styles: RowStyles) -> Table:
    """``label  value`` rows; the labels in a column of their own, values folded."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style=styles.label, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for row in rows:
        grid.add_row(row.label, _value(row, styles))
    return grid


def note_text(note: str, style: Style, styles: RowStyles) -> Text:
    """A note or message (untrusted, may span lines), folded, a line of its own."""
    text = literal(note, style, escape_style=styles.escape)
    text.overflow = "fold"
    text.end = "\n"
    return text


def section_parts(sections: Sequence[Section], styles: RowStyles) -> list[RenderableType]:
    """Each section: a blank line, its title, then its rows or its note."""
    parts: list[RenderableType] = []
    for section in sections:
        parts += [Text(), Text(section.title, style=styles.heading)]
        if section.rows:
            parts.append(row_grid(section.rows, styles))
        else:
            parts.append(note_text(section.note, styles.tone(section.note_tone), styles))
    return parts
