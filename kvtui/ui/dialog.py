"""The frame every kvtui dialog shares: centred on a dimmed screen, a thin rounded
border in a muted theme colour, a quiet title line and a hint line.

A dialog subclasses :class:`Dialog` and composes one container with the class
``dialog`` (its frame), holding a ``dialog-title`` line first and a ``dialog-hint``
line. Its own size and content rules sit in its own ``DEFAULT_CSS``.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

T = TypeVar("T")

#: Terminals under this many rows (40x12) get the ``-short`` class: a compact frame.
SHORT = 20


class Dialog(ModalScreen[T]):
    """A modal screen in kvtui's dialog frame (see the module's doc)."""

    # Textual declares it ``ClassVar[...] | None``, which mypy reads as an instance
    # variable: annotated like that, without ClassVar.
    VERTICAL_BREAKPOINTS: list[tuple[int, str]] | None = [(0, "-short"), (SHORT, "-tall")]  # noqa: RUF012

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
    }
    Dialog > .dialog {
        height: auto;
        max-width: 100%;
        max-height: 100%;
        background: $surface;
        border: round $foreground-muted;
        padding: 0 1;
    }
    Dialog .dialog-title {
        color: $text-primary;
        margin-bottom: 1;
    }
    /* The hint (which keys do what) always shows: at the frame's bottom, whatever
       the content above it has to give up on a small terminal. */
    Dialog .dialog-hint {
        dock: bottom;
        height: auto;
        color: $text-muted;
    }
    /* A short terminal: no blank lines, one-line inputs. */
    Dialog.-short {
        .dialog-title {
            margin-bottom: 0;
        }
        Input {
            height: 1;
            border: none;
            padding: 0 1;
            background: $boost;
        }
    }
    """
