"""A fast table of vault items: draws only the rows on screen (Textual's line API).

``DataTable`` measures every cell up front and parses ``str`` cells as markup
(docs/facts.md). This widget draws a :class:`~kvtui.core.rows.RowModel`, which holds
the items, their order, the filter, the cursor and the rows on screen (no Textual
there: tests/core/test_rows.py); the columns, what each cell says and how wide each
column is come from :mod:`kvtui.core.columns` (narrow terminals drop columns, the name
first and whole up to 40 characters). The widget turns an item into a line only when
that line is on screen, and keys and clicks into calls on the model.

Every string from a vault is shown literally: control characters become visible
escapes, nothing is parsed as markup, long strings end in an ellipsis, wide characters
are measured.

Usage (a vault screen)::

    table = ItemTable(Kind.SECRETS, warn_days=settings.warn_days)
    table.append_items(page)            # each page as it arrives
    table.set_filter("tag:env=prod db")  # returns the number of matches
    table.sort_by("expires", reverse=False)

It posts :class:`ItemTable.Highlighted` when the cursor moves to another item and
:class:`ItemTable.Selected` on enter (or a click on the highlighted row).

Rows arriving below the screen cost no repaint; the scrollbar catches up with the
length once a second. Tens of thousands of items also make every full garbage
collection slow: the loader keeps them out of the collector's way (the vault's
garbage-collection policy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from kvtui.core.columns import COLUMN_KEYS, DELETED_KEYS, Column, ColumnKey, cell_text
from kvtui.core.models import Item, Kind
from kvtui.core.rows import RowModel, row_marks
from kvtui.ui.splash import Look
from kvtui.ui.text import literal, visible

__all__ = ["COLUMN_KEYS", "Column", "ColumnKey", "ItemTable"]

#: Seconds the scrollbar may lag behind the number of rows while pages arrive. Each
#: catch-up redraws every line of the table and left memory behind: at 4 a second,
#: loading 50,000 rows over a minute peaked 12 MiB higher (bench/bench_app.py).
_SCROLLBAR_DELAY = 1.0


#: The mark column of a row changed since the cached listing (kvtui/core/cache.py).
CHANGE_GLYPHS = {"new": "+", "changed": "~"}


class ItemTable(ScrollView, can_focus=True):
    """A table of secrets, keys or certificates that scales to 50,000 rows.

    It draws a :class:`~kvtui.core.rows.RowModel` (order, filter, cursor, window,
    column layout: all there) and turns keys and clicks into calls on it. Only the
    rows on screen are rendered, each line cached until the item, the layout or the
    styles change.
    """

    DEFAULT_CSS = """
    ItemTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow-x: hidden;  /* the columns always fit: narrow terminals drop some */
        overflow-y: auto;
        & > .item-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .item-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .item-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .item-table--expired {
            color: $text-error;
        }
        & > .item-table--expiring {
            color: $text-warning;
        }
        & > .item-table--disabled {
            color: $text-muted;
            text-style: italic;
        }
        & > .item-table--escape {
            text-style: reverse;
        }
        & > .item-table--empty {
            color: $text-muted;
        }
        /* rows marked with space, for an action on several at once */
        & > .item-table--marked {
            color: $text-accent;
            text-style: bold;
        }
        & > .item-table--changed {
            color: $text-success;
            text-style: bold;
        }
        /* rows from an earlier listing (a reload failed): the status line says why */
        &.-stale {
            color: $text-muted;
        }
    }
    """

    #: A click highlights, a click on the highlighted row opens: no text selection.
    ALLOW_SELECT: ClassVar[bool] = False

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "item-table--header",
        "item-table--cursor",
        "item-table--expired",
        "item-table--expiring",
        "item-table--disabled",
        "item-table--escape",
        "item-table--empty",
        "item-table--marked",
        "item-table--changed",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False, id="item-table.up", tooltip="Previous item"),
        Binding(
            "down", "cursor_down", "Down", show=False, id="item-table.down", tooltip="Next item"
        ),
        Binding(
            "pageup", "page_up", "Page up", show=False, id="item-table.page-up",
            tooltip="One screen up",
        ),
        Binding(
            "pagedown", "page_down", "Page down", show=False, id="item-table.page-down",
            tooltip="One screen down",
        ),
        Binding("home", "first", "First", show=False, id="item-table.first", tooltip="First item"),
        Binding("end", "last", "Last", show=False, id="item-table.last", tooltip="Last item"),
        Binding(
            "enter", "select", "Open", show=False, id="item-table.select",
            tooltip="Open the highlighted item",
        ),
    ]  # fmt: skip

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another item (None: the table shows no rows)."""

        table: ItemTable
        item: Item | None

        @property
        def control(self) -> ItemTable:
            return self.table

    @dataclass
    class Selected(Message):
        """The user chose the highlighted item (enter, or a click on it)."""

        table: ItemTable
        item: Item

        @property
        def control(self) -> ItemTable:
            return self.table

    def __init__(
        self,
        kind: Kind = Kind.SECRETS,
        *,
        warn_days: int = 30,
        now: Callable[[], datetime] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
        deleted: bool = False,
    ) -> None:
        """
        Args:
            kind: What the table lists (decides the third column).
            deleted: A table of deleted items (when deleted, purged, the recovery id).
            warn_days: Items expiring within this many days are marked "expiring".
            now: Clock for the expiry markers and ``status:`` filters (tests pin it).
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.model = RowModel(
            kind, warn_days=warn_days, now=now, cell_width=cell_len, deleted=deleted
        )
        self._width = 0  # of the lines: the widget's, less its scrollbar
        self._layout = self.model.layout(0)
        self._waiting = False
        self._line_cache: LRUCache[tuple[int, bool], Strip] = LRUCache(1024)
        self._base_style: Style | None = None
        self._scrollbar_timer: Timer | None = None

    # -- public API (the model's, and the redraw it needs) -----------------------------

    @property
    def kind(self) -> Kind:
        return self.model.kind

    @property
    def warn_days(self) -> int:
        return self.model.warn_days

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns shown now, left to right (narrow terminals drop some)."""
        return self._layout.columns

    @property
    def total_count(self) -> int:
        """How many items the table holds (filtered or not)."""
        return self.model.total_count

    @property
    def row_count(self) -> int:
        """How many rows are shown (the items matching the filter)."""
        return self.model.row_count

    @property
    def filter_text(self) -> str:
        return self.model.filter_text

    @property
    def sort_column(self) -> ColumnKey:
        return self.model.sort_column

    @property
    def sort_reverse(self) -> bool:
        return self.model.sort_reverse

    @property
    def cursor_row(self) -> int:
        """Position of the cursor among the shown rows (0 when there are none)."""
        return self.model.cursor_row

    @property
    def cursor_item(self) -> Item | None:
        """The highlighted item, or None when no row is shown."""
        return self.model.cursor_item

    @property
    def items(self) -> list[Item]:
        """Every item held, filtered out or not, in the order added (a copy: O(n))."""
        return self.model.items

    @property
    def rows(self) -> list[Item]:
        """The shown items, in display order (a copy: O(rows))."""
        return self.model.rows

    def clear(self) -> None:
        """Remove every item (the filter text and the sort stay)."""
        self._change(self.model.clear, new_items=True)

    def replace_items(self, items: Iterable[Item]) -> None:
        """Show ``items`` instead of the ones held (a reload that succeeded), in one step:
        the filter, the sort, the scroll position and the highlighted row (by name,
        when it is still listed) stay; no frame shows the table empty. Posts
        :class:`Highlighted` (the item is a new object, even under the same name)."""
        self._change(lambda: self.model.replace_items(items), new_items=True, announce=True)

    def append_items(self, items: Iterable[Item]) -> None:
        """Add a page of items: O(len(items) · log n); only the new items are filtered.
        Rows arriving below the screen cost no repaint."""
        self._change(lambda: self.model.append_items(items), repaint=False, loading=True)

    def refresh_items(self) -> None:
        """Items were changed in place (details filled in: key type, subject): index,
        sort, filter and draw them again; the cursor stays on its item. O(n log n)."""
        self._change(self.model.refresh_items, new_items=True)

    def put_items(self, items: Iterable[Item], *, focus: str | None = None) -> None:
        """Written items in place of the ones of the same name, or added (no reload);
        the cursor on ``focus`` (a name). Posts :class:`Highlighted`."""
        self._change(
            lambda: self.model.put_items(items, focus=focus), new_items=True, announce=True
        )

    def remove_names(self, names: Iterable[str]) -> None:
        """The rows of deleted or purged items go (no reload)."""
        self._change(lambda: self.model.remove_names(names), new_items=True, announce=True)

    @property
    def marked_items(self) -> list[Item]:
        """The rows marked with space, in display order."""
        return self.model.marked_items

    def set_changes(self, changes: dict[str, str]) -> None:
        """Mark rows ``new`` (+) or ``changed`` (~) since the cached listing."""
        self.model.changes = dict(changes)
        self.refresh()

    def toggle_mark(self) -> None:
        """Mark the highlighted row, or unmark it; the cursor moves down a row."""
        item = self.model.cursor_item
        if item is None:
            return
        self.model.toggle_mark(item.name)
        self._line_cache.clear()
        self.refresh()
        self.action_cursor_down()

    def clear_marks(self) -> None:
        if self.model.marked:
            self.model.marked.clear()
            self._line_cache.clear()
            self.refresh()

    def set_filter(self, query: str) -> int:
        """Show only the items matching ``query`` (:mod:`kvtui.core.filtering`).

        Returns the number of matching items. ``""`` shows everything again.
        """
        self._change(lambda: self.model.set_filter(query))
        return self.model.row_count

    def sort_by(self, column: ColumnKey, reverse: bool = False) -> None:
        """Sort by ``column`` (one of :data:`COLUMN_KEYS`); ties in name order.

        While the filter has words, substring matches still come before fuzzy ones.
        """
        if column not in COLUMN_KEYS + DELETED_KEYS:
            raise ValueError(f"unknown column {column!r}")
        self._change(lambda: self.model.sort_by(column, reverse))

    def move_cursor(self, row: int) -> None:
        """Highlight the row at ``row`` (clamped) and scroll it into view."""
        self._change(lambda: self.model.move_cursor(row), repaint=False)

    # -- actions ------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(self.model.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.model.cursor_row + 1)

    def action_page_up(self) -> None:
        self._change(lambda: self.model.page(-1), repaint=False)

    def action_page_down(self) -> None:
        self._change(lambda: self.model.page(1), repaint=False)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.model.row_count - 1)

    def action_select(self) -> None:
        item = self.model.cursor_item
        if item is not None:
            self.post_message(self.Selected(self, item))

    # -- events -------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            column = self._layout.column_at(offset.x + round(self.scroll_x))
            if column is not None:
                reverse = not self.sort_reverse if column == self.sort_column else False
                self.sort_by(column, reverse)
            return
        row = round(self.scroll_y) + offset.y - 1
        if not 0 <= row < self.model.row_count:
            return
        if row == self.model.cursor_row:
            self.action_select()
        else:
            self.move_cursor(row)

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()
        self._update_virtual_size()
        # Made shorter (a small terminal, the detail pane taking room for a value):
        # the highlighted row stays in view.
        self.model.resize(self._body_height())
        self.call_after_refresh(self._scroll_to_model)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.model.scroll_to(round(new_value))  # the wheel, the scrollbar, or us

    def on_focus(self, event: events.Focus) -> None:
        self._restyle()

    def on_blur(self, event: events.Blur) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()

    def look(self, *, term: str, color_system: str, status: Style) -> Look:
        """How this table draws now (its styles, its scrollbar's), for the next
        start's first paint (kvtui/ui/splash.py); ``status``: the line under it."""

        def of(component: str) -> str:
            return str(self.get_component_rich_style(component))

        styles = self.styles
        track = styles.scrollbar_background  # as Textual's ScrollBar.render blends them
        if track.a < 1:
            base, _ = self.background_colors
            track = base + track
        thumb = track + styles.scrollbar_color
        return Look(
            term=term,
            color_system=color_system,
            row=str(self.rich_style),
            header=of("item-table--header"),
            cursor=of("item-table--cursor"),
            expired=of("item-table--expired"),
            expiring=of("item-table--expiring"),
            disabled=of("item-table--disabled"),
            status=str(status),
            scrollbar_width=styles.scrollbar_size_vertical,
            scrollbar=str(Style(bgcolor=track.rich_color)),
            thumb=str(Style(bgcolor=thumb.rich_color)),
        )

    # -- rendering ----------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # One base style per pass: rich_style walks every ancestor's styles.
        self._base_style = None
        if self._relayout():  # a scrollbar came or went: the width changed, no Resize
            self._update_virtual_size()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._width
        scroll_x, scroll_y = self.scroll_offset
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style
        model = self.model
        if y == 0:
            strip = self._header_strip(base)
        else:
            row = scroll_y + y - 1
            if 0 <= row < model.row_count:
                index = model.index_at(row)
                key = (index, index == model.cursor_index)
                cached = self._line_cache.get(key)
                if cached is None:
                    cached = self._row_strip(model.item(index), key[1], base)
                    self._line_cache[key] = cached
                strip = cached
            elif row == 0:
                strip = self._empty_strip(base)
            else:
                return Strip.blank(width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _header_strip(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("item-table--header")
        text = Text(" ", style=style, no_wrap=True, end="")
        arrow = "▼" if self.sort_reverse else "▲"
        for column, width in zip(self._layout.columns, self._layout.widths, strict=True):
            title = column.title
            if column.key == self.sort_column:
                title = f"{title} {arrow}"
            cell = Text(title, no_wrap=True, end="")
            cell.truncate(width, overflow="ellipsis", pad=True)
            text.append_text(cell)
            text.append(" ")
        return self._to_strip(text, style)

    @property
    def waiting(self) -> bool:
        """The vault has not answered the listing yet: empty, the table says so
        ("loading…"), not "no items"."""
        return self._waiting

    @waiting.setter
    def waiting(self, waiting: bool) -> None:
        if waiting != self._waiting:
            self._waiting = waiting
            if not self.model.total_count:
                self._line_cache.clear()
                self.refresh()

    def _empty_strip(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("item-table--empty")
        message = "  loading…" if self._waiting else "  no items"
        if self.model.total_count and self.filter_text:
            message = f"  no items match {visible(self.filter_text, multiline=False)}"
        return self._to_strip(Text(message, style=style, no_wrap=True, end=""), style)

    def _row_strip(self, item: Item, is_cursor: bool, base: Style) -> Strip:
        model = self.model
        now = model.now()
        style = base
        for mark in row_marks(item, now, model.warn_days):
            style += self.get_component_rich_style(f"item-table--{mark}")
        marked = item.name in model.marked
        if marked:
            style += self.get_component_rich_style("item-table--marked")
        if is_cursor:
            style += self.get_component_rich_style("item-table--cursor")
        escape_style = self.get_component_rich_style("item-table--escape", partial=True)
        text = Text("▌" if marked else " ", style=style, no_wrap=True, end="")
        change = model.changes.get(item.name) if model.changes and not marked else None
        if change is not None:
            glyph = CHANGE_GLYPHS[change]
            text = Text(glyph, style=style + self.get_component_rich_style("item-table--changed"),
                        no_wrap=True, end="")  # fmt: skip
        kind, warn = model.kind, model.warn_days
        for column, width in zip(self._layout.columns, self._layout.widths, strict=True):
            cell = literal(
                cell_text(item, column.key, kind, now, warn),
                escape_style=escape_style,
                multiline=False,
                no_wrap=True,
            )
            cell.truncate(width, overflow="ellipsis", pad=True)
            text.append_text(cell)
            text.append(" ")
        return self._to_strip(text, style)

    def _to_strip(self, text: Text, style: Style) -> Strip:
        width = max(self._layout.width, self._width)
        # Text.render leaves the base style out: put it under every segment.
        segments = list(Segment.apply_style(text.render(self.app.console), style))
        return Strip(segments).crop_extend(0, width, style).simplify()

    # -- keeping the screen in step with the model --------------------------------------

    def _change(
        self,
        change: Callable[[], object],
        *,
        new_items: bool = False,
        repaint: bool = True,
        announce: bool = False,
        loading: bool = False,
    ) -> None:
        """Apply ``change`` to the model, then bring the screen in step: the layout, the
        virtual size, the scroll position, the rows, and :class:`Highlighted` when the
        highlighted item changed (``announce``: in any case, once). ``loading``: a page
        arrived (the scrollbar may catch up later)."""
        model = self.model
        before, top = model.cursor_index, model.top
        on_screen = change()  # (append_items says whether rows on screen changed)
        if new_items:
            self._line_cache.clear()  # an index may now be another item
        self._relayout()
        self._update_virtual_size(loading)
        if announce or model.cursor_index != before:
            self.post_message(self.Highlighted(self, model.cursor_item))
            repaint = True  # the old and the new cursor rows
        if model.top != top or model.top != round(self.scroll_y):
            self._scroll_to_model()
        elif repaint or on_screen is True:
            self.refresh()

    def _scroll_to_model(self) -> None:
        self.scroll_to(y=self.model.top, animate=False, force=True)
        self.refresh()

    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _relayout(self) -> bool:
        """Lay the columns out again if the width or the measured widths changed (True)."""
        self._width = width = self.scrollable_content_region.width
        layout = self.model.layout(width)
        if layout == self._layout:
            return False
        self._layout = layout
        self._line_cache.clear()
        self.refresh()
        return True

    def _sync_scrollbar(self) -> None:
        if self._scrollbar_timer is not None:
            self._scrollbar_timer.stop()
            self._scrollbar_timer = None
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.window_virtual_size = self.virtual_size.height

    def _restyle(self) -> None:
        self._line_cache.clear()
        self._base_style = None
        self.refresh()

    def _update_virtual_size(self, loading: bool = False) -> None:
        size = Size(self._layout.width, self.model.row_count + 1)
        old = self.virtual_size
        if size == old:
            return
        if self.is_mounted and (
            not self.is_on_screen
            or max(size.height, old.height) <= self.scrollable_content_region.height
        ):
            # Not drawn (a tab behind another: its next layout reads the new size), or
            # every row fits before and after (no scrollbar; the layout sets the table's
            # size, not its rows): setting the reactive would lay out the whole screen
            # for nothing, twice (the new sizes set off a second pass).
            self.set_reactive(ItemTable.virtual_size, size)
            self.refresh()
        elif (
            self.is_mounted
            and size.width == old.width
            and min(size.height, old.height) > self.outer_size.height
            and self.show_vertical_scrollbar
        ):
            # Only the length changed and the scrollbar stays: setting the reactive
            # would lay out the whole screen and repaint every row (for every page
            # loaded). Redrawing the scrollbar for every page costs as much as the
            # loading itself (measured: bench/bench_table.py), so it catches up with
            # the length once a second (each redraw renders every line of the table).
            self.set_reactive(ItemTable.virtual_size, size)
            if not loading:  # a key (a filter, a sort): its frame has the scrollbar right
                self._sync_scrollbar()
            elif self._scrollbar_timer is None:
                self._scrollbar_timer = self.set_timer(_SCROLLBAR_DELAY, self._sync_scrollbar)
        else:
            self.virtual_size = size
