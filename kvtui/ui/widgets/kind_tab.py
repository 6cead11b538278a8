"""One kind of item (secrets, keys or certificates) in a vault: its filter box, table,
detail pane, status line and error panel, the listing worker and the detail reader.

Each tab keeps its own state as attributes (``listing``, ``error``, ``stale``,
``loader``) and posts :class:`KindTab.Changed` when its label should change (a count,
a warning). The vault screen composes three of them and routes the app's keys; what a
key does to an item is in :mod:`kvtui.ui.operations`.

Enter (:class:`ItemTable.Selected`) opens the highlighted item in a full-height view
of the same tab: the table and filter make way for the item's details, its versions
and the keys of its actions; :meth:`close_item` brings the table back, where it was.

A listing keeps the rows on show (the cursor, the filter, the sort) until the new one
is complete, then swaps them in one step: a fault midway (a 429, a 403, the network)
leaves the whole earlier list, marked stale. After a renewed sign-in the listing starts
over the same way (:meth:`kvtui.core.session.VaultSession.list_pages`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import DescendantBlur, DescendantFocus
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from kvtui.core.cache import Cached, MetadataCache
from kvtui.core.errors import PermissionDenied, SessionExpired, VaultError
from kvtui.core.kinds import KINDS, Detail, carry_facts, fill_facts
from kvtui.core.models import Item, Kind
from kvtui.core.session import VaultSession
from kvtui.ui.gcpolicy import page_loaded, replaced
from kvtui.ui.keys import key_for
from kvtui.ui.operations import Operation, applying
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.text import literal, visible
from kvtui.ui.widgets.deleted_list import DeletedList, count_text
from kvtui.ui.widgets.detail_pane import DetailPane
from kvtui.ui.widgets.error_panel import ErrorPanel, not_signed_in_message
from kvtui.ui.widgets.item_table import ItemTable
from kvtui.ui.widgets.item_view import ItemView
from kvtui.ui.widgets.versions_list import VersionsList
from kvtui.ui.writing import undo_delete

log = logging.getLogger("kvtui.ui.vault")

#: Keys and certificates whose details are read in the background for the table.
FILL_FIRST = 100
#: Cached rows go on screen, and are compared with the live listing, this many at a
#: time between frames (50k rows in one go would stall the screen).
CACHE_CHUNK = 2000


async def _same(shown: list[Item], listed: list[Item]) -> bool:
    """Whether ``listed`` holds the same items as ``shown``, in the same states
    (compared a chunk at a time between frames)."""
    if len(shown) != len(listed):
        return False
    before: dict[str, tuple[object, ...]] = {}
    for n, item in enumerate(shown, 1):
        before[item.name] = _state(item)
        if n % CACHE_CHUNK == 0:
            await asyncio.sleep(0)
    for n, item in enumerate(listed, 1):
        if before.get(item.name) != _state(item):
            return False
        if n % CACHE_CHUNK == 0:
            await asyncio.sleep(0)
    return True


def _state(item: Item) -> tuple[object, ...]:
    """What a listed item's change shows in (a new version updates ``updated``)."""
    return (item.updated, item.enabled, item.expires, item.not_before, item.content_type,
            sorted(item.tags.items()))  # fmt: skip


#: Wait this long on an item before reading its details (holding an arrow key down).
DETAIL_DELAY = 0.15
#: While a listing streams in, its count is updated at most this often.
STATUS_EVERY = 0.1


def _marks_and_filter(status: Text, table: ItemTable) -> Text:
    """A status line's tail: how many rows are marked, and the filter."""
    marked = len(table.marked_items)
    if marked:
        status.append(f"  {marked:,} marked", style="bold")
    if table.filter_text:
        status.append("  filter: ", style="dim")
        status.append_text(literal(table.filter_text, multiline=False))
    return status


