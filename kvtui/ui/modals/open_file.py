"""Read a file the user names: ``OpenFileScreen(title, default, limit)`` is dismissed
with the file's bytes, or None (esc). A file that cannot be read (missing, a folder,
too big, no permission) is said in the modal, and the path can be corrected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from kvtui.ui.dialog import Dialog
from kvtui.ui.modals.export import shown_path
from kvtui.ui.text import literal


def read_limited(value: str, limit: int) -> bytes:
    """The bytes of the file ``value`` names, at most ``limit`` (OSError says why not)."""
    path = Path(os.path.expanduser(value.strip())).absolute()
    if path.is_dir():
        raise OSError(f"{path} is a folder: add a file name.")
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path} is over {limit:,} bytes: not a file for this.")
    return data


class OpenFileScreen(Dialog[bytes | None]):
    """Ask for a file and read it."""

    DEFAULT_CSS = """
    OpenFileScreen {
        #open-file { width: 90%; max-width: 100; }
        #open-file-error { color: $text-error; height: auto; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="open_file.cancel", tooltip="Read nothing"),
    ]

    def __init__(self, title: str, default: Path, limit: int) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.limit = limit

    def compose(self) -> ComposeResult:
        with Vertical(id="open-file", classes="dialog"):
            yield Static(literal(self.title_text, multiline=False), classes="dialog-title")
            value = shown_path(self.default)
            if not value.endswith(os.sep):
                value = value if self.default.suffix else value + os.sep
            yield Input(value=value, placeholder="a file, e.g. ./secret.txt", id="open-file-path")
            yield Static("", id="open-file-error")
            yield Static(Text("enter: read · esc: cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        path = self.query_one("#open-file-path", Input)
        path.focus()
        path.cursor_position = len(path.value)

    @on(Input.Submitted, "#open-file-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#open-file-error", Static)
        if not event.value.strip():
            error.update("Type a file name.")
            return
        try:
            data = read_limited(event.value, self.limit)
        except OSError as exc:
            said = f"{exc.filename or event.value}: {exc.strerror}" if exc.strerror else str(exc)
            error.update(literal(said))
            return
        self.dismiss(data)

    def action_cancel(self) -> None:
        self.dismiss(None)
