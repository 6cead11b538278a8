"""Every version of a secret, key or certificate, newest first, with a detail area for
the highlighted version.

``VersionsScreen(service, kind, name, warn_days)`` is dismissed with None (esc). It
loads the versions in a worker of its own (closing the modal cancels it), shows vault
errors in the modal, and fetches a key's or certificate's detail per version on
demand. A secret's detail is its properties as listed: its value is never fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from kvtui.core.errors import VaultError
from kvtui.core.models import CertificateDetail, Item, KeyDetail, Kind, Status
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.text import literal
from kvtui.ui.widgets.item_table import status_marker

if TYPE_CHECKING:
    from kvtui.core.vault import VaultService

COLUMNS = ("version", "enabled", "created", "updated", "not before", "expires")
SHORT_VERSION = 8
_ESCAPE = Style(reverse=True)

Detail = KeyDetail | CertificateDetail


def fmt_time(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if value else ""


def one_line(value: str, style: Style | str = "") -> Text:
    """An untrusted string as one line of literal Text (newlines made visible)."""
    return literal(value, style, escape_style=_ESCAPE, multiline=False, no_wrap=True)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


class _Lines:
    """A detail area as ``label  value`` lines; values are untrusted, shown literally."""

    def __init__(self, label_style: Style) -> None:
        self.text = Text(end="")
        self.label_style = label_style

    def add(self, label: str, value: str | Text | None) -> None:
        if value is None or value == "":
            return
        if self.text:
            self.text.append("\n")
        self.text.append(f"{label:<18}", self.label_style)
        self.text.append_text(value if isinstance(value, Text) else one_line(value))

    def add_all(self, label: str, values: Iterable[str]) -> None:
        for n, value in enumerate(values):
            self.add(label if n == 0 else "", value)


class VersionsScreen(ReportWorkerErrors, ModalScreen[None]):
    """The versions of one item. Dismissed with None."""

    HELP = KeyedHelp("""\
## Versions

