"""The detail pane of the vault screen: everything about the highlighted item, as text.

It shows the listed :class:`~kvtui.core.models.Item` at once, then the fetched detail
(:class:`~kvtui.core.models.SecretDetail`, ``KeyDetail`` or ``CertificateDetail``) when
it arrives; for a secret, the value masked, or revealed as a
:class:`~kvtui.core.details.ValueView` until the pane is told to mask it again. What it
says (times, the status mark, the rows of each section) comes from
:mod:`kvtui.core.present`; the pane draws it (:mod:`kvtui.ui.widgets.detail_rows`) and
adds the value. Every string from the vault goes through :func:`kvtui.ui.text.literal`:
shown literally, folded when too long for the pane, never parsed as markup.

Usage::

    pane.show_item(item)          # the cursor moved: listed facts, value masked
    pane.show_detail(detail)      # the detail arrived (or pane.show_detail_error(msg))
    pane.show_value(view)         # revealed; pane.mask() hides it again
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timezone
from typing import ClassVar

from rich.console import Console, Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from kvtui.core.details import ValueView
from kvtui.core.models import Item, Kind, Status
from kvtui.core.present import Detail, detail_sections, status_mark
from kvtui.ui.keys import key_for, with_keys
from kvtui.ui.text import literal
from kvtui.ui.widgets.detail_rows import ROW_PARTS, RowStyles, row_styles, section_parts

__all__ = ["Detail", "DetailPane"]

MASK = "•" * 12

_MARK_STYLE = {
    Status.EXPIRED: "expired",
    Status.EXPIRING: "expiring",
    Status.NOT_YET_VALID: "expiring",
    Status.DISABLED: "disabled",
}
"""The component class (after ``detail-pane--``) of each status mark under the heading."""


class DetailPane(VerticalScroll, can_focus=True):
    """The facts of one item, its value when revealed, and what went wrong fetching."""

    DEFAULT_CSS = """
    DetailPane {
        background: $surface;
        padding: 0 1;
        & > .detail-pane--label { color: $text-muted; }
        & > .detail-pane--heading { text-style: bold; color: $text-accent; }
        & > .detail-pane--expired { color: $text-error; text-style: bold; }
        & > .detail-pane--expiring { color: $text-warning; text-style: bold; }
        & > .detail-pane--disabled { color: $text-muted; text-style: italic; }
        & > .detail-pane--muted { color: $text-muted; text-style: italic; }
        & > .detail-pane--escape { text-style: reverse; }
        & > .detail-pane--error { color: $text-error; }
        & > Static { width: 1fr; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"detail-pane--{part}" for part in ROW_PARTS),
        "detail-pane--disabled",
        "detail-pane--error",
    }

    def __init__(
        self,
        *,
        warn_days: int = 30,
        now: Callable[[], datetime] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``now``: the clock for "in 12 days" and the expiry marks (tests pin it)."""
        super().__init__(name=name, id=id, classes=classes)
        self.warn_days = warn_days
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self.item: Item | None = None
        self.detail: Detail | None = None
        self.detail_error: str | None = None
        self.value: ValueView | None = None
        self.value_note: str | None = None
        """``"Reading the value…"`` or why it could not be read."""
        self.value_failed = False
        self._body_due = False
        self._body_stale = False
        self._show_value_due = False

    def compose(self) -> ComposeResult:
        yield Static(id="detail-body", markup=False)

    # -- public API ---------------------------------------------------------------------

    @property
    def revealed(self) -> bool:
        return self.value is not None

    @property
    def text(self) -> str:
        """What the pane shows, as plain text at its width (kept nowhere)."""
        out = io.StringIO()
        width = max(20, self.scrollable_content_region.width)
        console = Console(file=out, width=width, color_system=None, legacy_windows=False)
        console.print(self._render_body())
        return out.getvalue()

    def show_item(self, item: Item | None) -> None:
        """Another item is highlighted: its listed facts; any revealed value is dropped."""
        self.item = item
        self.detail = None
        self.detail_error = None
        self._drop_value()
        self.scroll_home(animate=False)
        self._refresh_body()

    def show_detail(self, detail: Detail) -> None:
        if self.item is None or detail.item.name != self.item.name:
            return
        self.detail = detail
        self.detail_error = None
        self._refresh_body()

    def show_detail_error(self, message: str) -> None:
        self.detail_error = message
        self._refresh_body()

    def value_loading(self) -> None:
        self._drop_value()
        self.value_note = "Reading the value…"
        self._refresh_body()

    def show_value(self, view: ValueView) -> None:
        """Reveal ``view``, scrolled into sight (in a short pane the value is below the
        heading and the status, out of view)."""
        self.value = view
        self.value_note = None
        self.value_failed = False
        self.set_class(True, "-revealed")
        self._show_value_due = True
        self._refresh_body()

    def show_value_error(self, message: str) -> None:
        self._drop_value()
        self.value_note = message
        self.value_failed = True
        self._refresh_body()

    def mask(self) -> None:
        """Hide a revealed value (its text is dropped, not kept around)."""
        self._drop_value()
        self._refresh_body()

    # -- rendering ----------------------------------------------------------------------

    def _drop_value(self) -> None:
        self.value = None
        self.value_note = None
        self.value_failed = False
        self._show_value_due = False
        self.set_class(False, "-revealed")

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"detail-pane--{name}", partial=True)

    def _refresh_body(self) -> None:
        """Draw the pane again, once, after the next frame: a keystroke or a cursor move
        shows the table first (the pane's Rich table and the layout it needs cost
        10-20 ms), and many changes within a frame draw once."""
        if not self.is_mounted or self._body_due:
            return
        self._body_due = True
        self.call_after_refresh(self._update_body)

    def _update_body(self) -> None:
        self._body_due = False
        if self.is_mounted and not self.is_on_screen:
            # A tab behind another: drawn when it is shown (each new body lays out
            # the whole screen, hidden or not).
            self._body_stale = True
        elif self.is_mounted:
            body = self.query_one("#detail-body", Static)
            # A new layout of the screen (and the second one that the new sizes set
            # off) only when the body's height changes: its width is the pane's.
            height = body.size.height
            body.update(self._render_body(), layout=False)
            width = body.size.width
            lines = body.get_content_height(self.size, self.app.size, width) if width else 0
            if not width or lines != height:
                body.refresh(layout=True)
            if self._show_value_due:
                self._show_value_due = False
                self.call_after_refresh(self._scroll_to_value)

    def on_resize(self) -> None:
        # A revealed value stays in sight when the pane gets smaller (the terminal
        # resized, or the pane moved under the table).
        if self.value is not None:
            self.call_after_refresh(self._scroll_to_value)

    def on_show(self) -> None:
        if self._body_stale:
            self._body_stale = False
            self._refresh_body()

    def _scroll_to_value(self) -> None:
        """Scroll the revealed value's first line into view, with the "Value" heading
        above it when both fit."""
        if self.value is None or not self.is_mounted:
            return
        parts, value_at = self._body_parts()
        if value_at is None:
            return
        section, first = value_at
        width = max(1, self.scrollable_content_region.width)
        height = self.scrollable_content_region.height
        console = self.app.console
        options = console.options.update_width(width)

        def lines(n: int) -> int:
            return len(console.render_lines(Group(*parts[:n]), options, pad=False))

        value_line = lines(first)
        top = int(self.scroll_y)
        if height <= 0 or top <= value_line < top + height:
            return
        heading = lines(section) + 1  # the section starts with a blank line
        y = heading if value_line - heading < height else value_line
        self.scroll_to(y=y, animate=False, immediate=True)

    def _lit(self, value: object, style: Style | str = "") -> Text:
        text = literal(value, style, escape_style=self._style("escape"))
        text.overflow = "fold"
        text.end = "\n"  # a line of its own in the pane's Group
        return text

    def _render_body(self) -> RenderableType:
        parts, _ = self._body_parts()
        return Group(*parts)

    def _body_parts(self) -> tuple[list[RenderableType], tuple[int, int] | None]:
        """The body, part by part; with the indexes of the value section and of the
        value's first line when a value is revealed."""
        item = self.item
        styles = row_styles(self, "detail-pane")
        if item is None:
            return [Text("Nothing highlighted.", style=styles.muted)], None
        value_at: tuple[int, int] | None = None
        parts: list[RenderableType] = []
        heading = Text(f"{item.kind.singular} ", style=styles.label)
        heading.append_text(self._lit(item.name, styles.heading))
        parts.append(heading)
        now = self.now()
        mark = status_mark(item, now, self.warn_days)
        if mark is not None:
            parts.append(Text(mark.long, style=self._style(_MARK_STYLE[mark.status])))
        # What the item is for first (where r shows a value), then its attributes.
        if item.deleted is not None:
            pass  # deleted: no value to read, no details; what the listing says
        elif item.kind is Kind.SECRETS:
            section = len(parts)
            value_parts = self._value_parts(styles)
            if self.value is not None:
                value_at = (section, section + len(value_parts) - 1)
            parts.extend(value_parts)
        elif self.detail is None and not self.detail_error:
            parts.append(Text())
            parts.append(Text("Reading the details…", style=styles.muted))
        if self.detail_error:
            parts.append(Text())
            parts.append(self._lit(self.detail_error, self._style("error")))
        sections = detail_sections(item, self.detail, now, self.warn_days)
        parts += section_parts(sections, styles)
        return parts, value_at

    def _value_parts(self, styles: RowStyles) -> list[RenderableType]:
        parts: list[RenderableType] = [Text(), Text("Value", style=styles.heading)]
        if self.value is not None:
            view = self.value
            note = view.note or ("plain text" if view.form == "text" else view.form)
            if view.lines > 1 and "lines" not in note:
                note = f"{note}, {view.lines} lines"
            back = key_for(self, "vault.back", "esc")
            parts.append(Text(f"{note} · {back} or moving on hides it", style=styles.muted))
            value = self._lit(view.text) if view.text else Text("(empty)", style="italic")
            parts.append(value)
        elif self.value_note is not None:
            style = self._style("error") if self.value_failed else styles.muted
            parts.append(self._lit(self.value_note, style))
        else:
            parts.append(Text(MASK))
            hint = "{vault.reveal} reveals · {vault.copy} copies · {vault.copy_menu} copy menu"
            parts.append(Text(with_keys(self, hint), style=styles.muted))
        return parts
