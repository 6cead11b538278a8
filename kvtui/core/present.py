"""How kvtui words what it knows about an item: one place for every date and time, the
expiry marks and the detail rows, used by the table, the detail pane and the versions
view (no Textual here: the widgets only draw what these functions return).

Times are shown in UTC::

    date_text(t)         "2025-06-01"                          a table cell
    minute_text(t)       "2025-06-01 12:00"                    a versions row
    when_text(t, now)    "2025-06-01 12:00 UTC (in 12 days)"   a detail row; "—" if unset

An item's status has one wording, in a long form and a short form (the table's
``expires`` column) made of the same words::

    ✖ expired 3 days ago     ✖ expired
    ⚠ expires in 12 days     ⚠ in 12d
    ◷ not yet valid          ◷ not yet
    ⊘ disabled               ⊘ disabled

Every string taken from a vault stays untrusted here: the widgets show it through
:mod:`kvtui.ui.text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from kvtui.core.models import Item, Status

__all__ = [
    "UNSET",
    "Mark",
    "date_text",
    "expires_cell",
    "minute_text",
    "relative_text",
    "span_text",
    "status_mark",
    "when_text",
]

UNSET = "—"
"""What a detail row shows for a fact that is not set."""

_MINUTE = 60.0
_HOUR = 3_600.0
_DAY = 86_400.0


# -- times ---------------------------------------------------------------------------


def date_text(value: datetime | None) -> str:
    """``2025-06-01`` (UTC); empty when unset."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d") if value else ""


def minute_text(value: datetime | None) -> str:
    """``2025-06-01 12:00`` (UTC); empty when unset."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if value else ""


def span_text(seconds: float, *, short: bool = False) -> str:
    """A length of time, rounded down to its largest unit: ``12 days``, ``1 hour``,
    ``40 minutes``, ``under a minute``; short: ``12d``, ``1h``, ``40m``, ``<1m``."""
    seconds = abs(seconds)
    for size, unit, letter in ((_DAY, "day", "d"), (_HOUR, "hour", "h"), (_MINUTE, "minute", "m")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n}{letter}" if short else f"{n} {unit}{'' if n == 1 else 's'}"
    return "<1m" if short else "under a minute"


def relative_text(value: datetime, now: datetime) -> str:
    """``in 12 days``, ``3 hours ago``, ``now`` (under a minute either way)."""
    seconds = (value - now).total_seconds()
    if abs(seconds) < _MINUTE:
        return "now"
    span = span_text(seconds)
    return f"in {span}" if seconds > 0 else f"{span} ago"


def when_text(value: datetime | None, now: datetime) -> str:
    """``2025-06-01 12:00 UTC (in 12 days)``; ``—`` when unset."""
    if value is None:
        return UNSET
    return f"{minute_text(value)} UTC ({relative_text(value, now)})"


# -- status marks ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    """How an item's status is marked: ``long`` in a detail view, ``short`` in a table
    cell (the same words, shortened)."""

    status: Status
    long: str
    short: str


def status_mark(item: Item, now: datetime, warn_days: int) -> Mark | None:
    """The mark of ``item``'s status at ``now``; None when all is well. Expired and
    expiring outrank disabled (:meth:`~kvtui.core.models.Item.status`)."""
    status = item.status(now, warn_days)
    if status is Status.EXPIRED and item.expires is not None:
        ago = relative_text(item.expires, now)
        return Mark(status, "✖ expired " + ("just now" if ago == "now" else ago), "✖ expired")
    if status is Status.EXPIRING and item.expires is not None:
        left = (item.expires - now).total_seconds()
        return Mark(
            status, f"⚠ expires in {span_text(left)}", f"⚠ in {span_text(left, short=True)}"
        )
    if status is Status.NOT_YET_VALID:
        return Mark(status, "◷ not yet valid", "◷ not yet")
    if status is Status.DISABLED:
        return Mark(status, "⊘ disabled", "⊘ disabled")
    return None


def expires_cell(item: Item, now: datetime, warn_days: int, *, with_time: bool = False) -> str:
    """An ``expires`` cell: the date (``with_time``: and the minute) and the short mark
    when the item is expired, expiring or not yet valid (a table shows disabled items
    in a column of their own): ``2025-06-01 ⚠ in 12d``."""
    date = minute_text(item.expires) if with_time else date_text(item.expires)
    mark = status_mark(item, now, warn_days)
    if mark is None or mark.status is Status.DISABLED:
        return date
    return f"{date} {mark.short}" if date else mark.short
