"""A small modal to type the vault to open (a name or a URL): the picker's "Open by name
or URL…", for a vault ARM does not list."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Static

if TYPE_CHECKING:
    from kvtui.ui.launch import AppContext

#: Key Vault names: 3-24 letters, digits and hyphens, starting with a letter.
VAULT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")


class VaultNameOrUrl(Validator):
    def validate(self, value: str) -> ValidationResult:
        text = value.strip()
        if text.startswith("https://") and len(text) > len("https://"):
            return self.success()
        if VAULT_NAME.match(text) and "--" not in text:
            return self.success()
        return self.failure("a vault name (3-24 letters, digits, hyphens) or an https:// URL")


class OpenVaultScreen(ModalScreen[str | None]):
    """Dismissed with the vault URL, or None (esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="open_vault.cancel", tooltip="Do not open"),
    ]

    def __init__(self, context: AppContext, initial: str = "") -> None:
        super().__init__()
        self.context = context
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(id="open-vault"):
            yield Static("Open a vault", classes="dialog-title")
            yield Static(
                f"A vault name (becomes https://NAME{self.context.cloud.vault_suffix}/) "
                "or the vault's URL.",
                classes="dialog-hint",
                markup=False,
            )
            yield Input(
                self.initial,
                placeholder="my-vault or https://…",
                validators=[VaultNameOrUrl()],
                validate_on=["submitted"],
                id="vault-input",
            )
            yield Static("", id="open-vault-error", markup=False)

    @on(Input.Submitted, "#vault-input")
    def _submitted(self, event: Input.Submitted) -> None:
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.query_one("#open-vault-error", Static).update(
                "; ".join(result.failure_descriptions)
            )
            return
        self.dismiss(self.context.vault_url(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
