"""How to write a certificate with its private key: ``KeyFileDialog(name, fmt)`` is
dismissed with ``(format, password)`` (format: kvtui/core/certfiles.py's ``PKCS12`` or
``PEM``; password: empty for none) or None (esc).

The password is typed twice, masked; an empty one writes the key unencrypted, and the
dialog says what that means. ``ctrl+s``, or enter in the second password field,
continues; the passwords must match. Nothing here is logged or prefilled.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from kvtui.core.certfiles import PEM, PKCS12
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.text import literal

FORMATS = (("PFX (PKCS#12)", PKCS12), ("PEM (key + chain)", PEM))
NO_PASSWORD = "No password: anyone who can read the file has the private key."
WITH_PASSWORD = "The private key is encrypted with this password (AES-256)."


class KeyFileDialog(Dialog[tuple[str, str] | None]):
    """Choose the format and the password of a private key's file."""

    DEFAULT_CSS = """
    KeyFileDialog {
        #key-file { width: 80; max-width: 100%; }
        .key-file-row { height: auto; }
        .key-file-row > Label { width: 10; color: $text-muted; }
        .key-file-row > Input, .key-file-row > Select { width: 1fr; }
        #key-file-note { color: $text-warning; height: auto; }
        #key-file-note.-ok { color: $text-muted; }
        #key-file-error { color: $text-error; height: auto; }
    }
    """

    HELP = KeyedHelp("""\
## The private key's file

Choose PFX or PEM, and type a password twice to encrypt the key (empty: not
encrypted). **{key_file.done}** (or **enter** in the second field) goes on to where the
file is saved; **{key_file.cancel}** saves nothing.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "done", "Continue", id="key_file.done", tooltip="Choose where to save",
                priority=True),
        Binding("escape", "cancel", "Cancel", id="key_file.cancel", tooltip="Save nothing"),
    ]  # fmt: skip

    def __init__(self, name: str, fmt: str = PKCS12) -> None:
        super().__init__()
        self.item_name = name
        self.fmt = fmt if fmt in (PKCS12, PEM) else PKCS12

    def compose(self) -> ComposeResult:
        with Vertical(id="key-file", classes="dialog"):
            title = Text("Download ")
            title.append_text(literal(self.item_name, multiline=False))
            title.append(" with its private key")
            yield Static(title, classes="dialog-title")
            yield Horizontal(
                Label("Format"),
                Select(FORMATS, value=self.fmt, allow_blank=False, id="key-file-format",
                       compact=True),
                classes="key-file-row",
            )  # fmt: skip
            yield Horizontal(
                Label("Password"),
                Input(password=True, id="key-file-password", compact=True,
                      placeholder="protects the file; empty: none"),
                classes="key-file-row",
            )  # fmt: skip
            yield Horizontal(
                Label("Again"),
                Input(password=True, id="key-file-again", compact=True,
                      placeholder="the same password"),
                classes="key-file-row",
            )  # fmt: skip
            yield Static(NO_PASSWORD, id="key-file-note")
            error = Static("", id="key-file-error")
            error.display = False
            yield error
            hint = with_keys(self, "{key_file.done} continue · tab next · {key_file.cancel} cancel")
            yield Static(Text(hint), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#key-file-password", Input).focus()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        password = self.query_one("#key-file-password", Input).value
        note = self.query_one("#key-file-note", Static)
        note.update(WITH_PASSWORD if password else NO_PASSWORD)
        note.set_class(bool(password), "-ok")
        self.query_one("#key-file-error", Static).display = False

    @on(Input.Submitted, "#key-file-password")
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#key-file-again", Input).focus()

    @on(Input.Submitted, "#key-file-again")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_done()

    def action_done(self) -> None:
        password = self.query_one("#key-file-password", Input).value
        again = self.query_one("#key-file-again", Input)
        if password != again.value:
            error = self.query_one("#key-file-error", Static)
            error.update("The two passwords differ: type the second again.")
            error.display = True
            again.focus()  # (its text selected: typing replaces it)
            return
        fmt = str(self.query_one("#key-file-format", Select).value)
        self.dismiss((fmt, password))

    def action_cancel(self) -> None:
        self.dismiss(None)
