"""The footer: Textual's own, with help and quit first, redrawn only when its keys change.

A footer wider than the terminal is cut at its right edge, and at 80 columns the vault
screen's keys need more than 80: what was cut was ``?`` (every key) and quit, the two a
person must always find. They come first; everything else keeps its order.

Textual's footer builds its keys again whenever the screen says its bindings may have
changed: on every focus change, every ``refresh_bindings()``, once for each of them
(several in a row build it several times). Each build mounts a widget per key and
styles it twice. This one builds again only when what it would show differs: the keys,
their labels, whether each is enabled, and its own options.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import Reactive
from textual.widgets import Footer as TextualFooter

#: The actions shown first (the app's quit, the screens' help).
FIRST = frozenset({"help", "quit", "app.quit"})


class Footer(TextualFooter):
    #: What the keys on show were built from (None: nothing built yet).
    _shown: tuple[object, ...] | None = None

    def _showing(self) -> tuple[object, ...]:
        """Everything the keys are built from: the bindings shown, and the command
        palette's (shown or not, it has a key of its own on the right). A focused
        input's many hidden bindings coming and going change nothing."""
        app = self.app
        bindings = self.screen.active_bindings
        palette = bindings.get(app.COMMAND_PALETTE_BINDING)
        keys = tuple(
            (binding.key, app.get_key_display(binding), binding.action, binding.description,
             binding.tooltip, binding.group, enabled, tooltip)
            for _node, binding, enabled, tooltip in bindings.values()
            if binding.show or (palette is not None and binding is palette[1])
        )  # fmt: skip
        return (self.compact, self.show_command_palette, self.combine_groups, keys)

    async def recompose(self) -> None:
        if self._shown is not None and self.is_attached and self._showing() == self._shown:
            return
        await super().recompose()

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        self._shown = self._showing() if keys else None
        for key in keys:
            # A key (FooterKey) is made compact (its default) when mounted, then bound to
            # the footer's setting: two restyles of each key, every build. It starts as
            # the footer is. (The palette's key is not bound: it stays compact.)
            compact = getattr(type(key), "compact", None)
            if isinstance(compact, Reactive) and not key.has_class("-command-palette"):
                key.set_reactive(compact, self.compact)
                key.set_class(self.compact, "-compact", update=False)
        # Each key of Textual's footer knows its action (FooterKey.action); key groups
        # and the command palette's key (docked right) have none and keep their place.
        first = [k for k in keys if getattr(k, "action", None) in FIRST]
        yield from first
        yield from (k for k in keys if k not in first)
