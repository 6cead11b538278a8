"""The rows of an item table, without Textual: which items, in which order, which one
is highlighted, which rows are on screen, and the columns' layout for a width.

:class:`RowModel` holds the items of one kind. It sorts and filters *positions*
(:mod:`kvtui.core.filtering`), so a page of 25 items appended to 50,000 costs
O(25 · log n), and a filter keystroke one pass over a columnar index. The widget that
draws it (:class:`kvtui.ui.widgets.item_table.ItemTable`) only turns rows into lines
and keys and clicks into calls; everything here is tested without an app
(``tests/core/test_rows.py``).

Words used below:

* an *index* is an item's position in the order it was added (stable until
  :meth:`RowModel.clear` or :meth:`RowModel.replace_items`);
* a *row* is a position among the shown items (those matching the filter), in display
  order: substring matches first, then fuzzy ones, each in the sort order;
* the *window* is the rows on screen: ``top`` and ``height`` (the widget reports its
  height and its scroll position; the model moves ``top`` to keep the cursor in view).

The cursor stays on its item when rows arrive, the filter changes or the sort changes
(as long as the item is still shown); after :meth:`RowModel.replace_items` (a reload)
it stays on the item of the same name. Until the user moves it, the first row stays
highlighted while pages arrive.

The columns and their layout are :mod:`kvtui.core.columns`; the model measures the
items (the widest name, type and tags of every item: a cheap length check each) for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from kvtui.core.columns import (
    COLUMN_KEYS,
    DELETED_KEYS,
    NAME_WHOLE,
    Column,
    ColumnKey,
    Layout,
    columns_for,
    fit_columns,
    tags_text,
    type_text,
)
from kvtui.core.details import make_visible
from kvtui.core.filtering import ItemIndex, Matcher, compile_query, folded, order_by_rank
from kvtui.core.models import Item, Kind, Status

__all__ = ["RowModel"]

# -- sorting ---------------------------------------------------------------------------

_INF = float("inf")


def _sort_values(items: Sequence[Item], column: ColumnKey, kind: Kind) -> list[Any]:
    """The primary sort value of each item for ``column`` (ties go by name)."""
    if column == "name":
        return [folded(i.name) for i in items]
    if column == "enabled":
        return [not i.enabled for i in items]
    if column == "type":
        return [type_text(i, kind).casefold() for i in items]
    if column == "updated":
        return [i.updated.timestamp() if i.updated else _INF for i in items]
    if column == "expires":
        return [i.expires.timestamp() if i.expires else _INF for i in items]
    if column == "deleted":
        return [i.deleted.timestamp() if i.deleted else _INF for i in items]
    if column == "purge":
        return [i.purge_scheduled.timestamp() if i.purge_scheduled else _INF for i in items]
    if column == "recovery":
        return [(i.recovery_id or "").casefold() for i in items]
    return [tags_text(i).casefold() for i in items]


_SAMPLE = 500  # items whose type and tags are measured for the column widths


def row_marks(item: Item, now: datetime, warn_days: int) -> tuple[str, ...]:
    """How a row is marked, in the order its styles apply: ``expired`` or
    ``expiring`` (what must not be missed), then ``disabled``. The table
    (kvtui/ui/widgets/item_table.py) and the first paint (kvtui/ui/splash.py) draw
    each with its style."""
    status = item.status(now, warn_days)
    marks: tuple[str, ...] = ()
    if status is Status.EXPIRED:
        marks = ("expired",)
    elif status is Status.EXPIRING:
        marks = ("expiring",)
    return (*marks, "disabled") if not item.enabled else marks


class RowModel:
    """The items of one table: order, filter, cursor, window and column layout.

    Args:
        kind: What the table lists (decides the type column).
        warn_days: Items expiring within this many days are "expiring" (``status:``).
        now: Clock for the ``status:`` filters (tests pin it).
        cell_width: How many terminal cells a string takes (the widget passes rich's
            ``cell_len``; ``len`` is right for ASCII).
    """

    def __init__(
        self,
        kind: Kind = Kind.SECRETS,
        *,
        warn_days: int = 30,
        now: Callable[[], datetime] | None = None,
        cell_width: Callable[[str], int] = len,
        deleted: bool = False,
    ) -> None:
        self._kind = kind
        self.deleted = deleted
        """A table of deleted items (other columns)."""
        self.marked: set[str] = set()
        self.changes: dict[str, str] = {}
        """Rows changed since the cached listing shown first: name -> ``new`` or
        ``changed`` (the table marks them until the next listing)."""
        """The names of the rows marked (``space``) for an action on several at once."""
        self.warn_days = warn_days
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self._cell_width = cell_width
        self._columns = columns_for(kind, deleted=deleted)
        self._items: list[Item] = []
        self._index = ItemIndex()
        self._sort_column: ColumnKey = "name"
        self._sort_reverse = False
        # Each item's value in the sort column; ties go by the casefolded name
        # (``self._index.names``). Two lists, not a (value, name) tuple an item: a sort
        # of 10,000 items made 10,000 tuples, for the garbage collector to walk.
        self._sort_values: list[Any] = []
        self._order: list[int] = []  # every item, in sort order
        self._view: list[int] = []  # the matching items, in display order
        self._ranks: dict[int, int] = {}
        self._query = ""
        self._matcher: Matcher = compile_query("", self.now(), warn_days)
        self._cursor = 0  # the cursor's row
        self._cursor_index: int | None = None  # the highlighted item's index
        self._user_moved = False  # until then, rows arriving keep the first row highlighted
        self._top = 0
        self._height = 1
        self._natural: dict[ColumnKey, int] = {}
        self._sampled = 0
        # Past these widths, a wider value changes no layout (fit_columns).
        self._caps = {
            c.key: min(c.max_width, NAME_WHOLE) if c.key == "name" else c.max_width
            for c in self._columns
        }
        self._layouts: dict[int, Layout] = {}
        self._reset_natural()

    # -- what is held and shown ----------------------------------------------------------

    @property
    def kind(self) -> Kind:
        return self._kind

    @property
    def columns(self) -> tuple[Column, ...]:
        """Every column of this kind (:meth:`layout` says which are shown)."""
        return self._columns

    @property
    def total_count(self) -> int:
        """How many items are held (filtered or not)."""
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
    def items(self) -> list[Item]:
        """Every item held, filtered out or not, in the order added (a copy: O(n))."""
        return list(self._items)

    @property
    def rows(self) -> list[Item]:
        """The shown items, in display order (a copy: O(rows))."""
        return [self._items[i] for i in self._view]

    def index_at(self, row: int) -> int:
        """The index of the item shown at ``row``."""
        return self._view[row]

    def item(self, index: int) -> Item:
        """The item at ``index``."""
        return self._items[index]

    # -- the cursor and the window -----------------------------------------------------

    @property
    def cursor_row(self) -> int:
        """The cursor's row (0 when no row is shown)."""
        return self._cursor

    @property
    def cursor_index(self) -> int | None:
        """The highlighted item's index, or None when no row is shown."""
        return self._cursor_index

    @property
    def cursor_item(self) -> Item | None:
        """The highlighted item, or None when no row is shown."""
        return None if self._cursor_index is None else self._items[self._cursor_index]

    @property
    def top(self) -> int:
        """The first row on screen."""
        return self._top

    @property
    def height(self) -> int:
        """How many rows fit on screen."""
        return self._height

    @property
    def window(self) -> range:
        """The rows on screen."""
        return range(self._top, min(self._top + self._height, len(self._view)))

    def resize(self, height: int) -> None:
        """``height`` rows fit on screen now; the highlighted row stays in view."""
        self._height = max(1, height)
        self._follow_cursor()

    def scroll_to(self, top: int) -> None:
        """The user scrolled: ``top`` is the first row on screen (the cursor stays)."""
        self._top = top
        self._clamp_top()

    def move_cursor(self, row: int) -> None:
        """Highlight ``row`` (clamped) and bring it into view."""
        self._user_moved = True
        self._set_cursor(row)
        self._follow_cursor()

    def page(self, pages: int) -> None:
        """Move the cursor ``pages`` screens down (up when negative)."""
        self.move_cursor(self._cursor + pages * self._height)

    # -- changes -------------------------------------------------------------------------

    def clear(self) -> None:
        """Remove every item (the filter text and the sort stay)."""
        self._drop_items()
        self.marked.clear()
        self.changes.clear()
        self._user_moved = False
        self._top = 0
        self._set_cursor(0)

    def replace_items(self, items: Iterable[Item]) -> None:
        """Hold ``items`` instead (a reload that succeeded), in one step: the filter,
        the sort, the window and the highlighted row (by name, when it is still listed
        and the user had moved to it) stay; the highlighted row stays where it was on
        screen."""
        name = self.cursor_item.name if self.cursor_item is not None else None
        user_moved = self._user_moved
        screen_row = self._cursor - self._top
        self._drop_items()
        new = list(items)
        self._items.extend(new)
        self._index.extend(new)
        self._measure(new)
        self._sort_all()
        self._matcher = compile_query(self._query, self.now(), self.warn_days)
        self._select_all()
        row = 0
        if name is not None and user_moved:
            row = next((n for n, i in enumerate(self._view) if self._items[i].name == name), 0)
        self._user_moved = user_moved
        self._set_cursor(row)
        self._top = max(0, self._cursor - screen_row)
        self._follow_cursor()

    def append_items(self, items: Iterable[Item]) -> bool:
        """Add a page of items: O(len(items) · log n); only the new items are filtered.

        Returns whether anything on screen changed (a row in the window moved or is
        new, or the column layout may have changed): rows arriving below the screen
        (the usual case: the service sends names in order) change nothing on it."""
        new = list(items)
        if not new:
            return False
        start = len(self._items)
        self._items.extend(new)
        self._index.extend(new)
        self._sort_values.extend(_sort_values(new, self._sort_column, self._kind))
        positions = range(start, start + len(new))
        for i in positions:
            self._order.insert(self._bisect(self._order, i, use_rank=False), i)
        selected, ranks = self._matcher.select(self._index, positions)
        self._ranks.update(ranks)
        top, height = self._top, self._height
        cursor_screen_row = self._cursor - top
        cursor_on_screen = 0 <= cursor_screen_row < height
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
        grew = self._measure(new)
        if not self._user_moved:
            self._set_cursor(0)  # untouched: the first row stays highlighted
        elif cursor_on_screen:
            self._top = self._cursor - cursor_screen_row  # it stays where the user sees it
        elif above and top > 0:
            self._top = top + above  # the rows on screen stay on screen
        self._clamp_top()
        return grew or not had_rows or first < self._top + self._height

    def put_items(self, items: Iterable[Item], *, focus: str | None = None) -> None:
        """Items written (created, a new version, edited, recovered): each takes the
        place of the item of the same name, or is added. The filter and the sort stay;
        the cursor goes to ``focus`` (a name) if it is shown, else stays on its item."""
        new = {item.name: item for item in items}
        kept = [item for item in self._items if item.name not in new]
        self._replace_keeping(kept + list(new.values()), focus)

    def remove_names(self, names: Iterable[str]) -> None:
        """Items gone (deleted, purged): their rows go; the cursor stays on its item, or
        on the row where the first one removed was."""
        gone = set(names)
        self.marked -= gone
        self._replace_keeping([i for i in self._items if i.name not in gone], None)

    def _replace_keeping(self, items: list[Item], focus: str | None) -> None:
        current = self.cursor_item
        name = focus or (current.name if current is not None else None)
        row, screen_row = self._cursor, self._cursor - self._top
        self._drop_items()
        self._items.extend(items)
        self._index.extend(items)
        self._measure(items)
        self._sort_all()
        self._matcher = compile_query(self._query, self.now(), self.warn_days)
        self._select_all()
        if name is not None:
            row = next((n for n, i in enumerate(self._view) if self._items[i].name == name), row)
        self._user_moved = True
        self._set_cursor(min(row, max(0, len(self._view) - 1)))
        self._top = max(0, self._cursor - screen_row)
        self._follow_cursor()

    def toggle_mark(self, name: str) -> bool:
        """Mark the row of ``name``, or unmark it: whether it is marked now."""
        if name in self.marked:
            self.marked.discard(name)
            return False
        self.marked.add(name)
        return True

    @property
    def marked_items(self) -> list[Item]:
        """The marked items still held, in display order."""
        if not self.marked:
            return []
        return [self._items[i] for i in self._view if self._items[i].name in self.marked]

    def refresh_items(self) -> None:
        """Items were changed in place (details filled in: key type, subject): index,
        sort, filter and measure them again; the cursor stays on its item. O(n log n)."""
        self._index.clear()
        self._index.extend(self._items)
        self._reset_natural()
        self._measure(self._items)
        self._sort_all()
        self.set_filter(self._query)

    def set_filter(self, query: str) -> int:
        """Show only the items matching ``query`` (:mod:`kvtui.core.filtering`); ``""``
        shows everything again. Returns the number of matching items."""
        self._query = query
        self._matcher = compile_query(query, self.now(), self.warn_days)
        self._select_all()
        self._after_reorder()
        return len(self._view)

    def sort_by(self, column: ColumnKey, reverse: bool = False) -> None:
        """Sort by ``column`` (one of :data:`COLUMN_KEYS`); ties in name order. While
        the filter has words, substring matches still come before fuzzy ones."""
        if column not in COLUMN_KEYS + DELETED_KEYS:
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

    # -- column layout -----------------------------------------------------------------

    def layout(self, width: int) -> Layout:
        """The columns shown in ``width`` cells, and their widths (:func:`fit_columns`)."""
        layout = self._layouts.get(width)
        if layout is None:
            layout = self._layouts[width] = fit_columns(self._columns, self._natural, width)
        return layout

    def _reset_natural(self) -> None:
        self._natural = {c.key: len(c.title) + 2 for c in self._columns}
        self._sampled = 0
        self._layouts.clear()

    def measure_names(self, names: Iterable[str]) -> None:
        """Widen the name column for ``names`` as if their items were held (a screen
        drawn from a listing's first rows and every name: kvtui/ui/splash.py)."""
        self._measure_texts((("name", names),))

    def _measure(self, items: Sequence[Item]) -> bool:
        """Widen the natural widths to fit ``items`` (True: one grew): every name (a
        long one in a late page still shows whole), the type and tags of the first
        :data:`_SAMPLE` items. A column wider than the layout would ever give it is
        measured no more; only a value longer than the width so far, or not ASCII, is
        measured in cells."""
        kind = self._kind
        sample = items[: max(0, _SAMPLE - self._sampled)]
        self._sampled += len(sample)
        return self._measure_texts(
            (
                ("name", (item.name for item in items)),
                ("type", (type_text(item, kind) for item in sample)),
                ("tags", (tags_text(item) for item in sample)),
                ("recovery", (item.recovery_id or "" for item in sample)),
            )
        )

    def _measure_texts(self, texts: Iterable[tuple[ColumnKey, Iterable[str]]]) -> bool:
        grew = False
        for key, values in texts:
            if key not in self._natural:
                continue
            most, cap = self._natural[key], self._caps[key]
            if most >= cap:
                continue
            for value in values:
                if len(value) > most or not value.isascii():
                    shown = make_visible(value, keep_newlines=False, keep_tabs=False)
                    most = max(most, self._cell_width(shown))
                    if most >= cap:
                        break
            if most > self._natural[key]:
                self._natural[key] = most
                grew = True
        if grew:
            self._layouts.clear()
        return grew

    # -- ordering and cursor ---------------------------------------------------------

    def _drop_items(self) -> None:
        self._items.clear()
        self._index.clear()
        self._sort_values.clear()
        self._order.clear()
        self._view.clear()
        self._ranks.clear()
        self._reset_natural()
        self._cursor_index = None
        self._cursor = 0

    def _select_all(self) -> None:
        """The view from every item, by the current matcher."""
        if self._matcher.is_empty:
            self._view = list(self._order)
            self._ranks = {}
        else:
            selected, ranks = self._matcher.select(self._index, self._order)
            self._ranks = ranks
            self._view = order_by_rank(selected, ranks)

    def _sort_all(self) -> None:
        """Sort keys and order of every item, by the current column."""
        column, reverse = self._sort_column, self._sort_reverse
        names = self._index.names
        values = self._sort_values = _sort_values(self._items, column, self._kind)
        # Two stable passes (name, then value) are much faster than comparing tuples;
        # the order is the same as _bisect's: (value, name) reversed, ties by index.
        by_name = sorted(range(len(names)), key=names.__getitem__, reverse=reverse)
        if column == "name":
            self._order = by_name
        else:
            self._order = sorted(by_name, key=values.__getitem__, reverse=reverse)

    def _bisect(self, seq: list[int], i: int, use_rank: bool) -> int:
        """Where item ``i`` goes in ``seq`` (kept in display order). After the last one
        is checked first: a listing comes in name order, page after page."""
        values, names = self._sort_values, self._index.names
        ranks = self._ranks if use_rank else {}
        reverse = self._sort_reverse
        rank_i = ranks.get(i, 0)
        value_i, name_i = values[i], names[i]

        def goes_before(j: int) -> bool:
            """Whether item ``j`` is shown before item ``i``."""
            rank_j = ranks.get(j, 0)
            if rank_j != rank_i:
                return rank_j < rank_i
            if (value_j := values[j]) != value_i:
                return bool(value_j > value_i if reverse else value_j < value_i)
            if (name_j := names[j]) != name_i:
                return name_j > name_i if reverse else name_j < name_i
            return j < i

        lo, hi = 0, len(seq)
        if hi and goes_before(seq[-1]):
            return hi
        while lo < hi:
            mid = (lo + hi) // 2
            if goes_before(seq[mid]):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _after_reorder(self) -> None:
        """The view changed order or content: the cursor stays on its item if shown."""
        position = 0
        if self._cursor_index is not None:
            try:
                position = self._view.index(self._cursor_index)
            except ValueError:
                position = 0
        self._set_cursor(position)
        self._follow_cursor()

    def _set_cursor(self, row: int) -> None:
        if self._view:
            self._cursor = max(0, min(row, len(self._view) - 1))
            self._cursor_index = self._view[self._cursor]
        else:
            self._cursor = 0
            self._cursor_index = None

    def _follow_cursor(self) -> None:
        """Scroll as little as needed for the cursor's row to be on screen."""
        if self._cursor < self._top:
            self._top = self._cursor
        elif self._cursor >= self._top + self._height:
            self._top = self._cursor - self._height + 1
        self._clamp_top()

    def _clamp_top(self) -> None:
        self._top = max(0, min(self._top, len(self._view) - self._height))
