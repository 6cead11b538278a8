"""The Textual app: wiring only. Start-up signs in (silently when it can, else the
login screen), then opens the vault (--vault, else the picker). The command palette
(ctrl+p or ``:``) switches vaults. Screens own their work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from textual import constants, events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.driver import Driver
from textual.markup import MarkupError
from textual.notifications import SeverityLevel
from textual.widgets import Static

from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.splash import PAINT_ROWS, PREVIEW_ROWS, cached_state, status_line
from kvtui.ui.text import literal, visible

if TYPE_CHECKING:
    from textual.command import Provider

    from kvtui.core.auth import Account
    from kvtui.core.cache import MetadataCache
    from kvtui.ui.launch import AppContext
    from kvtui.ui.widgets.item_table import ItemTable

log = logging.getLogger("kvtui.ui.app")


def driver_class() -> type[Driver] | None:
    """kvtui/ui/terminal.py's driver (ends the app with its terminal) where Textual
    would use its LinuxDriver; Textual's own choice elsewhere or with $TEXTUAL_DRIVER."""
    if sys.platform == "win32" or constants.DRIVER:
        return None
    from kvtui.ui.terminal import HangupDriver

    return HangupDriver


#: A warm start's preview shows up to PREVIEW_ROWS cached rows with its first frame
#: (kvtui/ui/splash.py), then any others in chunks of PREVIEW_CHUNK.
PREVIEW_CHUNK = 2000
#: Longest wait of the sign-in for the early listing's first rows to be drawn.
FIRST_ROWS_WAIT = 0.3
#: Keys kept while the preview is up (a filter's worth).
TYPE_AHEAD = 64
#: Keys that act while the preview is up rather than wait for the vault screen.
APP_KEYS = frozenset({"q", "ctrl+q", "ctrl+c", "ctrl+p", "colon"})


def heavy_imports() -> None:
    """What the first frame does without: msal, the SDKs, aiohttp, cryptography and the
    screens over them. :meth:`KvtuiApp.start` imports them in a thread once that frame
    is on its way (``python -X importtime -m kvtui`` shows what is left before it)."""
    import kvtui.ui.commands
    import kvtui.ui.screens.login
    import kvtui.ui.screens.picker
    import kvtui.ui.screens.vault  # noqa: F401


def _vault_commands() -> type[Provider]:
    from kvtui.ui.commands import VaultCommands

    return VaultCommands


def _operation_commands() -> type[Provider]:
    from kvtui.ui.commands import OperationCommands

    return OperationCommands


def _account_commands() -> type[Provider]:
    from kvtui.ui.commands import AccountCommands

    return AccountCommands


def _cross_vault_commands() -> type[Provider]:
    from kvtui.ui.commands import CrossVaultCommands

    return CrossVaultCommands


