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

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
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


class RowGrid:
    """``label  value`` rows: the labels in a column as wide as the widest, each value
    beside its label, folded within the rest of the width; what ``Table.grid`` drew,
    without its measuring (a quarter of the detail pane's frame)."""

    def __init__(self, rows: Iterable[Row], styles: RowStyles) -> None:
        self.rows = [(row.label, _value(row, styles)) for row in rows]
        self.label_style = styles.label

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        label_width = min(max((cell_len(label) for label, _ in self.rows), default=0), width // 2)
        value_width = max(1, width - label_width - 1)
        label_style = self.label_style
        blank = Segment(" " * (label_width + 1), label_style)
        for label, value in self.rows:
            shown = Text(label, no_wrap=True, overflow="ellipsis", end="")
            shown.truncate(label_width, overflow="ellipsis", pad=True)
            head = Segment(shown.plain + " ", label_style)
            lines = value.wrap(console, value_width, overflow="fold")
            for n, line in enumerate(lines):
                line.end = ""
                line.pad_right(value_width - line.cell_len)
                yield head if n == 0 else blank
                yield from line.render(console)
                yield Segment.line()


def row_grid(rows: Iterable[Row], styles: RowStyles) -> RowGrid:
    """``label  value`` rows; the labels in a column of their own, values folded."""
    return RowGrid(rows, styles)


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
