"""Yes or no before a write: ``ConfirmDialog(title, lines, verb)`` is dismissed with True
(``y``, or the button) or False (``n``, ``esc``).

With ``typed=NAME`` (a purge: it cannot be undone) ``y`` confirms nothing: the dialog
asks for the item's name, and only enter on the exact name confirms; ``y`` is just a
letter of the name.

Every line about an item is untrusted (names come from the vault): shown literally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.text import literal


class ConfirmDialog(Dialog[bool]):
    """Ask before a write; True to go ahead."""

    DEFAULT_CSS = """
    ConfirmDialog {
        #confirm { width: 72; max-width: 100%; }
        #confirm-lines { height: auto; max-height: 12; }
        #confirm-typed-error { color: $text-error; height: auto; }
        #confirm-buttons { height: auto; margin-top: 1; }
        #confirm-buttons Button { margin-right: 2; }
        &.-short #confirm-buttons { margin-top: 0; }
    }
    """

    HELP = KeyedHelp("""\
## Confirm

**{confirm.yes}** goes ahead, **{confirm.no}** or **esc** does nothing. A purge asks for
the item's name instead: type it and press **enter**.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Go ahead"),
        Binding("n", "answer(False)", "No", id="confirm.no", tooltip="Do nothing"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel", tooltip="Do nothing"),
    ]

    def __init__(
        self,
        title: str,
        lines: Sequence[Text | str],
        verb: str,
        *,
        typed: str | None = None,
        danger: bool = True,
    ) -> None:
        """``verb`` names what yes does ("Delete"); ``typed``: the name to type first."""
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.verb = verb
        self.typed = typed
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(literal(self.title_text, multiline=False), classes="dialog-title")
            with VerticalScroll(id="confirm-lines"):
                for line in self.lines:
                    text = line if isinstance(line, Text) else literal(line)
                    yield Static(text)
            if self.typed is not None:
                ask = Text("Type the name ")
                ask.append_text(literal(self.typed, "bold", multiline=False))
                ask.append(" to confirm:")
                yield Static(ask, id="confirm-typed-ask")
                yield Input(placeholder=self.typed, id="confirm-typed", compact=True)
                yield Static("", id="confirm-typed-error")
                hint = f"enter: {self.verb.lower()} · esc: cancel"
            else:
                with Horizontal(id="confirm-buttons"):
                    yield Button(
                        with_keys(self, f"{self.verb} ({{confirm.yes}})"),
                        id="confirm-yes",
                        variant="error" if self.danger else "primary",
                        compact=True,
                    )
                    yield Button(with_keys(self, "Cancel ({confirm.no})"), id="confirm-no",
                                 compact=True)  # fmt: skip
                hint = with_keys(self, f"{{confirm.yes}}: {self.verb.lower()} · "
                                       "{confirm.no} or esc: cancel")  # fmt: skip
            yield Static(Text(hint), classes="dialog-hint")

    def on_mount(self) -> None:
        if self.typed is not None:
            self.query_one("#confirm-typed", Input).focus()
        else:
            self.query_one("#confirm-no", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer" and parameters and parameters[0] is True:
            return self.typed is None  # a purge: only the typed name confirms
        return True

    def action_answer(self, yes: bool) -> None:
        if yes and self.typed is not None:
            return
        self.dismiss(yes)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    @on(Input.Submitted, "#confirm-typed")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value == self.typed:
            self.dismiss(True)
            return
        error = self.query_one("#confirm-typed-error", Static)
        error.update(Text("That is not the name: nothing was done. Type it exactly."))
