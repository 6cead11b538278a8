"""A minimal vault screen: the vault and account on top, the secrets' names as they
stream in, page by page. The real table arrives with the next issue; this screen only
proves the path sign-in -> vault, including signing in again mid-session."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from kvtui.core.auth import Account, SignInRequired
from kvtui.core.errors import VaultError
from kvtui.core.models import Kind
from kvtui.ui.screens import ReportWorkerErrors, literal
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.open_vault import OpenVaultScreen

if TYPE_CHECKING:
    from kvtui.core.vault import VaultService
    from kvtui.ui.launch import AppContext

log = logging.getLogger("kvtui.ui.vault")


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


class VaultScreen(ReportWorkerErrors, Screen[None]):
    """One open vault."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Reload", id="vault.reload", tooltip="List the secrets again"),
        Binding("o", "open_vault", "Open vault", id="vault.open", tooltip="Open another vault"),
    ]

    def __init__(self, context: AppContext, account: Account, vault_url: str) -> None:
        super().__init__()
        self.context = context
        self.account = account
        self.vault_url = vault_url
        self.service: VaultService = context.vault_service(vault_url, account)
        self.names: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="vault-header")
        yield Static("Listing secrets…", id="vault-status")
        yield OptionList(id="secret-names", markup=False)
        yield Footer()

    def _header(self) -> Text:
        header = Text("Vault ", style="dim")
        header.append_text(literal(self.vault_url, "bold"))
        header.append("  as ", style="dim")
        header.append_text(literal(self.account.username))
        return header

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    async def on_unmount(self) -> None:
        await self.service.close()

    def _status(self, text: Text | str) -> None:
        self.query_one("#vault-status", Static).update(text)

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self) -> None:
        """List the secrets, page by page. When sign-in is needed again, show the login
        screen on top and carry on afterwards."""
        names = self.query_one(OptionList)
        while True:
            names.clear_options()
            self.names = []
            self._status("Listing secrets…")
            try:
                async for page in self.service.list_pages(Kind.SECRETS):
                    batch = [item.name for item in page]
                    self.names.extend(batch)
                    names.add_options([literal(n) for n in batch])
                    self._status(f"{len(self.names)} secrets…")
            except VaultError as exc:
                required = sign_in_required(exc)
                if required is None:
                    log.warning("listing failed: %s", exc)
                    self._status(literal(f"{exc}  (r retries)", "bold"))
                    return
                if not await self._sign_in_again(required):
                    self._status("Not signed in: press r to sign in and retry.")
                    return
                continue
            self._status(f"{len(self.names)} secrets")
            return

    async def _sign_in_again(self, required: SignInRequired) -> bool:
        """The login screen on top of this one; True when signed in again."""
        log.info("sign-in required mid-session (tenant %s)", required.tenant)
        self._status("Your sign-in expired: sign in again to continue.")
        account = await self.app.push_screen_wait(
            LoginScreen(
                self.context,
                tenant=required.tenant,
                scopes=required.scopes,
                claims=required.claims,
                reason="Your session has expired. Sign in again to go back to where you were.",
            )
        )
        if account is None:
            return False
        self.context.remember_account(account)
        if account != self.account:
            await self.service.close()
            self.account = account
            self.service = self.context.vault_service(self.vault_url, account)
            self.query_one("#vault-header", Static).update(self._header())
        return True

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="open", exit_on_error=False)
    async def action_open_vault(self) -> None:
        url = await self.app.push_screen_wait(OpenVaultScreen(self.context))
        if url:
            self.app.switch_screen(VaultScreen(self.context, self.account, url))
