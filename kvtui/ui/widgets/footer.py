"""The footer: the screen's keys on one line, help and quit first, the command
palette's key on the right; drawn as one piece of text.

A footer wider than the terminal loses keys at its right end, and at 80 columns the
vault screen's keys need more than 80: ``?`` (every key) and quit, the two a person
must always find, come first; everything else keeps its order. Only whole keys are
shown.

Textual's own footer is a container with a widget per key, built again (each key
mounted, styled and laid out) whenever the screen's keys may have changed: on every
change of focus, so about every other key press on the vault screen. This one is a
single line of text: when the keys change it is drawn again, with no widget to mount
and nothing to lay out. It looks and acts as Textual's does: the same theme
variables, a click on a key presses it (a key that is off rings the bell), a key
under the mouse is highlighted and its tooltip shown.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widget import Widget

#: The actions shown first (the app's quit, the screens' help).
FIRST = frozenset({"help", "quit", "app.quit"})
#: Between the keys and the command palette's key, docked right.
SEPARATOR = "▏"


class Key(NamedTuple):
    """A key as the footer shows it."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str


class Footer(Widget, can_focus=False):
    """The keys of the screen it is on (``Screen.active_bindings``)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "footer--key",
        "footer--description",
        "footer--hover",
        "footer--separator",
    }
    DEFAULT_CSS = """
    Footer {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
        &:hover { pointer: pointer; }
        .footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .footer--hover { background: $block-hover-background; }
        .footer--separator { color: $foreground 20%; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.keys: tuple[Key, ...] = ()
        self.palette: Key | None = None
        #: Where each key is drawn: (start, end) columns, as in :attr:`keys`, then
        #: the palette's.
        self._spans: list[tuple[int, int, Key]] = []
        self._hover: Key | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._read_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.app.app_focus and self.is_attached and screen is self.screen:
            self._read_keys()

    def _read_keys(self) -> None:
        """The screen's keys now; drawn again if they differ from those on show. A
        focused input's many hidden bindings coming and going change nothing."""
        app = self.app
        bindings = self.screen.active_bindings

        def key(binding: Binding, enabled: bool, tooltip: str) -> Key:
            display = app.get_key_display(binding)
            return Key(binding.key, display, binding.description, binding.action, enabled, tooltip)

        keys = [key(b, on, tip) for _node, b, on, tip in bindings.values() if b.show]
        # One key an action (the first bound), as Textual's footer shows them.
        by_action: dict[str, Key] = {}
        for k in keys:
            by_action.setdefault(k.action, k)
        shown = list(by_action.values())
        first = [k for k in shown if k.action in FIRST]
        ordered = (*first, *(k for k in shown if k not in first))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and (found := bindings.get(app.COMMAND_PALETTE_BINDING)):
            _node, binding, enabled, _tooltip = found
            palette = key(binding, enabled, binding.tooltip or binding.description)
        if (ordered, palette) != (self.keys, self.palette):
            self.keys, self.palette = ordered, palette
            self.refresh()

    def _key_text(self, key: Key, *, padded: bool) -> Content:
        """`` ? Help `` (padded) or ``^p palette``: the key, then its description."""
        key_style = self.get_visual_style("footer--key", partial=True)
        description_style = self.get_visual_style("footer--description", partial=True)
        pad = " " if padded else ""
        text = Content.assemble(
            (f"{pad}{key.display}{pad}", key_style),
            (f"{'' if padded else ' '}{key.description}{pad}", description_style),
        )
        if key is self._hover:
            text = text.stylize(self.get_visual_style("footer--hover", partial=True))
        if not key.enabled:
            text = text.stylize(Style(dim=True))
        return text

    def render(self) -> Content:
        width = self.size.width
        right = Content()
        if self.palette is not None:
            right = Content.assemble(
                (SEPARATOR, self.get_visual_style("footer--separator", partial=True)),
                self._key_text(self.palette, padded=False),
                " ",
            )
        room = width - right.cell_length
        parts: list[Content] = []
        spans: list[tuple[int, int, Key]] = []
        used = 0
        for key in self.keys:
            text = self._key_text(key, padded=True)
            if used + text.cell_length > room:
                break
            parts.append(text)
            spans.append((used, used + text.cell_length, key))
            used += text.cell_length
        if self.palette is not None and right.cell_length <= width:
            parts.append(Content(" " * (room - used)))
            spans.append((room + 1, width, self.palette))
            parts.append(right)
        self._spans = spans
        return Content.assemble(*parts)

    def _key_at(self, x: int) -> Key | None:
        return next((key for start, end, key in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        key = self._key_at(event.x)
        if key is not self._hover:
            self._hover = key
            self.tooltip = key.tooltip if key is not None else None
            self.refresh()

    def on_leave(self) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()
