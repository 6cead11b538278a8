"""Every version of a secret, key or certificate, in a modal: a frame around
:class:`~kvtui.ui.widgets.versions_list.VersionsList` (which lists them, shows errors and
each version's details).

``VersionsScreen(service, kind, name, warn_days)`` is dismissed with None (esc); r lists
again. Closing the modal removes the list, which cancels its workers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from kvtui.core.models import Item, Kind
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.text import literal
from kvtui.ui.widgets.versions_list import VersionsList

if TYPE_CHECKING:
    from kvtui.core.vault import VaultService

__all__ = ["VersionsScreen"]


class VersionsScreen(ReportWorkerErrors, Dialog[None]):
    """The versions of one item. Dismissed with None."""

    DEFAULT_CSS = """
    VersionsScreen {
        #versions {
            width: 95%;
            max-width: 130;
            height: 90%;
        }
        #versions-hint {
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        /* A small terminal: the whole screen, no frame (40x12 still shows versions). */
        &.-narrow #versions, &.-short #versions {
            width: 100%;
            max-width: 100%;
            height: 100%;
            border: none;
            padding: 0;
        }
    }
    """

    # Textual's own annotation (``ClassVar[...] | None``) makes a ClassVar here an error;
    # the vertical ones (-short, -tall) are the Dialog's.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]  # noqa: RUF012

    HELP = KeyedHelp("""\
## Versions

Every version: the current one first (marked), then the others newest first.
Expired versions are marked ✖, versions expiring soon ⚠. Move with the arrow keys to see a version's
details below (a secret's properties, never its value). **{versions.reload}** lists
again, **{versions.close}** closes.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="versions.close", tooltip="Close the versions"),
        Binding("r", "reload", "Reload", id="versions.reload", tooltip="List the versions again"),
    ]

    def __init__(
        self,
        service: VaultService,
        kind: Kind,
        name: str,
        warn_days: int,
        now: Callable[[], datetime] | None = None,
        current: str | None = None,
        clipboard_seconds: float = 30,
    ) -> None:
        """``now``: the clock for the expiry marks (tests pin it); ``current``: the
        current version's id, when known; ``clipboard_seconds``: a copied value is
        cleared after that long."""
        super().__init__()
        self.current = current
        self.clipboard_seconds = clipboard_seconds
        self.service = service
        self.kind = kind
        self.item_name = name
        self.warn_days = warn_days
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))

    def compose(self) -> ComposeResult:
        title = Text(f"Versions of {self.kind.singular} ", end="")
        title.append_text(
            literal(
                self.item_name,
                "bold",
                escape_style=Style(reverse=True),
                multiline=False,
                no_wrap=True,
            )
        )
        with Vertical(id="versions", classes="dialog"):
            yield Static(title, id="versions-title", classes="dialog-title")
            versions = VersionsList(
                self.service,
                self.kind,
                self.item_name,
                warn_days=self.warn_days,
                now=self.now,
                id="versions-list",
                current=self.current,
                clipboard_seconds=self.clipboard_seconds,
            )
            yield versions
            hint = with_keys(
                self, "{versions.close}: close · {versions.reload}: reload · ↑↓: choose a version"
            )
            if self.kind is Kind.SECRETS:  # (the list's own keys)
                hint += with_keys(versions, " · enter: reveal · {versions.copy}: copy")
            if self.kind is Kind.KEYS:
                hint += with_keys(versions, " · {versions.key_operations}: key operations")
            yield Static(
                hint,
                classes="dialog-hint",
                id="versions-hint",
                markup=False,
            )

    @property
    def versions_list(self) -> VersionsList:
        return self.query_one("#versions-list", VersionsList)

    @property
    def versions(self) -> list[Item]:
        """The versions listed, newest first (none until listed, or when listing failed)."""
        return self.versions_list.versions

    @property
    def highlighted(self) -> Item | None:
        return self.versions_list.highlighted

    def action_reload(self) -> None:
        self.versions_list.reload()

    def action_close(self) -> None:
        self.dismiss(None)
