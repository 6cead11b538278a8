"""Key operations on one key version (``C``): encrypt, decrypt, sign, verify, wrap and
unwrap, run by kvtui/core/keyops.py.

- **The focus starts in the input.** The operation defaults to encrypt with
  RSA-OAEP-256 for an RSA key, sign with ES256 (the curve's) for an EC key.
- **Not permitted** operations are listed as such, and the line under the list says
  why (the key's operations, its type, disabled); ``ctrl+s`` then runs nothing.
- **Input** is text, base64, or a file's path (read whole, at most 64 KiB).
- ``ctrl+s`` runs it. The result is shown whole (base64url, or text when it decodes),
  with who did it: the vault, or locally with the public key; verify says both.
- ``ctrl+y`` copies the result through the clearing clipboard, as values are.
- **Decrypted and unwrapped bytes are a secret**: masked until ``ctrl+t``, never logged,
  dropped when the dialog closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static, TextArea

from kvtui.core import keyops
from kvtui.core.errors import VaultError
from kvtui.core.keyops import InputMode, Outcome
from kvtui.core.models import KeyDetail
from kvtui.core.validation import InvalidValue
from kvtui.ui.clipboard import SecretClipboard
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.modals.open_file import read_limited
from kvtui.ui.text import literal

Run = Callable[[str, str, bytes, bytes], Awaitable[Outcome]]
#: A file read as the input: no bigger than this.
MAX_INPUT = 64 * 1024
MODES = (("text", "text"), ("base64", "base64"), ("a file (type its path)", "file"))


class KeyOperations(Dialog[None]):
    """The key operations dialog (see the module's doc)."""

    DEFAULT_CSS = """
    KeyOperations {
        #keyops { width: 90; max-width: 100%; height: auto; max-height: 100%; }
        #keyops-fields { height: auto; max-height: 1fr; }
        #keyops .dialog-title { text-wrap: nowrap; text-overflow: ellipsis; }
        .form-row { height: auto; }
        .form-row > Label { width: 12; color: $text-muted; }
        .form-row > Select, .form-row > Input, .form-row > TextArea { width: 1fr; }
        #keyops-why { color: $text-warning; height: auto; padding-left: 12; }
        #keyops-input { height: 3; }
        #keyops-message { height: auto; }
        #keyops-message.-error { color: $text-error; }
        #keyops-result-title { color: $text-muted; height: auto; margin-top: 1; }
        #keyops-result { height: auto; }
        &.-short #keyops-input { height: 2; }
        &.-short #keyops-result-title { margin-top: 0; }
        &.-narrow .form-row > Label { width: 10; }
        &.-narrow #keyops-why { padding-left: 10; }
    }
    """

    # (Textual's annotation makes a ClassVar here an error, as in the Dialog.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]  # noqa: RUF012

    HELP = KeyedHelp("""\
## Key operations

**{keyops.run}** runs the operation, **{keyops.copy}** copies the result (cleared
later, as values are), **{keyops.show}** shows a decrypted result, **esc** closes.

Signing hashes the data here and sends the digest; verify checks locally with the
public key and asks the vault too. Decrypt, unwrap and sign are always the vault's.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "run", "Run", id="keyops.run", tooltip="Run the operation",
                priority=True),
        Binding("ctrl+y", "copy", "Copy result", id="keyops.copy",
                tooltip="Copy the result (cleared from the clipboard later)", priority=True),
        Binding("ctrl+t", "show", "Show", id="keyops.show",
                tooltip="Show or hide a decrypted result"),
        Binding("escape", "close", "Close", id="keyops.close", tooltip="Close"),
    ]  # fmt: skip

    def __init__(self, detail: KeyDetail, run: Run, clipboard_seconds: float) -> None:
        super().__init__()
        self.detail = detail
        self.run_operation = run
        self.clipboard_seconds = clipboard_seconds
        self.outcome: Outcome | None = None
        self.shown = False
        self._busy = False

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        detail = self.detail
        item = detail.item
        version = (item.version or "")[:8]
        title = f"Key operations: {item.name}" + (f" (version {version}…)" if version else "")
        operation = keyops.default_operation(detail)
        options = []
        for op in keyops.OPERATIONS:
            label = keyops.LABELS[op]
            if keyops.refusal(op, detail) is not None:
                label += " · not permitted"
            options.append((label, op))
        with Vertical(id="keyops", classes="dialog"):
            yield Static(literal(title, multiline=False), classes="dialog-title")
            with VerticalScroll(id="keyops-fields"):
                with Horizontal(classes="form-row"):
                    yield Label("Operation")
                    yield Select(options, value=operation, allow_blank=False, compact=True,
                                 id="keyops-operation")  # fmt: skip
                yield Static("", id="keyops-why")
                with Horizontal(classes="form-row"):
                    yield Label("Algorithm")
                    yield Select(self._algorithms(operation), allow_blank=False, compact=True,
                                 id="keyops-algorithm")  # fmt: skip
                with Horizontal(classes="form-row"):
                    yield Label("Input as")
                    yield Select(MODES, value="text", allow_blank=False, compact=True,
                                 id="keyops-mode")  # fmt: skip
                with Horizontal(classes="form-row"):
                    yield Label("Input", id="keyops-input-label")
                    yield TextArea(id="keyops-input", compact=True, soft_wrap=True)
                with Horizontal(classes="form-row", id="keyops-signature-row"):
                    yield Label("Signature")
                    yield Input(placeholder="base64 or base64url", id="keyops-signature",
                                compact=True)  # fmt: skip
                yield Static("", id="keyops-message")
                yield Static("", id="keyops-result-title")
                yield Static("", id="keyops-result")
            yield Static(self._hint(), id="keyops-hint", classes="dialog-hint")

    def _algorithms(self, operation: str) -> list[tuple[str, str]]:
        algs = keyops.algorithms(operation, self.detail.key_type, self.detail.curve)
        return [(a, a) for a in algs] or [("(none for this key)", "")]

    def _hint(self) -> Text:
        return Text(with_keys(self, "{keyops.run} run · {keyops.copy} copy result · tab next · "
                              "esc close"))  # fmt: skip

    def on_mount(self) -> None:
        self._message("")
        self._operation_changed(str(self.query_one("#keyops-operation", Select).value))
        self.query_one("#keyops-input", TextArea).focus()

    # -- choices ----------------------------------------------------------------------

    @property
    def operation(self) -> str:
        return str(self.query_one("#keyops-operation", Select).value)

    @on(Select.Changed, "#keyops-operation")
    def _operation_select(self, event: Select.Changed) -> None:
        self._operation_changed(str(event.value))

    def _operation_changed(self, operation: str) -> None:
        why = keyops.refusal(operation, self.detail)
        note = self.query_one("#keyops-why", Static)
        note.update(literal(f"Not permitted: {why}." if why else ""))
        note.display = why is not None
        algorithm = self.query_one("#keyops-algorithm", Select)
        current = algorithm.value
        options = self._algorithms(operation)
        algorithm.set_options(options)
        values = [v for _, v in options]
        algorithm.value = current if current in values else values[0]
        self.query_one("#keyops-signature-row").display = operation == "verify"
        what = keyops.INPUTS[operation]
        self.query_one("#keyops-input-label", Label).update(what.capitalize()[:11])
        mode = self.query_one("#keyops-mode", Select)
        # Ciphertext and wrapped keys are bytes: base64 is what the user has.
        if operation in ("decrypt", "unwrapKey") and mode.value == "text":
            mode.value = "base64"
        elif operation in ("encrypt", "sign", "verify") and mode.value == "base64":
            mode.value = "text"

    # -- running ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy":
            return self.outcome is not None and bool(self.outcome.data)
        if action == "show":
            return self.outcome is not None and self.outcome.secret
        return True

    def _input(self) -> bytes:
        mode: InputMode = str(self.query_one("#keyops-mode", Select).value)  # type: ignore[assignment]
        text = self.query_one("#keyops-input", TextArea).text
        what = keyops.INPUTS[self.operation].capitalize()
        if mode == "file":
            if not text.strip():
                raise InvalidValue(f"{what}: type the path of a file.")
            try:
                return read_limited(text, MAX_INPUT)
            except OSError as exc:
                said = f"{exc.strerror}: {exc.filename}" if exc.strerror else str(exc)
                raise InvalidValue(f"{what}: {said}.") from None
        return keyops.parse_input(text, mode, what)

    def action_run(self) -> None:
        if not self._busy:
            self._run()

    @work(exclusive=True, group="keyops-run", exit_on_error=False)
    async def _run(self) -> None:
        operation = self.operation
        why = keyops.refusal(operation, self.detail)
        if why is not None:
            self._message(f"Cannot {keyops.LABELS[operation]}: {why}.", "error")
            return
        algorithm = str(self.query_one("#keyops-algorithm", Select).value)
        try:
            data = self._input()
            signature = b""
            if operation == "verify":
                typed = self.query_one("#keyops-signature", Input).value
                signature = keyops.parse_input(typed, "base64", "The signature")
        except InvalidValue as exc:
            self._message(str(exc), "error")
            return
        self._busy = True
        self._message(f"Running {keyops.LABELS[operation]} ({algorithm})…")
        try:
            outcome = await self.run_operation(operation, algorithm, data, signature)
        except VaultError as exc:
            self._message(str(exc), "error")
            return
        finally:
            self._busy = False
            del data
        self._message("")
        self.outcome = outcome
        self.shown = False
        self._show_outcome()
        self.refresh_bindings()

    def _show_outcome(self) -> None:
        outcome = self.outcome
        title = self.query_one("#keyops-result-title", Static)
        result = self.query_one("#keyops-result", Static)
        if outcome is None:
            title.update("")
            result.update("")
            return
        if outcome.operation == "verify":
            verdict = "Valid signature" if outcome.valid else "NOT a valid signature"
            title.update(literal(f"{verdict} ({outcome.algorithm}), checked {outcome.where}."))
            result.update(literal(outcome.disagreement))
            title.set_class(not outcome.valid, "-error")
            return
        text = keyops.as_text(outcome.data) if outcome.secret else None
        shape = "text" if text is not None else "base64url"
        body = text if text is not None else keyops.b64url(outcome.data)
        what = keyops.RESULTS[outcome.operation].capitalize()
        head = f"{what} ({shape}, {len(body):,} characters), by {outcome.where}"
        if outcome.where.startswith("locally"):
            head = f"{what} ({shape}, {len(body):,} characters), made {outcome.where}"
        if outcome.secret and not self.shown:
            title.update(Text(head + ". " + with_keys(self, "Hidden: {keyops.show} shows it.")))
            result.update("•" * min(len(body), 24))
        else:
            title.update(literal(head + ":"))
            result.update(literal(body))
        del body, text

    def action_show(self) -> None:
        if self.outcome is not None and self.outcome.secret:
            self.shown = not self.shown
            self._show_outcome()

    def action_copy(self) -> None:
        outcome = self.outcome
        if outcome is None or not outcome.data:
            return
        text = keyops.as_text(outcome.data) if outcome.secret else None
        value = text if text is not None else keyops.b64url(outcome.data)
        what = f"{keyops.RESULTS[outcome.operation]} of {self.detail.item.name}"
        said = SecretClipboard(self.app).copy(what, value, self.clipboard_seconds)
        del value, text
        self.notify(literal(said.replace("the value of ", "the ")).plain, markup=False)

    def _message(self, text: str, tone: str = "") -> None:
        message = self.query_one("#keyops-message", Static)
        message.update(literal(text))
        message.display = bool(text)
        message.set_class(tone == "error", "-error")

    def action_close(self) -> None:
        self.dismiss(None)

    def on_unmount(self) -> None:
        self.outcome = None
