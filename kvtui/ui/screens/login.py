"""The login screen: known accounts first, else msal's device-code flow with the code
large and clear, a countdown, a copy key (OSC 52) and a QR code of the address.

Every msal call runs in a thread (kvtui.core.auth does that); this screen's workers only
await them, so it keeps redrawing and taking keys while msal polls. It is dismissed with
the signed-in Account, or None when the person cancels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from azure.core.credentials import TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kvtui.core.auth import Account, AuthError, DeviceFlow, SignIn, SignInRequired
from kvtui.ui.dialog import SHORT
from kvtui.ui.keys import KeyedHelp, key_for, with_keys
from kvtui.ui.screens import ReportWorkerErrors
from kvtui.ui.text import literal, visible
from kvtui.ui.widgets.footer import Footer
from kvtui.ui.widgets.qr import QRCode

if TYPE_CHECKING:
    from kvtui.ui.launch import AppContext

log = logging.getLogger("kvtui.ui.login")

ANOTHER = "another-account"
#: The QR code needs about this much room besides the text; smaller terminals hide it.
QR_MIN_WIDTH = 100
QR_MIN_HEIGHT = 26


def format_seconds(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


class LoginScreen(ReportWorkerErrors, Screen[Account | None]):
    """Sign in: choose a known account, or approve a device code elsewhere."""

    DEFAULT_CSS = """
    LoginScreen {
        #login {
            padding: 1 2;
            height: 1fr;
        }

        #login-title {
            color: $text;
            margin-bottom: 1;
        }

        #login-reason {
            color: $warning;
            margin-bottom: 1;
        }

        .login-heading {
            color: $text-muted;
        }

        #login-accounts {
            height: auto;
        }

        #account-list {
            height: auto;
            max-height: 12;
            margin-top: 1;
        }

        #login-status {
            color: $text-muted;
        }

        #login-device {
            height: auto;
        }

        #device-text {
            width: 1fr;
            height: auto;
            padding-right: 2;
        }

        #device-message {
            color: $text-muted;
            margin-bottom: 1;
        }

        #device-url {
            text-style: bold underline;
            color: $accent;
            margin-bottom: 1;
        }

        #device-code {
            width: auto;
            text-style: bold;
            color: $text-accent;
            background: $boost;
            border: tall $accent;
            padding: 1 4;
            margin-bottom: 1;
        }

        #device-countdown {
            color: $text-warning;
        }

        #device-waiting {
            color: $text-muted;
            margin-top: 1;
        }

        #device-qr {
            margin-left: 2;
        }

        #login-error {
            height: auto;
            border: round $error;
            padding: 0 1;
        }

        #error-message {
            color: $text-error;
            margin: 1 0;
        }

        #error-hint {
            color: $text-muted;
        }

        /* A short terminal (40x12): msal's own sentence goes (the address and the
           code say it), and with it every blank line; the code keeps its colours. */
        &.-short {
            #login {
                padding: 0 1;
            }
            #login-title, #login-reason, #device-url, #device-code, #error-message {
                margin: 0;
            }
            #device-message {
                display: none;
            }
            #device-code {
                border: none;
                padding: 0 1;
            }
            #device-waiting, #account-list {
                margin-top: 0;
            }
        }
    }
    """

    VERTICAL_BREAKPOINTS: list[tuple[int, str]] | None = [(0, "-short"), (SHORT, "-tall")]  # noqa: RUF012

    HELP = KeyedHelp("""
## Signing in

Open the address shown on any device (your phone can scan the QR code), enter the
code, and approve. kvtui continues by itself once you have.