class KindTab(ReportWorkerErrors, Vertical):
    """Secrets, keys or certificates of one vault."""

    # Not scoped: the rules follow the screen's size classes (VaultScreen.narrow/.short).
    SCOPED_CSS: ClassVar[bool] = False
    DEFAULT_CSS = """
    KindTab { height: 1fr; }
    KindTab .kind-body { height: 1fr; }
    KindTab .kind-body > ItemTable { width: 3fr; min-width: 86; height: 1fr; }
    KindTab .kind-body > DetailPane {
        width: 2fr; min-width: 30; height: 1fr; border-left: vkey $panel-lighten-2;
    }
    KindTab .vault-filter { height: 3; border: tall $accent; }
    KindTab .vault-status { height: 1; color: $text-muted; padding: 0 1; }
    /* The item view (enter): the item's details, versions and actions, full height. */
    KindTab.-open .vault-filter, KindTab.-open .kind-body > ItemTable { display: none; }
    KindTab.-open .kind-body { layout: vertical; }
    KindTab.-open .kind-body > DetailPane {
        width: 1fr; min-width: 0; height: 1fr; border-left: none;
    }
    KindTab ItemView { display: none; border-top: hkey $panel-lighten-2; }
    KindTab.-open ItemView { display: block; }

    VaultScreen.narrow KindTab .kind-body { layout: vertical; }
    VaultScreen.narrow KindTab .kind-body > ItemTable { width: 1fr; min-width: 0; height: 3fr; }
    VaultScreen.narrow KindTab .kind-body > DetailPane {
        width: 1fr; height: 2fr; border-left: none; border-top: hkey $panel-lighten-2;
    }
    VaultScreen.narrow KindTab.-open .kind-body > DetailPane { height: 1fr; border-top: none; }

    /* A short terminal (under 20 rows, e.g. 40x12): a one-line filter box (and a
       shorter error panel); under the table, the detail pane makes way for the rows
       while filtering and takes most of the height while a value is revealed. */
    VaultScreen.short KindTab .vault-filter { height: 1; border: none; padding: 0 1; }
    VaultScreen.short KindTab ItemTable { scrollbar-size-horizontal: 0; }
    VaultScreen.narrow.short KindTab .kind-body > ItemTable { height: 1fr; min-height: 2; }
    VaultScreen.narrow.short KindTab .kind-body > DetailPane { height: 1fr; min-height: 2; }
    VaultScreen.narrow.short KindTab .kind-body > DetailPane.-revealed { height: 3fr; }
    VaultScreen.narrow.short KindTab.filtering DetailPane { display: none; }
    """

    class Changed(Message):
        """The tab's label changed (a count, listing, a warning): ``tab.label``."""

        def __init__(self, tab: KindTab) -> None:
            super().__init__()
            self.tab = tab

    def __init__(
        self,
        kind: Kind,
        session: VaultSession,
        *,
        warn_days: int,
        now: Callable[[], datetime],
        read_only: bool = False,
        clipboard_seconds: float = 30,
        cache: Callable[[], MetadataCache | None] | None = None,
    ) -> None:
        """``cache()``: the signed-in account's metadata cache, or None (off)."""
        super().__init__(id=f"tab-{kind.value}")
        self._cache_of = cache or (lambda: None)
        self.cached: Cached | None = None
        """The cached listing on show until the live listing is complete."""
        self.since_cache = ""
        """What the live listing found changed since the cached one, for the status."""
        self._cache_tried = False
        self._held_shown = 0
        """How many rows of the preview's held listing :meth:`_show_held` showed."""
        self.kind = kind
        self.ops = KINDS[kind]
        self.session = session
        self.warn_days = warn_days
        self.now = now
        self.read_only = read_only
        self.clipboard_seconds = clipboard_seconds
        self.loader: Worker[None] | None = None
        self.listing = False
        self.error: VaultError | None = None
        self.stale = False
        """The rows on show are from an earlier listing: a reload failed."""
        self.relisted: int | None = None
        """While a reload lists in the background: how many items it has so far."""
        self._earlier = False
        self._fresh: list[Item] = []
        self._status_due = False
        self._opened = ""
        """The name of the item in the item view."""
        v = kind.value
        self.filter_box = Input(
            placeholder="filter: name, tag:key=value, type:…, status:expired",
            id=f"filter-{v}",
            classes="vault-filter",
        )
        self.live_table = ItemTable(kind, warn_days=warn_days, now=now, id=f"table-{v}")
        self.live_table.waiting = True  # it lists once the screen is up
        self.deleted = DeletedList(self, kind, warn_days=warn_days, now=now)
        self.showing_deleted = False
        """The deleted items are on show (``D``), not the listed ones."""
        self._undo: tuple[list[str], float] | None = None
        self.pane = DetailPane(warn_days=warn_days, now=now, id=f"detail-{v}")
        self.status = Static("", id=f"status-{v}", classes="vault-status")
        self.error_panel = ErrorPanel(v)
        self.item_view = ItemView(v)

    def compose(self) -> ComposeResult:
        self.filter_box.display = False
        yield self.filter_box
        yield self.error_panel
        with Horizontal(classes="kind-body"):
            yield self.live_table
            yield self.deleted.table
            yield self.pane
            yield self.item_view
        yield self.status

    def on_mount(self) -> None:
        # The table follows the box as its value changes, before the box is drawn: one
        # frame shows both. (After Input.Changed, the table came a frame after the box.)
        self.watch(self.filter_box, "value", self._filter_changed, init=False)
        self._show_held()

    def _show_held(self) -> None:
        """The cached listing the app's preview read already, in the table's first
        frame (its first rows; :meth:`_show_cached` adds the others): the preview's
        rows stay on screen as the vault screen replaces it, never an empty table."""
        cache = self._cache_of()
        held = cache.take_held(self.session.vault_url, self.kind) if cache else None
        if held is None or not held.items:
            return
        self.cached = held
        self._held_shown = min(len(held.items), CACHE_CHUNK)
        self.live_table.append_items(held.items[: self._held_shown])
        self.update_status()

    @property
    def table(self) -> ItemTable:
        """The table on show: the listed items, or the deleted ones (``D``)."""
        return self.deleted.table if self.showing_deleted else self.live_table

    @property
    def label(self) -> str:
        """The tab's title: while listing, the count is on the status line only (a tab
        label that grows lays out the screen and redraws the tabs)."""
        if self.showing_deleted:
            return self.deleted.label(self.ops.title)
        total = self.live_table.total_count
        if self.listing:
            label = f"{self.ops.title}…"
        else:
            label = self.ops.title if total == 0 else f"{self.ops.title} {total:,}"
        return label + (" ⚠" if self.error is not None else "")

    # -- listing --------------------------------------------------------------------------

    def reload(self) -> None:
        """(Re)list in the background; a listing under way is cancelled."""
        self.loader = self.run_worker(
            self._load, name=f"load-{self.kind.value}", exclusive=True, exit_on_error=False
        )

    async def after_listing(self) -> None:
        """Until a listing under way has ended."""
        loader = self.loader
        if loader is not None and not loader.is_finished:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await loader.wait()

    def _begin(self) -> None:
        """A listing starts (or starts over, after a renewed sign-in)."""
        self._earlier = self.live_table.total_count > 0
        self._fresh = []
        if not self._earlier:
            self.live_table.clear()
        self.relisted = 0 if self._earlier else None
        self.show_error(None)
        self.listing = True
        self.live_table.waiting = True
        self.update_status()

    async def _load(self) -> None:
        table = self.live_table
        if not self._cache_tried:
            self._cache_tried = True
            await self._show_cached()
        self._begin()
        try:
            async for page in self.session.list_pages(self.kind, restart=self._begin):
                if self._earlier:
                    self._fresh.extend(page)
                    self.relisted = len(self._fresh)
                else:
                    table.append_items(page)
                page_loaded(len(self._fresh) if self._earlier else table.total_count)
                self.update_status_soon()
        except VaultError as exc:
            self.listing = False
            self.relisted = None
            self._set_stale(self._earlier)
            log.warning("listing %s failed: %s", self.kind.value, exc)
            if isinstance(exc, SessionExpired):
                exc = VaultError(not_signed_in_message(exc, key_for(self, "vault.reload")))
            self.show_error(exc)
            return
        finally:
            self.listing = False
            self.live_table.waiting = False
            self.relisted = None
        cached, self.cached = self.cached, None
        if self._earlier:
            if cached is not None and await _same(table.items, self._fresh):
                # The cached rows are the vault's: nothing to redraw (50k rows replaced
                # at once hold the screen for a tenth of a second and more).
                self._fresh = []
            else:
                carry_facts(table.items, self._fresh)
                table.replace_items(self._fresh)
                self._fresh = []
                replaced(table.total_count)  # the items listed before can go
        if cached is not None:
            await self._reconcile(cached)
        self._set_stale(False)
        self.update_status()
        self._keep()
        if self.ops.facts is not None and table.total_count:
            filler: Worker[None] = self.run_worker(
                self._fill_facts, group="fill", exclusive=True, exit_on_error=False
            )
            log.debug("started %s", filler.name)

    # -- the metadata cache (kvtui/core/cache.py) -------------------------------------

    async def _show_cached(self) -> None:
        """The cached listing, on screen before the vault's first answer (in chunks:
        no long stall at 50k rows); the live listing then takes its place."""
        table = self.live_table
        cached, shown = self.cached, self._held_shown
        if cached is None or not shown:
            # Not held from the preview (_show_held): the preview's own read of the
            # file, if it is still under way; else read from the file.
            cache = self._cache_of()
            if cache is None or table.total_count:
                return
            url = self.session.vault_url
            reading = cache.reading(url, self.kind)
            if reading is not None:
                await asyncio.wrap_future(reading)
                cached = cache.take_held(url, self.kind)
            if cached is None:
                cached = await asyncio.to_thread(cache.load, url, self.kind)
            if cached is None or not cached.items or table.total_count:
                return
            self.cached, shown = cached, 0
        items = cached.items
        for start in range(shown, len(items), CACHE_CHUNK):
            if start:
                await asyncio.sleep(0)
            table.append_items(items[start : start + CACHE_CHUNK])
        log.info("%s: %d cached rows shown (%s)", self.kind.value, len(items), cached.age_text())
        self.update_status()

    async def _reconcile(self, cached: Cached) -> None:
        """Mark the rows new or changed since the cached listing; say what went."""
        before = {i.name: i for i in cached.items}
        changes: dict[str, str] = {}
        seen: set[str] = set()
        for n, item in enumerate(self.live_table.items, 1):
            seen.add(item.name)
            was = before.get(item.name)
            if was is None:
                changes[item.name] = "new"
            elif _state(was) != _state(item):
                changes[item.name] = "changed"
            if n % CACHE_CHUNK == 0:
                await asyncio.sleep(0)
        gone = sorted(set(before) - seen)
        self.live_table.set_changes(changes)
        new = sum(1 for c in changes.values() if c == "new")
        parts = [f"{new:,} new", f"{len(changes) - new:,} changed", f"{len(gone):,} gone"]
        if not changes and not gone:
            self.since_cache = f"  unchanged since {cached.age_text()}"
            return
        self.since_cache = f"  since {cached.age_text()}: {', '.join(parts)}"
        said = f"{self.ops.title} since {cached.age_text()}: {', '.join(parts)}"
        if gone:
            shown = ", ".join(visible(n, multiline=False) for n in gone[:5])
            said += f" ({shown}{', …' if len(gone) > 5 else ''})"
        self.notify(visible(said + ". New rows are marked +, changed ones ~."), markup=False)

    def _keep(self) -> None:
        """The listing on show into the cache (in a thread), for the next start."""
        cache = self._cache_of()
        if cache is None or self.stale:
            return
        items = list(self.live_table.items)
        url = self.session.vault_url
        self.run_worker(
            partial(cache.store, url, self.kind, items),
            # A description, or Textual describes the worker with repr(work): every
            # item's repr (0.4 s of the event loop at 20,000 items).
            name="cache-store",
            description=f"metadata cache: store {len(items)} {self.kind.value}",
            thread=True,
            group=f"cache-{self.kind.value}",
            exit_on_error=False,
        )

    def _cache_put(self, items: list[Item]) -> None:
        cache = self._cache_of()
        if cache is not None and items:
            url = self.session.vault_url
            work = partial(cache.put, url, self.kind, list(items))
            self.run_worker(work, "cache-put", "cache-write", "metadata cache: put",
                            thread=True, exit_on_error=False)  # fmt: skip

    def _cache_remove(self, names: list[str]) -> None:
        cache = self._cache_of()
        if cache is not None and names:
            url = self.session.vault_url
            work = partial(cache.remove, url, self.kind, list(names))
            self.run_worker(work, "cache-remove", "cache-write", "metadata cache: remove",
                            thread=True, exit_on_error=False)  # fmt: skip

    def _set_stale(self, stale: bool) -> None:
        self.stale = stale
        self.live_table.set_class(stale, "-stale")

    async def _fill_facts(self) -> None:
        """Read the details of the first keys or certificates, so the table's third
        column (key type, subject) has something to show; a few at a time."""
        facts = self.ops.facts
        wanted = [i for i in self.live_table.rows[:FILL_FIRST] if not (i.key_type or i.subject)]
        if facts is None or not wanted:
            return
        limit = asyncio.Semaphore(4)
        service = self.session.service

        async def fill(item: Item) -> None:
            async with limit:
                try:
                    await facts(service, item)
                except VaultError as exc:  # the detail pane says why, for the one shown
                    log.info("no detail for %s: %s", item.name, exc)

        await asyncio.gather(*(fill(i) for i in wanted))
        self.live_table.refresh_items()
        self._keep()  # with the key types and subjects read

    # -- status line and error panel ------------------------------------------------------

    def update_status(self) -> None:
        if self.showing_deleted:
            self._deleted_status()
            return
        table = self.live_table
        noun = self.kind.value
        total = table.total_count
        if self.listing and self.relisted is not None:
            shown = f"{table.row_count:,} of the " if table.filter_text else "the "
            before = self.cached.age_text() if self.cached is not None else "listed before"
            verb = "Checking" if self.cached is not None else "Reloading"
            text = f"{verb}… {self.relisted:,} {noun} so far; showing {shown}{total:,} {before}"
        elif self.listing and self.cached is not None:
            text = f"{total:,} {noun} {self.cached.age_text()}; checking with the vault…"
        else:
            text = count_text(table, noun, listing=self.listing, failed=self.error is not None)
        status = _marks_and_filter(Text(text), table)
        if self.since_cache and not self.listing:
            status.append(self.since_cache, style="italic")
        if self.stale and not self.listing:
            status.append("  stale: the reload failed (see above)", style="bold")
        elif self.error is not None and total:
            status.append("  (listing stopped: see above)", style="bold")
        # One line high: a new text needs no layout of the screen.
        self.status.update(status, layout=False)
        self.post_message(self.Changed(self))

    @property
    def status_pending(self) -> bool:
        """A status update is due (within STATUS_EVERY seconds)."""
        return self._status_due

    def update_status_soon(self) -> None:
        """The status line and tab label within STATUS_EVERY seconds: each update lays
        out the screen again, too much for every page of a long listing."""
        if self._status_due:
            return
        self._status_due = True

        def update() -> None:
            self._status_due = False
            if self.is_mounted:
                self.update_status()

        self.set_timer(STATUS_EVERY, update, name=f"status-{self.kind.value}")

    def _deleted_status(self) -> None:
        status = _marks_and_filter(self.deleted.status(), self.deleted.table)
        back = key_for(self, "vault.deleted", "D")
        status.append(f"  {back}: back to the list", style="dim")
        self.status.update(status, layout=False)
        self.post_message(self.Changed(self))

    def note(self, text: str) -> None:
        """A word on the status line until the next update (``Your sign-in expired``)."""
        self.status.update(literal(text))

    def show_error(self, exc: VaultError | None) -> None:
        self.error = exc
        if not self.showing_deleted:
            self.error_panel.show(exc)
        self.update_status()

    # -- filter ---------------------------------------------------------------------------

    def start_filter(self) -> None:
        self.filter_box.display = True
        self.filter_box.focus()
        self.set_class(True, "filtering")  # this frame already: the rows get the room

    def _filter_changed(self, value: str) -> None:
        self.table.set_filter(value)
        self.update_status()

    @on(Input.Submitted, ".vault-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filter_box.display = False  # the status line shows the filter
        self.table.focus()

    @property
    def filtering(self) -> bool:
        return self.filter_box.has_focus or bool(self.table.filter_text)

    def clear_filter(self) -> None:
        self.filter_box.value = ""
        self.filter_box.display = False
        self.table.set_filter("")
        self.table.focus()
        self.update_status()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        """``.filtering`` while the filter box has the focus (the CSS above)."""
        self.set_class(event.widget is self.filter_box, "filtering")

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        if event.widget is self.filter_box:
            self.set_class(False, "filtering")

    # -- the highlighted item -------------------------------------------------------------

    @on(ItemTable.Highlighted)
    def _highlighted(self, event: ItemTable.Highlighted) -> None:
        event.stop()
        if event.table is not self.table:
            return  # the table not on show changed (a write): the pane shows the other
        if event.item is not event.table.cursor_item:
            # Stale: the cursor moved on before this message arrived (a fast Down, Home,
            # r). Acting on it would show, then drop, the wrong item.
            return
        if self.is_open and (event.item is None or event.item.name != self._opened):
            self.close_item()  # the item opened is no longer listed (a reload)
        had_item = self.pane.item is not None
        if self.show_item(event.item) and had_item != (event.item is not None):
            # The keys that need an item come and go (the footer follows).
            self.screen.refresh_bindings()

    def show_item(self, item: Item | None) -> bool:
        """The pane shows ``item`` and reads its details; False if it already did."""
        if self.pane.item is item:
            return False
        self.pane.show_item(item)
        if item is not None and item.deleted is None:
            self._start_detail(item)
        return True

    def _start_detail(self, item: Item) -> None:
        self.run_worker(
            self._read_detail(item), group="detail", exclusive=True, exit_on_error=False
        )

    def reread_detail(self) -> None:
        """Read the highlighted item's details again (what failed may work now)."""
        item = self.table.cursor_item
        if item is not None and self.pane.item is item:
            self._start_detail(item)

    async def _read_detail(self, item: Item) -> None:
        await asyncio.sleep(DETAIL_DELAY)
        pane = self.pane
        read = self.ops.detail
        detail: Detail
        try:
            detail = await self.session.call(lambda s: read(s, item.name))
        except VaultError as exc:
            if pane.item is not item:
                return
            if self.ops.reveals and isinstance(exc, PermissionDenied):
                # A list-only caller: the listed attributes are all there is (r says why).
                pane.show_detail_error("Listed attributes only: the rest needs secrets get.")
            else:
                pane.show_detail_error(f"Details: {exc}")
            return
        if pane.item is not item:
            return
        pane.show_detail(detail)
        if fill_facts(item, detail):
            self.live_table.refresh_items()

    # -- operations and the item view -------------------------------------------------

    def run_operation(self, op: Operation, item: Item | None) -> None:
        self.run_worker(
            op.run(self, item),  # type: ignore[arg-type]
            group=op.group,
            exclusive=op.exclusive,
            exit_on_error=False,
        )

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @on(ItemTable.Selected)
    def _selected(self, event: ItemTable.Selected) -> None:
        event.stop()
        self.open_item()

    def open_item(self) -> None:
        """The highlighted item, full height: details, versions, actions."""
        item = self.table.cursor_item
        if item is None or self.showing_deleted:
            return
        self.show_item(item)
        self._opened = item.name
        self.add_class("-open")
        ops = applying(self.kind, item, read_only=self.read_only)
        # Back first: on a small terminal the line is cut at its end.
        keys = [f"{key_for(self, 'vault.back', 'esc')} back"]
        keys += [f"{key_for(self, op.binding_id)} {op.label.lower()}" for op in ops if op.show]
        versions = VersionsList(
            self.session.service,
            self.kind,
            item.name,
            warn_days=self.warn_days,
            now=self.now,
            current=self.current_version(item),
            clipboard_seconds=self.clipboard_seconds,
        )
        self.item_view.show(" · ".join(keys), versions)
        self.pane.focus()

    def current_version(self, item: Item) -> str | None:
        """The item's current version id, if the pane has read it."""
        detail = self.pane.detail
        return detail.item.version if detail is not None and detail.item.name == item.name else None

    def close_item(self) -> None:
        """Back to the table, with its cursor and filter as they were."""
        self.pane.mask()
        self.item_view.clear()
        self.remove_class("-open")
        self.table.focus()

    # -- the deleted view and writes (kvtui/ui/writing.py) -------------------------------

    def toggle_deleted(self) -> None:
        """Show the deleted items instead of the listed ones, or back (``D``). The filter
        stays and applies to both; the deleted are listed when first shown."""
        if self.is_open:
            self.close_item()
        self.showing_deleted = not self.showing_deleted
        self.live_table.display = not self.showing_deleted
        self.deleted.table.display = self.showing_deleted
        table = self.table
        table.set_filter(self.filter_box.value)  # the box holds the filter of both
        self.pane.show_item(None)
        self.show_item(table.cursor_item)
        self.error_panel.show(self.deleted.error if self.showing_deleted else self.error)
        if not self.filter_box.has_focus:
            table.focus()
        if self.showing_deleted and self.deleted.stale:
            self.deleted.reload()
        self.update_status()
        self.screen.refresh_bindings()

    def written(self, items: list[Item], *, focus: str | None) -> None:
        """Items created or changed: in place in the list (no reload), and in the pane."""
        if items:
            self.live_table.put_items(items, focus=focus)
            self._cache_put(items)
            self._reshow()

    def removed(self, deleted: list[Item]) -> None:
        """Items deleted: out of the list; into the deleted view (when listed)."""
        if deleted:
            self.live_table.remove_names(i.name for i in deleted)
            self._cache_remove([i.name for i in deleted])
            self.deleted.put(deleted)
            self._reshow()

    def recovered(self, items: list[Item]) -> None:
        """Items recovered: out of the deleted view, into the list."""
        if items:
            self.deleted.table.remove_names(i.name for i in items)
            self.live_table.put_items(items)
            self._cache_put(items)
            self._reshow()

    def purged(self, names: list[str]) -> None:
        """Items purged: out of the deleted view."""
        if names:
            self.deleted.table.remove_names(names)
            self._reshow()

    def _reshow(self) -> None:
        """The pane shows the highlighted item afresh (its details read again: a write
        changed them), and the status line counts again."""
        self.pane.show_item(None)
        self.show_item(self.table.cursor_item)
        self.update_status()

    # -- undo a delete --------------------------------------------------------------

    def offer_undo(self, names: list[str], seconds: float) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        self._undo = (names, deadline)
        self.screen.refresh_bindings()

        def over() -> None:
            if self._undo is not None and self._undo[1] <= deadline:
                self._undo = None
                if self.is_mounted:
                    self.screen.refresh_bindings()

        self.set_timer(seconds, over, name="undo")

    @property
    def can_undo(self) -> bool:
        return self._undo is not None

    def undo(self) -> None:
        if self._undo is None:
            return
        names, _ = self._undo
        self._undo = None
        self.screen.refresh_bindings()
        self.run_worker(undo_delete(self, names), group="undo", exit_on_error=False)
