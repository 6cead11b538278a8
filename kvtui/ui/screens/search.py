"""The palette's "Search all vaults": a query in the app's filter language (words in the
name, ``tag:k=v``, ``tag:k``, ``type:json`` / ``type:rsa``, ``status:expired``) over every
vault the account can see, as ``kvtui search`` does (:func:`kvtui.core.reports.search`),
with what matched each row. The vaults are crawled once, when the screen opens (through
the metadata cache: a second search is instant); each keystroke only chooses again among
what was crawled. A ``type:`` term reads each key's type once (kept in the cache).

``SearchScreen(context, account)``, dismissed with the :class:`~kvtui.core.reports.Row`
chosen (enter) or None; :func:`~kvtui.ui.screens.cross_vault.open_in_vault` opens it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input

from kvtui.core import reports
from kvtui.core.crawl import Target
from kvtui.core.filtering import Query, parse_query
from kvtui.core.models import Item
from kvtui.core.present import expires_cell
from kvtui.core.reports import Row
from kvtui.ui.keys import KeyedHelp
from kvtui.ui.screens.cross_vault import (
    SHORT,
    Column,
    CrossVaultScreen,
    short_expiry,
    short_kind,
)

if TYPE_CHECKING:
    from kvtui.core.auth import Account
    from kvtui.ui.launch import AppContext

__all__ = ["SearchScreen"]


class SearchScreen(CrossVaultScreen):
    """Search every vault. Dismissed with the row chosen, or None."""

    DEFAULT_CSS = """
    SearchScreen {
        #search-query {
            margin-bottom: 1;
        }
        &.-short #search-query {
            margin: 0;
        }
    }
    """

    HELP = KeyedHelp("""\
## Search all vaults

Type a query, as the vault's filter: words in the name (substring, then fuzzy),
`tag:env=prod` (or `tag:env`), `type:json` or `type:rsa`, `status:expired`; every term
must match. The results come from every vault your account can see, each with what
matched. **↑/↓** choose, **enter** opens the item in its vault.

The vaults are read once (listings kept in the metadata cache: the next search is
instant); **{search.refresh}** reads every vault again. Vaults that could not be read
are named above the results. **{search.close}** closes.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        *CrossVaultScreen.bindings("search", "search"),
        Binding("down", "cursor(1)", show=False, id="search.down"),
        Binding("up", "cursor(-1)", show=False, id="search.up"),
        Binding("pagedown", "cursor(10)", show=False, id="search.page_down"),
        Binding("pageup", "cursor(-10)", show=False, id="search.page_up"),
    ]

    PREFIX = "search"
    TITLE_TEXT = "Search all vaults"
    COLUMNS = (
        Column("vault", "Vault", 16, 6, drop=2, grow=1),
        Column("kind", "Kind", 6, 4, drop=4, grow=2),
        Column("name", "Name", 24, 12, grow=3, flex=True),
        Column("matched", "Matched", 24, 7, drop=3, grow=4),
        Column("expires", "Expires", 20, 10, drop=5, grow=5),
    )

    def __init__(self, context: AppContext, account: Account, query: str = "") -> None:
        super().__init__(context, account)
        self.initial = query
        self.query_text = query
        self.parsed: Query = parse_query(query)

    def compose_top(self) -> ComposeResult:
        yield Input(
            self.initial,
            placeholder="name, tag:env=prod, type:json, status:expired",
            id="search-query",
        )

    def on_mount(self) -> None:
        self.query_one("#search-query", Input).focus()
        self._wants_facts()
        super().on_mount()

    # -- the query ------------------------------------------------------------------------

    @on(Input.Changed, "#search-query")
    def _changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.parsed = parse_query(event.value)
        if self._wants_facts() and self.is_mounted:
            self.start_crawl()  # with the key types: read once, then in the cache
        self.rematch()
        self.show_status()

    def _wants_facts(self) -> bool:
        """A ``type:`` term: the crawl reads key types from now on (True when newly)."""
        if self.parsed.types and not self.key_facts:
            self.key_facts = True
            return True
        return False

    @on(Input.Submitted, "#search-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.open_highlighted()

    def action_cursor(self, step: int) -> None:
        table = self.table
        if table.row_count:
            row = max(0, min(table.row_count - 1, table.cursor_row + step))
            table.move_cursor(row=row, animate=False)

    # -- rows -----------------------------------------------------------------------------

    def select(self, found: list[tuple[Target, Item]], now: datetime) -> list[Row]:
        query = self.parsed
        if query.is_empty:
            return []
        return reports.search(found, query, now, self.warn_days)

    def cells(self, row: Row, now: datetime) -> dict[str, str]:
        item = row.item
        return {
            "vault": row.target.name,
            "kind": item.kind.singular,
            "kind" + SHORT: short_kind(item.kind),
            "name": item.name,
            "matched": "; ".join(row.matched),
            "expires": expires_cell(item, now, self.warn_days),
            "expires" + SHORT: short_expiry(item, now, self.warn_days),
        }

    def summary(self) -> str:
        result = self.result
        vaults = result.vaults if result is not None else 0
        where = f"{vaults} vault{'s' if vaults != 1 else ''}"
        if self.parsed.warnings:
            return self.parsed.warnings[0]
        if self.parsed.is_empty:
            items = sum(1 for _ in result.items()) if result is not None else 0
            return f"{items:,} items in {where}: type to search"
        n = len(self.rows)
        return f"{n:,} found in {where}"
