"""The vault screen: secrets, keys and certificates, each a tab with a table and a detail
pane, k9s-like keys (``/`` filter, ``?`` help, ``esc`` back, ``1``-``3`` tabs, ``ctrl+r``
reload).

All three tabs load at once, when the screen opens, each in a worker of its own (exclusive
per tab): the first page shows as soon as it arrives, the rest streams in with a count,
and an error stays in its tab (a 403 on keys leaves secrets working). Leaving the screen
cancels every worker. A sign-in that expires mid-session puts the login screen on top
and carries on where the user was.

Key type and size, and certificate subjects, are not in the service's list answers: the
table's third column shows them for keys and certificates once their details are read
(the highlighted item's at once; the first ones of each list in the background).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.events import DescendantBlur, DescendantFocus, Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from kvtui.core.auth import Account, SignInRequired
from kvtui.core.details import cer_to_pem, present_value
from kvtui.core.errors import (
    FirewallDenied,
    NetworkError,
    PermissionDenied,
    Throttled,
    TrustFailure,
    UnknownVault,
    VaultError,
)
from kvtui.core.models import CertificateDetail, Item, KeyDetail, Kind
from kvtui.core.references import CopyChoice, copy_choices, export_filename
from kvtui.core.vault import VaultService, key_detail_pem
from kvtui.ui.clipboard import SecretClipboard
from kvtui.ui.keys import KeyedHelp, key_for
from kvtui.ui.modals.copy_menu import CopyMenu
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.open_vault import OpenVaultScreen
from kvtui.ui.text import literal, visible
from kvtui.ui.widgets.detail_pane import Detail, DetailPane
from kvtui.ui.widgets.item_table import ItemTable

if TYPE_CHECKING:
    from kvtui.ui.launch import AppContext

log = logging.getLogger("kvtui.ui.vault")

T = TypeVar("T")

KINDS: tuple[Kind, ...] = (Kind.SECRETS, Kind.KEYS, Kind.CERTIFICATES)
TITLES = {Kind.SECRETS: "Secrets", Kind.KEYS: "Keys", Kind.CERTIFICATES: "Certificates"}
#: Below this width, the detail pane goes under the table (side by side, the table needs
#: 86 columns to show every column, and a pane under 50 columns wraps every value).
NARROW = 140
#: Below this height, the screen is compact (app.tcss, ``.short``): a one-line filter
#: box, a shorter error panel; under the table, the detail pane makes way for the
#: rows while filtering and takes most of the height while a value is revealed.
SHORT = 20
#: Keys and certificates whose details are read in the background for the table.
FILL_FIRST = 100
#: Wait this long on an item before reading its details (holding an arrow key down).
DETAIL_DELAY = 0.15
#: While a listing streams in, its count is updated at most this often.
STATUS_EVERY = 0.1


def keep_out_of_gc() -> None:
    """Collect the garbage made since the last call, then move everything still alive
    out of the garbage collector's way (``gc.freeze``).

    A listing keeps tens of thousands of items for as long as the screen is open; a
    full collection walking them all blocked frames for 50-80 ms at 10,000 items and
    more at 50,000 (bench/bench_app.py). Called after each page: the collection only
    walks what is not frozen yet (about a page's worth), and freezing after it leaves
    no garbage frozen (freezing without collecting held 200,000 dead objects at
    10,000 items). ``gc.unfreeze`` when the items go (reload, leaving the screen).
    """
    gc.collect()
    gc.freeze()


def sign_in_required(exc: BaseException) -> SignInRequired | None:
    """The SignInRequired behind a vault error (the credential raised it, the vault
    service classified it), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SignInRequired):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def not_signed_in_message(required: SignInRequired, reload: str = "ctrl+r") -> str:
    """What a listing says when it stopped for want of a token (``reload``: the key of
    vault.reload, :func:`kvtui.ui.keys.key_for`)."""
    if required.after_sign_in:
        return (
            "Signed in, but still no token for this vault: "
            f"{required.reason or 'no token'}. Press {reload} to sign in again."
        )
    return f"Not signed in: press {reload} to sign in and retry."


def error_hint(exc: VaultError, reload: str = "ctrl+r", open_vault: str = "o") -> str:
    """What to do about an error, after its message (``reload`` and ``open_vault``: the
    keys of vault.reload and vault.open, :func:`kvtui.ui.keys.key_for`)."""
    if isinstance(exc, TrustFailure):
        return "Retrying cannot help: start kvtui again with the right --ca-bundle."
    if isinstance(exc, UnknownVault):
        return f"Retrying cannot help: press {open_vault} to open another vault."
    if isinstance(exc, PermissionDenied):
        return f"Once the permission is granted, press {reload} to retry."
    if isinstance(exc, FirewallDenied):
        return f"From an allowed network, press {reload} to retry."
    if isinstance(exc, NetworkError):
        return f"The network may be down: press {reload} to retry."
    if isinstance(exc, Throttled):
        return f"Wait a moment, then press {reload} to retry."
    return f"Press {reload} to retry."


