"""Save public material (a certificate, a public key) to a file.

``ExportScreen(default_path, data, what)`` is dismissed with the absolute Path written,
or None (esc). Enter writes with :func:`kvtui.core.references.write_export`, which
never replaces a file unasked: when the file exists the modal says so and asks
"overwrite? (y/n)". Any other failure (a folder that does not exist, no permission)
is shown in the modal and the path can be corrected.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Static

from kvtui.core.references import ExportError, write_export
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.text import literal


class ExportPath(Validator):
    """A path a file can be written to: not empty, not a folder (ends with a slash),
    no control characters."""

    def validate(self, value: str) -> ValidationResult:
        text = value.strip()
        if not text:
            return self.failure("Type a file name.")
        if text.endswith(("/", os.sep)):
            return self.failure("That is a folder: add a file name.")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
            return self.failure("A file name cannot contain control characters.")
        return self.success()


def _target(value: str) -> Path:
    """The file ``value`` names, as write_export resolves it."""
    return Path(os.path.expanduser(value.strip())).absolute()


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def shown_path(path: Path) -> str:
    """A path as typed: a relative one keeps its ``./`` (``Path`` drops it), so it reads
    as "here"."""
    text = str(path)
    if not path.is_absolute() and not text.startswith((".", "~")):
        text = f".{os.sep}{text}"
    return text


def _size(data: bytes) -> str:
    n = len(data)
    return f"{n:,} byte{'' if n == 1 else 's'}"


class ExportScreen(Dialog[Path | None]):
    """Choose where to save ``data``. Dismissed with the path written, or None."""

    DEFAULT_CSS = """
    ExportScreen {
        #export {
            width: 90%;
            max-width: 100;
        }
        #export-error {
            color: $text-error;
            height: auto;
        }
        #export-confirm {
            height: auto;
        }
        #export-confirm-question {
            width: auto;
            margin-right: 2;
            color: $text-warning;
        }
        #export-confirm Button {
            margin-right: 1;
        }
    }
    """

    HELP = KeyedHelp("""\
## Export

Type the file to save to (``~`` is your home folder) and press **enter**. An
existing file is never replaced unless you answer **{export.overwrite}** to "Overwrite it?".
**{export.cancel}** saves nothing.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel", tooltip="Save nothing"),
        Binding(
            "y", "overwrite", "Overwrite", id="export.overwrite",
            tooltip="Replace the existing file",
        ),
        Binding(
            "n", "keep", "Keep", id="export.keep",
            tooltip="Keep the existing file and choose another name",
        ),
    ]  # fmt: skip

    def __init__(self, default_path: Path, data: bytes, what: str, *, mode: int = 0o644) -> None:
        """``mode``: the new file's permissions (0600 for a backup or a private key)."""
        super().__init__()
        self.mode = mode
        self.default_path = default_path
        self.data = data
        self.what = what
        self.confirming: Path | None = None
        """The existing file the modal is asking to overwrite, if it is asking."""

    def compose(self) -> ComposeResult:
        what = Text("Save the ", end="")
        what.append_text(literal(self.what, "bold", escape_style="reverse", multiline=False))
        what.append(f" ({_size(self.data)}) to:")
        with Vertical(id="export", classes="dialog"):
            yield Static("Export", classes="dialog-title")
            yield Static(what, id="export-what")
            yield Input(
                value=shown_path(self.default_path),
                placeholder="file name, e.g. ./certificate.pem",
                validators=[ExportPath()],
                validate_on=["submitted"],
                id="export-path",
            )
            yield Static("", id="export-error", markup=False)
            with Horizontal(id="export-confirm"):
                question = with_keys(self, "Overwrite it? ({export.overwrite}/{export.keep})")
                yield Static(question, id="export-confirm-question", markup=False)
                yield Button("Overwrite", id="export-overwrite", variant="warning", compact=True)
                yield Button("Keep it", id="export-keep", compact=True)
            hint = Text(with_keys(self, "enter: save · {export.cancel}: cancel"), end="")
            if not self.default_path.is_absolute():
                hint.append(" · relative to ")
                hint.append_text(literal(Path.cwd(), multiline=False))
            yield Static(hint, id="export-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self._set_confirming(None)
        self._error("")
        path_input = self.query_one("#export-path", Input)
        path_input.focus()
        path_input.cursor_position = len(path_input.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("overwrite", "keep"):
            return self.confirming is not None
        return True

    # -- saving ---------------------------------------------------------------------

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        result = event.validation_result
        if result is not None and not result.is_valid:
            self._error("; ".join(result.failure_descriptions))
            return
        self._save(event.value, overwrite=False)

    def _save(self, value: str, *, overwrite: bool) -> None:
        try:
            written = write_export(value.strip(), self.data, overwrite=overwrite, mode=self.mode)
        except ExportError as exc:
            self._error(str(exc))
            target = _target(value)
            self._set_confirming(target if not overwrite and _is_file(target) else None)
            return
        self.dismiss(written)

    @on(Input.Changed, "#export-path")
    def _changed(self, event: Input.Changed) -> None:
        if self.confirming is not None and _target(event.value) != self.confirming:
            self._set_confirming(None)
            self._error("")

    # -- overwrite? -----------------------------------------------------------------

    def action_overwrite(self) -> None:
        if self.confirming is not None:
            self._save(str(self.confirming), overwrite=True)

    def action_keep(self) -> None:
        self._set_confirming(None)
        self._error("")
        self.query_one("#export-path", Input).focus()

    @on(Button.Pressed, "#export-overwrite")
    def _overwrite_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_overwrite()

    @on(Button.Pressed, "#export-keep")
    def _keep_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_keep()

    def _set_confirming(self, target: Path | None) -> None:
        self.confirming = target
        self.query_one("#export-confirm").display = target is not None
        if target is not None:
            self.query_one("#export-keep", Button).focus()
        self.refresh_bindings()

    def _error(self, message: str) -> None:
        error = self.query_one("#export-error", Static)
        error.update(literal(message, escape_style="reverse"))
        error.display = bool(message)

    def action_cancel(self) -> None:
        self.dismiss(None)
