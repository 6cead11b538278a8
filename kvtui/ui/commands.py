"""The command palette's own commands (ctrl+p or ``:``): "Open vault…" (the picker) and
one command per pinned and recent vault, once signed in; every action of the vault
screen that applies now (restore is only here); "Search all vaults" and "Expiring across
vaults"; "Sign out" of the account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from kvtui.core.state import normalize_url
from kvtui.ui.keys import key_for
from kvtui.ui.operations import OPERATIONS
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.picker import PickerScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.text import literal, literal_markup

if TYPE_CHECKING:
    from kvtui.ui.app import KvtuiApp


class _Commands(Provider):
    """A provider of a few commands, each (display, help, callback), listed when the
    palette opens and matched as the user types."""

    def commands(self) -> Iterator[tuple[Text, str, Callable[[], object]]]:
        """(display, help, callback) for each command available now."""
        raise NotImplementedError

    def searched(self, display: Text, help_text: str) -> str:
        """The text a query is matched against."""
        return display.plain

    async def discover(self) -> Hits:
        for display, help_text, callback in self.commands():
            yield DiscoveryHit(display, callback, text=display.plain, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for display, help_text, callback in self.commands():
            score = matcher.match(self.searched(display, help_text))
            if score > 0:
                yield Hit(score, display, callback, text=display.plain, help=help_text)


class VaultCommands(_Commands):
    """Open another vault: through the picker, or straight to a pinned or recent one."""

    def commands(self) -> Iterator[tuple[Text, str, Callable[[], object]]]:
        """(display, help, callback) for each command available now."""
        app = cast("KvtuiApp", self.app)
        if app.account is None or isinstance(self.screen, PickerScreen):
            return
        yield (
            Text("Open vault…"),
            "Pick a vault from your subscriptions, or open one by name or URL",
            app.action_open_vault,
        )
        current = normalize_url(app.vault_url) if app.vault_url else None
        history = app.context.vault_history()
        seen: set[str] = set()
        for saved in (*history.pinned, *history.recent):
            if saved.url in seen or saved.url == current:
                continue
            seen.add(saved.url)
            name = saved.name or urlsplit(saved.url).netloc
            display = Text("Open vault: ")
            display.append_text(literal(name))
            # The palette renders help text as markup: escaped (a URL may come from ARM).
            help_text = literal_markup(saved.url, multiline=False)
            yield display, help_text, partial(app.open_vault, saved.url)

    def searched(self, display: Text, help_text: str) -> str:
        return f"{display.plain} {help_text}"  # a vault's URL finds it too


class OperationCommands(_Commands):
    """Every action of the vault screen that applies now (kvtui/ui/operations.py), with
    its key: the writes too, unless the vault is read-only; restore has no other way."""

    def commands(self) -> Iterator[tuple[Text, str, Callable[[], object]]]:
        screen = self.screen
        if not isinstance(screen, VaultScreen) or not screen.is_mounted:
            return
        tab = screen.tab
        for op in OPERATIONS:
            if not screen.check_action("op", (op.name,)):
                continue
            display = Text(op.label)
            if op.key:
                display.append(f"  {key_for(screen, op.binding_id)}", style="dim")
            help_text = literal_markup(f"{op.tooltip} ({tab.ops.title.lower()})")
            yield display, help_text, partial(screen.action_op, op.name)


class AccountCommands(_Commands):
    """Sign out: the account and its tokens leave the token cache (``kvtui logout``)."""

    def commands(self) -> Iterator[tuple[Text, str, Callable[[], object]]]:
        app = cast("KvtuiApp", self.app)
        if app.account is None or isinstance(self.screen, PickerScreen | LoginScreen):
            return
        display = Text("Sign out ")
        display.append_text(literal(app.account.username or app.account.home_account_id))
        help_text = "Forget this account and its tokens on this machine, then sign in again"
        yield display, help_text, app.action_sign_out


class CrossVaultCommands(_Commands):
    """Across every vault the account can see (kvtui/ui/screens/cross_vault.py): a search,
    and what has expired or expires soon; from the vault screen or the picker."""

    def commands(self) -> Iterator[tuple[Text, str, Callable[[], object]]]:
        app = cast("KvtuiApp", self.app)
        if app.account is None or not isinstance(self.screen, VaultScreen | PickerScreen):
            return
        days = app.context.settings.expiry_warning_days
        yield (
            Text("Search all vaults…"),
            "Names, tags (tag:env=prod) and types (type:json) in every vault you can see",
            partial(open_cross_vault, app, "search"),
        )
        yield (
            Text("Expiring across vaults"),
            f"Expired secrets, keys and certificates, and those expiring within {days} days",
            partial(open_cross_vault, app, "expiring"),
        )


def open_cross_vault(app: KvtuiApp, which: str) -> None:
    """The search (``which`` ``search``) or the expiring view; the row chosen opens in
    its vault."""
    from kvtui.ui.screens.cross_vault import CrossVaultScreen, open_in_vault
    from kvtui.ui.screens.expiring import ExpiringScreen
    from kvtui.ui.screens.search import SearchScreen

    if app.account is None or isinstance(app.screen, CrossVaultScreen):
        return
    kind = SearchScreen if which == "search" else ExpiringScreen
    app.push_screen(kind(app.context, app.account), callback=partial(open_in_vault, app))
