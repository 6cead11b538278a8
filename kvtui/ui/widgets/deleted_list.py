"""A tab's deleted items (``D``): their table, their listing and their status line.

:class:`~kvtui.ui.widgets.kind_tab.KindTab` holds one and swaps its table in for the
listed items' when the user asks. The deleted are listed when first shown, and again on
ctrl+r there; deletes, recoveries and purges done in kvtui change the table in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.worker import Worker

from kvtui.core.errors import VaultError
from kvtui.core.models import Item, Kind
from kvtui.ui.widgets.item_table import ItemTable

if TYPE_CHECKING:
    from kvtui.ui.widgets.kind_tab import KindTab

log = logging.getLogger("kvtui.ui.vault")


class DeletedList:
    """The deleted items of one tab."""

    def __init__(
        self, tab: KindTab, kind: Kind, *, warn_days: int, now: Callable[[], datetime]
    ) -> None:
        self.tab = tab
        self.kind = kind
        self.table = ItemTable(
            kind, warn_days=warn_days, now=now, id=f"deleted-{kind.value}", deleted=True
        )
        self.table.display = False
        self.loader: Worker[None] | None = None
        self.listing = False
        self.error: VaultError | None = None
        self.stale = True
        """Not listed yet (or a reload is due): listed when next shown."""

    @property
    def finished(self) -> bool:
        """A listing was started and has ended."""
        return self.loader is not None and self.loader.is_finished and not self.listing

    def reload(self) -> None:
        self.loader = self.tab.run_worker(
            self._load,
            name=f"deleted-{self.kind.value}",
            group="deleted",
            exclusive=True,
            exit_on_error=False,
        )

    async def _load(self) -> None:
        tab, table = self.tab, self.table
        items: list[Item] = []

        def restart() -> None:
            items.clear()

        self.listing = True
        self._show_error(None)
        try:
            async for page in tab.session.list_pages(self.kind, deleted=True, restart=restart):
                items.extend(page)
                if table.total_count == 0:
                    table.append_items(page)  # the first page at once
                tab.update_status_soon()
        except VaultError as exc:
            log.warning("listing deleted %s failed: %s", self.kind.value, exc)
            self._show_error(exc)
            return
        finally:
            self.listing = False
            tab.update_status()
        table.replace_items(items)
        self.stale = False
        tab.update_status()

    def _show_error(self, exc: VaultError | None) -> None:
        self.error = exc
        if self.tab.showing_deleted:
            self.tab.error_panel.show(exc)
        self.tab.update_status()

    def put(self, deleted: list[Item]) -> None:
        """Items deleted in kvtui: into the table, if it was listed."""
        if not self.stale:
            self.table.put_items(deleted)

    def label(self, title: str) -> str:
        count = "…" if self.listing else f" {self.table.total_count:,}"
        return f"{title}: deleted{count}" + (" ⚠" if self.error else "")

    def status(self) -> Text:
        """The status line's text (its tail, the marks and filter, is the tab's)."""
        noun = f"deleted {self.kind.value}"
        return Text(count_text(self.table, noun, listing=self.listing, failed=bool(self.error)))


def count_text(table: ItemTable, noun: str, *, listing: bool, failed: bool) -> str:
    """How many items a table holds and shows, for a tab's status line ("Loading… 25
    secrets", "3 of 63 secrets match"); ``failed``: the listing ended in an error."""
    total = table.total_count
    if listing:
        text = f"Loading… {total:,} {noun}"
        if table.filter_text:
            text += f", {table.row_count:,} match"
        return text
    if failed and total == 0:
        return f"No {noun} listed (see the error above)"
    if table.filter_text:
        return f"{table.row_count:,} of {total:,} {noun} match"
    return f"{total:,} {noun}"
