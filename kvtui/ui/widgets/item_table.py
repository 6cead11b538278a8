"""A fast table of vault items: renders only the visible rows (Textual's line API).

``DataTable`` measures every cell up front and parses ``str`` cells as markup
(docs/facts.md); this table keeps its rows as :class:`~kvtui.core.models.Item`
objects, sorts and filters positions (:mod:`kvtui.core.filtering`), and turns an
item into a line only when that line is on screen. Every string from a vault is
shown literally: control characters become visible escapes, nothing is parsed as
markup, long strings end in an ellipsis, wide characters are measured.

Usage (a vault screen)::

    table = ItemTable(Kind.SECRETS, warn_days=settings.warn_days)
    table.append_items(page)            # each page as it arrives
    table.set_filter("tag:env=prod db")  # returns the number of matches
    table.sort_by("expires", reverse=False)

It posts :class:`ItemTable.Highlighted` when the cursor moves to another item and
:class:`ItemTable.Selected` on enter (or a click on the highlighted row).

Rows arriving below the screen cost no repaint (only the scrollbar, when its thumb
moves). Tens of thousands of items also make every full garbage collection slow: the
owner that loads them keeps them out of the collector's way
(:func:`kvtui.ui.screens.vault.keep_out_of_gc`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from math import ceil
from typing import Any, ClassVar, Literal

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from kvtui.core.filtering import ItemIndex, Matcher, compile_query, order_by_rank
from kvtui.core.models import Item, Kind, Status
from kvtui.core.present import date_text, expires_cell, status_mark
from kvtui.ui.text import literal, visible

__all__ = ["COLUMN_KEYS", "Column", "ColumnKey", "ItemTable", "cell_value"]

ColumnKey = Literal["name", "enabled", "type", "updated", "expires", "tags"]
COLUMN_KEYS: tuple[ColumnKey, ...] = ("name", "enabled", "type", "updated", "expires", "tags")

# -- columns -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    key: ColumnKey
    title: str
    min_width: int
    max_width: int


_TYPE_TITLES = {
    Kind.SECRETS: "content type",
    Kind.KEYS: "key type",
    Kind.CERTIFICATES: "subject",
}


def columns_for(kind: Kind) -> tuple[Column, ...]:
    """The columns of a table of ``kind``, left to right."""
    type_title = _TYPE_TITLES[kind]
    return (  # a minimum width leaves room for the title and the sort arrow
        Column("name", "name", 12, 10_000),
        Column("enabled", "enabled", 9, 9),
        Column("type", type_title, len(type_title) + 2, 40 if kind is Kind.CERTIFICATES else 24),
        Column("updated", "updated", 10, 10),  # the date; the detail pane has the time
        Column("expires", "expires", 20, 20),
        Column("tags", "tags", 6, 40),
    )


def status_marker(item: Item, now: datetime, warn_days: int) -> str:
    """The short mark of an item's status ("✖ expired", "⚠ in 12d", ""), as
    :func:`kvtui.core.present.status_mark` words it."""
    mark = status_mark(item, now, warn_days)
    return mark.short if mark is not None and mark.status is not Status.DISABLED else ""


def _type_value(item: Item, kind: Kind) -> str:
    if kind is Kind.CERTIFICATES:
        return item.subject or ""
    if kind is Kind.KEYS:
        parts = [item.key_type or "", str(item.key_size) if item.key_size else "", item.curve or ""]
        return " ".join(p for p in parts if p)
    return item.content_type or ""


def _tags_value(item: Item) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(item.tags.items()))


def cell_value(item: Item, column: ColumnKey, kind: Kind, now: datetime, warn_days: int) -> str:
    """The raw (untrusted, unsanitised) text of one cell."""
    if column == "name":
        return item.name
    if column == "enabled":
        return "yes" if item.enabled else "no"
    if column == "type":
        return _type_value(item, kind)
    if column == "updated":
        return date_text(item.updated)
    if column == "expires":
        return expires_cell(item, now, warn_days)
    return _tags_value(item)


_INF = float("inf")


def _sort_values(items: Sequence[Item], column: ColumnKey, kind: Kind) -> list[Any]:
    """The primary sort value of each item for ``column`` (ties go by name)."""
    if column == "name":
        return [i.name.casefold() for i in items]
    if column == "enabled":
        return [not i.enabled for i in items]
    if column == "type":
        return [_type_value(i, kind).casefold() for i in items]
    if column == "updated":
        return [i.updated.timestamp() if i.updated else _INF for i in items]
    if column == "expires":
        return [i.expires.timestamp() if i.expires else _INF for i in items]
    return [_tags_value(i).casefold() for i in items]


_SAMPLE = 500  # items measured for the natural column widths
_NAME_FIRST = 32  # the name column gets this much before type and tags widen


def _thumb(bar: ScrollBar, virtual: int) -> tuple[int, int] | None:
    """Where a vertical scrollbar draws its thumb, in eighths of a cell (as
    ``ScrollBarRender.render_bar`` computes it)."""
    size, window = bar.size.height, bar.window_size
    if not (window and size and virtual and size != virtual and virtual != window):
        return None
    thumb = max(1, window / (virtual / size))
    start = int((size - thumb) * (bar.position / (virtual - window)) * 8)
    return start, start + ceil(thumb * 8)


class ItemTable(ScrollView, can_focus=True):
    """A table of secrets, keys or certificates that scales to 50,000 rows.

    Only visible rows are rendered. Rows can be appended page by page while the
    user moves around; the cursor stays on its item when rows arrive, the filter
    changes or the sort changes (as long as the item is still shown).
    """

    DEFAULT_CSS = """
    ItemTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow-x: auto;
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
        /* rows from an earlier listing (a reload failed): the status line says why */
        &.-stale {
            color: $text-muted;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "item-table--header",
        "item-table--cursor",
        "item-table--expired",
        "item-table--expiring",
        "item-table--disabled",
        "item-table--escape",
        "item-table--empty",
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
    ) -> None:
        """
        Args:
            kind: What the table lists (decides the third column).
            warn_days: Items expiring within this many days are marked "expiring".
            now: Clock for the expiry markers and ``status:`` filters (tests pin it).
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._kind = kind
        self.warn_days = warn_days
        self._now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self._columns = columns_for(kind)
        self._items: list[Item] = []
        self._index = ItemIndex()
        self._sort_column: ColumnKey = "name"
        self._sort_reverse = False
        self._sort_keys: list[tuple[Any, str]] = []  # (value, casefolded name)
        self._order: list[int] = []  # every item, in sort order
        self._view: list[int] = []  # the matching items, in display order
        self._ranks: dict[int, int] = {}
        self._query = ""
        self._matcher: Matcher = compile_query("", self._now(), warn_days)
        self._cursor = 0  # position in _view
        self._cursor_item: int | None = None  # index in _items of the highlighted one
        self._user_moved = False  # until then, rows arriving keep the first row highlighted
        self._natural: dict[ColumnKey, int] = {}
        self._sampled = 0
        self._widths: tuple[int, ...] = ()
        self._layout_width = -1
        self._line_cache: LRUCache[tuple[int, bool], Strip] = LRUCache(1024)
        self._base_style: Style | None = None
        self._reset_natural()

    # -- public API -------------------------------------------------------------------

    @property
    def kind(self) -> Kind:
        return self._kind

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def total_count(self) -> int:
        """How many items the table holds (filtered or not)."""
        return len(self._items)

    @property
    def row_count(self) -> int:
        """How many rows are shown (the items matching the filter)."""
        return len(self._view)

    @property
    def filter_text(self) -> str:
        return self._query

    @property
    def sort_column(self) -> ColumnKey:
        return self._sort_column

    @property
    def sort_reverse(self) -> bool:
        return self._sort_reverse

    @property
    def cursor_row(self) -> int:
        """Position of the cursor among the shown rows (0 when there are none)."""
        return self._cursor

    @property
    def cursor_item(self) -> Item | None:
        """The highlighted item, or None when no row is shown."""
        return None if self._cursor_item is None else self._items[self._cursor_item]

    @property
    def items(self) -> list[Item]:
        """Every item held, filtered out or not, in the order added (a copy: O(n))."""
        return list(self._items)

    @property
    def rows(self) -> list[Item]:
        """The shown items, in display order (a copy: O(rows))."""
        return [self._items[i] for i in self._view]

    def set_kind(self, kind: Kind) -> None:
        """Show items of another kind: clears the table (the filter and sort stay)."""
        self._kind = kind
        self._columns = columns_for(kind)
        self.clear()

    def clear(self) -> None:
        """Remove every item (the filter text and the sort stay)."""
        self._items.clear()
        self._index.clear()
        self._sort_keys.clear()
        self._order.clear()
        self._view.clear()
        self._ranks.clear()
        self._reset_natural()
        self._line_cache.clear()
        self._user_moved = False
        self._set_cursor(0)
        self._ensure_layout()
        self._update_virtual_size()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def replace_items(self, items: Iterable[Item]) -> None:
        """Show ``items`` instead of the ones held (a reload that succeeded), in one step:
        the filter, the sort, the scroll position and the highlighted row (by name,
        when it is still listed) stay; no frame shows the table empty."""
        name = self.cursor_item.name if self.cursor_item is not None else None
        user_moved = self._user_moved
        top = int(self.scroll_y)
        screen_row = self._cursor - top
        self._items.clear()
        self._index.clear()
        self._sort_keys.clear()
        self._order.clear()
        self._view.clear()
        self._ranks.clear()
        self._reset_natural()
        self._line_cache.clear()
        self._cursor_item = None  # the old index means nothing now: always post Highlighted
        self._cursor = 0
        new = list(items)
        self._items.extend(new)
        self._index.extend(new)
        self._measure(new[:_SAMPLE])
        self._sort_all()
        self._matcher = compile_query(self._query, self._now(), self.warn_days)
        if self._matcher.is_empty:
            self._view = list(self._order)
            self._ranks = {}
        else:
            selected, ranks = self._matcher.select(self._index, self._order)
            self._ranks = ranks
            self._view = order_by_rank(selected, ranks)
        row = 0
        if name is not None and user_moved:
            row = next((n for n, i in enumerate(self._view) if self._items[i].name == name), 0)
        self._user_moved = user_moved
        self._ensure_layout()
        self._update_virtual_size()
        self._set_cursor(row)
        if self._cursor_item is None:
            self.post_message(self.Highlighted(self, None))
        # The highlighted row stays where it was on screen.
        self.scroll_to(y=max(0, self._cursor - screen_row), animate=False, force=True)
        self._scroll_to_cursor()
        self.refresh()

    def append_items(self, items: Iterable[Item]) -> None:
        """Add a page of items: O(len(items) · log n); only the new items are filtered."""
        new = list(items)
        if not new:
            return
        start = len(self._items)
        self._items.extend(new)
        self._index.extend(new)
        names = self._index.names
        values = _sort_values(new, self._sort_column, self._kind)
        self._sort_keys.extend(zip(values, names[start:], strict=True))
        positions = range(start, start + len(new))
        for i in positions:
            self._order.insert(self._bisect(self._order, i, use_rank=False), i)
        selected, ranks = self._matcher.select(self._index, positions)
        self._ranks.update(ranks)
        top = int(self.scroll_y)
        cursor_on_screen = 0 <= self._cursor - top < self._page_height()
        cursor_screen_row = self._cursor - top
        above = 0
        first = len(self._view)  # the first row that moved or is new
        had_rows = bool(self._view)
        for i in selected:
            pos = self._bisect(self._view, i, use_rank=True)
            self._view.insert(pos, i)
            first = min(first, pos)
            if had_rows and pos <= self._cursor:
                self._cursor += 1
            if pos < top:
                above += 1
        if self._sampled < _SAMPLE:
            self._measure(new[: _SAMPLE - self._sampled])
        relayout = self._ensure_layout()
        self._update_virtual_size()
        if not self._user_moved:
            # Untouched: the first row stays highlighted, the top stays in view.
            self._set_cursor(0)
        elif cursor_on_screen and self._cursor - cursor_screen_row != top:
            # Rows arrived above: the highlighted row stays where the user sees it.
            self.scroll_to(y=self._cursor - cursor_screen_row, animate=False, force=True)
        elif not cursor_on_screen and above and top > 0:
            self.scroll_to(y=top + above, animate=False, force=True)
        # Rows arriving below the screen (the usual case: the service sends names in
        # order) change nothing on it but the scrollbar: no repaint.
        if relayout or not had_rows or first < int(self.scroll_y) + self._page_height():
            self.refresh()

    def refresh_items(self) -> None:
        """Items were changed in place (details filled in: key type, subject): index,
        sort, filter and draw them again; the cursor stays on its item. O(n log n)."""
        self._index.clear()
        self._index.extend(self._items)
        self._reset_natural()
        self._measure(self._items[:_SAMPLE])
        self._line_cache.clear()
        self.sort_by(self._sort_column, self._sort_reverse)
        self.set_filter(self._query)

    def set_filter(self, query: str) -> int:
        """Show only the items matching ``query`` (:mod:`kvtui.core.filtering`).

        Returns the number of matching items. ``""`` shows everything again.
        """
        self._query = query
        self._matcher = compile_query(query, self._now(), self.warn_days)
        if self._matcher.is_empty:
            self._view = list(self._order)
            self._ranks = {}
        else:
            selected, ranks = self._matcher.select(self._index, self._order)
            self._ranks = ranks
            self._view = order_by_rank(selected, ranks)
        self._after_reorder()
        return len(self._view)

    def sort_by(self, column: ColumnKey, reverse: bool = False) -> None:
        """Sort by ``column`` (one of :data:`COLUMN_KEYS`); ties in name order.

        While the filter has words, substring matches still come before fuzzy ones.
        """
        if column not in COLUMN_KEYS:
            raise ValueError(f"unknown column {column!r}")
        self._sort_column = column
        self._sort_reverse = reverse
        self._sort_all()
        if self._matcher.is_empty:
            self._view = list(self._order)
        else:
            keep = set(self._view)
            self._view = order_by_rank([i for i in self._order if i in keep], self._ranks)
        self._after_reorder()

    def _sort_all(self) -> None:
        """Sort keys and order of every item, by the current column."""
        column, reverse = self._sort_column, self._sort_reverse
        names = self._index.names
        values = _sort_values(self._items, column, self._kind)
        self._sort_keys = list(zip(values, names, strict=True))
        # Two stable passes (name, then value) are much faster than comparing tuples;
        # the order is the same as _bisect's: (value, name) reversed, ties by index.
        by_name = sorted(range(len(names)), key=names.__getitem__, reverse=reverse)
        if column == "name":
            self._order = by_name
        else:
            self._order = sorted(by_name, key=values.__getitem__, reverse=reverse)

    def move_cursor(self, row: int) -> None:
        """Highlight the row at ``row`` (clamped) and scroll it into view."""
        self._user_moved = True
        self._set_cursor(row)
        self._scroll_to_cursor()

    # -- actions ------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor - self._page_height())

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor + self._page_height())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._view) - 1)

    def action_select(self) -> None:
        item = self.cursor_item
        if item is not None:
            self.post_message(self.Selected(self, item))

    # -- events -------------------------------------------------------------------------

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column is not None:
                reverse = not self._sort_reverse if column == self._sort_column else False
                self.sort_by(column, reverse)
            return
        row = int(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self._view):
            return
        if row == self._cursor:
            self.action_select()
        else:
            self.move_cursor(row)

    def _on_resize(self, event: events.Resize) -> None:
        self._ensure_layout()
        # Made shorter (a small terminal, the detail pane taking room for a value):
        # the highlighted row stays in view.
        self.call_after_refresh(self._scroll_to_cursor)

    def _on_focus(self, event: events.Focus) -> None:
        self._line_cache.clear()
        self._base_style = None
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._line_cache.clear()
        self._base_style = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()
        self._base_style = None
        self.refresh()

    # -- rendering ----------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # One base style per pass: rich_style walks every ancestor's styles.
        self._base_style = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        self._ensure_layout()
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style
        if y == 0:
            strip = self._header_strip(base)
        else:
            row = scroll_y + y - 1
            if 0 <= row < len(self._view):
                index = self._view[row]
                is_cursor = index == self._cursor_item
                key = (index, is_cursor)
                cached = self._line_cache.get(key)
                if cached is None:
                    cached = self._row_strip(self._items[index], is_cursor, base)
                    self._line_cache[key] = cached
                strip = cached
            elif row == 0:
                strip = self._empty_strip(base)
            else:
                return Strip.blank(width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _render_width(self) -> int:
        return 1 + sum(self._widths) + len(self._widths)

    def _header_strip(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("item-table--header")
        text = Text(" ", style=style, no_wrap=True, end="")
        arrow = "▼" if self._sort_reverse else "▲"
        for column, width in zip(self._columns, self._widths, strict=True):
            title = column.title
            if column.key == self._sort_column:
                title = f"{title} {arrow}"
            cell = Text(title, no_wrap=True, end="")
            cell.truncate(width, overflow="ellipsis", pad=True)
            text.append_text(cell)
            text.append(" ")
        return self._to_strip(text, style)

    def _empty_strip(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("item-table--empty")
        message = "  no items"
        if self._items and self._query:
            message = f"  no items match {visible(self._query, multiline=False)}"
        text = Text(message, style=style, no_wrap=True, end="")
        return self._to_strip(text, style)

    def _row_strip(self, item: Item, is_cursor: bool, base: Style) -> Strip:
        now = self._now()
        status = item.status(now, self.warn_days)
        style = base
        if status is Status.EXPIRED:
            style += self.get_component_rich_style("item-table--expired")
        elif status is Status.EXPIRING:
            style += self.get_component_rich_style("item-table--expiring")
        if not item.enabled:
            style += self.get_component_rich_style("item-table--disabled")
        if is_cursor:
            style += self.get_component_rich_style("item-table--cursor")
        escape_style = self.get_component_rich_style("item-table--escape", partial=True)
        text = Text(" ", style=style, no_wrap=True, end="")
        kind, warn = self._kind, self.warn_days
        for column, width in zip(self._columns, self._widths, strict=True):
            cell = literal(
                cell_value(item, column.key, kind, now, warn),
                escape_style=escape_style,
                multiline=False,
                no_wrap=True,
            )
            cell.truncate(width, overflow="ellipsis", pad=True)
            text.append_text(cell)
            text.append(" ")
        return self._to_strip(text, style)

    def _to_strip(self, text: Text, style: Style) -> Strip:
        width = max(self._render_width(), self.size.width)
        # Text.render leaves the base style out: put it under every segment.
        segments = list(Segment.apply_style(text.render(self.app.console), style))
        return Strip(segments).crop_extend(0, width, style).simplify()

    # -- layout -------------------------------------------------------------------------

    def _reset_natural(self) -> None:
        self._natural = {c.key: cell_len(c.title) + 2 for c in self._columns}
        self._sampled = 0
        self._layout_width = -1

    def _measure(self, items: Sequence[Item]) -> None:
        """Widen the natural widths from a bounded sample of the items."""
        natural = self._natural
        kind = self._kind
        grew = False
        for item in items:
            values: tuple[tuple[ColumnKey, str], ...] = (
                ("name", item.name),
                ("type", _type_value(item, kind)),
                ("tags", _tags_value(item)),
            )
            for key, value in values:
                if len(value) > natural[key] or not value.isascii():
                    width = cell_len(visible(value, multiline=False))
                    if width > natural[key]:
                        natural[key] = width
                        grew = True
        self._sampled += len(items)
        if grew:
            self._layout_width = -1

    def _ensure_layout(self) -> bool:
        """Compute the column widths if the width or the natural widths changed (True)."""
        width = self.size.width
        if width == self._layout_width:
            return False
        self._layout_width = width
        self._widths = self._compute_widths(width)
        self._line_cache.clear()
        self._update_virtual_size()
        return True

    def _compute_widths(self, width: int) -> tuple[int, ...]:
        """Fixed columns at their width; the rest shared out name, type, tags, name."""
        cols = self._columns
        natural = self._natural
        widths = {c.key: c.min_width for c in cols}
        wanted = {c.key: max(c.min_width, min(c.max_width, natural[c.key])) for c in cols}
        # The leading margin and a space after each cell.
        extra = width - 1 - len(cols) - sum(widths.values())
        steps: tuple[tuple[ColumnKey, int], ...] = (
            ("name", min(wanted["name"], _NAME_FIRST)),
            ("type", wanted["type"]),
            ("tags", wanted["tags"]),
            ("name", 10_000),
        )
        for key, target in steps:
            if extra <= 0:
                break
            grow = min(extra, max(0, target - widths[key]))
            widths[key] += grow
            extra -= grow
        return tuple(widths[c.key] for c in cols)

    def _update_virtual_size(self) -> None:
        width = self._render_width() if self._widths else self.size.width
        size = Size(width, len(self._view) + 1)
        old = self.virtual_size
        if size == old:
            return
        if (
            self.is_mounted
            and size.width == old.width
            and min(size.height, old.height) > self.outer_size.height
            and self.show_vertical_scrollbar
        ):
            # Only the length changed, the scrollbar stays: setting the reactive would
            # lay out the whole screen and repaint every row (for every page loaded).
            self.set_reactive(ItemTable.virtual_size, size)
            # The scrollbar is redrawn only when its thumb moves: once the list is a
            # few screens long, a page more does not change it.
            bar = self.vertical_scrollbar
            before = _thumb(bar, bar.window_virtual_size)
            bar.set_reactive(ScrollBar.window_virtual_size, size.height)
            if _thumb(bar, size.height) != before:
                bar.refresh()
        else:
            self.virtual_size = size

    def _column_at(self, x: int) -> ColumnKey | None:
        left = 1
        for column, width in zip(self._columns, self._widths, strict=True):
            if left <= x < left + width + 1:
                return column.key
            left += width + 1
        return None

    # -- ordering and cursor ------------------------------------------------------------

    def _bisect(self, seq: list[int], i: int, use_rank: bool) -> int:
        """Where item ``i`` goes in ``seq`` (kept in display order)."""
        keys = self._sort_keys
        ranks = self._ranks if use_rank else {}
        reverse = self._sort_reverse
        rank_i = ranks.get(i, 0)
        key_i = keys[i]
        lo, hi = 0, len(seq)
        while lo < hi:
            mid = (lo + hi) // 2
            j = seq[mid]
            rank_j = ranks.get(j, 0)
            if rank_j != rank_i:
                before = rank_j < rank_i
            elif (key_j := keys[j]) == key_i:
                before = j < i
            elif reverse:
                before = key_j > key_i
            else:
                before = key_j < key_i
            if before:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _after_reorder(self) -> None:
        """The view changed order or content: keep the cursor on its item if shown."""
        self._update_virtual_size()
        position = 0
        if self._cursor_item is not None:
            try:
                position = self._view.index(self._cursor_item)
            except ValueError:
                position = 0
        self._set_cursor(position)
        self._scroll_to_cursor()
        self.refresh()

    def _set_cursor(self, row: int) -> None:
        previous = self._cursor_item
        if self._view:
            self._cursor = max(0, min(row, len(self._view) - 1))
            self._cursor_item = self._view[self._cursor]
        else:
            self._cursor = 0
            self._cursor_item = None
        if self._cursor_item != previous:
            for index in (previous, self._cursor_item):
                if index is not None:
                    self._line_cache.discard((index, False))
                    self._line_cache.discard((index, True))
            self.refresh()
            self.post_message(self.Highlighted(self, self.cursor_item))

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        if not self._view:
            return
        region = Region(int(self.scroll_x), self._cursor + 1, 1, 1)
        self.scroll_to_region(
            region, spacing=Spacing(1, 0, 0, 0), animate=False, force=True, x_axis=False
        )