Every version, newest first; the first is the current one. Expired versions are
marked ✖, versions expiring soon ⚠. Move with the arrow keys to see a version's
details below (a secret's properties, never its value). **{versions.reload}** lists
again, **{versions.close}** closes.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="versions.close", tooltip="Close the versions"),
        Binding("r", "reload", "Reload", id="versions.reload", tooltip="List the versions again"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "versions--expired",
        "versions--expiring",
        "versions--disabled",
        "versions--label",
        "versions--error",
    }

    def __init__(
        self,
        service: VaultService,
        kind: Kind,
        name: str,
        warn_days: int,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """``now``: the clock for the expiry marks (tests pin it)."""
        super().__init__()
        self.service = service
        self.kind = kind
        self.item_name = name
        self.warn_days = warn_days
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self.versions: list[Item] = []
        self.details: dict[str, Detail] = {}
        self.detail_errors: dict[str, str] = {}
        self._shown: str | None = None

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        title = Text(f"Versions of {self.kind.singular} ", end="")
        title.append_text(one_line(self.item_name, "bold"))
        with Vertical(id="versions"):
            yield Static(title, id="versions-title", classes="dialog-title")
            yield Static("Loading versions…", id="versions-status", markup=False)
            table: DataTable[Text] = DataTable(
                id="versions-table", cursor_type="row", zebra_stripes=False
            )
            yield table
            with VerticalScroll(id="versions-detail-scroll"):
                yield Static("", id="versions-detail", markup=False)
            yield Static(
                with_keys(
                    self,
                    "↑↓: choose a version · {versions.reload}: reload · {versions.close}: close",
                ),
                classes="dialog-hint",
                id="versions-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        table = self.query_one("#versions-table", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.action_reload()

    # -- loading --------------------------------------------------------------------

    def action_reload(self) -> None:
        table = self.query_one("#versions-table", DataTable)
        table.loading = True
        self._status("Loading versions…")
        self.load_versions()

    @work(exclusive=True, group="versions", exit_on_error=False)
    async def load_versions(self) -> None:
        try:
            versions = await self.service.list_versions(self.kind, self.item_name)
        except VaultError as exc:
            self._failed(str(exc))
            return
        except Exception as exc:  # reported (and logged) by ReportWorkerErrors
            self._failed(f"Listing the versions of {self.item_name} failed: {exc}")
            raise
        self.versions = versions
        self.details.clear()
        self.detail_errors.clear()
        self._fill_table()
        count = len(versions)
        self._status(
            f"{count} version{'' if count == 1 else 's'}, newest first" if count else "No versions."
        )

    def _failed(self, message: str) -> None:
        self.versions = []
        self._fill_table()
        self._status(message, error=True)
        self._show_detail(Text(end=""))

    def _fill_table(self) -> None:
        table: DataTable[Text] = self.query_one("#versions-table", DataTable)
        table.loading = False
        table.clear()
        self._shown = None
        now = self.now()
        for n, item in enumerate(self.versions):
            style = self._row_style(item, now)
            version = (item.version or "")[:SHORT_VERSION]
            if n == 0:
                version += " current"
            expires = " ".join(
                part
                for part in (
                    fmt_time(item.expires),
                    status_marker(item, now, self.warn_days),
                )
                if part
            )
            cells = (
                version,
                _yes(item.enabled),
                fmt_time(item.created),
                fmt_time(item.updated),
                fmt_time(item.not_before),
                expires,
            )
            table.add_row(*(one_line(c, style) for c in cells), key=item.version or str(n))
        if self.versions:
            table.move_cursor(row=0)
            self._highlight(self.versions[0])

    def _row_style(self, item: Item, now: datetime) -> Style:
        status = item.status(now, self.warn_days)
        style = Style()
        if status is Status.EXPIRED:
            style += self.get_component_rich_style("versions--expired", partial=True)
        elif status is Status.EXPIRING:
            style += self.get_component_rich_style("versions--expiring", partial=True)
        if not item.enabled:
            style += self.get_component_rich_style("versions--disabled", partial=True)
        return style

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#versions-status", Static)
        status.set_class(error, "-error")
        status.update(literal(message, escape_style=_ESCAPE))

    # -- the highlighted version ----------------------------------------------------

    @property
    def highlighted(self) -> Item | None:
        table = self.query_one("#versions-table", DataTable)
        row = table.cursor_row
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
        if self.kind is Kind.SECRETS:
            self._show_detail(self._secret_text(item))
        elif version in self.details:
            self._show_detail(self._detail_text(self.details[version]))
        elif version in self.detail_errors:
            self._show_detail(self._error_text(item, self.detail_errors[version]))
        else:
            text = self._common(item).text
            text.append("\n\nLoading the details of this version…")
            self._show_detail(text)
            self.load_detail(item)

    @work(exclusive=True, group="version-detail", exit_on_error=False)
    async def load_detail(self, item: Item) -> None:
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

    def _show_detail(self, text: Text) -> None:
        self.query_one("#versions-detail", Static).update(text)

    # -- detail texts ---------------------------------------------------------------

    def _lines(self) -> _Lines:
        return _Lines(self.get_component_rich_style("versions--label", partial=True))

    def _common(self, item: Item) -> _Lines:
        lines = self._lines()
        now = self.now()
        lines.add("Version", item.version or "")
        lines.add("Id", item.id)
        lines.add("Enabled", _yes(item.enabled))
        lines.add("Created", fmt_time(item.created))
        lines.add("Updated", fmt_time(item.updated))
        lines.add("Not before", fmt_time(item.not_before))
        expires = fmt_time(item.expires)
        marker = status_marker(item, now, self.warn_days)
        lines.add("Expires", f"{expires} {marker}".strip() if expires else marker)
        return lines

    def _tags(self, lines: _Lines, item: Item) -> None:
        lines.add_all("Tags", (f"{k} = {v}" for k, v in sorted(item.tags.items())))

    def _secret_text(self, item: Item) -> Text:
        lines = self._common(item)
        lines.add("Content type", item.content_type or "")
        self._tags(lines, item)
        if item.managed:
            lines.add("Managed", "yes (belongs to a certificate)")
        return lines.text

    def _detail_text(self, detail: Detail) -> Text:
        item = detail.item
        lines = self._common(item)
        if isinstance(detail, KeyDetail):
            lines.add("Type", detail.key_type or "")
            lines.add("Size", f"{detail.key_size} bits" if detail.key_size else "")
            lines.add("Curve", detail.curve or "")
            lines.add("Operations", ", ".join(detail.key_ops))
            lines.add("Exportable", _yes(detail.exportable))
            if detail.release_policy:
                lines.add("Release policy", "yes")
        else:
            lines.add("Subject", detail.subject)
            lines.add_all("SANs", (f"{t}: {v}" for t, v in detail.sans))
            lines.add("Issuer", detail.issuer)
            if detail.self_signed:
                lines.add("", "(self-signed)")
            lines.add("Serial", detail.serial)
            lines.add("SHA-1 thumbprint", detail.sha1)
            lines.add("SHA-256", detail.sha256)
            lines.add("Valid from", fmt_time(detail.not_before))
            lines.add("Valid until", fmt_time(detail.not_after))
            key = " ".join(
                p
                for p in (
                    detail.key_type or "",
                    str(detail.key_size) if detail.key_size else "",
                    detail.curve or "",
                )
                if p
            )
            lines.add("Key", key)
            lines.add("Signature", detail.signature_algorithm or "")
            if not detail.cer:
                lines.add("Certificate", "not issued yet (pending)")
        self._tags(lines, item)
        return lines.text

    def _error_text(self, item: Item, message: str) -> Text:
        lines = self._common(item)
        text = lines.text
        text.append("\n\n")
        text.append_text(
            literal(
                message,
                self.get_component_rich_style("versions--error", partial=True),
                escape_style=_ESCAPE,
            )
        )
        return text

    # -- closing --------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)
