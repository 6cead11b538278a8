"""The footer: Textual's own, with help and quit first.

A footer wider than the terminal is cut at its right edge, and at 80 columns the vault
screen's keys need more than 80: what was cut was ``?`` (every key) and quit, the two a
person must always find. They come first; everything else keeps its order.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter

#: The actions shown first (the app's quit, the screens' help).
FIRST = frozenset({"help", "quit", "app.quit"})


class Footer(TextualFooter):
    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        # Each key of Textual's footer knows its action (FooterKey.action); key groups
        # and the command palette's key (docked right) have none and keep their place.
        first = [k for k in keys if getattr(k, "action", None) in FIRST]
        yield from first
        yield from (k for k in keys if k not in first)
