"""The vault screen: secrets, keys and certificates, a :class:`KindTab` each, k9s-like
keys (``/`` filter, ``?`` help, ``esc`` back, ``1``-``3`` tabs, ``ctrl+r`` reload,
``enter`` the item in full).

The screen composes the three tabs and routes the keys: what a key does to the
highlighted item is an entry of :data:`kvtui.ui.operations.OPERATIONS` (its binding
runs ``op('<name>')``; a new write action goes there, see that module); a tab lists,
filters and shows its items. The vault itself is a :class:`kvtui.core.session.
VaultSession`: when the sign-in expires mid-session it asks this screen to sign in again
(:meth:`_renew`: the login screen on top, then back where the user was).

All three tabs load at once, when the screen opens, each in a worker of its own; an
error stays in its tab (a 403 on keys leaves secrets working). Leaving the screen
cancels every worker.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from kvtui.core.accounts import Account
from kvtui.core.errors import SessionExpired
from kvtui.core.kinds import KINDS
from kvtui.core.models import Item, Kind
from kvtui.ui.gcpolicy import let_go, started
from kvtui.ui.keys import KeyedHelp, key_for
from kvtui.ui.operations import BY_NAME, OPERATIONS, Operation
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.text import literal, visible
from kvtui.ui.widgets.footer import Footer
from kvtui.ui.widgets.kind_tab import KindTab

if TYPE_CHECKING:
    from kvtui.ui.launch import AppContext

log = logging.getLogger("kvtui.ui.vault")

#: Below this width, the detail pane goes under the table (side by side, the table needs
#: 86 columns to show every column, and a pane under 50 columns wraps every value).
NARROW = 140
#: Below this height, the screen is compact (KindTab's CSS, ``.short``).
SHORT = 20
#: Seconds the tab of :meth:`VaultScreen.show_item` stays against a focus queued before.
TAB_PIN = 2.0


class VaultScreen(ReportWorkerErrors, Screen[None]):
    """One open vault."""

    CSS_PATH = "vault.tcss"

    HELP = KeyedHelp(
        """\
## The vault

Secrets, keys and certificates, one tab each (**{vault.tab_secrets}**,
**{vault.tab_keys}**, **{vault.tab_certificates}**).

- **{vault.filter}** filters as you type: words match names (substring, then fuzzy);
  `tag:env=prod`, `type:json`, `status:expired` narrow further.
  **enter** keeps the filter, **{vault.back}** clears it.
- **enter** on an item opens it in full: its details, versions and actions;
  **{vault.back}** goes back to the list.
