"""The first paint of a warm start, drawn before Textual is even imported.

Textual takes about 0.1 s to import and a little more to draw its first frame; a bare
SDK script has its first secret at about the same time. On a start with ``--vault`` whose
secrets are in the metadata cache, the CLI paints the screen the app's first frame will
show (the preview under "Signing in…": the cached table, its count and age) straight to
the terminal, then starts the app, whose first frame paints over it cell for cell.

- **How it looks**: as the last run's preview looked. The app saves the styles it drew
  that preview with (:class:`Look`: colours and text styles, the colour system, the
  scrollbar's width; never a name or a value) in the state file; with none saved, or
  saved under another ``$TERM``/``$COLORTERM``, nothing is painted here.
- **What it shows**: what the app's preview shows, laid out by the same code
  (:class:`~kvtui.core.rows.RowModel`, :mod:`kvtui.core.columns`): every string from the
  vault shown literally (control characters as visible stand-ins), cut to its column.
- **The terminal**: the alternate screen, the cursor hidden, no echo and no signal
  keys, so keys typed meanwhile (ctrl+c too) are kept for the app (they reach it as
  type-ahead) rather than written over the table. :meth:`Splash.restore`, once the
  app has ended, puts the terminal's own modes back (the app's driver restores those,
  not the ones it found: HangupDriver.modes_before); if the app never started, it
  leaves the alternate screen too.

It paints only on a terminal kvtui has to itself: standard input and error both the
same foreground terminal, Textual's own Linux driver (no ``$TEXTUAL_DRIVER``), and not
on Windows. Textual writes to standard error: so does this.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from kvtui.core.columns import cell_text
from kvtui.core.details import make_visible
from kvtui.core.models import Item, Kind
from kvtui.core.rows import RowModel, row_marks

log = logging.getLogger(__name__)

#: A warm start's preview shows up to this many cached rows with its first frame (10k
#: rows take about 20 ms to read), then any others in chunks (read in a thread: 50k
#: would hold the frame back by a tenth of a second).
PREVIEW_ROWS = 10_000
#: The first paint reads this many rows of the cache, and only the names of the others:
#: the table's model measures the type and tags of its first 500 rows, and every name.
PAINT_ROWS = 500


@dataclass(frozen=True)
class Look:
    """How the app drew its preview, as Rich style strings (``"#e0e0e0 on #1e1e1e"``)."""

    term: str
    """``$TERM`` and ``$COLORTERM`` when it was saved: the colour system goes with them."""
    color_system: str
    """Rich's name of the colour system Textual drew with (``truecolor``, ``256``…)."""
    row: str
    header: str
    cursor: str
    expired: str
    expiring: str
    disabled: str
    status: str
    """The line under the table."""
    scrollbar_width: int
    scrollbar: str
    """The scrollbar's track."""
    thumb: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> Look | None:
        """The look saved, or None (none, or not one of this version's)."""
        if not isinstance(data, dict):
            return None
        try:
            look = cls(**{f.name: data[f.name] for f in fields(cls)})
        except (KeyError, TypeError):
            return None
        strings = all(isinstance(getattr(look, f.name), str) for f in fields(cls)[:-3])
        sized = isinstance(look.scrollbar_width, int) and 0 <= look.scrollbar_width <= 4
        if not strings or not sized or not isinstance(look.thumb, str):
            return None
        return look


