"""The columns of an item table, without Textual: what each cell says and how wide
each column is in a given width.

:func:`fit_columns` lays them out. The name comes first and gets up to
:data:`NAME_WHOLE` cells (so names up to 40 characters show whole at 80 columns) before
any other column grows. When the columns do not fit, they are dropped in
:data:`DROP_ORDER` (tags, updated, enabled, type, expires); the name is never dropped,
and the shown columns always fit the width (no sideways scrolling). Spare room then
goes to the tags (up to :data:`TAGS_FIRST`), the type, the tags and the name, in that
order. A tags column narrower than its minimum (a stub such as ``env=p…``) is dropped
rather than shown.

Cell texts are raw and untrusted (a vault's strings): the widget shows them through
:mod:`kvtui.ui.text`. Dates and expiry marks are worded by :mod:`kvtui.core.present`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kvtui.core.models import Item, Kind
from kvtui.core.present import date_text, expires_cell

__all__ = [
    "COLUMN_KEYS",
    "DELETED_KEYS",
    "DROP_ORDER",
    "NAME_WHOLE",
    "TAGS_FIRST",
    "Column",
    "ColumnKey",
    "Layout",
    "cell_text",
    "columns_for",
    "fit_columns",
    "tags_text",
    "type_text",
]

ColumnKey = Literal[
    "name", "enabled", "type", "updated", "expires", "tags", "deleted", "purge", "recovery"
]
#: The columns of a list of items.
COLUMN_KEYS: tuple[ColumnKey, ...] = ("name", "enabled", "type", "updated", "expires", "tags")
#: The columns only the deleted view has.
DELETED_KEYS: tuple[ColumnKey, ...] = ("deleted", "purge", "recovery")

#: Names up to this many cells show whole before another column widens.
NAME_WHOLE = 40
#: The columns dropped, first to last, when they do not fit beside the name.
DROP_ORDER: tuple[ColumnKey, ...] = ("tags", "updated", "enabled", "type", "expires")
#: The same for the deleted view.
DELETED_DROP_ORDER: tuple[ColumnKey, ...] = ("recovery", "type", "purge", "deleted")
#: The tags column gets this much before the type column widens.
TAGS_FIRST = 20


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


def columns_for(kind: Kind, *, deleted: bool = False) -> tuple[Column, ...]:
    """The columns of a table of ``kind``, left to right; ``deleted``: of its deleted
    items (when deleted, when purged, the recovery id)."""
    type_title = _TYPE_TITLES[kind]
    if deleted:
        return (
            Column("name", "name", 12, 10_000),
            Column("deleted", "deleted", 10, 10),
            Column("purge", "purge on", 10, 10),
            Column("type", type_title, len(type_title) + 2, 24),
            Column("recovery", "recovery id", 13, 100),
        )
    return (  # a minimum width leaves room for the title and the sort arrow
        Column("name", "name", 12, 10_000),
        Column("enabled", "enabled", 9, 9),
        Column("type", type_title, len(type_title) + 2, 40 if kind is Kind.CERTIFICATES else 24),
        Column("updated", "updated", 10, 10),  # the date; the detail pane has the time
        Column("expires", "expires", 20, 20),
        Column("tags", "tags", 10, 60),  # narrower than "env=prod…": dropped instead
    )


def type_text(item: Item, kind: Kind) -> str:
    """The raw text of the type column: content type, key type (size, curve), subject."""
    if kind is Kind.CERTIFICATES:
        return item.subject or ""
    if kind is Kind.KEYS:
        parts = [item.key_type or "", str(item.key_size) if item.key_size else "", item.curve or ""]
        return " ".join(p for p in parts if p)
    return item.content_type or ""


def tags_text(item: Item) -> str:
    """The raw text of the tags column: ``k=v, k2=v2`` in key order."""
    return ", ".join(f"{k}={v}" for k, v in sorted(item.tags.items()))


def cell_text(item: Item, column: ColumnKey, kind: Kind, now: datetime, warn_days: int) -> str:
    """The raw (untrusted, unsanitised) text of one cell, worded by
    :mod:`kvtui.core.present`."""
    if column == "name":
        return item.name
    if column == "enabled":
        return "yes" if item.enabled else "no"
    if column == "type":
        return type_text(item, kind)
    if column == "updated":
        return date_text(item.updated)  # the date; the detail pane has the time
    if column == "expires":
        return expires_cell(item, now, warn_days)
    if column == "deleted":
        return date_text(item.deleted)
    if column == "purge":
        return date_text(item.purge_scheduled)
    if column == "recovery":
        return item.recovery_id or ""
    return tags_text(item)


@dataclass(frozen=True, slots=True)
class Layout:
    """The shown columns and their widths in cells. A line is a one-cell margin, then
    each cell followed by a space."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]

    @property
    def width(self) -> int:
        return 1 + sum(self.widths) + len(self.widths)

    @property
    def keys(self) -> tuple[ColumnKey, ...]:
        return tuple(c.key for c in self.columns)

    def column_at(self, x: int) -> ColumnKey | None:
        """The column under cell ``x`` of a line (None: the margin or past the end)."""
        left = 1
        for column, width in zip(self.columns, self.widths, strict=True):
            if left <= x < left + width + 1:
                return column.key
            left += width + 1
        return None


def fit_columns(columns: Sequence[Column], natural: dict[ColumnKey, int], width: int) -> Layout:
    """Which of ``columns`` to show in ``width`` cells, and how wide (see the module
    docstring). ``natural`` is the widest value measured per column."""
    wanted = {c.key: max(c.min_width, min(c.max_width, natural.get(c.key, 0))) for c in columns}
    wanted.setdefault("tags", 0)
    wanted.setdefault("recovery", 0)
    name_goal = min(wanted["name"], NAME_WHOLE)

    def needed(cols: Sequence[Column]) -> int:
        return 1 + len(cols) + sum(name_goal if c.key == "name" else c.min_width for c in cols)

    shown = list(columns)
    deleted_view = any(c.key == "recovery" for c in columns)
    for key in DELETED_DROP_ORDER if deleted_view else DROP_ORDER:
        if needed(shown) <= width:
            break
        shown = [c for c in shown if c.key != key]
    widths = {c.key: c.min_width for c in shown}
    extra = width - 1 - len(shown) - sum(widths.values())
    if extra < 0:  # only the name is left, in fewer cells than its minimum
        widths["name"] = max(1, widths["name"] + extra)
    steps: tuple[tuple[ColumnKey, int], ...] = (
        ("name", name_goal),
        ("tags", min(wanted["tags"], TAGS_FIRST)),
        ("type", wanted["type"]),
        ("tags", wanted["tags"]),
        ("recovery", wanted["recovery"]),
        ("name", 10_000),
    )
    for key, target in steps:
        if extra <= 0:
            break
        if key not in widths:
            continue
        grow = min(extra, max(0, target - widths[key]))
        widths[key] += grow
        extra -= grow
    return Layout(tuple(shown), tuple(widths[c.key] for c in shown))