- Click a column title to sort by it; **{vault.sort_name}**/**{vault.sort_expires}**
  sort from the keyboard.
- **{vault.reveal}** reveals a secret's value until you move on; **{vault.copy}**
  copies it (the clipboard is cleared after a while).
- **{vault.reload}** reloads the tab; errors stay in their tab. The rows on show stay
  until the new list is complete, and stay, marked stale, if it fails.
- **{vault.deleted}** shows the tab's deleted items (when deleted, when purged), and
  again goes back; **{vault.backup}** backs an item up to a file.
- On a key, **{vault.key_operations}** encrypts, decrypts, signs, verifies, wraps or
  unwraps with it. On a certificate, **{vault.download_key}** downloads it with its
  private key; **{vault.pending}** shows a pending create (its CSR, merge, cancel).
  Policies, issuers and contacts are in the palette.
""",
        writes="""
### Writing

- **{vault.new}** new secret, key or certificate (the tab's), **{vault.new_version}** new
  version (the value is never prefilled; on a key, **{vault.rotate}** rotates it),
  **{vault.edit}** edit properties; in a form **ctrl+s** saves.
- **{vault.delete}** deletes after **y**; **{vault.undo}** undoes it for a few seconds.
- Among the deleted: **{vault.recover}** recovers, **{vault.purge}** purges once you
  type the name.
- **{vault.mark}** marks rows: delete, recover, purge, enable (**{vault.enable}**) and
  disable (**{vault.disable}**) then act on all of them.
- Restore from a backup file, and a key's rotation policy, are in the palette.
""",
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash", "filter", "Filter", id="vault.filter", tooltip="Filter the table as you type"
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="vault.back",
            tooltip="Back to the list, clear the filter, or hide a revealed value",
        ),
        *(op.binding() for op in OPERATIONS if op.key),
        Binding(
            "ctrl+z",
            "undo",
            "Undo delete",
            id="vault.undo",
            tooltip="Recover what was just deleted",
        ),
        Binding(
            "ctrl+r", "reload", "Reload", id="vault.reload", tooltip="List this tab's items again"
        ),
        *(
            Binding(
                str(n),
                f"tab('{kind.value}')",
                KINDS[kind].title,
                show=False,
                id=f"vault.tab_{kind.value}",
                tooltip=f"Show the {kind.value}",
            )
            for n, kind in enumerate(Kind, 1)
        ),
        *(
            Binding(
                key,
                f"sort('{column}')",
                f"Sort by {what}",
                show=False,
                id=f"vault.sort_{column}",
                tooltip=f"Sort by {what} (again: reverse)",
            )
            for key, column, what in (
                ("f6", "name", "name"),
                ("f7", "expires", "expiry"),
                ("f8", "updated", "update"),
            )
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
        self.vault_url = vault_url
        self.session = context.open_session(vault_url, account, name=name, tenant_id=tenant_id)
        self.read_only_rule = self.session.read_only_rule  # the badge says it
        self.read_only = self.read_only_rule is not None
        self.session.renew = self._renew
        self.session.throttle_changed = self._tick_throttle
        settings = context.settings
        self.tabs: tuple[KindTab, ...] = tuple(
            KindTab(
                kind,
                self.session,
                warn_days=settings.expiry_warning_days,
                now=context.now,
                read_only=self.read_only,
                clipboard_seconds=settings.clipboard_clear_seconds,
                cache=lambda: context.metadata_cache(self.session.account),
            )
            for kind in Kind
        )
        self._wanted: tuple[Kind, str] | None = None
        """An item to bring on show once listed (:meth:`show_item`)."""
        self._started = False
        self._tab_pin: tuple[Kind, float] | None = None

    @property
    def account(self) -> Account:
        return self.session.account

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Sized before its widgets mount: a class set later restyles every one of them.
        self._apply_size(self.app.size.width, self.app.size.height)
        with Horizontal(id="vault-top"):
            yield Static(self._header(), id="vault-header")
            # The rule beside it where there is room (narrow: it would push out the
            # vault and the account); its tooltip at any width.
            with Horizontal(id="vault-read-only") as badge:
                badge.display = self.read_only
                badge.tooltip = Text(f"Read-only: {self.read_only_rule}")
                yield Static("READ-ONLY")
                yield Static(Text(f": {self.read_only_rule}"), id="vault-read-only-rule")
        throttle = Static("", id="vault-throttle")
        throttle.display = False
        yield throttle
        with TabbedContent(id="vault-tabs"):
            for n, tab in enumerate(self.tabs):
                with TabPane(tab.ops.title, id=tab.kind.value):
                    if n == 0:  # the others after the first frame (_mount_other_tabs)
                        yield tab
        yield Footer()

    def _header(self) -> Text:
        header = Text("Vault ", style="dim")
        header.append_text(literal(self.vault_url, "bold", multiline=False))
        header.append("  as ", style="dim")
        header.append_text(literal(self.account.username, multiline=False))
        return header

    def on_mount(self) -> None:
        started()
        self.set_interval(0.5, self._tick_throttle)
        self.call_after_refresh(self._mount_other_tabs)
        self._start()

    async def _mount_other_tabs(self) -> None:
        """The keys and certificates tabs, one at a time after the screen's first frame:
        the three mounted at once held the event loop for a tenth of a second and more
        (their styles, then their first render), with the first rows waiting."""
        for tab in self.tabs[1:]:
            if not tab.is_attached:
                await self.query_one(f"TabPane#{tab.kind.value}", TabPane).mount(tab)

    def _start(self) -> None:
        """Start loading every tab, once TabbedContent has mounted them."""
        if not all(tab.table.is_mounted for tab in self.tabs):
            self.call_after_refresh(self._start)
            return
        for tab in self.tabs:
            tab.reload()
        self._started = True
        if self._wanted is not None:
            self.show_item(*self._wanted)  # its tab, focused
        else:
            self.tabs[0].table.focus()
        take = getattr(self.app, "take_typed_ahead", None)
        if take is not None:  # keys typed over the app's preview, now for the table
            self.type_ahead(take())

    def type_ahead(self, keys: list[events.Key]) -> None:
        """Keys typed before this screen was up (over the app's preview), in order. A
        filter typed ahead (the filter key, its text, perhaps enter) goes into the
        filter box at once: posted as keys, the text would reach the table before the
        box had the focus. Other keys are posted as typed (the table has the focus)."""
        filter_keys = {
            key
            for key, active in self.active_bindings.items()
            if active.binding.id == "vault.filter"
        }
        rest = keys
        if keys and keys[0].key in filter_keys:
            text, end = "", 1
            while end < len(keys) and keys[end].key not in ("enter", "escape"):
                key = keys[end]
                if key.key == "backspace":
                    text = text[:-1]
                elif key.is_printable and key.character:
                    text += key.character
                end += 1
            tab = self.tab
            tab.start_filter()
            tab.filter_box.value = text
            tab.filter_box.cursor_position = len(text)
            rest = keys[end:]
            if rest and rest[0].key == "enter":
                self.call_later(tab.filter_box.action_submit)
                rest = rest[1:]
            else:  # typing goes on in the box, after the text (not selecting it)
                box = tab.filter_box
                select_on_focus, box.select_on_focus = box.select_on_focus, False

                def focus_box() -> None:
                    box.focus()
                    self.call_after_refresh(setattr, box, "select_on_focus", select_on_focus)

                self.call_after_refresh(focus_box)

        def post_rest() -> None:
            for key in rest:
                self.app.post_message(key)

        if rest:
            self.call_after_refresh(post_rest)

    async def on_unmount(self) -> None:
        let_go()  # this vault's items can go
        await self.session.close()
        log.info("closed the session of %s", self.vault_url)

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        self.set_class(width < NARROW, "narrow")
        self.set_class(height < SHORT, "short")

    # -- the tabs -------------------------------------------------------------------------

    def tab_of(self, kind: Kind) -> KindTab:
        return next(tab for tab in self.tabs if tab.kind is kind)

    @property
    def kind(self) -> Kind:
        """The kind of the tab on show."""
        active = self.query_one(TabbedContent).active
        return next((k for k in Kind if k.value == active), Kind.SECRETS)

    @property
    def tab(self) -> KindTab:
        """The tab on show."""
        return self.tab_of(self.kind)

    @on(KindTab.Changed)
    def _tab_changed(self, event: KindTab.Changed) -> None:
        label = event.tab.label
        tab = self.query_one(TabbedContent).get_tab(event.tab.kind.value)
        if tab.label.plain != label:
            tab.label = label
        if self._wanted is not None and self._wanted[0] is event.tab.kind:
            self._find_wanted()

    def show_item(self, kind: Kind, name: str) -> None:
        """Bring ``name`` on show (a search across vaults chose it): its tab, the list (no
        filter, no item view), and the cursor on its row as soon as a listing has it
        (the cached one, or the vault's); said when the vault's listing has not."""
        self._wanted = (kind, name)
        if not self._started:
            return  # _start comes back here
        tab = self.tab_of(kind)
        if tab.is_open:
            tab.close_item()
        if tab.showing_deleted:
            tab.toggle_deleted()
        if tab.filtering:
            tab.clear_filter()
        # The tab stays for a moment even against a focus queued before (the first tab's,
        # as the screen starts), unless the user picks another (1-3).
        self._tab_pin = (kind, time.monotonic() + TAB_PIN)
        self._show_tab(kind)
        self._find_wanted()

    def _show_tab(self, kind: Kind) -> None:
        self.query_one(TabbedContent).active = kind.value
        self._focus_tab()

    def _find_wanted(self) -> None:
        if self._wanted is None or not self._started:
            return
        kind, name = self._wanted
        tab = self.tab_of(kind)
        table = tab.live_table
        row = next((n for n, item in enumerate(table.rows) if item.name == name), None)
        if row is not None:
            self._wanted = None
            table.move_cursor(row)  # moved to: the rows that come later keep it there
            return
        if tab.listing or tab.loader is None or not tab.loader.is_finished:
            return  # a listing may still bring it
        self._wanted = None
        if tab.error is None:
            self.notify(
                f"{visible(name, multiline=False)} is not among the "
                f"{visible(kind.value)} of this vault (any more).",
                title="Not found",
                severity="warning",
                markup=False,
            )

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pin = self._tab_pin
        if pin is not None and time.monotonic() < pin[1] and pin[0].value != event.pane.id:
            self._show_tab(pin[0])  # (show_item's)
            return
        self._focus_tab()
        self.refresh_bindings()

    def _focus_tab(self) -> None:
        """The tab on show takes the keys (its item view, filter box or table)."""
        current = self.tab
        for tab in self.tabs:
            if tab is not current:
                tab.pane.mask()
        if current.is_open:
            current.pane.focus()
        elif not current.filter_box.has_focus:
            current.table.focus()

    def action_tab(self, pane: str) -> None:
        self._tab_pin = None
        self.query_one(TabbedContent).active = pane
        self._focus_tab()  # now: a key right after goes to this tab, not the last one

    # -- keys -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        tab = self.tab
        if tab.is_open:
            tab.close_item()
        tab.start_filter()

    def action_back(self) -> None:
        tab = self.tab
        if tab.is_open:
            tab.close_item()
        elif tab.filtering:
            tab.clear_filter()
        elif tab.pane.revealed:
            tab.pane.mask()
        elif tab.table.marked_items:
            tab.table.clear_marks()
            tab.update_status()
        elif tab.showing_deleted:
            tab.toggle_deleted()

    def action_sort(self, column: str) -> None:
        table = self.tab.table
        if column not in ("name", "expires", "updated"):
            return
        key: Any = column
        reverse = not table.sort_reverse if table.sort_column == column else False
        table.sort_by(key, reverse)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An item's keys are on where its operation applies (the footer follows)."""
        if action == "undo":
            return self.is_mounted and not self.read_only and self.tab.can_undo
        if action != "op" or not self.is_mounted or not parameters:
            return True
        op = BY_NAME.get(str(parameters[0]))
        if op is None:
            return False
        tab = self.tab
        return op.applies(
            tab.kind, tab.table.cursor_item, read_only=self.read_only, deleted=tab.showing_deleted
        )

    def action_op(self, name: str) -> None:
        """Run an operation of kvtui/ui/operations.py on the highlighted item."""
        tab = self.tab
        item = tab.table.cursor_item
        op = BY_NAME.get(name)
        if op is None or not op.applies(
            tab.kind, item, read_only=self.read_only, deleted=tab.showing_deleted
        ):
            return
        if (
            not op.managed_ok
            and item is not None
            and item.managed
            and not tab.showing_deleted
            and not tab.table.marked_items
        ):
            self._managed_note(item, op)
            return
        tab.run_operation(op, item)

    def _managed_note(self, item: Item, op: Operation) -> None:
        """A write on a secret or key that a certificate manages: the service would
        refuse it; say what to do instead."""
        certificates = key_for(self, "vault.tab_certificates", "3")
        self.notify(
            f"{visible(item.name, multiline=False)} belongs to a certificate: "
            f"{visible(op.label.lower())} it through the certificate "
            f"({visible(certificates)}).",
            title="Managed by a certificate",
            severity="warning",
            markup=False,
        )

    def action_undo(self) -> None:
        if not self.read_only:
            self.tab.undo()

    def action_reload(self) -> None:
        # The person asks: a sign-in that just failed to give a token may be tried again.
        self.context.sign_in.fresh.discard(self.account.home_account_id)
        tab = self.tab
        if tab.showing_deleted:
            tab.deleted.reload()
            return
        tab.reload()
        tab.reread_detail()

    def action_help(self) -> None:
        if self.query("HelpPanel"):
            self.app.action_hide_help_panel()
        else:
            self.app.action_show_help_panel()

    async def action_open_vault(self) -> None:
        """The app's way to choose a vault (the picker)."""
        await self.app.run_action("open_vault")

    # -- the session: throttling and signing in again ------------------------------------

    def _tick_throttle(self) -> None:
        if not self.is_mounted:
            return
        left = self.session.throttle_left()
        line = self.query_one("#vault-throttle", Static)
        if left <= 0:
            if line.display:
                line.display = False
            return
        line.update(f"Vault is throttling: waiting {max(1, round(left))} s…")
        line.display = True

    async def _renew(self, expired: SessionExpired) -> Account | None:
        """The login screen on top of this one (VaultSession asks once for every call
        that needs it); back here once signed in, with the same or another account."""
        for tab in self.tabs:
            if tab.listing:
                tab.note("Your sign-in expired: sign in again to continue.")
        account = await self.app.push_screen_wait(
            LoginScreen(
                self.context,
                tenant=expired.tenant,
                scopes=expired.scopes,
                claims=expired.claims,
                reason="Your session has expired. Sign in again to go back to where you were.",
            )
        )
        if account is not None:
            self.context.remember_account(account)
            self.call_after_refresh(self._show_header)
        return account

    def _show_header(self) -> None:
        self.query_one("#vault-header", Static).update(self._header())
