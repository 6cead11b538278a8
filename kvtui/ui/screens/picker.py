"""The vault picker: every vault of every subscription the account can see (ARM), filled
as subscriptions answer, filterable as you type, pinned and recent vaults first; a vault
ARM does not list opens by name or URL. Dismissed with the vault URL, or None."""

from __future__ import annotations

import logging
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import RowDoesNotExist

from kvtui.core.arm import ArmClient, Subscription, VaultRef
from kvtui.core.errors import VaultError
from kvtui.core.state import SavedVault, normalize_url
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, key_for
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.screens.open_vault import OpenVaultScreen
from kvtui.ui.text import literal
from kvtui.ui.widgets.footer import Footer

if TYPE_CHECKING:
    from kvtui.core.auth import Account
    from kvtui.core.state import VaultHistory
    from kvtui.ui.launch import AppContext

log = logging.getLogger("kvtui.ui.picker")

#: The key of the last row, "Open by name or URL…".
BY_URL = "open-by-url"
MORE = "\x00more"
MAX_ROWS = 150
COLUMNS = ("", "Name", "Subscription", "Resource group", "Location", "Access")


@dataclass(frozen=True)
class PickerRow:
    """One vault in the picker: from ARM, or only from the history (opened by URL)."""

    url: str
    name: str
    subscription: str = ""
    resource_group: str = ""
    location: str = ""
    access: str = ""
    tenant_id: str = ""

    @classmethod
    def from_arm(cls, ref: VaultRef) -> PickerRow:
        return cls(
            url=normalize_url(ref.url),
            name=ref.name,
            subscription=ref.subscription_name or ref.subscription_id,
            resource_group=ref.resource_group,
            location=ref.location,
            access="RBAC" if ref.rbac else "access policy",
            tenant_id=ref.tenant_id,
        )

    @classmethod
    def from_saved(cls, saved: SavedVault) -> PickerRow:
        host = urlsplit(saved.url).netloc
        return cls(url=saved.url, name=saved.name or host, tenant_id=saved.tenant_id)

    def matches(self, terms: list[str]) -> bool:
        """Every term is a substring of name, subscription, resource group, location or
        URL, or a subsequence of the name (``kvp`` matches ``kv-prod``)."""
        fields = " ".join(
            (self.name, self.subscription, self.resource_group, self.location, self.url)
        ).casefold()
        return all(t in fields or _subsequence(t, self.name.casefold()) for t in terms)


def _subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(ch in it for ch in needle)


