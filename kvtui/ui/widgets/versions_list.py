"""Every version of one secret, key or certificate, newest first, with the highlighted
version's details below: a widget of its own, used by the versions modal and by any
view that shows an item's versions.

Usage::

    yield VersionsList(service, Kind.KEYS, "signer", warn_days=30, now=clock)
    versions.reload()                 # list again (a worker; the last one wins)

It lists the versions in a worker when mounted (removing the widget cancels it), shows
what went wrong inside itself (the vault's words, literally), and fetches a key's or
certificate's detail per version on demand. A secret's detail is its properties as
listed: its value is never fetched. It posts :class:`VersionsList.Loaded` and
:class:`VersionsList.Failed`. The times, marks and detail rows are the presenter's
(:mod:`kvtui.core.present`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Self

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from kvtui.core import keyops
from kvtui.core.details import present_value
from kvtui.core.errors import VaultError
from kvtui.core.keyops import Outcome
from kvtui.core.kinds import KINDS
from kvtui.core.models import CertificateDetail, Item, KeyDetail, Kind, Status
from kvtui.core.present import Section, date_text, detail_sections, expires_cell, yes_no
from kvtui.ui.clipboard import SecretClipboard
from kvtui.ui.keys import key_for
from kvtui.ui.modals.key_ops import KeyOperations
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.text import literal, visible
from kvtui.ui.widgets.detail_pane import MASK
from kvtui.ui.widgets.detail_rows import (
    ROW_PARTS,
    RowStyles,
    note_text,
    row_styles,
    section_parts,
)

if TYPE_CHECKING:
    from kvtui.core.vault import VaultService

__all__ = ["COLUMNS", "VersionsList"]

COLUMNS = ("version", "expires", "enabled", "created", "updated", "not before")
"""Left to right: what tells versions apart and what needs attention first (a narrow
terminal scrolls sideways to the rest). Dates only: the detail has the time."""
SHORT_VERSION = 8
"""How much of a version id the table shows (the detail shows all of it)."""

Detail = KeyDetail | CertificateDetail


class VersionsList(ReportWorkerErrors, Vertical):
    """The versions of one item and the highlighted version's details. On a secret,
    enter reveals the highlighted version's value (hidden again on moving to another
    version, or enter again) and ``c`` copies it (cleared from the clipboard later)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_version", "Copy value", id="versions.copy",
                tooltip="Copy this version's value (cleared later)"),
        Binding("C", "key_operations", "Crypto", id="versions.key_operations",
                tooltip="Encrypt, decrypt, sign, verify, wrap or unwrap with this key version"),
    ]  # fmt: skip

    DEFAULT_CSS = """
    VersionsList {
        height: 1fr;
        & > #versions-status {
            color: $text-muted;
            height: auto;
            &.-error { color: $text-error; }
        }
        & > #versions-table {
            height: auto;
            max-height: 50%;
            min-height: 3;
            margin: 1 0 0 0;
        }
        & > #versions-detail-scroll {
            height: 1fr;
            border-top: solid $panel;
        }
        & > .versions--label { color: $text-muted; }
        & > .versions--heading { text-style: bold; color: $text-accent; }
        & > .versions--expired { color: $text-error; }
        & > .versions--expiring { color: $text-warning; }
        & > .versions--disabled { color: $text-muted; text-style: italic; }
        & > .versions--muted { color: $text-muted; text-style: italic; }
        & > .versions--escape { text-style: reverse; }
        & > .versions--error { color: $text-error; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"versions--{part}" for part in ROW_PARTS),
        "versions--disabled",
        "versions--error",
    }

    class Loaded(Message):
        """The versions were listed (newest first)."""

        def __init__(self, versions_list: VersionsList, versions: list[Item]) -> None:
            super().__init__()
            self.versions_list = versions_list
            self.versions = versions

        @property
        def control(self) -> VersionsList:
            return self.versions_list

    class Failed(Message):
        """Listing failed; ``message`` (untrusted) is shown in the widget."""

        def __init__(self, versions_list: VersionsList, message: str) -> None:
            super().__init__()
            self.versions_list = versions_list
            self.message = message

        @property
        def control(self) -> VersionsList:
            return self.versions_list

    def __init__(
        self,
        service: VaultService,
        kind: Kind,
        name: str,
        *,
        warn_days: int,
        now: Callable[[], datetime],
        id: str | None = None,
        current: str | None = None,
        clipboard_seconds: float = 30,
    ) -> None:
        """``now``: the clock for the expiry marks and "in 12 days" (tests pin it).
        ``current``: the item's current version id, when known (else it is read).
        ``clipboard_seconds``: a copied value is cleared after that long."""
        super().__init__(id=id)
        self.clipboard_seconds = clipboard_seconds
        self._revealed: tuple[str, str] | None = None
        """(version, value) while a version's value is on show."""
        self.service = service
        self.kind = kind
        self.item_name = name
        self.current = current
        """The current version's id: marked "current" and listed first (versions made
        in the same second have the same date: the newest date does not say which)."""
        self.warn_days = warn_days
        self.now = now
        self.versions: list[Item] = []
        self.details: dict[str, Detail] = {}
        self.detail_errors: dict[str, str] = {}
        self._shown: str | None = None
        self._focus_table = False

    def compose(self) -> ComposeResult:
        yield Static("Loading versions…", id="versions-status", markup=False)
        yield DataTable(id="versions-table", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(id="versions-detail-scroll"):
            yield Static("", id="versions-detail", markup=False)

    def on_mount(self) -> None:
        table = self._table
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.reload()

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focus the table of versions (the arrow keys choose a version)."""
        self._table.focus(scroll_visible)
        return self

    @property
    def _table(self) -> DataTable[Text]:
        table: DataTable[Text] = self.query_one("#versions-table", DataTable)
        return table

    # -- loading --------------------------------------------------------------------

    def reload(self) -> None:
        """List the versions again (the highlighted version goes back to the newest)."""
        focused = self.screen.focused
        # A loading table cannot hold the focus: give it back when the rows are in.
        self._focus_table = focused is None or focused is self._table
        self._table.loading = True
        self._status("Loading versions…")
        self._load_versions()

    @work(exclusive=True, group="versions", exit_on_error=False)
    async def _load_versions(self) -> None:
        try:
            versions = await self.service.list_versions(self.kind, self.item_name)
        except VaultError as exc:
            self._failed(str(exc))
            return
        except Exception as exc:  # reported (and logged) by ReportWorkerErrors
            self._failed(f"Listing the versions of {self.item_name} failed: {exc}")
            raise
        if self.current is None:
            self.current = await self._read_current()
        current = next((v for v in versions if v.version == self.current), None)
        if current is not None:  # first, then the others newest first
            versions = [current, *(v for v in versions if v is not current)]
        self.versions = versions
        self.details.clear()
        self.detail_errors.clear()
        self._fill_table()
        count = len(versions)
        self._status(
            f"{count} version{'' if count == 1 else 's'}, newest first" if count else "No versions."
        )
        self.post_message(self.Loaded(self, versions))

    async def _read_current(self) -> str | None:
        """The current version's id, from the item's details; None if they cannot be
        read (a list-only caller, a disabled secret): the newest is marked then."""
        read = KINDS[self.kind].detail
        try:
            detail = await read(self.service, self.item_name)
        except VaultError:
            return None
        return detail.item.version

    def _failed(self, message: str) -> None:
        self.versions = []
        self._fill_table()
        self._status(message, error=True)
        self._show_detail(Text(end=""))
        self.post_message(self.Failed(self, message))

    def _fill_table(self) -> None:
        table = self._table
        table.loading = False
        focused = self.screen.focused
        if self._focus_table and (focused is None or self in focused.ancestors_with_self):
            table.focus()
        table.clear()
        self._shown = None
        now = self.now()
        escape = self._style("escape")
        for n, item in enumerate(self.versions):
            style = self._row_style(item, now)
            version = (item.version or "")[:SHORT_VERSION]
            if item.version == self.current or (n == 0 and self.current is None):
                version += " current"
            cells = (
                version,
                expires_cell(item, now, self.warn_days),
                yes_no(item.enabled),
                date_text(item.created),
                date_text(item.updated),
                date_text(item.not_before),
            )
            table.add_row(
                *(
                    literal(c, style, escape_style=escape, multiline=False, no_wrap=True)
                    for c in cells
                ),
                key=item.version or str(n),
            )
        if self.versions:
            table.move_cursor(row=0)
            self._highlight(self.versions[0])

    def _style(self, part: str) -> Style:
        return self.get_component_rich_style(f"versions--{part}", partial=True)

    def _row_style(self, item: Item, now: datetime) -> Style:
        status = item.status(now, self.warn_days)
        style = Style()
        if status is Status.EXPIRED:
            style += self._style("expired")
        elif status is Status.EXPIRING:
            style += self._style("expiring")
        if not item.enabled:
            style += self._style("disabled")
        return style

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#versions-status", Static)
        status.set_class(error, "-error")
        status.update(literal(message, escape_style=self._style("escape")))

    # -- the highlighted version ----------------------------------------------------

    @property
    def highlighted(self) -> Item | None:
        row = self._table.cursor_row
        if not self.versions or not 0 <= row < len(self.versions):
            return None
        return self.versions[row]

    @on(DataTable.RowHighlighted, "#versions-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.versions):
            self._highlight(self.versions[event.cursor_row])

    def _highlight(self, item: Item, *, again: bool = False) -> None:
        version = item.version or ""
        if version == self._shown and not again:
            return
        self._shown = version
        if self._revealed is not None and self._revealed[0] != version:
            self._revealed = None  # moved on: the value is hidden again
        if self.kind is Kind.SECRETS or version in self.details:
            self._show_detail(self._detail_parts(item, self.details.get(version)))
        elif version in self.detail_errors:
            error = note_text(self.detail_errors[version], self._style("error"), self._styles)
            self._show_detail(self._detail_parts(item, None, Text(), error))
        else:
            loading = Text("Loading the details of this version…", style=self._style("muted"))
            self._show_detail(self._detail_parts(item, None, Text(), loading))
            self._load_detail(item)

    @work(exclusive=True, group="version-detail", exit_on_error=False)
    async def _load_detail(self, item: Item) -> None:
        version = item.version or ""
        detail: Detail
        try:
            if self.kind is Kind.KEYS:
                detail = await self.service.get_key_detail(self.item_name, version)
            else:
                detail = await self.service.get_certificate_detail(self.item_name, version)
        except VaultError as exc:
            self.detail_errors[version] = str(exc)
        except Exception as exc:  # reported (and logged) by ReportWorkerErrors
            self.detail_errors[version] = f"Reading this version failed: {exc}"
            self._show_version(version)
            raise
        else:
            self.details[version] = detail
        self._show_version(version)

    def _show_version(self, version: str) -> None:
        """Show ``version``'s detail again, if it is still the highlighted one."""
        current = self.highlighted
        if current is not None and current.version == version:
            self._highlight(current, again=True)

    @property
    def _styles(self) -> RowStyles:
        return row_styles(self, "versions")

    def _detail_parts(
        self, item: Item, detail: Detail | None, *extra: RenderableType
    ) -> RenderableType:
        """A version's rows (what belongs to the version only, not the item's policies),
        then ``extra`` (a loading note or an error)."""
        sections: list[Section] = detail_sections(
            item, detail, self.now(), self.warn_days, full=False
        )
        parts = section_parts(sections, self._styles)[1:]  # no blank line above the first
        if self.kind is Kind.SECRETS:  # the value first, as in the detail pane
            parts = [*self._value_parts(item), Text(), *parts]
        return Group(*parts, *extra)

    def _value_parts(self, item: Item) -> list[RenderableType]:
        """The version's value while revealed; else how to reveal it."""
        styles = self._styles
        revealed = self._revealed
        heading = Text("Value", style=styles.heading)
        if revealed is None or revealed[0] != item.version:
            copy = key_for(self, "versions.copy", "c")
            hint = f"enter reveals this version's value · {copy} copies it"
            return [heading, Text(MASK), Text(hint, style=styles.muted)]
        view = present_value(revealed[1], item.content_type)
        shown = self._lit(view.text) if view.text else Text("(empty)", style="italic")
        return [heading, Text("enter or moving on hides it", style=styles.muted), shown]

    def _lit(self, value: str) -> Text:
        return literal(value, escape_style=self._style("escape"))

    @on(DataTable.RowSelected, "#versions-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """enter: reveal the version's value, or hide it again."""
        event.stop()
        item = self.highlighted
        if self.kind is not Kind.SECRETS or item is None or not item.version:
            return
        if self._revealed is not None and self._revealed[0] == item.version:
            self._revealed = None
            self._highlight(item, again=True)
            return
        self._reveal(item)

    @work(exclusive=True, group="version-value", exit_on_error=False)
    async def _reveal(self, item: Item) -> None:
        version = item.version or ""
        try:
            value = await self.service.get_secret_value(self.item_name, version)
        except VaultError as exc:
            self.detail_errors[version] = str(exc)
            error = note_text(str(exc), self._style("error"), self._styles)
            if self._shown == version:
                self._show_detail(self._detail_parts(item, None, Text(), error))
            return
        if self._shown == version:
            self._revealed = (version, value)
            self._highlight(item, again=True)
        del value

    @work(exclusive=True, group="version-copy", exit_on_error=False)
    async def action_copy_version(self) -> None:
        item = self.highlighted
        if self.kind is not Kind.SECRETS or item is None or not item.version:
            return
        try:
            value = await self.service.get_secret_value(self.item_name, item.version)
        except VaultError as exc:
            self.notify(visible(exc), title="Cannot copy", severity="error", markup=False)
            return
        said = SecretClipboard(self.app).copy(
            f"{self.item_name} ({item.version[:SHORT_VERSION]})", value, self.clipboard_seconds
        )
        del value
        self.notify(visible(said), markup=False)

    @work(exclusive=True, group="version-crypto", exit_on_error=False)
    async def action_key_operations(self) -> None:
        """Key operations with the highlighted version (an old one too)."""
        item = self.highlighted
        if self.kind is not Kind.KEYS or item is None or not item.version:
            return
        version = item.version
        detail = self.details.get(version)
        if not isinstance(detail, KeyDetail):
            try:
                detail = await self.service.get_key_detail(self.item_name, version)
            except VaultError as exc:
                self.notify(visible(exc), title="Cannot read the key", severity="error",
                            markup=False)  # fmt: skip
                return
        service, name = self.service, self.item_name

        async def run(operation: str, algorithm: str, data: bytes, signature: bytes) -> Outcome:
            return await keyops.run(service, name, version, operation, algorithm, data, signature)

        await self.app.push_screen_wait(KeyOperations(detail, run, self.clipboard_seconds))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_version":
            return self.kind is Kind.SECRETS
        if action == "key_operations":
            return self.kind is Kind.KEYS
        return True

    def _show_detail(self, renderable: RenderableType) -> None:
        self.query_one("#versions-detail", Static).update(renderable)