- **{login.copy_code}** copies the code (through your terminal, also over SSH)
- **{login.restart}** asks for a new code
- **{login.cancel}** cancels
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="login.cancel", tooltip="Stop signing in"),
        Binding(
            "c",
            "copy_code",
            "Copy code",
            id="login.copy_code",
            tooltip="Copy the code to the clipboard (OSC 52: works over SSH and tmux)",
        ),
        Binding(
            "r",
            "restart",
            "New code",
            id="login.restart",
            tooltip="Start the device-code sign-in again with a new code",
        ),
    ]

    def __init__(
        self,
        context: AppContext,
        accounts: Sequence[Account] = (),
        *,
        tenant: str | None = None,
        scopes: Sequence[str] | None = None,
        claims: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.accounts = list(accounts)
        self.tenant = tenant
        self.scopes = list(scopes or [context.vault_scope])
        self.claims = claims
        self.reason = reason
        self.flow: DeviceFlow | None = None
        self.error: AuthError | None = None
        self.phase = "accounts" if self.accounts else "starting"
        #: Where the countdown gets the time (tests freeze it for snapshots).
        self.clock: Callable[[], float] = time.time

    @property
    def sign_in(self) -> SignIn:
        return self.context.sign_in

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Static(self._title(), id="login-title")
            yield Static(literal(self.reason or ""), id="login-reason")
            with Vertical(id="login-accounts"):
                yield Static("Continue as", classes="login-heading")
                options = [
                    Option(self._account_prompt(a), id=f"account-{i}")
                    for i, a in enumerate(self.accounts)
                ]
                options.append(Option(Text("Sign in with another account…"), id=ANOTHER))
                yield OptionList(*options, id="account-list", markup=False)
            yield Static("Contacting the identity platform…", id="login-status")
            with Horizontal(id="login-device"):
                with Vertical(id="device-text"):
                    yield Static("", id="device-message")
                    yield Static("Open this address", classes="login-heading")
                    yield Static("", id="device-url")
                    yield Static("and enter the code", classes="login-heading")
                    yield Static("", id="device-code")
                    yield Static("", id="device-countdown")
                    yield Static(
                        with_keys(
                            self,
                            "Waiting for you to approve… ({login.copy_code} copies the code, "
                            "{login.restart} new code, {login.cancel} cancels)",
                        ),
                        id="device-waiting",
                    )
                yield QRCode(id="device-qr")
            with Vertical(id="login-error"):
                yield Static("Sign-in did not complete", classes="login-heading")
                yield Static("", id="error-message")
                yield Static("", id="error-hint")
        yield Footer()

    def _title(self) -> Text:
        tenant = self.tenant or self.sign_in.tenant
        title = Text("Sign in to Azure", style="bold")
        title.append("  tenant ", style="dim")
        title.append_text(literal(tenant))
        return title

    @staticmethod
    def _account_prompt(account: Account) -> Text:
        prompt = literal(account.username or account.home_account_id, "bold")
        prompt.append("  tenant ", style="dim")
        prompt.append_text(literal(account.tenant_id, "dim"))
        return prompt

    def on_mount(self) -> None:
        if not self.query("#login-reason"):
            # Quitting as the screen mounts: Textual's shutdown can deliver the screen's
            # Mount before its nested children are mounted (tests/ui/test_login.py,
            # test_quitting_as_the_login_screen_mounts_is_quiet). Nothing to set up.
            return
        self.query_one("#login-reason").display = bool(self.reason)
        self.set_interval(1.0, self.update_countdown)
        self._show(self.phase)
        if self.phase == "starting":
            self.start_device_flow()
        else:
            self.query_one(OptionList).focus()

    def on_unmount(self) -> None:
        self._cancel_flow()

    def on_resize(self, event: Resize) -> None:
        self._fit_qr()

    def _fit_qr(self) -> None:
        size = self.app.size
        # query, not query_one: a Resize can come before the nested children are mounted
        # (quitting as the screen mounts; see on_mount).
        self.query(QRCode).set(display=size.width >= QR_MIN_WIDTH and size.height >= QR_MIN_HEIGHT)

    def _show(self, phase: str) -> None:
        """Show one of: accounts, starting, code, error."""
        self.phase = phase
        self.query_one("#login-accounts").display = phase == "accounts"
        self.query_one("#login-status").display = phase == "starting"
        self.query_one("#login-device").display = phase == "code"
        self.query_one("#login-error").display = phase == "error"
        self._fit_qr()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_code":
            return self.phase == "code"
        if action == "restart":
            return self.phase in ("code", "error")
        return True

    # -- device code ----------------------------------------------------------------

    def _render_flow(self, flow: DeviceFlow) -> None:
        self.query_one("#device-message", Static).update(literal(flow.message))
        self.query_one("#device-url", Static).update(literal(flow.verification_uri))
        self.query_one("#device-code", Static).update(literal(flow.user_code))
        self.query_one(QRCode).data = flow.verification_uri

    def update_countdown(self) -> None:
        if self.flow is None or self.phase != "code":
            return
        left = self.flow.expires_at - self.clock()
        text = (
            f"The code expires in {format_seconds(left)}"
            if left > 0
            else f"The code has expired: press {key_for(self, 'login.restart')} for a new one"
        )
        self.query_one("#device-countdown", Static).update(text)

    def _show_error(self, error: AuthError) -> None:
        self.error = error
        self.query_one("#error-message", Static).update(literal(error))
        hint = with_keys(
            self,
            "Press {login.restart} to try again, {login.cancel} to cancel."
            if error.retry
            else "Fix the cause above, then press {login.restart} to try again, or "
            "{login.cancel} to cancel.",
        )
        self.query_one("#error-hint", Static).update(hint)
        self._show("error")

    def _cancel_flow(self) -> None:
        if self.flow is not None:
            self.flow.cancel()
            self.flow = None

    @work(exclusive=True, group="sign-in", exit_on_error=False)
    async def start_device_flow(self) -> None:
        """Ask for a code, show it, and wait (in msal's thread) for the approval."""
        self._cancel_flow()
        self._show("starting")
        try:
            flow = await self.sign_in.start_device_flow(self.scopes, self.tenant, self.claims)
        except AuthError as exc:
            self._show_error(exc)
            return
        except Exception as exc:
            log.exception("starting the device-code flow failed")
            self._show_error(AuthError(f"Sign-in could not start: {exc}"))
            return
        self.flow = flow
        self._render_flow(flow)
        self._show("code")
        self.update_countdown()
        log.info("device code issued for tenant %s", flow.tenant)
        try:
            account = await self.sign_in.complete_device_flow(flow)
        except AuthError as exc:
            if self.flow is flow:  # not cancelled or replaced meanwhile
                self.flow = None
                self._show_error(exc)
            return
        except Exception as exc:
            log.exception("the device-code flow failed")
            if self.flow is flow:
                self.flow = None
                self._show_error(AuthError(f"Sign-in failed: {exc}"))
            return
        self.flow = None
        log.info("signed in as %s", account.username)
        self.dismiss(account)

    @work(exclusive=True, group="sign-in", exit_on_error=False)
    async def use_account(self, account: Account) -> None:
        """Continue silently as a known account; a device code if that cannot be."""
        self.query_one("#login-status", Static).update(
            Text.assemble("Signing in as ", literal(account.username), "…")
        )
        self._show("starting")
        options: TokenRequestOptions = {}
        if self.tenant:
            options["tenant_id"] = self.tenant
        if self.claims:
            options["claims"] = self.claims
        try:
            await self.context.credential(account).get_token_info(*self.scopes, options=options)
        except SignInRequired:
            reason = Text.assemble(
                literal(account.username), " has to sign in again: approve a new code."
            )
            self.query_one("#login-reason", Static).update(reason)
            self.query_one("#login-reason").display = True
            self.query_one("#login-status", Static).update("Contacting the identity platform…")
            self.start_device_flow()
            return
        except (AuthError, ClientAuthenticationError) as exc:
            self._show_error(AuthError(str(getattr(exc, "message", None) or exc)))
            return
        self.dismiss(account)

    # -- actions ----------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#account-list")
    def _account_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option_id == ANOTHER:
            self.start_device_flow()
        else:
            index = int(str(event.option_id).rsplit("-", 1)[1])
            self.use_account(self.accounts[index])

    def action_copy_code(self) -> None:
        if self.flow is not None:
            self.app.copy_to_clipboard(self.flow.user_code)
            self.notify(
                f"Copied the code {visible(self.flow.user_code, multiline=False)}", markup=False
            )

    def action_restart(self) -> None:
        self.start_device_flow()

    def action_cancel(self) -> None:
        self._cancel_flow()
        self.workers.cancel_group(self, "sign-in")
        self.dismiss(None)
