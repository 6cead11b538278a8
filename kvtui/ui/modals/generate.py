"""How to generate a value: ``GenerateDialog()`` is dismissed with (length, classes) or
None (esc). The value itself is made by :func:`kvtui.core.forms.generate_value` and is
never shown here."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Static

from kvtui.core.forms import CLASSES
from kvtui.ui.dialog import Dialog

Choice = tuple[int, tuple[str, ...]]


class GenerateDialog(Dialog[Choice | None]):
    """Length and character classes of a generated value."""

    DEFAULT_CSS = """
    GenerateDialog {
        #generate { width: 50; max-width: 100%; }
        #generate Horizontal { height: auto; }
        #generate Label { width: 10; color: $text-muted; }
        #generate-length { width: 8; }
        #generate-error { color: $text-error; height: auto; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "generate", "Generate", id="generate.ok", priority=True,
                tooltip="Generate the value"),
        Binding("escape", "cancel", "Cancel", id="generate.cancel", tooltip="Generate nothing"),
    ]  # fmt: skip

    def compose(self) -> ComposeResult:
        with Vertical(id="generate", classes="dialog"):
            yield Static("Generate a value", classes="dialog-title")
            with Horizontal():
                yield Label("Length")
                yield Input("32", id="generate-length", restrict=r"\d*", max_length=4,
                            compact=True)  # fmt: skip
            for name in CLASSES:
                yield Checkbox(name, True, id=f"generate-{name}", compact=True)
            yield Static("", id="generate-error")
            hint = "enter or ctrl+s: generate (hidden until ctrl+t) · esc: cancel"
            yield Static(Text(hint), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#generate-length", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_generate()

    def action_generate(self) -> None:
        text = self.query_one("#generate-length", Input).value
        classes = tuple(n for n in CLASSES if self.query_one(f"#generate-{n}", Checkbox).value)
        error = self.query_one("#generate-error", Static)
        length = int(text) if text.isdigit() else 0
        if not 8 <= length <= 1024:
            error.update("The length is 8 to 1024 characters.")
            return
        if not classes:
            error.update("Choose at least one kind of character.")
            return
        self.dismiss((length, classes))

    def action_cancel(self) -> None:
        self.dismiss(None)