class KvtuiApp(ReportWorkerErrors, App[None]):
    """``KvtuiApp(build_context(settings))``: the CLI, the demo and the tests alike."""

    CSS_PATH = "app.tcss"
    TITLE = "kvtui"
    # Callables: the palette's providers are imported when it first opens.
    COMMANDS = App.COMMANDS | {
        _vault_commands,
        _operation_commands,
        _cross_vault_commands,
        _account_commands,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Quit kvtui", priority=True),
        Binding("q", "quit", "Quit", id="app.quit_q", tooltip="Quit kvtui"),
        # Textual adds ctrl+p only when no binding runs the palette: so both are here.
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",
            id="app.command_palette",
            tooltip="Open the command palette",
            show=False,
            priority=True,
        ),
        Binding(
            "colon",
            "command_palette",
            "Commands",
            id="app.palette",
            tooltip="Command palette (also ctrl+p): open another vault, theme, keys…",
            show=False,
        ),
    ]

    keymap_in_use: dict[str, str] = {}  # noqa: RUF012  (replaced, never changed in place)
    """The keymap given to :meth:`set_keymap` (kvtui.ui.keys reads it: Textual's is private)."""

    def set_keymap(self, keymap: Mapping[str, str]) -> None:
        self.keymap_in_use = dict(keymap)
        super().set_keymap(keymap)

    def __init__(self, context: AppContext) -> None:
        super().__init__(driver_class=driver_class())
        self.context = context
        self.typing_ahead = False
        """The preview is up: keys wait for the vault screen (:meth:`on_event`)."""
        self.typed_ahead: list[events.Key] = []
        self._first_rows: asyncio.Event | None = None
        """Set once the early listing's first rows are on screen (or it ended)."""
        self.title = context.title
        self.account: Account | None = None
        if context.settings.keymap:
            self.set_keymap(context.settings.keymap)

    def compose(self) -> ComposeResult:
        yield Static("Signing in…", id="starting")

    def _start_early_listing(self) -> None:
        """A warm start's early listing, once the preview has every cached row (on 2
        cores it would take one from them); the vault screen checks them against it."""
        if self.context.early_listing is not None:
            return  # started
        if len(self.screen_stack) > 1:  # signed in already (or not silently): too late
            self.context.discard_spare_lister()
            return
        early = self.context.start_early_listing()
        if early is not None:
            early.follow()

    def _preview(self) -> bool:
        """On a start with --vault as the account used last, under "Signing in…" while
        msal and the SDKs load, before the vault screen: the cached secrets (its
        metadata cache: the first rows with the first frame, the rest from a thread;
        the vault screen then takes the whole listing over rather than read it again),
        else the secrets of the early listing (kvtui/core/lister.py) as they come.
        True while the cache is still being read (:meth:`_preview_rest`)."""
        from kvtui.core.models import Kind

        context = self.context
        vault = context.settings.vault
        if not vault or not self.screen.query("#starting"):
            return False
        url = context.vault_url(vault)
        cached = None
        last = context.last_cache()
        if last is not None:
            cache = last[0]
            # Painted already (the first paint): only its rows, the rest in a thread.
            first = PAINT_ROWS if context.painted else PREVIEW_ROWS
            cached = cache.load(url, Kind.SECRETS, limit=first)
        if cached is None or not cached.items:
            early = context.early_listing
            if early is not None:
                self._starting_line("listing…", url)
                self._first_rows = asyncio.Event()
                self._preview_early(url, self._preview_table())
            return False
        table = self._preview_table()
        table.append_items(cached.items)
        self._starting_line(cached_state(len(cached.items), cached.total, cached.age_text()), url)
        if cached.total > len(cached.items):
            self._preview_rest(cache, url, table, len(cached.items))
            return True
        cache.hold(url, Kind.SECRETS, cached)
        return False

    def _starting_line(self, state: str, url: str) -> None:
        """The line under the preview: "Signing in… · <state> · <url>" (what is going
        on first: at 40 columns the URL is cut, not the news), shown literally."""
        starting = self.screen_stack[0].query_one("#starting", Static)
        starting.update(literal(status_line(state, url), multiline=False))

    def _preview_table(self) -> ItemTable:
        from kvtui.core.models import Kind
        from kvtui.ui.widgets.item_table import ItemTable

        self.typing_ahead = True
        context = self.context
        table = ItemTable(
            Kind.SECRETS,
            warn_days=context.settings.expiry_warning_days,
            now=context.now,
            id="starting-table",
        )
        starting = self.screen.query_one("#starting", Static)
        self.screen.mount(table, before=starting)
        starting.add_class("-preview")
        self.call_after_refresh(self._remember_look, table)
        return table

    def _remember_look(self, table: ItemTable) -> None:
        """The preview's styles, kept for the next start's first paint
        (kvtui/ui/splash.py), as it is now drawn."""
        from functools import partial

        from kvtui.core import state
        from kvtui.ui.splash import terminal_name

        system = self.console.color_system
        if not table.is_attached or system is None:
            return
        status = self.screen_stack[0].query_one("#starting", Static).rich_style
        look = table.look(term=terminal_name(), color_system=system, status=status)
        self.run_worker(
            partial(state.remember_look, self.context.state_path, look.to_dict()),
            thread=True,
            description="keep the preview's look",
            exit_on_error=False,
        )

    @work(group="preview", exit_on_error=False)
    async def _preview_early(self, url: str, table: ItemTable) -> None:
        """The early listing's secrets in the preview as they come (the vault screen
        then takes the listing over: it is not asked for them again)."""
        from kvtui.core.lister import EarlyListingFailed

        early = self.context.early_listing
        if early is None:
            return
        try:
            async for page in early.pages_from():
                if not table.is_attached:
                    return
                table.append_items(page)
                self._starting_line(f"{early.count:,} listed so far", url)
                self.call_after_refresh(self._rows_shown)
        except EarlyListingFailed:  # the vault screen lists again, and says why
            table.clear()
            self._starting_line("", url)
            return
        finally:
            self._rows_shown()
        self._starting_line(f"all {early.count:,} listed", url)

    def _rows_shown(self) -> None:
        if self._first_rows is not None:
            self._first_rows.set()

    @work(group="preview", exit_on_error=False)
    async def _preview_rest(
        self, cache: MetadataCache, url: str, table: ItemTable, shown: int
    ) -> None:
        """The preview's other rows (read in a thread, shown in chunks), then the whole
        listing held for the vault screen; if it opens first, it waits for that read
        rather than read the file again (:meth:`MetadataCache.read_ahead`)."""
        from kvtui.core.models import Kind

        try:
            cached = await asyncio.wrap_future(cache.read_ahead(url, Kind.SECRETS))
            if cached is None or not table.is_attached:
                return
            rest = cached.items[shown:]
            for start in range(0, len(rest), PREVIEW_CHUNK):
                table.append_items(rest[start : start + PREVIEW_CHUNK])
                await asyncio.sleep(0)
                if not table.is_attached:
                    return
            self._starting_line(cached_state(cached.total, cached.total, cached.age_text()), url)
            cache.hold(url, Kind.SECRETS, cached)
        finally:
            if self.context.early_listing_later:
                self._start_early_listing()

    async def on_event(self, event: events.Event) -> None:
        """Type-ahead: while the preview is up (its rows look like the vault's table,
        and nothing on that screen takes keys), a key is kept as it arrives, and given
        to the vault screen once it is up (:meth:`take_typed_ahead`): ``/`` and a name
        typed at once filter the table. The app's own keys (q, ctrl+q, the palette)
        still act at once."""
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and self.typing_ahead
            and event.key not in APP_KEYS
        ):
            if len(self.typed_ahead) < TYPE_AHEAD:
                self.typed_ahead.append(events.Key(event.key, event.character))
            return
        await super().on_event(event)

    def take_typed_ahead(self) -> list[events.Key]:
        """The keys typed over the preview, for the vault screen (now up) to act on;
        from now on keys go where they are typed."""
        self.typing_ahead = False
        keys, self.typed_ahead = self.typed_ahead, []
        return keys

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (``Widget.notify`` and Textual's own end here too) is shown
        as plain text: control, bidirectional and invisible characters become visible
        stand-ins (a vault's error message cannot retitle the terminal, write the
        clipboard or clear the screen), and markup is never rendered as styles.

        kvtui's own calls pass ``markup=False`` (tests/ui/test_literal.py checks), so a
        vault's ``[bold]`` shows as written. Textual's few markup messages ("Press
        [b]ctrl+q[/b] to quit") have their tags dropped instead of shown."""
        text = visible(message)
        if markup:
            with contextlib.suppress(MarkupError):  # not markup after all: kept as written
                text = Content.from_markup(text).plain
        super().notify(
            text,
            title=visible(title, multiline=False),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def on_mount(self) -> None:
        if self.context.early_listing is not None:
            self.context.early_listing.follow()
        reading = False
        try:
            reading = self._preview()
        except Exception:  # only a preview: the vault screen reads the cache again
            log.exception("no cached preview")
        if self.context.early_listing_later and not reading:
            self.call_after_refresh(self._start_early_listing)  # (no preview to wait for)
        if os.environ.get("KVTUI_BENCH_STALLS"):  # bench/bench_app.py only: see benchhook
            from kvtui.ui import benchhook

            benchhook.start(self, os.environ["KVTUI_BENCH_STALLS"])
        self.start()

    @work(exclusive=True, group="start", exit_on_error=False)
    async def start(self) -> None:
        # The first frame ("Signing in…") is drawn meanwhile; msal's token cache opens
        # in the same thread. With the early listing's rows on their way, the first of
        # them go on screen first: the imports' C parts hold the GIL for up to 35 ms at
        # a time (aiohttp's SSL context), which held that row back (bounded wait).
        context = self.context

        def prepare() -> None:
            heavy_imports()
            context.sign_in  # noqa: B018  (made here: it opens the token cache)

        if self._first_rows is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._first_rows.wait(), FIRST_ROWS_WAIT)
        await asyncio.to_thread(prepare)
        await self.sign_in_and_open()

    async def sign_in_and_open(self) -> None:
        """Sign in (silently, else the login screen; none chosen: quit), then the vault
        (--vault, else the picker)."""
        from kvtui.ui.screens.login import LoginScreen

        accounts, account = await self.silent_account()
        if account is None:
            self.typing_ahead = False  # the keys are the login screen's
            self.typed_ahead.clear()
            account = await self.push_screen_wait(LoginScreen(self.context, accounts))
            if account is None:
                self.exit()
                return
        self.account = account
        self.context.remember_account(account)
        vault = self.context.settings.vault
        if vault:
            name = "" if "://" in vault else vault
            await self.open_vault(self.context.vault_url(vault), name=name)
        elif not await self.pick_and_open():
            self.exit()

    # -- signing out ----------------------------------------------------------------------

    def action_sign_out(self) -> None:
        """Forget the signed-in account and its tokens (as ``kvtui logout`` does), then
        sign in afresh: another known account, or the login screen."""
        self.sign_out()

    @work(exclusive=True, group="start", exit_on_error=False)
    async def sign_out(self) -> None:
        account = self.account
        if account is None:
            return
        self.workers.cancel_group(self, "pick")
        self.account = None
        while len(self.screen_stack) > 1:  # the vault (and whatever is over it) closes
            await self.pop_screen()
        await self.context.sign_in.sign_out(account)
        self.context.remember_account(None)
        log.info("signed out %s", account.username)
        self.notify(f"Signed out {visible(account.username, multiline=False)}", markup=False)
        await self.sign_in_and_open()

    # -- vaults ---------------------------------------------------------------------------

    @property
    def vault_url(self) -> str | None:
        """The URL of the open vault, if any."""
        from kvtui.ui.screens.vault import VaultScreen

        screens = [s for s in self.screen_stack if isinstance(s, VaultScreen)]
        return screens[-1].vault_url if screens else None

    async def open_vault(self, url: str, *, name: str = "", tenant_id: str = "") -> None:
        """Show ``url``; an open vault is replaced (its screen and workers end). The
        vault screen remembers it as recent once the vault has answered."""
        from kvtui.ui.screens.vault import VaultScreen

        if self.account is None:
            return
        screen = VaultScreen(self.context, self.account, url, name=name, tenant_id=tenant_id)
        if isinstance(self.screen, VaultScreen):
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)
        # The preview under "Signing in…" has done its part (the screen took its rows).
        self.workers.cancel_group(self, "preview")
        for preview in self.screen_stack[0].query("#starting-table"):
            await preview.remove()

    def action_open_vault(self) -> None:
        """The picker; the vault chosen replaces the open one."""
        self.pick_vault()

    @work(exclusive=True, group="pick", exit_on_error=False)
    async def pick_vault(self) -> None:
        await self.pick_and_open()

    async def pick_and_open(self) -> bool:
        """The picker, then the vault chosen; False if none was."""
        from kvtui.ui.screens.picker import PickerScreen

        if self.account is None:
            return False
        picker = PickerScreen(self.context, self.account)
        url = await self.push_screen_wait(picker)
        if url is None:
            return False
        row = picker.describe(url)
        await self.open_vault(
            url, name=row.name if row else "", tenant_id=row.tenant_id if row else ""
        )
        return True

    async def silent_account(self) -> tuple[list[Account], Account | None]:
        """The known accounts, and the one to continue as without a login screen: the
        only account in the cache, or the one used last, if a token comes silently."""
        from azure.core.exceptions import ClientAuthenticationError

        from kvtui.core.auth import AuthError, SignInRequired

        ctx = self.context
        try:
            accounts = await ctx.sign_in.accounts()
        except AuthError as exc:  # the login screen shows it, with a retry key
            log.info("no silent sign-in: %s", exc)
            return [], None
        last = ctx.last_account_id()
        candidate = accounts[0] if len(accounts) == 1 else None
        candidate = next((a for a in accounts if a.home_account_id == last), candidate)
        if candidate is None:
            return accounts, None
        try:
            await ctx.credential(candidate).get_token_info(ctx.vault_scope)
        except (AuthError, ClientAuthenticationError) as exc:
            log.info("silent sign-in as %s failed: %s", candidate.username, exc)
            if isinstance(exc, SignInRequired) and exc.msal_error == "invalid_tenant":
                # Its home tenant is gone (an emulator started afresh is the same as a
                # deleted tenant): offering it would only lead to a dead end.
                accounts = [a for a in accounts if a != candidate]
            return accounts, None
        log.info("signed in silently as %s", candidate.username)
        return accounts, candidate
