"""The first paint before Textual loads (kvtui/ui/splash.py): the screen it writes, as
a terminal would show it: the cached table laid out as the app lays it out, at 80x24
and 40x12, every string from the vault shown literally, the line under it; nothing
painted without a saved look or on another terminal type."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from rich.cells import cell_len

from kvtui.core.models import Item, Kind
from kvtui.ui import splash

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
URL = "https://paint.vault.azure.net/"
LOOK = splash.Look(
    term="xterm-256color/truecolor",
    color_system="truecolor",
    row="#e0e0e0 on #1e1e1e",
    header="bold #e0e0e0 on #2b2b2b",
    cursor="#ffffff on #0178d4",
    expired="#ff4444",
    expiring="#ffaa00",
    disabled="italic #888888",
    status="#999999 on #121212",
    scrollbar_width=2,
    scrollbar="on #333333",
    thumb="on #777777",
)
#: What the splash itself writes: styles, cursor moves, the modes it sets.
OWN = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d+;1H|\x1b\[\?(?:2026|1049|25)[hl]|\x1b\[H")
CUP = re.compile(r"\x1b\[(\d+);1H")


def items(n: int) -> list[Item]:
    out = [
        Item(Kind.SECRETS, f"secret-{i:04d}", f"{URL}secrets/secret-{i:04d}", updated=NOW)
        for i in range(n)
    ]
    out[1].content_type = "\x1b]0;pwned\x07\x1b[31mred [b]x[/b]"
    out[2].expires = NOW - timedelta(days=1)
    out[3].enabled = False
    return out


def preview(
    shown: list[Item], *, total: int = 0, state: str = "", more_names: list[str] | None = None
) -> splash.Preview:
    """``shown`` (of ``total``, or all of them), at NOW, in LOOK, warned 30 days ahead."""
    return splash.Preview(
        shown,
        total=total or len(shown),
        state=state,
        url=URL,
        look=LOOK,
        warn_days=30,
        now=lambda: NOW,
        more_names=more_names or [],
    )


def screen_of(data: str, height: int) -> list[str]:
    """The text of each line the splash positioned, its own sequences removed."""
    lines = [""] * height
    parts = CUP.split(data)
    for row, text in zip(parts[1::2], parts[2::2], strict=True):
        lines[int(row) - 1] = OWN.sub("", text)
    return lines


@pytest.mark.parametrize(("width", "height"), [(80, 24), (40, 12)])
def test_the_cached_table_fills_the_screen_literally(width: int, height: int) -> None:
    cached = items(300)
    state = splash.cached_state(300, 300, "cached 3 h ago")
    data = splash.render(preview(cached, state=state), width=width, height=height)
    # Nothing from the vault reaches the terminal as an escape sequence.
    assert "\x1b" not in OWN.sub("", data) and "\x07" not in data
    assert data.startswith("\x1b[?2026h\x1b[?1049h\x1b[?25l") and data.endswith("\x1b[?2026l")
    lines = screen_of(data, height)
    assert all(cell_len(line) == width for line in lines), [cell_len(x) for x in lines]
    assert lines[0].startswith(" name ▲")
    assert [line.split()[0] for line in lines[1 : height - 1]] == [
        f"secret-{i:04d}" for i in range(height - 2)
    ]
    assert lines[-1].startswith(" Signing in… · 300 secrets cached 3 h")
    if width == 80:
        assert " ␛]0;pwned␇␛[31mred […" in lines[2]  # cut to its column
        assert lines[-1].rstrip().endswith(URL)
    else:  # the URL is cut, whole words: the news stays
        assert lines[-1] == fit(" Signing in… · 300 secrets cached 3 h", width)


def fit(text: str, width: int) -> str:
    return text + " " * (width - cell_len(text))


def test_rows_take_the_apps_styles() -> None:
    data = splash.render(preview(items(5)), width=80, height=10)
    rows = CUP.split(data)[2::2]
    assert "38;2;1;120;212" not in rows[0]  # the header is not the cursor
    assert "48;2;1;120;212" in rows[1]  # the first row: the cursor's background
    assert "38;2;255;68;68" in rows[3]  # secret-0002 expired: red
    assert "3;" in rows[4] or ";3m" in rows[4]  # secret-0003 disabled: italic
    assert all("48;2;119;119;119" not in row for row in rows)  # all rows fit: no scrollbar


def test_a_long_table_has_its_scrollbar_and_a_short_screen_no_rows() -> None:
    data = splash.render(preview(items(500)), width=80, height=24)
    lines = screen_of(data, 24)
    assert all(cell_len(line) == 80 for line in lines)
    rows = CUP.split(data)[2::2]
    assert rows[0].endswith("\x1b[48;2;119;119;119m  \x1b[0m")  # the thumb, at the top
    assert rows[22].endswith("\x1b[48;2;51;51;51m  \x1b[0m")  # the track below it
    tiny = splash.render(preview(items(5)), width=20, height=2)
    assert len(CUP.findall(tiny)) == 2  # the header and the line under it


def test_a_look_comes_back_or_is_refused() -> None:
    assert splash.Look.from_dict(LOOK.to_dict()) == LOOK
    assert splash.Look.from_dict(None) is None
    assert splash.Look.from_dict({**LOOK.to_dict(), "row": 3}) is None
    assert splash.Look.from_dict({**LOOK.to_dict(), "scrollbar_width": 99}) is None
    assert splash.Look.from_dict({"term": "x"}) is None


def test_nothing_is_painted_off_a_terminal() -> None:
    """Under pytest standard input is no terminal: nothing is written, nothing changes."""
    assert splash.usable_terminal() is None
    got = splash.paint(preview(items(4)))
    assert got is None


def test_the_first_rows_and_every_name_paint_as_the_whole_listing() -> None:
    """The first paint reads the cache's first rows and only the names of the rest: a
    long name far down still widens the name column, as the whole listing would."""
    everything = items(900)
    everything[800].name = "secret-0800-" + "with-a-much-longer-name" * 2
    first_rows, others = everything[: splash.PAINT_ROWS], everything[splash.PAINT_ROWS :]
    whole = splash.render(preview(everything), width=100, height=20)
    first = splash.render(
        preview(first_rows, total=900, more_names=[i.name for i in others]),
        width=100,
        height=20,
    )
    assert first == whole
    short = splash.render(preview(first_rows, total=900), width=100, height=20)
    assert short != whole  # (the long name is what made the difference)
