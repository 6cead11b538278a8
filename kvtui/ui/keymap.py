"""The binding ids a ``[keymap]`` table may name: every ``Binding(id=...)`` of kvtui's
screens, modals and widgets (and Textual's own), so a misspelt id is refused at start
instead of being ignored without a word (``App.set_keymap`` skips unknown ids)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from textual.binding import Binding
from textual.dom import DOMNode


def _dom_classes() -> list[type[DOMNode]]:
    """Every widget, screen and app class: all of kvtui.ui's modules are imported
    first (the app imports its screens after its first frame: kvtui/ui/app.py), so
    every Binding of kvtui's is seen."""
    import importlib
    import pkgutil

    import kvtui.ui

    for module in pkgutil.walk_packages(kvtui.ui.__path__, "kvtui.ui."):
        importlib.import_module(module.name)

    out: list[type[DOMNode]] = []
    todo: list[type[DOMNode]] = [DOMNode]
    seen: set[type[DOMNode]] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        out.append(cls)
    return out


def binding_ids() -> set[str]:
    """The ids of every binding of every widget, screen and app class (Textual's too)."""
    return {
        binding.id
        for cls in _dom_classes()
        for binding in cls.__dict__.get("BINDINGS", [])
        if isinstance(binding, Binding) and binding.id
    }


def unknown_ids(keymap: dict[str, str]) -> list[tuple[str, str | None]]:
    """(id, the closest known id or None) for each id of ``keymap`` no binding has."""
    known = binding_ids()
    return [
        (name, next(iter(difflib.get_close_matches(name, sorted(known), n=1)), None))
        for name in keymap
        if name not in known
    ]


def _name(binding: Binding) -> str:
    return binding.id or f"Textual's {binding.action}"


def _clashes_in(
    pairs: list[tuple[str, Binding]], keymap: dict[str, str]
) -> Iterator[tuple[str, str, str]]:
    """(key, name, name) for each key two bindings of one place have, one of them moved
    there by ``keymap``."""
    by_key: dict[str, list[Binding]] = {}
    for key, binding in pairs:
        same = by_key.setdefault(key, [])
        if all((b.id or b.action) != (binding.id or binding.action) for b in same):
            same.append(binding)
    for key, bindings in by_key.items():
        for moved in (b for b in bindings if b.id in keymap):
            for other in bindings:
                if other is not moved:
                    first, second = sorted([_name(moved), _name(other)])
                    yield key, first, second


def clashes(keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """(key, id, other) for each key ``keymap`` puts on two bindings that answer in the
    same place: two of one screen, modal or widget of kvtui's, or one of a screen and
    one of the app. Textual would keep one and drop the other without a word
    (``BindingsMap.apply_keymap``); a key the keymap moves a binding away from is free.
    Only clashes the keymap makes are named; clashes between two ids come first
    (``other`` is an id, or Textual's action for a binding of Textual's with no id)."""
    from textual.screen import Screen

    from kvtui.ui.app import KvtuiApp
    from kvtui.ui.keys import binding_keys

    app_keys = list(binding_keys(KvtuiApp, keymap))
    found: dict[tuple[str, str, str], None] = dict.fromkeys(_clashes_in(app_keys, keymap))
    for cls in sorted(_kvtui_classes(), key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        pairs = list(binding_keys(cls, keymap))
        if issubclass(cls, Screen):
            pairs += app_keys
        found.update(dict.fromkeys(_clashes_in(pairs, keymap)))
    return sorted(found, key=lambda c: c[1].startswith("Textual") or c[2].startswith("Textual"))


def _kvtui_classes() -> list[type[DOMNode]]:
    """kvtui's widgets, screens and modals (the app apart)."""
    from textual.app import App

    return [
        cls
        for cls in _dom_classes()
        if cls.__module__.startswith("kvtui.") and not issubclass(cls, App)
    ]
