"""The presenter: every time, expiry mark and detail row, as text (no Textual)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kvtui.core.models import Item, Kind, Status
from kvtui.core.present import (
    date_text,
    expires_cell,
    minute_text,
    relative_text,
    span_text,
    status_mark,
    when_text,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
CEST = timezone(timedelta(hours=2))


def item(**kw: object) -> Item:
    return Item(Kind.SECRETS, "db", "https://v/secrets/db", **kw)  # type: ignore[arg-type]


def test_times_are_shown_in_utc() -> None:
    local = datetime(2025, 6, 2, 1, 30, tzinfo=CEST)  # 2025-06-01 23:30 UTC
    assert date_text(local) == "2025-06-01"
    assert minute_text(local) == "2025-06-01 23:30"
    assert when_text(local, NOW) == "2025-06-01 23:30 UTC (in 11 hours)"
    assert date_text(None) == minute_text(None) == ""
    assert when_text(None, NOW) == "—"


@pytest.mark.parametrize(
    ("delta", "long", "short"),
    [
        (timedelta(days=12, hours=23), "12 days", "12d"),
        (timedelta(days=1), "1 day", "1d"),
        (timedelta(hours=5, minutes=59), "5 hours", "5h"),
        (timedelta(hours=1), "1 hour", "1h"),
        (timedelta(minutes=40), "40 minutes", "40m"),
        (timedelta(seconds=59), "under a minute", "<1m"),
    ],
)
def test_spans_round_down_to_their_largest_unit(delta: timedelta, long: str, short: str) -> None:
    assert span_text(delta.total_seconds()) == long
    assert span_text(-delta.total_seconds(), short=True) == short


def test_relative_times() -> None:
    assert relative_text(NOW + timedelta(days=3, hours=2), NOW) == "in 3 days"
    assert relative_text(NOW - timedelta(hours=2), NOW) == "2 hours ago"
    assert relative_text(NOW + timedelta(seconds=30), NOW) == "now"
    assert when_text(NOW - timedelta(days=400), NOW) == "2024-04-27 12:00 UTC (400 days ago)"


def test_one_wording_for_each_status_long_and_short() -> None:
    expired = status_mark(item(expires=NOW - timedelta(days=3)), NOW, 30)
    assert expired is not None and expired.status is Status.EXPIRED
    assert (expired.long, expired.short) == ("✖ expired 3 days ago", "✖ expired")

    expiring = status_mark(item(expires=NOW + timedelta(days=12, hours=1)), NOW, 30)
    assert expiring is not None and expiring.status is Status.EXPIRING
    assert (expiring.long, expiring.short) == ("⚠ expires in 12 days", "⚠ in 12d")
    hours = status_mark(item(expires=NOW + timedelta(hours=5)), NOW, 30)
    assert hours is not None and (hours.long, hours.short) == ("⚠ expires in 5 hours", "⚠ in 5h")

    later = status_mark(item(not_before=NOW + timedelta(days=2)), NOW, 30)
    assert later is not None and (later.long, later.short) == ("◷ not yet valid", "◷ not yet")
    off = status_mark(item(enabled=False), NOW, 30)
    assert off is not None and off.long == off.short == "⊘ disabled"

    assert status_mark(item(expires=NOW + timedelta(days=300)), NOW, 30) is None
    assert status_mark(item(), NOW, 30) is None


def test_the_short_mark_is_made_of_the_long_marks_words() -> None:
    for expires in (NOW - timedelta(days=1), NOW + timedelta(days=9), NOW + timedelta(hours=3)):
        mark = status_mark(item(expires=expires), NOW, 30)
        assert mark is not None
        symbol, *words = mark.short.split()
        assert mark.long.startswith(symbol)
        for word in words:  # "12d" stands for "12 days"
            assert word in mark.long or word.rstrip("dhm") in mark.long


def test_warn_days_decides_what_is_expiring() -> None:
    soon = item(expires=NOW + timedelta(days=12))
    assert status_mark(soon, NOW, 7) is None
    assert status_mark(soon, NOW, 30) is not None


def test_expires_cell() -> None:
    assert expires_cell(item(expires=NOW - timedelta(days=1)), NOW, 30) == "2025-05-31 ✖ expired"
    soon = item(expires=NOW + timedelta(days=12, hours=1))
    assert expires_cell(soon, NOW, 30) == "2025-06-13 ⚠ in 12d"
    assert expires_cell(soon, NOW, 30, with_time=True) == "2025-06-13 13:00 ⚠ in 12d"
    assert expires_cell(item(expires=NOW + timedelta(days=300)), NOW, 30) == "2026-03-28"
    # Disabled has a column of its own in a table: the expires cell stays as it is.
    assert expires_cell(item(enabled=False), NOW, 30) == ""
    assert expires_cell(item(not_before=NOW + timedelta(days=1)), NOW, 30) == "◷ not yet"
