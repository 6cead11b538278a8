"""What the full-height item view (enter, :class:`~kvtui.ui.widgets.kind_tab.KindTab`)
shows under the item's details: the keys of its actions and its versions
(:class:`~kvtui.ui.widgets.versions_list.VersionsList`, listed when shown, its worker
ended when cleared). A short terminal keeps only the line of keys."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from kvtui.ui.widgets.versions_list import VersionsList


class ItemView(Vertical):
    """``#actions-<kind>`` (a line of keys) over ``#versions-<kind>``."""

    SCOPED_CSS: ClassVar[bool] = False  # VaultScreen.short below
    DEFAULT_CSS = """
    ItemView { height: 1fr; }
    ItemView .item-actions { height: auto; padding: 0 1; background: $panel; color: $text; }
    ItemView .item-versions { height: 1fr; }
    VaultScreen.short ItemView { height: auto; }
    VaultScreen.short ItemView .item-versions { display: none; }
    """

    def __init__(self, suffix: str) -> None:
        super().__init__(id=f"item-view-{suffix}")
        self.actions = Static("", id=f"actions-{suffix}", classes="item-actions")
        self.versions = Vertical(id=f"versions-{suffix}", classes="item-versions")
        self.versions_list: VersionsList | None = None

    def compose(self) -> ComposeResult:
        yield self.actions
        yield self.versions

    def show(self, keys: str, versions: VersionsList) -> None:
        """The line of keys, and ``versions`` (it lists them once mounted)."""
        self.actions.update(Text(keys))
        self.versions.remove_children()
        self.versions_list = versions
        self.versions.mount(versions)

    def clear(self) -> None:
        self.versions.remove_children()  # its worker ends with it
        self.versions_list = None

    def focus_versions(self) -> bool:
        """The versions list takes the keys (False: none on show, a short terminal has
        no room for it)."""
        if self.versions_list is None or not self.versions.display:
            return False
        self.versions_list.query_one(DataTable).focus()
        return True