class VaultScreen(ReportWorkerErrors, Screen[None]):
    """One open vault."""

    HELP = KeyedHelp("""\
## The vault

Secrets, keys and certificates, one tab each (**{vault.tab_secrets}**,
**{vault.tab_keys}**, **{vault.tab_certificates}**).

- **{vault.filter}** filters as you type: words match names (substring, then fuzzy);
  `tag:env=prod`, `type:json`, `status:expired` narrow further.
  **enter** keeps the filter, **{vault.back}** clears it.
- Click a column title to sort by it; **{vault.sort_name}**/**{vault.sort_expires}**
  sort from the keyboard.
- **{vault.reveal}** reveals a secret's value until you move on; **{vault.copy}**
  copies it (the clipboard is cleared after a while).
- **{vault.reload}** reloads the tab; errors stay in their tab. The rows on show stay
  until the new list is complete, and stay, marked stale, if it fails.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash", "filter", "Filter", id="vault.filter", tooltip="Filter the table as you type"
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="vault.back",
            tooltip="Clear the filter, or hide a revealed value",
        ),
        Binding(
            "r",
            "reveal",
            "Reveal",
            id="vault.reveal",
            tooltip="Show the secret's value (hidden again when you move on)",
        ),
        Binding(
            "c",
            "copy",
            "Copy",
            id="vault.copy",
            tooltip="Copy the secret's value (cleared later), or the key/certificate as PEM",
        ),
        Binding(
            "y",
            "copy_menu",
            "Copy…",
            id="vault.copy_menu",
            tooltip="Copy the name, id, URI, App Service reference or az command",
        ),
        Binding(
            "v",
            "versions",
            "Versions",
            id="vault.versions",
            tooltip="Every version of the item, with details",
        ),
        Binding(
            "s",
            "save('pem')",
            "Save PEM",
            id="vault.save",
            tooltip="Save the public key or certificate as PEM",
        ),
        Binding(
            "S",
            "save('cer')",
            "Save CER",
            id="vault.save_cer",
            tooltip="Save the certificate as CER (DER)",
        ),
        Binding(
            "ctrl+r", "reload", "Reload", id="vault.reload", tooltip="List this tab's items again"
        ),
        Binding(
            "1",
            "tab('secrets')",
            "Secrets",
            show=False,
            id="vault.tab_secrets",
            tooltip="Show the secrets",
        ),
        Binding(
            "2", "tab('keys')", "Keys", show=False, id="vault.tab_keys", tooltip="Show the keys"
        ),
        Binding(
            "3",
            "tab('certificates')",
            "Certificates",
            show=False,
            id="vault.tab_certificates",
            tooltip="Show the certificates",
        ),
        Binding(
            "f6",
            "sort('name')",
            "Sort by name",
            show=False,
            id="vault.sort_name",
            tooltip="Sort by name (again: reverse)",
        ),
        Binding(
            "f7",
            "sort('expires')",
            "Sort by expiry",
            show=False,
            id="vault.sort_expires",
            tooltip="Sort by expiry date (again: reverse)",
        ),
        Binding(
            "f8",
            "sort('updated')",
            "Sort by update",
            show=False,
            id="vault.sort_updated",
            tooltip="Sort by last update (again: reverse)",
        ),
        Binding("o", "open_vault", "Open vault", id="vault.open", tooltip="Open another vault"),
        Binding("question_mark", "help", "Help", id="vault.help", tooltip="Show or hide every key"),
    ]

    def __init__(
        self,
        context: AppContext,
        account: Account,
        vault_url: str,
        *,
        name: str = "",
        tenant_id: str = "",
    ) -> None:
        """``name`` and ``tenant_id`` (from the picker) go into the recent vaults, which
        the vault joins at its first successful answer (never a vault that fails)."""
        super().__init__()
        self.context = context
        self.account = account
        self.vault_url = vault_url
        self._recent_as = (name, tenant_id)
        self._recorded = False
        self.settings = context.settings
        self.warn_days = context.settings.expiry_warning_days
        self.read_only = context.settings.read_only
        self.service: VaultService = self._new_service(account)
        self.loaders: dict[Kind, Worker[None]] = {}
        self.listing: dict[Kind, bool] = dict.fromkeys(KINDS, False)
        self.loaded: dict[Kind, int] = dict.fromkeys(KINDS, 0)
        self.errors: dict[Kind, VaultError | None] = dict.fromkeys(KINDS, None)
        self._details: dict[Kind, Detail | None] = dict.fromkeys(KINDS, None)
        self.stale: dict[Kind, bool] = dict.fromkeys(KINDS, False)
        """The rows on show are from an earlier listing: a reload failed."""
        self.relisted: dict[Kind, int | None] = dict.fromkeys(KINDS, None)
        """While a reload lists in the background: how many items it has so far."""
        self._throttled: dict[asyncio.Task[Any] | None, float] = {}
        """Until when each task's request waits after a 429 (time.monotonic())."""
        self._status_due: set[Kind] = set()
        self._sign_in_lock = asyncio.Lock()
        self._auth_generation = 0
        self._signed_in = True

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="vault-top"):
            yield Static(self._header(), id="vault-header")
            badge = Static("READ-ONLY", id="vault-read-only")
            badge.display = self.read_only
            yield badge
        throttle = Static("", id="vault-throttle")
        throttle.display = False
        yield throttle
        with TabbedContent(id="vault-tabs"):
            for kind in KINDS:
                with TabPane(TITLES[kind], id=kind.value), Vertical(classes="kind-main"):
                    filter_input = Input(
                        placeholder="filter: name, tag:key=value, type:…, status:expired",
                        id=f"filter-{kind.value}",
                        classes="vault-filter",
                    )
                    filter_input.display = False
                    yield filter_input
                    # The message scrolls (a real RBAC 403 is a dozen lines at 80
                    # columns); what to do about it stays in view under it.
                    box = Vertical(id=f"errorbox-{kind.value}", classes="vault-error")
                    box.display = False
                    with box:
                        with VerticalScroll(
                            id=f"error-scroll-{kind.value}", classes="vault-error-scroll"
                        ):
                            yield Static(
                                "", id=f"error-{kind.value}", classes="vault-error-message"
                            )
                        yield Static("", id=f"error-hint-{kind.value}", classes="vault-error-hint")
                    with Horizontal(classes="kind-body"):
                        yield ItemTable(
                            kind,
                            warn_days=self.warn_days,
                            now=self.context.now,
                            id=f"table-{kind.value}",
                        )
                        yield DetailPane(
                            warn_days=self.warn_days,
                            now=self.context.now,
                            id=f"detail-{kind.value}",
                        )
                    yield Static("", id=f"status-{kind.value}", classes="vault-status")
        yield Footer()

    def _header(self) -> Text:
        header = Text("Vault ", style="dim")
        header.append_text(literal(self.vault_url, "bold", multiline=False))
        header.append("  as ", style="dim")
        header.append_text(literal(self.account.username, multiline=False))
        return header

    def on_mount(self) -> None:
        keep_out_of_gc()  # what start-up made lives as long as the app
        self._apply_size(self.app.size.width, self.app.size.height)
        self.set_interval(0.5, self._tick_throttle)
        self._start()

    def _start(self) -> None:
        """Start loading every tab, once TabbedContent has mounted its panes."""
        if not self.query(ItemTable) or not all(t.is_mounted for t in self.query(ItemTable)):
            self.call_after_refresh(self._start)
            return
        self._table(Kind.SECRETS).focus()
        for kind in KINDS:
            # The table follows the box as its value changes, before the box is drawn:
            # one frame shows both. (After Input.Changed, the table came a frame after
            # the box, and Textual's next frame was 17-33 ms later.)
            box = self._filter(kind)
            self.watch(box, "value", partial(self._filter_changed, kind), init=False)
            self.load(kind)

    async def on_unmount(self) -> None:
        gc.unfreeze()  # this vault's items can go
        await self.service.close()
        log.info("closed the session of %s", self.vault_url)

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        self.set_class(width < NARROW, "narrow")
        self.set_class(height < SHORT, "short")

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        self._mark_filtering(event.widget)

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        self._mark_filtering(self.focused)

    def _mark_filtering(self, focused: Widget | None) -> None:
        """``.filtering`` on a tab while its filter box has the focus (app.tcss)."""
        box = focused if isinstance(focused, Input) and focused.has_class("vault-filter") else None
        for main in self.query(".kind-main"):
            main.set_class(box is not None and box.parent is main, "filtering")

    # -- widgets of a tab -----------------------------------------------------------------

    def _table(self, kind: Kind) -> ItemTable:
        return self.query_one(f"#table-{kind.value}", ItemTable)

    def _pane(self, kind: Kind) -> DetailPane:
        return self.query_one(f"#detail-{kind.value}", DetailPane)

    def _filter(self, kind: Kind) -> Input:
        return self.query_one(f"#filter-{kind.value}", Input)

    @property
    def kind(self) -> Kind:
        """The kind of the tab on show."""
        active = self.query_one(TabbedContent).active
        return Kind(active) if active else Kind.SECRETS

    @property
    def current_item(self) -> Item | None:
        return self._table(self.kind).cursor_item

    def _kind_of(self, widget_id: str | None) -> Kind | None:
        if not widget_id:
            return None
        suffix = widget_id.rsplit("-", 1)[-1]
        return Kind(suffix) if suffix in Kind._value2member_map_ else None

    # -- status lines -------------------------------------------------------------------

    def _update_status(self, kind: Kind) -> None:
        table = self._table(kind)
        noun = kind.value
        total = table.total_count
        relisted = self.relisted[kind]
        if self.listing[kind] and relisted is not None:
            shown = f"{table.row_count:,} of the " if table.filter_text else "the "
            text = f"Reloading… {relisted:,} {noun} so far; showing {shown}{total:,} listed before"
        elif self.listing[kind]:
            text = f"Loading… {total:,} {noun}"
            if table.filter_text:
                text += f", {table.row_count:,} match"
        elif self.errors[kind] is not None and total == 0:
            text = f"No {noun} listed (see the error above)"
        elif table.filter_text:
            text = f"{table.row_count:,} of {total:,} {noun} match"
        else:
            text = f"{total:,} {noun}"
        status = Text(text)
        if table.filter_text:
            status.append("  filter: ", style="dim")
            status.append_text(literal(table.filter_text, multiline=False))
        if self.stale[kind] and not self.listing[kind]:
            status.append("  stale: the reload failed (see above)", style="bold")
        elif self.errors[kind] is not None and total:
            status.append("  (listing stopped: see above)", style="bold")
        # One line high (app.tcss): a new text needs no layout of the screen.
        self.query_one(f"#status-{kind.value}", Static).update(status, layout=False)
        # While listing, the count is on the status line only: a tab label that grows
        # lays out the screen and redraws the tabs.
        if self.listing[kind]:
            label = f"{TITLES[kind]}…"
        else:
            label = TITLES[kind] if total == 0 else f"{TITLES[kind]} {total:,}"
        if self.errors[kind] is not None:
            label += " ⚠"
        tab = self.query_one(TabbedContent).get_tab(kind.value)
        if tab.label.plain != label:
            tab.label = label

    def _update_status_soon(self, kind: Kind) -> None:
        """The status line and tab label within STATUS_EVERY seconds: each update lays
        out the screen again, too much for every page of a long listing."""
        if kind in self._status_due:
            return
        self._status_due.add(kind)

        def update() -> None:
            self._status_due.discard(kind)
            # The screen may have been taken down meanwhile (the app quit).
            with contextlib.suppress(NoMatches):
                self._update_status(kind)

        self.set_timer(STATUS_EVERY, update, name=f"status-{kind.value}")

    def _show_error(self, kind: Kind, exc: VaultError | None) -> None:
        self.errors[kind] = exc
        box = self.query_one(f"#errorbox-{kind.value}", Vertical)
        message = self.query_one(f"#error-{kind.value}", Static)
        hint = self.query_one(f"#error-hint-{kind.value}", Static)
        if exc is None:
            box.display = message.display = False
            message.update("")
            hint.update("")
        else:
            message.update(literal(f"⚠ {exc}", "bold"))
            hint.update(error_hint(exc, key_for(self, "vault.reload"), key_for(self, "vault.open")))
            self.query_one(f"#error-scroll-{kind.value}", VerticalScroll).scroll_home(animate=False)
            box.display = message.display = True
        self._update_status(kind)

    def _status_note(self, kind: Kind, note: str) -> None:
        self.query_one(f"#status-{kind.value}", Static).update(literal(note))

    # -- throttling -----------------------------------------------------------------------

    def _new_service(self, account: Account) -> VaultService:
        ctx = self.context
        return VaultService(
            self.vault_url,
            ctx.credential(account),
            ca_bundle=ctx.ca_bundle,
            verify_challenge_resource=ctx.verify_challenge_resource(self.vault_url),
            retry_total=ctx.retry_total,
            on_throttle=self._on_throttle,
            cloud=ctx.cloud,
            on_answer=self._answered,
        )

    def _answered(self) -> None:
        """The vault answered a request with success: remember it as recent (once)."""
        if self._recorded:
            return
        self._recorded = True
        name, tenant_id = self._recent_as
        self.context.vault_history().record_open(self.vault_url, name=name, tenant_id=tenant_id)

    def _on_throttle(self, retry_after: float | None, url: str) -> None:
        """Called by the vault service (on the event loop) for every 429, in the task
        that made the request (the SDK's pipeline runs in its caller's task)."""
        wait = retry_after if retry_after is not None else 1.0
        task = asyncio.current_task()
        if task is not None and task not in self._throttled:
            # When the task ends, its request is over: no wait left to show.
            task.add_done_callback(self._throttled_task_done)
        self._throttled[task] = time.monotonic() + wait
        log.info("throttled: waiting %.1f s (%s)", wait, url)
        self._tick_throttle()

    def _throttled_task_done(self, task: asyncio.Task[Any]) -> None:
        self._throttled.pop(task, None)
        if self.is_mounted:
            self._tick_throttle()

    def _throttle_over(self) -> None:
        """The current task's request is over (answered, or the SDK gave up on it): no
        wait of its own to count down. A 429 is reported before the SDK decides whether
        to retry, so the banner counted a wait nobody was waiting for. (A task that
        ends, a reveal or a detail that failed, is done with too: see _on_throttle.)"""
        if self._throttled.pop(asyncio.current_task(), None) is not None:
            self._tick_throttle()

    def _tick_throttle(self) -> None:
        now = time.monotonic()
        for task, until in list(self._throttled.items()):
            if until <= now or (task is not None and task.done()):
                del self._throttled[task]
        line = self.query_one("#vault-throttle", Static)
        left = max(self._throttled.values(), default=now) - now
        if left <= 0:
            if line.display:
                line.display = False
            return
        line.update(f"Vault is throttling: waiting {max(1, round(left))} s…")
        line.display = True

    # -- sign-in again ------------------------------------------------------------------

    async def _sign_in_again(self, required: SignInRequired, generation: int) -> bool:
        """The login screen on top of this one, once for all the tabs that need it;
        True when signed in again. ``generation`` is when the failed call started: a
        sign-in that finished since then counts."""
        async with self._sign_in_lock:
            if self._auth_generation != generation:
                return self._signed_in
            if required.after_sign_in:
                # Signed in with a device code a moment ago, and still no token: another
                # code would fail the same way, forever. Show the error; ctrl+r asks.
                log.warning("no token right after signing in: %s", required.reason)
                return False
            log.info("sign-in required mid-session (tenant %s)", required.tenant)
            for kind in KINDS:
                if self.listing[kind]:
                    self._status_note(kind, "Your sign-in expired: sign in again to continue.")
            account = await self.app.push_screen_wait(
                LoginScreen(
                    self.context,
                    tenant=required.tenant,
                    scopes=required.scopes,
                    claims=required.claims,
                    reason="Your session has expired. Sign in again to go back to where you were.",
                )
            )
            self._auth_generation += 1
            self._signed_in = account is not None
            if account is None:
                return False
            self.context.remember_account(account)
            if account != self.account:
                old = self.service
                self.account = account
                self.service = self._new_service(account)
                self.query_one("#vault-header", Static).update(self._header())
                await old.close()
            return True

    async def _call(self, fn: Callable[[VaultService], Awaitable[T]]) -> T:
        """``await fn(service)``; when the sign-in expired, sign in again and retry once."""
        generation = self._auth_generation
        try:
            return await fn(self.service)
        except VaultError as exc:
            required = sign_in_required(exc)
            if required is None or not await self._sign_in_again(required, generation):
                raise
        return await fn(self.service)

    # -- loading --------------------------------------------------------------------------

    def load(self, kind: Kind) -> None:
        """(Re)load a tab in the background; a load of that tab under way is cancelled."""
        self.loaders[kind] = self.run_worker(
            partial(self._load, kind),
            name=f"load-{kind.value}",
            group=f"load-{kind.value}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _load(self, kind: Kind) -> None:
        table = self._table(kind)
        while True:
            generation = self._auth_generation
            # A reload keeps the rows on show (and the cursor, the filter, the sort)
            # until the new listing is complete, then swaps them in one step: a fault
            # midway (a 429, a 403, the network) leaves the whole earlier list, marked
            # stale, rather than none or half of it. The status line counts the new one.
            earlier = table.total_count > 0
            fresh: list[Item] = []
            if not earlier:
                table.clear()
            self.relisted[kind] = 0 if earlier else None
            self._show_error(kind, None)
            self.listing[kind] = True
            self._update_status(kind)
            try:
                async for page in self.service.list_pages(kind):
                    self._throttle_over()
                    if earlier:
                        fresh.extend(page)
                        self.relisted[kind] = len(fresh)
                    else:
                        table.append_items(page)
                    keep_out_of_gc()
                    self._update_status_soon(kind)
            except VaultError as exc:
                self._throttle_over()
                self.listing[kind] = False
                self.relisted[kind] = None
                self._set_stale(kind, earlier)
                required = sign_in_required(exc)
                if required is not None and await self._sign_in_again(required, generation):
                    continue
                log.warning("listing %s failed: %s", kind.value, exc)
                if required is not None:
                    exc = VaultError(not_signed_in_message(required, key_for(self, "vault.reload")))
                self._show_error(kind, exc)
                return
            finally:
                self.listing[kind] = False
                self.relisted[kind] = None
            if earlier:
                _carry_facts(table.items, fresh)
                table.replace_items(fresh)
                del fresh
                # The items listed before can go (this collection walks everything
                # once: 100-200 ms at 50,000 items).
                gc.unfreeze()
                keep_out_of_gc()
            self._set_stale(kind, False)
            self._update_status(kind)
            if kind is not Kind.SECRETS and table.total_count:
                filler: Worker[None] = self.run_worker(
                    partial(self._fill_types, kind),
                    group=f"fill-{kind.value}",
                    exclusive=True,
                    exit_on_error=False,
                )
                log.debug("started %s", filler.name)
            return

    def _set_stale(self, kind: Kind, stale: bool) -> None:
        self.stale[kind] = stale
        self._table(kind).set_class(stale, "-stale")

    async def _fill_types(self, kind: Kind) -> None:
        """Read the details of the first keys or certificates, so the table's third
        column (key type, subject) has something to show; a few at a time."""
        table = self._table(kind)
        wanted = [i for i in table.rows[:FILL_FIRST] if not (i.key_type or i.subject)]
        limit = asyncio.Semaphore(4)

        async def fill(item: Item) -> None:
            async with limit:
                try:
                    if kind is Kind.KEYS:
                        kd = await self.service.get_key_detail(item.name)
                        _copy_key_facts(item, kd)
                    else:
                        cd = await self.service.get_certificate_detail(item.name)
                        item.subject = cd.subject or None
                except VaultError as exc:  # the detail pane says why, for the one shown
                    log.info("no detail for %s: %s", item.name, exc)

        await asyncio.gather(*(fill(i) for i in wanted))
        table.refresh_items()

    # -- the highlighted item -----------------------------------------------------------

    @on(ItemTable.Highlighted)
    def _highlighted(self, event: ItemTable.Highlighted) -> None:
        if event.item is not event.table.cursor_item:
            # Stale: the cursor moved on before this message arrived (a fast Down, Home,
            # r). Acting on it would show, then drop, the wrong item: a value revealed
            # for the row under the cursor would be masked again by its own echo.
            return
        kind = event.table.kind
        pane = self._pane(kind)
        if pane.item is event.item:
            return
        had_item = pane.item is not None
        pane.show_item(event.item)
        self._details[kind] = None
        if had_item != (event.item is not None):
            # check_action looks at the kind and whether there is an item, nothing more;
            # each refresh rebuilds the footer (about 10 ms a keystroke while filtering).
            self.refresh_bindings()
        if event.item is not None:
            self._start_detail(kind, event.item)

    def _start_detail(self, kind: Kind, item: Item) -> None:
        reader: Worker[None] = self.run_worker(
            partial(self._read_detail, kind, item),
            group=f"detail-{kind.value}",
            exclusive=True,
            exit_on_error=False,
        )
        log.debug("started %s", reader.name)

    def _reread_detail(self, kind: Kind) -> None:
        """Read the highlighted item's details again (what failed may work now)."""
        pane = self._pane(kind)
        item = self._table(kind).cursor_item
        if item is not None and pane.item is item:
            self._start_detail(kind, item)

    async def _read_detail(self, kind: Kind, item: Item) -> None:
        await asyncio.sleep(DETAIL_DELAY)
        pane = self._pane(kind)
        detail: Detail
        try:
            if kind is Kind.SECRETS:
                detail = await self._call(lambda s: s.get_secret_detail(item.name))
            elif kind is Kind.KEYS:
                detail = await self._call(lambda s: s.get_key_detail(item.name))
            else:
                detail = await self._call(lambda s: s.get_certificate_detail(item.name))
        except VaultError as exc:
            if pane.item is not item:
                return
            if kind is Kind.SECRETS and isinstance(exc, PermissionDenied):
                # A list-only caller: the listed attributes are all there is (r says why).
                pane.show_detail_error("Listed attributes only: the rest needs secrets get.")
            else:
                pane.show_detail_error(f"Details: {exc}")
            return
        if pane.item is not item:
            return
        self._details[kind] = detail
        pane.show_detail(detail)
        self._fill_row(kind, item, detail)

    def _fill_row(self, kind: Kind, item: Item, detail: Detail) -> None:
        """The table's third column for this row, from its detail."""
        if isinstance(detail, KeyDetail) and not item.key_type:
            _copy_key_facts(item, detail)
            self._table(kind).refresh_items()
        elif isinstance(detail, CertificateDetail) and not item.subject and detail.subject:
            item.subject = detail.subject
            self._table(kind).refresh_items()

    # -- tabs -----------------------------------------------------------------------------

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        for kind in KINDS:
            if kind is not self.kind:
                self._pane(kind).mask()
        table = self._table(self.kind)
        if not self._filter(self.kind).has_focus:
            table.focus()
        self.refresh_bindings()

    def action_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    # -- filter ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self._filter(self.kind)
        box.display = True
        box.focus()
        self._mark_filtering(box)  # this frame already: the rows get the room

    def _filter_changed(self, kind: Kind, value: str) -> None:
        self._table(kind).set_filter(value)
        self._update_status(kind)

    @on(Input.Submitted, ".vault-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        kind = self._kind_of(event.input.id)
        if kind is None:
            return
        event.input.display = False  # the status line shows the filter
        self._table(kind).focus()

    def _clear_filter(self, kind: Kind) -> None:
        box = self._filter(kind)
        box.value = ""
        box.display = False
        self._table(kind).set_filter("")
        self._table(kind).focus()
        self._update_status(kind)

    def action_back(self) -> None:
        kind = self.kind
        box = self._filter(kind)
        if box.has_focus or self._table(kind).filter_text:
            self._clear_filter(kind)
        elif self._pane(kind).revealed:
            self._pane(kind).mask()

    # -- sort -----------------------------------------------------------------------------

    def action_sort(self, column: str) -> None:
        table = self._table(self.kind)
        if column not in ("name", "expires", "updated"):
            return
        key: Any = column
        reverse = not table.sort_reverse if table.sort_column == column else False
        table.sort_by(key, reverse)

    # -- bindings that depend on the tab and the item -------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        try:
            kind = self.kind
            item = self._table(kind).cursor_item
        except NoMatches:
            return True
        if action == "reveal":
            return kind is Kind.SECRETS and item is not None
        if action in ("copy", "copy_menu", "versions"):
            return item is not None
        if action == "save":
            if kind is Kind.SECRETS:
                return False
            fmt = parameters[0] if parameters else "pem"
            return item is not None and (fmt == "pem" or kind is Kind.CERTIFICATES)
        return True

    # -- reveal and copy ------------------------------------------------------------------

    @work(group="reveal", exclusive=True, exit_on_error=False)
    async def action_reveal(self) -> None:
        kind = self.kind
        item = self.current_item
        if kind is not Kind.SECRETS or item is None:
            return
        pane = self._pane(kind)
        if pane.revealed:
            pane.mask()
            return
        pane.value_loading()
        generation = self._auth_generation
        name = item.name
        try:
            value = await self._call(lambda s: s.get_secret_value(name))
        except VaultError as exc:
            if pane.item is item:
                pane.show_value_error(str(exc))
            return
        if self._auth_generation != generation:
            # Signed in again meanwhile: a listing waiting for the same sign-in reads
            # the list again, with new rows. Carry the reveal out on the same secret.
            await self._after_reload(kind)
            current = self._table(kind).cursor_item
            if current is not None and current.name == name and self.kind is kind:
                if pane.item is not current:
                    self._highlighted(ItemTable.Highlighted(self._table(kind), current))
                item = current
            elif pane.item is not item:
                again = key_for(self, "vault.reveal")
                self.notify(
                    f"Reveal of {literal(name, multiline=False).plain} dropped: the "
                    "list changed while you signed in. Press "
                    f"{literal(again, multiline=False).plain} again.",
                    severity="warning",
                    markup=False,
                )
        if pane.item is item and self.kind is kind:
            pane.show_value(present_value(value, item.content_type))
            if pane.detail is None and pane.detail_error:
                # The value was readable, so the details are too, now ("Listed
                # attributes only" came from a 403 that no longer holds).
                self._reread_detail(kind)
        del value

    async def _after_reload(self, kind: Kind) -> None:
        """Until a listing of ``kind`` under way has ended."""
        loader = self.loaders.get(kind)
        if loader is not None and not loader.is_finished:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await loader.wait()

    @work(group="copy", exclusive=True, exit_on_error=False)
    async def action_copy(self) -> None:
        kind = self.kind
        item = self.current_item
        if item is None:
            return
        try:
            if kind is Kind.SECRETS:
                value = await self._call(lambda s: s.get_secret_value(item.name))
                self._copy_secret(item, value)
                del value
                return
            if kind is Kind.KEYS:
                pem = await self._call(lambda s: s.public_key_pem(item.name))
                what = "public key"
            else:
                pem = await self._call(lambda s: s.certificate_pem(item.name))
                what = "certificate"
        except VaultError as exc:
            self.notify(visible(exc), title="Cannot copy", severity="error", markup=False)
            return
        self.app.copy_to_clipboard(pem.decode("ascii"))
        self.notify(
            f"Copied the {visible(what)} of {visible(item.name, multiline=False)} as PEM.",
            markup=False,
        )

    def _copy_secret(self, item: Item, value: str) -> None:
        """Copy a secret's value; kvtui/ui/clipboard.py clears it later (the clipboard,
        and tmux's buffers holding it) unless something else was copied meanwhile."""
        delay = self.settings.clipboard_clear_seconds
        said = SecretClipboard(self.app).copy(item.name, value, delay)
        self.notify(visible(said), markup=False)

    @work(group="modal", exclusive=True, exit_on_error=False)
    async def action_copy_menu(self) -> None:
        kind = self.kind
        item = self.current_item
        if item is None:
            return
        detail = self._details[kind]
        base = detail.item if detail is not None and detail.item.name == item.name else item
        secret_id = detail.secret_id if isinstance(detail, CertificateDetail) else None
        try:
            choices = copy_choices(base, secret_id=secret_id)
        except VaultError as exc:
            self.notify(visible(exc), title="Cannot copy", severity="error", markup=False)
            return
        if isinstance(detail, KeyDetail) and detail.item.name == item.name and detail.public_jwk:
            try:
                pem = key_detail_pem(detail).decode("ascii")
                choices.append(CopyChoice("pem", "Public key (PEM)", pem))
            except VaultError:
                pass
        if isinstance(detail, CertificateDetail) and detail.item.name == item.name and detail.cer:
            choices.append(CopyChoice("pem", "Certificate (PEM)", cer_to_pem(detail.cer).decode()))
        title = f"Copy: {literal(item.name, multiline=False).plain}"
        chosen = await self.app.push_screen_wait(CopyMenu(choices, title))
        if chosen is None:
            return
        self.app.copy_to_clipboard(chosen.text)
        self.notify(f"Copied: {visible(chosen.label)}.", markup=False)

    @work(group="modal", exclusive=True, exit_on_error=False)
    async def action_versions(self) -> None:
        item = self.current_item
        if item is None:
            return
        await self.app.push_screen_wait(
            VersionsScreen(self.service, self.kind, item.name, self.warn_days, self.context.now)
        )

    @work(group="modal", exclusive=True, exit_on_error=False)
    async def action_save(self, fmt: str = "pem") -> None:
        kind = self.kind
        item = self.current_item
        if item is None or kind is Kind.SECRETS:
            return
        try:
            if kind is Kind.KEYS:
                data = await self._call(lambda s: s.public_key_pem(item.name))
                what, suffix = "public key (PEM)", ".pub.pem"
            elif fmt == "cer":
                data = await self._call(lambda s: s.certificate_cer(item.name))
                what, suffix = "certificate (CER)", ".cer"
            else:
                data = await self._call(lambda s: s.certificate_pem(item.name))
                what, suffix = "certificate (PEM)", ".pem"
        except VaultError as exc:
            self.notify(visible(exc), title="Cannot save", severity="error", markup=False)
            return
        default = Path.cwd() / export_filename(item, suffix)
        written = await self.app.push_screen_wait(ExportScreen(default, data, what))
        if written is not None:
            self.notify(
                f"Saved the {visible(what)} to {visible(written, multiline=False)}.", markup=False
            )

    # -- the rest -------------------------------------------------------------------------

    def action_reload(self) -> None:
        # The person asks: a sign-in that just failed to give a token may be tried again.
        self.context.sign_in.fresh.discard(self.account.home_account_id)
        self.load(self.kind)
        self._reread_detail(self.kind)

    def action_help(self) -> None:
        if self.query("HelpPanel"):
            self.app.action_hide_help_panel()
        else:
            self.app.action_show_help_panel()

    async def action_open_vault(self) -> None:
        """The app's way to choose a vault (the picker), when it has one."""
        if hasattr(self.app, "action_open_vault"):
            await self.app.run_action("open_vault")
        else:
            self._open_vault()

    @work(exclusive=True, group="open", exit_on_error=False)
    async def _open_vault(self) -> None:
        url = await self.app.push_screen_wait(OpenVaultScreen(self.context))
        if url:
            self.app.switch_screen(VaultScreen(self.context, self.account, url))


def _carry_facts(old: list[Item], new: list[Item]) -> None:
    """What was read from the details of an item (key type, subject: the table's third
    column) goes over to the same item in a new listing, when it was not updated since:
    a reload does not blank the column until the details are read again."""
    before = {(i.name, i.updated): i for i in old if i.key_type or i.subject}
    for item in new:
        was = before.get((item.name, item.updated))
        if was is not None and item.updated is not None:
            item.key_type, item.key_size, item.curve = was.key_type, was.key_size, was.curve
            item.key_ops = was.key_ops
            item.subject = was.subject


def _copy_key_facts(item: Item, detail: KeyDetail) -> None:
    item.key_type = detail.key_type
    item.key_size = detail.key_size
    item.curve = detail.curve
    item.key_ops = detail.key_ops
