"""A small modal to type the vault to open (a name or a URL): the picker's "Open by name
or URL…", for a vault ARM does not list."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Static

from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import with_keys

if TYPE_CHECKING:
    from kvtui.core.clouds import Cloud
    from kvtui.ui.launch import AppContext


class VaultNameOrUrl(Validator):
    """The same check as ``--vault`` (kvtui/core/validation.py): a vault name or an
    https vault URL with a valid host and port, nothing else."""

    def __init__(self, cloud: Cloud) -> None:
        super().__init__()
        self.cloud = cloud

    def validate(self, value: str) -> ValidationResult:
        try:
            self.cloud.vault_url(value)
        except ValueError as exc:
            return self.failure(str(exc))
        return self.success()


class OpenVaultScreen(Dialog[str | None]):
    """Dismissed with the vault URL, or None (esc)."""

    DEFAULT_CSS = """
    OpenVaultScreen {
        #open-vault {
            width: 70;
        }
        #open-vault-help {
            color: $text-muted;
        }
        #open-vault-error {
            height: auto;
            color: $text-error;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="open_vault.cancel", tooltip="Do not open"),
    ]

    def __init__(self, context: AppContext, initial: str = "") -> None:
        super().__init__()
        self.context = context
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(id="open-vault", classes="dialog"):
            yield Static("Open a vault", classes="dialog-title")
            yield Static(
                f"A vault name (becomes https://NAME{self.context.cloud.vault_suffix}/) "
                "or the vault's URL.",
                id="open-vault-help",
                markup=False,
            )
            yield Input(
                self.initial,
                placeholder="my-vault or https://…",
                validators=[VaultNameOrUrl(self.context.cloud)],
                validate_on=["submitted"],
                id="vault-input",
            )
            yield Static("", id="open-vault-error", markup=False)
            hint = with_keys(self, "enter: open · {open_vault.cancel}: cancel")
            yield Static(hint, id="open-vault-hint", classes="dialog-hint", markup=False)

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
