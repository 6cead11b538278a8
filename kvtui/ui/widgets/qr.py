"""A QR code drawn with half-block characters: two modules per character cell, so a
verification address (QR version 3, 29 modules + a 2-module quiet zone) takes 33
columns by 17 rows."""

from __future__ import annotations

from functools import lru_cache

import segno
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

#: A quiet zone of 2 modules: the standard asks for 4, phone cameras read 2 well and
#: every row counts on a terminal.
BORDER = 2
#: A scanner wants dark modules on a light ground whatever the theme: black on white.
DARK_ON_LIGHT = Style(color="rgb(0,0,0)", bgcolor="rgb(255,255,255)")


@lru_cache(maxsize=8)
def qr_lines(data: str, border: int = BORDER) -> tuple[str, ...]:
    """The QR code of ``data`` as lines of half-block characters (kept: a layout asks
    for the width, the height, then the lines, and encoding takes about 10 ms)."""
    qr = segno.make(data, error="l", micro=False, boost_error=False)
    rows = [[bool(v) for v in row] for row in qr.matrix_iter(border=border)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    glyph = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    return tuple(
        "".join(glyph[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    )


class QRCode(Widget):
    """Shows ``data`` as a QR code, sized to fit it exactly."""

    DEFAULT_CSS = """
    QRCode {
        width: auto;
        height: auto;
    }
    """

    data: reactive[str] = reactive("", layout=True)

    def __init__(self, data: str = "", *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.set_reactive(QRCode.data, data)

    @property
    def lines(self) -> tuple[str, ...]:
        return qr_lines(self.data) if self.data else ()

    def get_content_width(self, container: Size, viewport: Size) -> int:
        lines = self.lines
        return len(lines[0]) if lines else 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines)

    def render(self) -> RenderResult:
        return Text("\n".join(self.lines), style=DARK_ON_LIGHT, no_wrap=True, end="")