class PickerScreen(ReportWorkerErrors, Dialog[str | None]):
    """Pick a vault. ``PickerScreen(context, account)``; dismissed with its URL."""

    DEFAULT_CSS = """
    PickerScreen {
        #picker {
            width: 95%;
            max-width: 140;
            height: 90%;
        }
        #picker-filter {
            margin-bottom: 1;
        }
        #picker-status {
            color: $text-muted;
            height: auto;
        }
        #picker-errors {
            display: none;
            height: auto;
            max-height: 6;
            color: $text-warning;
            &.-shown {
                display: block;
            }
        }
        #picker-table {
            height: 1fr;
            margin-top: 1;
        }
        &.-short {
            #picker {
                height: 100%;
            }
            #picker-filter, #picker-table {
                margin: 0;
            }
            #picker-errors {
                max-height: 2;  /* the table keeps rows; the footer names ctrl+o */
            }
        }
    }
    """

    HELP = KeyedHelp("""\
## Open a vault

Type to filter by name, subscription, resource group or location.
**{picker.up}/{picker.down}** choose, **enter** opens, **tab** then **{picker.pin}** pins or
unpins (pinned and recent vaults come first), **{picker.by_url}** opens a vault by name
or URL (one ARM does not list), **{picker.cancel}** closes.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="picker.cancel", tooltip="Open no vault"),
        Binding(
            "ctrl+o",
            "by_url",
            "By name/URL",
            id="picker.by_url",
            tooltip="Open a vault by its name or URL (one the list does not show)",
        ),
        Binding("p", "pin", "Pin/unpin", id="picker.pin", tooltip="Pin the vault to the top"),
        Binding("slash", "focus_filter", "Filter", id="picker.filter", tooltip="Type a filter"),
        Binding("down", "cursor(1)", show=False, id="picker.down"),
        Binding("up", "cursor(-1)", show=False, id="picker.up"),
    ]

    def __init__(self, context: AppContext, account: Account) -> None:
        super().__init__()
        self.context = context
        self.account = account
        self.history: VaultHistory = context.vault_history()
        self.arm_rows: dict[str, PickerRow] = {}
        self.errors: list[str] = []
        self.subscriptions = 0
        self.answered = 0
        self.searching = True
        self.moved = False
        """The user moved the cursor (up/down from the filter)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog"):
            yield Static("Open a vault", classes="dialog-title")
            yield Input(
                placeholder="Filter: name, subscription, resource group…", id="picker-filter"
            )
            yield Static("Searching subscriptions…", id="picker-status", markup=False)
            yield Static("", id="picker-errors", markup=False)
            yield DataTable(id="picker-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.refresh_rows()
        self.query_one(Input).focus()
        self.search()

    # -- ARM ----------------------------------------------------------------------------

    @work(exclusive=True, group="picker.arm", exit_on_error=False)
    async def search(self) -> None:
        """List the vaults, one subscription at a time; leaving the picker cancels."""
        ctx = self.context
        arm = ArmClient(
            ctx.arm_url,
            ctx.credential(self.account),
            ctx.arm_scope,
            ca_bundle=ctx.ca_bundle,
            home_tenant=self.account.tenant_id or None,
        )

        def heard(subs: list[Subscription]) -> None:
            self.subscriptions += len(subs)
            self.show_status()

        try:
            async with aclosing(arm.all_vaults(heard)) as results:
                async for sub, result in results:
                    if isinstance(result, VaultError):
                        self.add_error(sub, result)
                    else:
                        for ref in result:
                            if ref.url:
                                row = PickerRow.from_arm(ref)
                                self.arm_rows[row.url] = row
                    if sub is not None:
                        self.answered += 1
                    self.refresh_rows()
                    self.show_status()
        finally:
            await arm.close()
            self.searching = False
        self.show_status()

    def add_error(self, sub: Subscription | None, error: VaultError) -> None:
        log.info("ARM listing failed for %s: %s", sub.id if sub else "tenants", error)
        where = f"Subscription {sub.name or sub.id}: " if sub is not None else ""
        self.errors.append(f"{where}{error}")
        text = Text()
        for line in self.errors:
            text.append_text(literal(line))
            text.append("\n")
        by_url = key_for(self, "picker.by_url")
        text.append(f"A vault that is not listed opens by name or URL: {by_url}.", style="dim")
        self.query_one("#picker-errors", Static).update(text)
        self.query_one("#picker-errors", Static).add_class("-shown")

    def show_status(self) -> None:
        vaults = len(self.arm_rows)
        if self.searching:
            subs = self.subscriptions
            text = (
                f"Searching {subs} subscription{'s' if subs != 1 else ''}… "
                f"{self.answered} answered, {vaults} vault{'s' if vaults != 1 else ''}"
                if subs
                else "Searching subscriptions…"
            )
        else:
            text = (
                f"{vaults} vault{'s' if vaults != 1 else ''} in {self.answered} "
                f"subscription{'s' if self.answered != 1 else ''}"
            )
        self.query_one("#picker-status", Static).update(text)

    # -- rows ---------------------------------------------------------------------------

    def rows(self) -> list[PickerRow]:
        """Pinned (pin order), recent (latest first), then the rest by name; filtered."""
        rows = dict(self.arm_rows)
        for saved in (*self.history.pinned, *self.history.recent):
            rows.setdefault(saved.url, PickerRow.from_saved(saved))
        terms = self.query_one(Input).value.casefold().split()
        found = [r for r in rows.values() if r.matches(terms)]
        found.sort(key=lambda r: (r.name.casefold(), r.subscription.casefold()))
        return sorted(found, key=lambda r: self.history.rank(r.url))

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        # The row the user moved to stays highlighted as rows arrive; else the top one.
        current = self.highlighted_url() if self.moved or table.has_focus else None
        table.clear()
        rows = self.rows()
        # DataTable measures every cell it gets: cap what one keystroke redraws (a few
        # hundred vaults cost well over 100 ms); typing narrows the rest.
        shown, hidden = rows[:MAX_ROWS], len(rows) - MAX_ROWS
        for row in shown:
            rank = self.history.rank(row.url)[0]
            marker = (
                Text("★ pinned", style="bold")
                if rank == 0
                else Text("recent", style="italic")
                if rank == 1
                else Text("")
            )
            cells = (row.name, row.subscription, row.resource_group, row.location, row.access)
            table.add_row(marker, *(literal(c) for c in cells), key=row.url)
        if hidden > 0:
            more = Text(f"… {hidden} more: type to narrow", style="italic")
            table.add_row(Text(""), more, key=MORE)
        table.add_row(Text(""), Text("Open by name or URL…", style="italic"), key=BY_URL)
        try:
            index = table.get_row_index(current) if current is not None else 0
        except RowDoesNotExist:  # the highlighted vault was filtered out
            index = 0
        table.move_cursor(row=index, animate=False)

    def describe(self, url: str) -> PickerRow | None:
        """What the picker knows of ``url`` (from ARM), if anything."""
        return self.arm_rows.get(normalize_url(url))

    def highlighted_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    def highlighted_url(self) -> str | None:
        """The URL of the highlighted vault (None on "Open by name or URL…")."""
        key = self.highlighted_key()
        return None if key in (None, BY_URL, MORE) else key

    # -- actions ------------------------------------------------------------------------

    @on(Input.Changed, "#picker-filter")
    def _filter(self) -> None:
        self.moved = False
        self.refresh_rows()

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self) -> None:
        self.open_highlighted()

    @on(DataTable.RowSelected, "#picker-table")
    def _selected(self) -> None:
        self.open_highlighted()

    @on(DataTable.RowHighlighted, "#picker-table")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def open_highlighted(self) -> None:
        if self.highlighted_key() == MORE:
            self.action_focus_filter()
            return
        url = self.highlighted_url()
        if url is None:
            self.action_by_url()
        else:
            self.dismiss(url)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = isinstance(self.focused, Input)  # there, p and / are text
        if action == "pin":
            return not typing and self.is_mounted and self.highlighted_url() is not None
        if action == "focus_filter":
            return not typing
        return True

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        self.moved = True
        table.move_cursor(row=max(0, table.cursor_row + step), animate=False)

    def action_pin(self) -> None:
        url = self.highlighted_url()
        if url is None:
            return
        row = self.arm_rows.get(url)
        self.history.toggle_pin(
            url, name=row.name if row else "", tenant_id=row.tenant_id if row else ""
        )
        self.refresh_rows()

    def action_focus_filter(self) -> None:
        self.query_one(Input).focus()

    @work(exclusive=True, group="picker.by_url", exit_on_error=False)
    async def action_by_url(self) -> None:
        typed = self.query_one(Input).value.strip()
        url = await self.app.push_screen_wait(OpenVaultScreen(self.context, typed))
        if url is not None:
            self.dismiss(url)

    def action_cancel(self) -> None:
        self.dismiss(None)