def terminal_name(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    return f"{environ.get('TERM', '')}/{environ.get('COLORTERM', '')}"


def cached_state(shown: int, total: int, age: str) -> str:
    """What the preview's line says of the cached rows it shows (``age``: "cached 3 h
    ago")."""
    if total > shown:
        return f"{shown:,} of {total:,} cached secrets shown so far"
    return f"{total:,} secrets {age}"


def status_line(state: str, url: str) -> str:
    """The line under the preview: "Signing in… · <state> · <url>" (what is going on
    first: at 40 columns the URL is cut, not the news). Raw: shown literally."""
    return " · ".join(part for part in ("Signing in…", state, url) if part)


# -- painting ----------------------------------------------------------------------------


class Splash:
    """The painted screen: the terminal's modes to put back."""

    def __init__(self, fd: int, modes: list[Any]) -> None:
        self.fd = fd
        self.modes = modes
        self.restored = False

    def restore(self, *, app_ran: bool) -> None:
        """Put the terminal back: its modes (echo, line editing), and unless the app
        ran (it leaves the alternate screen itself), the screen and the cursor."""
        if self.restored:
            return
        self.restored = True
        import termios

        try:
            if not app_ran:
                os.write(self.fd, b"\x1b[?1049l\x1b[?25h")
            termios.tcsetattr(self.fd, termios.TCSANOW, self.modes)
        except (OSError, termios.error) as exc:
            log.info("terminal not restored after the first paint: %s", exc)


def usable_terminal() -> int | None:
    """Standard error's descriptor when kvtui has a foreground terminal to itself (see
    the module's doc), else None."""
    if sys.platform == "win32" or os.environ.get("TEXTUAL_DRIVER"):
        return None
    try:
        if sys.__stdin__ is None or sys.__stderr__ is None:
            return None
        fd_in, fd_out = sys.__stdin__.fileno(), sys.__stderr__.fileno()
        if not (os.isatty(fd_in) and os.isatty(fd_out)):
            return None
        if os.ttyname(fd_in) != os.ttyname(fd_out):
            return None
        if os.tcgetpgrp(fd_out) != os.getpgrp():
            return None  # in the background: writing would stop the process
    except (OSError, ValueError):
        return None
    return fd_out


@dataclass(frozen=True)
class Preview:
    """What the first paint shows: ``items``, the first of the ``total`` cached
    secrets by name (``more_names``: the names of the others), the line's ``state``
    and ``url``, in ``look``."""

    items: Sequence[Item]
    total: int
    state: str
    url: str
    look: Look
    warn_days: int
    now: Callable[[], datetime]
    more_names: Sequence[str] = ()


def paint(preview: Preview) -> Splash | None:
    """Paint ``preview`` on the terminal; None if there is no terminal to paint on
    (see the module's doc)."""
    fd = usable_terminal()
    if fd is None or preview.look.term != terminal_name():
        return None
    import termios

    try:
        size = os.get_terminal_size(fd)
        modes = termios.tcgetattr(fd)
    except (OSError, termios.error):
        return None
    screen = render(preview, width=size.columns, height=size.lines)
    quiet = list(modes)
    # The local modes: no echo, no line editing, and ctrl+c, ctrl+z and ctrl+\ are keys,
    # kept for the app like any other typed meanwhile (not signals that would end or
    # stop kvtui before it runs, with the table still on screen).
    quiet[3] = modes[3] & ~(termios.ECHO | termios.ICANON | termios.ISIG)
    quiet[6] = list(modes[6])
    quiet[6][termios.VMIN] = 1
    quiet[6][termios.VTIME] = 0
    splash = Splash(fd, modes)
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        data = screen.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
    except (OSError, termios.error) as exc:
        log.info("no first paint: %s", exc)
        splash.restore(app_ran=False)
        return None
    return splash


def render(preview: Preview, *, width: int, height: int) -> str:
    """The escape sequences and text of the whole screen (:func:`paint` writes them)."""
    look, warn_days, now = preview.look, preview.warn_days, preview.now
    from rich.cells import cell_len
    from rich.color import ColorSystem
    from rich.style import Style

    system = {
        "truecolor": ColorSystem.TRUECOLOR,
        "256": ColorSystem.EIGHT_BIT,
        "standard": ColorSystem.STANDARD,
        "windows": ColorSystem.WINDOWS,
    }.get(look.color_system)

    def styled(text: str, style: Style) -> str:
        return style.render(text, color_system=system) if system is not None else text

    parse = Style.parse
    row_style, header_style = parse(look.row), parse(look.row) + parse(look.header)
    cursor, status_style = parse(look.cursor), parse(look.status)
    marked = {
        "expired": parse(look.expired),
        "expiring": parse(look.expiring),
        "disabled": parse(look.disabled),
    }

    body = max(0, height - 2)  # the header above, the status line below
    model = RowModel(Kind.SECRETS, warn_days=warn_days, now=now, cell_width=cell_len)
    model.resize(max(1, body))
    model.append_items(preview.items)
    model.measure_names(preview.more_names)
    rows = max(preview.total, model.row_count)
    bar = look.scrollbar_width if rows > body and body > 0 else 0
    table_width = max(1, width - bar)
    layout = model.layout(table_width)
    moment = now()

    def line(cells: list[str]) -> str:
        pairs = zip(cells, layout.widths, strict=True)
        return " " + "".join(f"{fit(cell, size, cell_len)} " for cell, size in pairs)

    lines: list[str] = []
    titles = [f"{c.title} ▲" if c.key == model.sort_column else c.title for c in layout.columns]
    lines.append(styled(fit(line(titles), table_width, cell_len), header_style))
    for row in range(min(body, model.row_count)):
        item = model.item(model.index_at(row))
        style = row_style
        for mark in row_marks(item, moment, warn_days):
            style += marked[mark]
        if row == model.cursor_row:
            style += cursor
        cells = [
            make_visible(
                cell_text(item, c.key, Kind.SECRETS, moment, warn_days),
                keep_newlines=False,
                keep_tabs=False,
            )
            for c in layout.columns
        ]
        lines.append(styled(fit(line(cells), table_width, cell_len), style))
    while len(lines) < body + 1:
        lines.append(styled(" " * table_width, row_style))
    if bar:
        # Textual's scrollbar spans the table (header too); its thumb is at the top.
        track, thumb = parse(look.scrollbar), parse(look.thumb)
        thumb_rows = max(1, -(-(body + 1) * (body + 1) // (rows + 1)))
        lines = [
            text + styled(" " * bar, thumb if y < thumb_rows else track)
            for y, text in enumerate(lines)
        ]
    del lines[max(1, height - 1) :]
    if height > 1:
        line_text = make_visible(
            status_line(preview.state, preview.url), keep_newlines=False, keep_tabs=False
        )
        shown = fit(" " + words_in(line_text, width - 2, cell_len), width, cell_len)
        lines.append(styled(shown, status_style))
    screen = "".join(f"\x1b[{y + 1};1H{text}" for y, text in enumerate(lines))
    # Synchronised output where the terminal has it: the screen appears at once.
    return f"\x1b[?2026h\x1b[?1049h\x1b[?25l\x1b[H{screen}\x1b[?2026l"


def fit(text: str, width: int, cell_len: Callable[[str], int]) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut with an ellipsis."""
    size = cell_len(text)
    if size <= width:
        return text + " " * (width - size)
    from rich.cells import set_cell_size

    return set_cell_size(text, max(0, width - 1)) + "…" if width else ""


def words_in(text: str, width: int, cell_len: Callable[[str], int]) -> str:
    """The first line of ``text`` wrapped at ``width`` cells, as the app's one-line
    status shows it: whole words when there is a space to cut at."""
    if cell_len(text) <= width:
        return text
    from rich.cells import set_cell_size

    cut = set_cell_size(text, max(0, width))
    space = cut.rfind(" ")
    return cut[:space] if space > 0 else cut
