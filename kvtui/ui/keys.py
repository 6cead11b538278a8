"""The key of a binding, as the user has it: every hint on screen that names a key asks
here (``key_for(self, "vault.reveal")``), so a key remapped in the config file's
``[keymap]`` shows as remapped, in hints, status lines and help texts alike.

Help texts (``HELP``) name keys as ``{binding.id}``: ``HELP = KeyedHelp("**{vault.reveal}**
reveals")`` reads as "**x** reveals" on a screen whose app maps ``vault.reveal`` to x.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, overload

from textual.app import ScreenStackError
from textual.binding import Binding
from textual.dom import DOMNode, NoScreen
from textual.keys import format_key
from textual.screen import Screen


def key_text(binding: Binding) -> str:
    """How a hint names the binding's key: ``ctrl+r``, ``r``, ``?``, ``esc``, ``f6``.

    Like ``App.get_key_display`` (which the footer uses), but with the modifiers
    spelt out: "press ctrl+r" reads better in a sentence than "press ^r"."""
    if binding.key_display:
        return binding.key_display
    modifiers, key = binding.parse_key()
    shown = "enter" if key == "enter" else format_key(key)  # format_key gives ⏎
    return "+".join([*modifiers, shown])


def class_bindings(cls: type[DOMNode]) -> list[Binding]:
    """The bindings ``cls`` has before any keymap: its ``BINDINGS`` and those it inherits,
    merged the way Textual merges them (``DOMNode._merge_bindings`` is private)."""
    merged: list[Binding] = []
    for base in reversed(cls.__mro__):
        if not (isinstance(base, type) and issubclass(base, DOMNode)):
            continue
        if not base.__dict__.get("_inherit_bindings", True):
            merged.clear()
        merged.extend(Binding.make_bindings(base.__dict__.get("BINDINGS", [])))
    return merged


def _keys_of(binding_id: str, default: str, keymap: dict[str, str]) -> list[str]:
    """The keys of a binding after ``keymap`` (``x,ctrl+x`` is two keys)."""
    keys = keymap.get(binding_id)
    if not keys:
        return [default]
    made = Binding.make_bindings([Binding(keys, "noop", id=binding_id)])
    return [b.key for b in made]


def _from_classes(node: DOMNode, binding_id: str) -> Binding | None:
    """The binding with ``binding_id`` on ``node`` or an ancestor (its screen, the app),
    with the app's keymap applied: what Textual's bindings chain has, whatever is
    focused and whether the action is enabled right now."""
    keymap: dict[str, str] = getattr(node.app, "keymap_in_use", {})
    for ancestor in node.ancestors_with_self:
        for binding in class_bindings(type(ancestor)):
            if binding.id == binding_id:
                key = _keys_of(binding_id, binding.key, keymap)[0]
                return binding if key == binding.key else binding.with_key(key, key_display=None)
    return None


def key_for(node: DOMNode, binding_id: str, default: str = "") -> str:
    """The key that runs ``binding_id`` for ``node`` (a widget, screen or the app), as a
    hint names it; ``default`` when no binding has that id.

    First from the screen's active bindings (Textual's public view of them, keymap
    applied); a binding that is not active right now (its action disabled, or its key
    taken by a focused input) is found in the classes' bindings with the same keymap.
    """
    screen: Screen[Any] | None
    try:
        screen = node.screen
    except (NoScreen, ScreenStackError):  # not mounted yet (compose): only the classes
        screen = None
    if screen is not None:
        for active in screen.active_bindings.values():
            if active.binding.id == binding_id:
                return key_text(active.binding)
    binding = _from_classes(node, binding_id)
    return key_text(binding) if binding is not None else default


_PLACEHOLDER = re.compile(r"\{([a-z0-9_-]+(?:\.[a-z0-9_-]+)+)\}")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|])")


def with_keys(node: DOMNode, template: str, *, markdown: bool = False) -> str:
    """``template`` with each ``{binding.id}`` replaced by its key (:func:`key_for`)."""

    def one(match: re.Match[str]) -> str:
        key = key_for(node, match.group(1), match.group(0))
        return _MARKDOWN.sub(r"\\\1", key) if markdown else key

    return _PLACEHOLDER.sub(one, template)


class KeyedHelp:
    """A ``HELP`` text (Markdown, shown by Textual's help panel) naming keys as
    ``{binding.id}``: read from a screen or widget it names the keys the user has."""

    def __init__(self, template: str, *, writes: str = "") -> None:
        """``writes``: a section about writing, left out where the node says it is
        read-only (its ``read_only`` attribute): no write key is named there."""
        self.template = template
        self.writes = writes

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> str: ...
    @overload
    def __get__(self, instance: DOMNode, owner: type[Any]) -> str: ...
    def __get__(self, instance: DOMNode | None, owner: type[Any]) -> str:
        if instance is None:
            return self.template + self.writes
        text = self.template
        if not getattr(instance, "read_only", False):
            text += self.writes
        return with_keys(instance, text, markdown=True)


def binding_keys(cls: type[DOMNode], keymap: dict[str, str]) -> Iterator[tuple[str, Binding]]:
    """(key, binding) for every binding of ``cls`` after ``keymap``."""
    for binding in class_bindings(cls):
        if binding.id and binding.id in keymap:
            for key in _keys_of(binding.id, binding.key, keymap):
                yield key, binding
        else:
            yield binding.key, binding
