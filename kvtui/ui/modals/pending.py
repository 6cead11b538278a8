"""A certificate's pending operation (palette "Pending operation", or its key): status,
details, issuer, cancellation, error, and the CSR as PEM, read with
``get_certificate_operation``.

- **The CSR** (public: a request, no key in it): ``c`` copies it, ``s`` saves it to a
  file for the CA (a path is asked for, ``<name>.csr`` by default).
- **The signed certificate**: ``m`` reads it from a file (PEM with its chain, DER,
  PKCS#7) and merges it: the certificate is then issued, with the key the vault kept.
- ``x`` asks the vault to cancel the operation, ``d`` deletes it (its CSR and key with
  it), each after ``y``.
- Merge, cancel and delete write: a read-only vault hides them (kvtui/core/writes.py
  refuses them anyway).

``PendingScreen`` is dismissed with True when something was written (the tab then lists
again). :class:`PendingPicker` picks one of several pending certificates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kvtui.core.certificates import MAX_CHAIN, PendingOperation, read_chain
from kvtui.core.errors import VaultError
from kvtui.core.models import Item, Kind
from kvtui.core.present import Section
from kvtui.core.references import export_filename
from kvtui.core.validation import InvalidValue
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.copy_menu import literal as one_line
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.open_file import OpenFileScreen
from kvtui.ui.modals.rows import SectionsView
from kvtui.ui.text import literal, visible


class PendingActions:
    """What the dialog may do to the vault: reading always; the writes are None when
    the vault is read-only."""

    def __init__(
        self,
        read: Callable[[], Awaitable[PendingOperation | None]],
        merge: Callable[[list[bytes]], Awaitable[Item]] | None = None,
        cancel: Callable[[], Awaitable[object]] | None = None,
        delete: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.read = read
        self.merge = merge
        self.cancel = cancel
        self.delete = delete


class PendingScreen(Dialog[bool]):
    """The pending operation of one certificate (see the module's doc)."""

    DEFAULT_CSS = """
    PendingScreen {
        #pending { width: 90; max-width: 100%; height: auto; max-height: 100%; }
        #pending-body { height: auto; max-height: 1fr; }
        #pending-message { height: auto; margin-bottom: 1; }
        &.-short #pending-message { margin-bottom: 0; }
        #pending-message.-error { color: $text-error; }
        #pending-message.-warning { color: $text-warning; }
    }
    """

    HELP = KeyedHelp(
        """\
## Pending operation

A certificate whose issuer is **Unknown** waits with a certificate signing request
(CSR): have a CA sign it, then merge what the CA sends back.

**{pending.copy}** copies the CSR (PEM), **{pending.save}** saves it to a file,
**{pending.reload}** reads the operation again, **{pending.close}** closes.
""",
        writes="""
**{pending.merge}** merges the signed certificate from a file (PEM with its chain, DER
or PKCS#7); **{pending.cancel}** asks the vault to cancel the operation and
**{pending.delete}** deletes it, each after **y**.
""",
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy CSR", id="pending.copy", tooltip="Copy the CSR as PEM"),
        Binding("s", "save", "Save CSR", id="pending.save", tooltip="Save the CSR to a file"),
        Binding("m", "merge", "Merge", id="pending.merge",
                tooltip="Merge the signed certificate from a file"),
        Binding("x", "cancel_operation", "Cancel op", id="pending.cancel",
                tooltip="Ask the vault to cancel the operation (after y)"),
        Binding("d", "delete_operation", "Delete op", id="pending.delete",
                tooltip="Delete the operation, its CSR and key (after y)"),
        Binding("ctrl+r", "reload", "Reload", id="pending.reload",
                tooltip="Read the operation again"),
        Binding("escape", "close", "Close", id="pending.close", tooltip="Close"),
    ]  # fmt: skip

    def __init__(self, name: str, actions: PendingActions) -> None:
        super().__init__()
        self.certificate = name
        self.actions = actions
        self.read_only = actions.merge is None
        self.operation: PendingOperation | None = None
        self.loaded = False
        self.changed = False
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="pending", classes="dialog"):
            title = f"Pending operation: {self.certificate}"
            yield Static(literal(title, multiline=False), classes="dialog-title")
            with VerticalScroll(id="pending-body"):
                yield Static("", id="pending-message")
                yield SectionsView(id="pending-rows")
            yield Static("", id="pending-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.message("Reading the operation…")
        self.query_one("#pending-body").focus()
        self._hint()
        self._load()

    # -- reading ------------------------------------------------------------------------

    @work(exclusive=True, group="pending-read", exit_on_error=False)
    async def _load(self, said: str = "", tone: str = "") -> None:
        try:
            op = await self.actions.read()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        self.operation = op
        self.loaded = True
        rows = self.query_one("#pending-rows", SectionsView)
        if op is None:
            rows.show([Section("Operation", note=self._none_note())])
        else:
            rows.show(op.sections())
        self.message(said or self._state_note(op), tone)
        self._hint()
        self.refresh_bindings()

    def _none_note(self) -> str:
        return (
            f"Certificate {self.certificate} has no pending operation: it was issued "
            "by a vault that no longer keeps its operation, imported, or its operation "
            "was deleted."
        )

    def _state_note(self, op: PendingOperation | None) -> str:
        if op is None:
            return ""
        if op.in_progress and op.issuer.lower() == "unknown":
            return "Waiting for a merge: have a CA sign the CSR, then merge what it sends back."
        if op.in_progress:
            return f"Waiting for the issuer {op.issuer}."
        return f"The operation is {op.status}."

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        op = self.operation
        if action in ("copy", "save"):
            return op is not None and bool(op.csr)
        if action == "merge":
            return self.actions.merge is not None and op is not None and op.in_progress
        if action == "cancel_operation":
            return (
                self.actions.cancel is not None
                and op is not None
                and op.in_progress
                and not op.cancellation_requested
            )
        if action == "delete_operation":
            return self.actions.delete is not None and op is not None
        return True

    def _hint(self) -> None:
        parts = [
            ("copy", "{pending.copy} copy CSR"),
            ("save", "{pending.save} save CSR"),
            ("merge", "{pending.merge} merge"),
            ("cancel_operation", "{pending.cancel} cancel op"),
            ("delete_operation", "{pending.delete} delete op"),
        ]
        shown = [text for action, text in parts if self.check_action(action, ())]
        shown.append("esc close")
        self.query_one("#pending-hint", Static).update(Text(with_keys(self, " · ".join(shown))))

    def message(self, text: str, tone: str = "") -> None:
        message = self.query_one("#pending-message", Static)
        message.update(literal(text))
        message.display = bool(text)
        message.set_class(tone == "error", "-error")
        message.set_class(tone == "warning", "-warning")

    def action_copy(self) -> None:
        op = self.operation
        if op is None or not op.csr:
            return
        self.app.copy_to_clipboard(op.csr_pem)
        self.notify(
            f"Copied the CSR of {visible(self.certificate, multiline=False)} (PEM).", markup=False
        )

    @work(exclusive=True, group="pending-act", exit_on_error=False)
    async def action_save(self) -> None:
        op = self.operation
        if op is None or not op.csr:
            return
        item = Item(Kind.CERTIFICATES, self.certificate, "")
        default = Path.cwd() / export_filename(item, ".csr")
        what = f"CSR of certificate {self.certificate}"
        written = await self.app.push_screen_wait(
            ExportScreen(default, op.csr_pem.encode("ascii"), what)
        )
        if written is not None:
            self.message(f"Saved the {what} to {written}.")

    @work(exclusive=True, group="pending-act", exit_on_error=False)
    async def action_merge(self) -> None:
        merge = self.actions.merge
        if merge is None or self._busy:
            return
        title = f"Merge the signed certificate of {self.certificate} (PEM, DER or PKCS#7)"
        data = await self.app.push_screen_wait(OpenFileScreen(title, Path.cwd(), MAX_CHAIN))
        if data is None:
            return
        try:
            chain = read_chain(data)
        except InvalidValue as exc:
            self.message(f"Not merged: {exc}", "error")
            return
        n = len(chain)
        self.message(f"Merging {n} certificate{'' if n == 1 else 's'}…")
        self._busy = True
        try:
            merged = await merge(chain)
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        finally:
            self._busy = False
        self.changed = True
        said = f"Merged: certificate {self.certificate} is issued (version {merged.version})."
        self._load(said)

    @work(exclusive=True, group="pending-act", exit_on_error=False)
    async def action_cancel_operation(self) -> None:
        cancel = self.actions.cancel
        if cancel is None or self._busy:
            return
        line = Text("Ask the vault to cancel the operation of certificate ")
        line.append_text(literal(self.certificate, "bold", multiline=False))
        line.append("? It may already be too late: then it completes.")
        if not await self.app.push_screen_wait(
            ConfirmDialog(f"Cancel {self.certificate}?", [line], "Cancel it", danger=False)
        ):
            return
        self._busy = True
        try:
            await cancel()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        finally:
            self._busy = False
        self.changed = True
        self._load("Cancellation requested.", "warning")

    @work(exclusive=True, group="pending-act", exit_on_error=False)
    async def action_delete_operation(self) -> None:
        delete = self.actions.delete
        if delete is None or self._busy:
            return
        line = Text("Delete the operation of certificate ")
        line.append_text(literal(self.certificate, "bold", multiline=False))
        line.append(": its CSR and the key the vault made for it go; a certificate with no "
                    "issued version goes with them.")  # fmt: skip
        if not await self.app.push_screen_wait(
            ConfirmDialog(f"Delete the operation of {self.certificate}?", [line], "Delete")
        ):
            return
        self._busy = True
        try:
            await delete()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        finally:
            self._busy = False
        self.changed = True
        self._load("Deleted the operation.")

    def action_reload(self) -> None:
        self._load()

    def action_close(self) -> None:
        self.dismiss(self.changed)


class PendingPicker(Dialog[str | None]):
    """Which pending certificate: dismissed with its name, or None (esc)."""

    DEFAULT_CSS = """
    PendingPicker {
        #pending-picker { width: 60; max-width: 100%; max-height: 100%; }
        #pending-picker-list, #pending-picker-list:focus {
            height: auto; max-height: 1fr; border: none; padding: 0; background: $surface;
            margin-bottom: 1;
        }
        &.-short #pending-picker-list { margin-bottom: 0; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pending_picker.cancel", tooltip="Pick none"),
    ]

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        with Vertical(id="pending-picker", classes="dialog"):
            yield Static("Pending certificates", classes="dialog-title")
            yield OptionList(*(Option(one_line(n)) for n in self.names), id="pending-picker-list")
            yield Static("enter: open · esc: cancel", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.names[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
