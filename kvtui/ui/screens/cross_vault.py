"""Across vaults: what the palette's "Search all vaults" (:mod:`kvtui.ui.screens.search`)
and "Expiring across vaults" (:mod:`kvtui.ui.screens.expiring`) share.

:class:`CrossVaultScreen` is a modal that crawls every vault the account can see through
Azure Resource Manager (:mod:`kvtui.core.crawl`: through the metadata cache, a few vaults
at a time, never a value), in a worker, and lists rows of :mod:`kvtui.core.reports`
(vault, kind, name...) in a table whose columns fit the terminal. Its status line says
how far the crawl is (vaults done / found); the vaults that could not be read are named
above the table. **ctrl+r** crawls again, every vault listed afresh. Enter dismisses it
with the row: :func:`open_in_vault` then opens the item in its vault (the vault screen's
:meth:`~kvtui.ui.screens.vault.VaultScreen.show_item`).

Everything in a row came from a vault: every cell is :func:`~kvtui.ui.text.literal`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from kvtui.core.arm import ArmClient
from kvtui.core.crawl import Crawler, CrawlResult, Progress, Target, discover, problem_lines
from kvtui.core.errors import AuthenticationFailed, SessionExpired
from kvtui.core.models import Item, Kind, Status
from kvtui.core.present import date_text, status_mark
from kvtui.core.reports import Row
from kvtui.core.state import normalize_url
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import key_for, with_keys
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.text import literal, visible

if TYPE_CHECKING:
    from kvtui.core.auth import Account
    from kvtui.ui.app import KvtuiApp
    from kvtui.ui.launch import AppContext

log = logging.getLogger("kvtui.ui.cross_vault")

#: Rows in the table at most (a DataTable measures every cell it gets): the status line
#: says how many more matched; a narrower search shows them.
MAX_ROWS = 300
#: While the vaults answer, the rows are chosen again at most this often (seconds).
REMATCH_EVERY = 0.2


@dataclass(frozen=True)
class Column:
    """A column of the results: ``width`` at most, ``least`` at the narrowest. When the
    terminal is narrow, the column of the highest ``drop`` goes first (0: never); the
    room left grows the columns in ``grow`` order, each to its widest cell, and then the
    ``flex`` column takes the rest."""

    key: str
    title: str
    width: int
    least: int
    drop: int = 0
    grow: int = 0
    flex: bool = False


#: A column's text when its whole text does not fit: ``cells()[key + SHORT]``.
SHORT = "~short"


def fit_columns(
    columns: Sequence[Column],
    natural: dict[str, int],
    width: int,
    short: dict[str, int] | None = None,
) -> list[tuple[Column, int]]:
    """The columns that fit in ``width`` cells (each takes 2 more: DataTable's padding),
    and how wide each is: no wider than its widest cell (``natural``) or its ``width``;
    a column whose cells have a short form (``short``: the widest) that cannot grow to
    its whole cells takes only what the short form needs. The flex column gets what is
    left."""
    shown = list(columns)
    short = short or {}

    def least(c: Column) -> int:
        return min(c.least, max(1, natural.get(c.key, c.least)))

    while sum(least(c) + 2 for c in shown) > width and any(c.drop for c in shown):
        shown.remove(max((c for c in shown if c.drop), key=lambda c: c.drop))
    widths = {c.key: least(c) for c in shown}
    spare = width - sum(w + 2 for w in widths.values())
    for c in sorted(shown, key=lambda c: c.grow):
        want = min(c.width, max(natural.get(c.key, 0), len(c.title)))
        if c.key in short and want - widths[c.key] > spare:
            want = max(short[c.key], len(c.title))
        add = max(0, min(spare, want - widths[c.key]))
        widths[c.key] += add
        spare -= add
    flex = next((c for c in shown if c.flex), None)
    if flex is not None and spare > 0:
        widths[flex.key] += spare
    return [(c, max(1, widths[c.key])) for c in shown]


def _cell(value: str, width: int, style: Style | str) -> Text:
    text = literal(value, style, multiline=False, no_wrap=True)
    text.truncate(width, overflow="ellipsis")
    return text


def short_kind(kind: Kind) -> str:
    """``secret``, ``key``, ``cert``: a kind where ``certificate`` does not fit."""
    return "cert" if kind is Kind.CERTIFICATES else kind.singular


def short_expiry(item: Item, now: datetime, warn_days: int) -> str:
    """An expiry where date and mark do not both fit: the mark (``✖ expired``, ``⚠ in
    14d``), as the tables say it, else the date."""
    mark = status_mark(item, now, warn_days)
    if mark is not None and mark.status is not Status.DISABLED:
        return mark.short
    return date_text(item.expires)


def _fitting(texts: dict[str, str], key: str, width: int) -> str:
    """The column's text, or its short form where the whole does not fit."""
    text = texts[key]
    short = texts.get(key + SHORT)
    if short is not None and cell_len(visible(text, multiline=False)) > width:
        return short
    return text


def _row_id(row: Row) -> tuple[str, str, str]:
    return (row.target.key, row.item.kind.value, row.item.name)


class CrossVaultScreen(ReportWorkerErrors, Dialog[Row | None]):
    """The frame, the crawl and the table; a subclass says which rows, in which columns."""

    DEFAULT_CSS = """
    CrossVaultScreen {
        #cross-vault {
            width: 95%;
            max-width: 140;
            height: 90%;
        }
        #cross-title, #cross-status {
            height: 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        #cross-status {
            color: $text-muted;
        }
        #cross-problems {
            display: none;
            height: auto;
            max-height: 5;
            color: $text-warning;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            &.-shown {
                display: block;
            }
        }
        #cross-table {
            height: 1fr;
            margin-top: 1;
            overflow-x: hidden;
            scrollbar-size-vertical: 1;
        }
        #cross-hint {
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & > .cross-vault--expired {
            color: $text-error;
        }
        & > .cross-vault--expiring {
            color: $text-warning;
        }
        & > .cross-vault--disabled {
            color: $text-muted;
            text-style: italic;
        }
        /* Under 100 columns, the whole width for the columns; a small terminal (40x12):
           the whole screen, no frame, the problems in a line (it names the vaults), the
           rest of the height for the rows. */
        &.-narrow #cross-vault {
            width: 100%;
            max-width: 100%;
        }
        &.-tiny #cross-vault, &.-short #cross-vault {
            width: 100%;
            max-width: 100%;
            height: 100%;
            border: none;
            padding: 0;
        }
        &.-short {
            #cross-table {
                margin: 0;
            }
            #cross-problems {
                max-height: 1;
            }
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "cross-vault--expired",
        "cross-vault--expiring",
        "cross-vault--disabled",
    }

    # Textual's own annotation (``ClassVar[...] | None``) makes a ClassVar here an error;
    # the vertical ones (-short, -tall) are the Dialog's.
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (60, "-narrow"), (100, "-wide")]  # noqa: RUF012

    #: The bindings' id prefix (``search``: ``search.refresh``, ``search.close``).
    PREFIX: ClassVar[str] = "cross"
    TITLE_TEXT: ClassVar[str] = "Across vaults"
    COLUMNS: ClassVar[tuple[Column, ...]] = ()

    @staticmethod
    def bindings(prefix: str, what: str) -> list[BindingType]:
        """The keys every cross-vault screen has, with ids under ``prefix``."""
        return [
            Binding("escape", "close", "Close", id=f"{prefix}.close", tooltip=f"Close the {what}"),
            Binding(
                "ctrl+r",
                "refresh",
                "Refresh",
                id=f"{prefix}.refresh",
                tooltip="List every vault again (not from the metadata cache)",
            ),
        ]

    def __init__(self, context: AppContext, account: Account) -> None:
        super().__init__()
        self.context = context
        self.account = account
        self.warn_days = context.settings.expiry_warning_days
        self.rows: list[Row] = []
        """Every row chosen (the table shows the first MAX_ROWS)."""
        self.result: CrawlResult | None = None
        """The last complete crawl, or the one under way before any is complete."""
        self.progress: Progress | None = None
        """The crawl under way (None once it has ended)."""
        self.key_facts = False
        """Read each key's type (``type:`` searches): one GET a key not read before."""
        self.failure = ""
        """Why the last crawl stopped (the sign-in expired), if it did."""
        self._rematch_due = False
        self._crawls = 0
        self._crawled = 0
        """The last crawl asked for has ended when the two are equal."""
        self._asked = 0
        self._answered = 0
        """The rows are those of the last rematch when the two are equal."""
        self._live = False

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="cross-vault", classes="dialog"):
            yield Static(self.title_text(), id="cross-title", classes="dialog-title", markup=False)
            yield from self.compose_top()
            yield Static("", id="cross-status", markup=False)
            yield Static("", id="cross-problems", markup=False)
            yield DataTable(id="cross-table", cursor_type="row", zebra_stripes=True)
            yield Static(self.hint(), id="cross-hint", classes="dialog-hint", markup=False)

    def title_text(self) -> str:
        return self.TITLE_TEXT

    def compose_top(self) -> ComposeResult:
        """What goes above the status line (the search's query box)."""
        yield from ()

    def hint(self) -> str:
        p = self.PREFIX
        return with_keys(self, f"enter open · {{{p}.refresh}} refresh · {{{p}.close}} close")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#cross-table", DataTable)

    def on_mount(self) -> None:
        self.show_status()
        self.start_crawl()

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self.show_rows)  # the columns fit the new width

    # -- the crawl ----------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.start_crawl(refresh=True)

    def start_crawl(self, refresh: bool = False) -> None:
        """Crawl (again); a crawl under way is cancelled."""
        self._crawls += 1
        self.crawl(self._crawls, refresh)

    @work(exclusive=True, group="cross-vault.crawl", exit_on_error=False)
    async def crawl(self, number: int, refresh: bool = False) -> None:
        """Every vault ARM lists, through the metadata cache (``refresh``: listed again).
        The first crawl's rows come in as the vaults answer; a later one's take the place
        of the rows on show once it is complete."""
        ctx, account = self.context, self.account
        crawler = Crawler(
            lambda url, on_throttle: ctx.vault_service(url, account, on_throttle=on_throttle),
            ctx.metadata_cache(account),
            refresh=refresh,
            key_facts=self.key_facts,
            on_progress=self._progressed,
        )
        self._live = self.result is None or self.progress is not None
        if self._live:
            self.result = crawler.result  # rows as the vaults answer
        self.progress = crawler.progress
        self.failure = ""
        self.show_status()
        arm = ArmClient(
            ctx.arm_url,
            ctx.credential(account),
            ctx.arm_scope,
            ca_bundle=ctx.ca_bundle,
            home_tenant=account.tenant_id or None,
        )
        try:
            result = await crawler.crawl(discover(arm, crawler.result.problems))
        except SessionExpired as exc:
            log.info("cross-vault crawl stopped: %s", exc)
            self.failure = (
                f"Your sign-in has expired ({exc.reason or exc}): reload a vault to sign in "
                f"again, then {key_for(self, f'{self.PREFIX}.refresh', 'ctrl+r')} here"
            )
            result = crawler.result
        finally:
            await arm.close()
        self.progress = None
        self._live = False
        self.result = result
        self._crawled = number
        log.info(
            "crawled %d vaults: %d listings read, %d from the cache, %d problems",
            result.vaults,
            result.crawled,
            result.from_cache,
            len(result.problems),
        )
        self.show_problems()
        self.rematch()

    def _progressed(self, progress: Progress) -> None:
        if not self.is_mounted or progress is not self.progress:
            return
        self.show_status()
        if self._live:
            self.show_problems()  # as they come: a crawl of many vaults takes a while
            if not self._rematch_due:
                self._rematch_soon()

    def _rematch_soon(self) -> None:
        """Choose the rows again within REMATCH_EVERY (not at every listing)."""
        self._rematch_due = True

        def due() -> None:
            self._rematch_due = False
            if self.is_mounted:
                self.rematch()

        self.set_timer(REMATCH_EVERY, due, name="cross-vault.rematch")

    # -- the rows -----------------------------------------------------------------------

    def select(self, found: list[tuple[Target, Item]], now: datetime) -> list[Row]:
        """The rows to show, in order (in a thread: no widget here)."""
        raise NotImplementedError

    def cells(self, row: Row, now: datetime) -> dict[str, str]:
        """Each column's text for ``row`` (untrusted: shown literally)."""
        raise NotImplementedError

    def rematch(self) -> None:
        """Choose the rows again from what has been crawled (a worker: off the loop)."""
        self._asked += 1
        self._match(self._asked)

    @work(exclusive=True, group="cross-vault.match", exit_on_error=False)
    async def _match(self, asked: int) -> None:
        result = self.result
        found = list(result.items()) if result is not None else []
        now = self.context.now()
        self.rows = await asyncio.to_thread(self.select, found, now)
        self._answered = asked
        self.show_rows()
        self.show_status()

    def row_style(self, row: Row, now: datetime) -> Style | str:
        status = row.item.status(now, self.warn_days)
        component = {
            Status.EXPIRED: "cross-vault--expired",
            Status.EXPIRING: "cross-vault--expiring",
            Status.DISABLED: "cross-vault--disabled",
        }.get(status)
        return self.get_component_rich_style(component) if component else ""

    def show_rows(self) -> None:
        """The rows, in columns that fit the table's width; the cursor stays on its row."""
        if not self.is_mounted:
            return
        table = self.table
        width = table.size.width - 1  # the scrollbar's column
        if width <= 0:
            return
        now = self.context.now()
        shown = self.rows[:MAX_ROWS]
        texts = [self.cells(row, now) for row in shown]
        natural = {
            c.key: max(
                [len(c.title)] + [cell_len(visible(t[c.key], multiline=False)) for t in texts]
            )
            for c in self.COLUMNS
        }
        short = {
            c.key: max(cell_len(visible(t.get(c.key + SHORT, t[c.key]))) for t in texts)
            for c in self.COLUMNS
            if texts and c.key + SHORT in texts[0]
        }
        fitted = fit_columns(self.COLUMNS, natural, width, short)
        current = self.highlighted
        table.clear(columns=True)
        for column, w in fitted:
            table.add_column(column.title, width=w, key=column.key)
        cursor = 0
        for n, (row, text) in enumerate(zip(shown, texts, strict=True)):
            style = self.row_style(row, now)
            table.add_row(
                *(_cell(_fitting(text, c.key, w), w, style) for c, w in fitted), key=str(n)
            )
            if current is not None and _row_id(row) == _row_id(current):
                cursor = n
        if shown:
            table.move_cursor(row=cursor, animate=False)

    @property
    def highlighted(self) -> Row | None:
        """The row under the cursor, if any."""
        table = self.table
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except RowDoesNotExist:
            return None
        if key is None or not key.isdigit() or int(key) >= len(self.rows):
            return None
        return self.rows[int(key)]

    def open_highlighted(self) -> None:
        row = self.highlighted
        if row is not None:
            self.dismiss(row)

    @on(DataTable.RowSelected, "#cross-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_highlighted()

    def action_close(self) -> None:
        self.dismiss(None)

    # -- status and problems ------------------------------------------------------------

    def summary(self) -> str:
        """What the rows are (``3 found``), once crawled."""
        raise NotImplementedError

    def show_status(self) -> None:
        if not self.is_mounted:
            return
        p = self.progress
        parts: list[str] = []
        if p is not None:
            found = f"{p.found}{'+' if p.discovering else ''}"
            line = f"Reading vaults: {p.done}/{found}"
            if p.throttled and p.throttled[0] in p.listing:
                name, wait = p.throttled
                line += f" · {name} throttled" + (f", waiting {wait:.0f} s" if wait else "")
            elif p.listing:
                more = len(p.listing) - 2
                line += f" · reading {', '.join(p.listing[:2])}{f' +{more}' if more > 0 else ''}"
            parts.append(line)
        if self.failure:
            parts.append(self.failure)
        result = self.result
        if result is not None and (p is None or self.rows):
            parts.append(self.summary())
            if len(self.rows) > MAX_ROWS:
                parts.append(f"the first {MAX_ROWS:,} shown")
            if p is None and not self.failure:
                parts.append(
                    f"{result.crawled} listings read now, {result.from_cache} from the cache"
                )
        status = self.query_one("#cross-status", Static)
        status.update(literal(" · ".join(parts), multiline=False), layout=False)

    def show_problems(self) -> None:
        """The vaults (and subscriptions) that could not be read: named on the first
        line, then one line each, with why."""
        result = self.result
        problems = result.problems if result is not None else []
        panel = self.query_one("#cross-problems", Static)
        if not problems:
            panel.remove_class("-shown")
            panel.update("")
            return
        vaults = sorted({p.target.name for p in problems if p.target is not None}, key=str.lower)
        others = sorted({p.where for p in problems if p.target is None}, key=str.lower)
        text = Text()
        text.append("Could not read ", style="bold")
        if vaults:
            text.append(f"{len(vaults)} vault{'s' if len(vaults) != 1 else ''}: ", style="bold")
            text.append_text(literal(", ".join(vaults), multiline=False))
        if others:  # a subscription, a tenant, ARM itself
            text.append("; " if vaults else "")
            text.append_text(literal(", ".join(others), multiline=False))
        if any(isinstance(p.error, AuthenticationFailed) for p in problems):
            text.append(" (sign-in refused)")
        if any(p.cached_age is not None for p in problems):
            text.append(" · shown as cached before", style="italic")
        for line in problem_lines(problems):
            text.append("\n")
            text.append_text(literal(line, multiline=False))
        panel.update(text)
        panel.add_class("-shown")

    @property
    def crawling(self) -> bool:
        return self._crawled != self._crawls

    @property
    def settled(self) -> bool:
        """No crawl under way, and the rows chosen from the last one (tests wait on it)."""
        return not self.crawling and not self._rematch_due and self._answered == self._asked


# -- opening a row in its vault ---------------------------------------------------------


def open_in_vault(app: KvtuiApp, row: Row | None) -> None:
    """The callback of a cross-vault screen: its row's item, on show in its vault (the
    vault open already; else opened, replacing the one on show; from the picker, chosen
    there)."""
    if row is not None:
        app.run_worker(
            _open_in_vault(app, row), group="cross-vault.open", exclusive=True, exit_on_error=False
        )


async def _open_in_vault(app: KvtuiApp, row: Row) -> None:
    from kvtui.ui.screens.picker import PickerScreen
    from kvtui.ui.screens.vault import VaultScreen

    url, kind, name = row.target.url, row.item.kind, row.item.name

    def vault_of(screen: object) -> VaultScreen | None:
        """``screen``, if it is this row's vault."""
        if isinstance(screen, VaultScreen) and normalize_url(screen.vault_url) == normalize_url(
            url
        ):
            return screen
        return None

    vault = vault_of(app.screen)
    if vault is not None:
        vault.show_item(kind, name)
        return
    picker = app.screen
    if isinstance(picker, PickerScreen):
        # The picker's caller opens the vault chosen: this one; then the item.
        opened: asyncio.Future[VaultScreen] = asyncio.get_running_loop().create_future()

        def changed(new: object) -> None:
            found = vault_of(new)
            if found is not None and not opened.done():
                opened.set_result(found)

        app.screen_change_signal.subscribe(app, changed, immediate=True)
        try:
            picker.dismiss(normalize_url(url))
            with suppress(asyncio.TimeoutError):
                (await asyncio.wait_for(opened, 30)).show_item(kind, name)
        finally:
            app.screen_change_signal.unsubscribe(app)
        return
    await app.open_vault(url, name=row.target.name)
    vault = vault_of(app.screen)
    if vault is not None:
        vault.show_item(kind, name)
