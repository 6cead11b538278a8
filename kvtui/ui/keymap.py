"""The binding ids a ``[keymap]`` table may name: every ``Binding(id=...)`` of kvtui's
screens, modals and widgets (and Textual's own), so a misspelt id is refused at start
instead of being ignored without a word (``App.set_keymap`` skips unknown ids)."""

from __future__ import annotations

import difflib

from textual.binding import Binding
from textual.dom import DOMNode


def binding_ids() -> set[str]:
    """The ids of every binding of every widget, screen and app class imported so far
    (importing kvtui.ui.app imports all of kvtui's)."""
    import kvtui.ui.app  # noqa: F401  (the screens, modals and widgets, with their BINDINGS)

    ids: set[str] = set()
    todo: list[type[DOMNode]] = [DOMNode]
    seen: set[type[DOMNode]] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def unknown_ids(keymap: dict[str, str]) -> list[tuple[str, str | None]]:
    """(id, the closest known id or None) for each id of ``keymap`` no binding has."""
    known = binding_ids()
    return [
        (name, next(iter(difflib.get_close_matches(name, sorted(known), n=1)), None))
        for name in keymap
        if name not in known
    ]
