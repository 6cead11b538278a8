"""A tab's error panel: what went wrong listing (literal: the text comes from the vault)
and, under it, always in view, what to do about it. The message scrolls (a real RBAC
403 is a dozen lines at 80 columns); the hint names the user's keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from kvtui.core.errors import (
    FirewallDenied,
    NetworkError,
    PermissionDenied,
    SessionExpired,
    Throttled,
    TrustFailure,
    UnknownVault,
    VaultError,
)
from kvtui.ui.keys import key_for
from kvtui.ui.text import literal


def not_signed_in_message(expired: SessionExpired, reload: str = "ctrl+r") -> str:
    """What a listing says when it stopped for want of a token (``reload``: the key of
    vault.reload, :func:`kvtui.ui.keys.key_for`)."""
    if expired.after_sign_in:
        return (
            "Signed in, but still no token for this vault: "
            f"{expired.reason or 'no token'}. Press {reload} to sign in again."
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


class ErrorPanel(Vertical):
    """``#errorbox-<kind>`` with ``#error-<kind>`` (the message, in
    ``#error-scroll-<kind>``) and ``#error-hint-<kind>``; hidden while there is no
    error."""

    SCOPED_CSS: ClassVar[bool] = False  # VaultScreen.short below
    DEFAULT_CSS = """
    ErrorPanel { height: auto; border: round $error; padding: 0 1; }
    ErrorPanel .vault-error-scroll { height: auto; max-height: 6; scrollbar-size-vertical: 1; }
    ErrorPanel .vault-error-message { color: $text-error; }
    ErrorPanel .vault-error-hint { height: auto; color: $text; text-style: bold; }
    VaultScreen.short ErrorPanel { border: none; border-left: thick $error; padding: 0 0 0 1; }
    VaultScreen.short ErrorPanel .vault-error-scroll { max-height: 2; }
    """

    def __init__(self, suffix: str) -> None:
        super().__init__(id=f"errorbox-{suffix}", classes="vault-error")
        self.scroll = VerticalScroll(id=f"error-scroll-{suffix}", classes="vault-error-scroll")
        self.message = Static("", id=f"error-{suffix}", classes="vault-error-message")
        self.hint = Static("", id=f"error-hint-{suffix}", classes="vault-error-hint")
        self.display = False

    def compose(self) -> ComposeResult:
        with self.scroll:
            yield self.message
        yield self.hint

    def show(self, exc: VaultError | None) -> None:
        """The error, with what can help (the keys the user has); None hides it."""
        if exc is None:
            if self.display or self.message.display:  # (each update lays the screen out)
                self.display = self.message.display = False
                self.message.update("")
                self.hint.update("")
            return
        self.message.update(literal(f"⚠ {exc}", "bold"))
        reload, open_vault = key_for(self, "vault.reload"), key_for(self, "vault.open")
        self.hint.update(error_hint(exc, reload, open_vault))
        self.scroll.scroll_home(animate=False)
        self.display = self.message.display = True
