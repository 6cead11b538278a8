"""The vault's certificate contacts (palette "Certificate contacts"): who the vault
emails when a certificate's lifetime action is "Email contacts". Each contact's email,
name and phone; unless the vault is read-only, ``e`` edits the list (one contact a
line: ``email, name, phone``) and ``d`` deletes them all after ``y``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TextArea

from kvtui.core.certificates import Contact, contact_sections, contact_text, parse_contacts
from kvtui.core.errors import VaultError
from kvtui.core.validation import InvalidValue
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.form import WriteForm, row
from kvtui.ui.modals.rows import SectionsView
from kvtui.ui.text import literal

Save = Callable[[list[Contact]], Awaitable[list[Contact]]]


class ContactsForm(WriteForm[list[Contact]]):
    """The contact list, one a line; dismissed with the contacts the vault now has."""

    DEFAULT_CSS = """
    ContactsForm {
        #contacts-field { height: 6; }
        &.-short #contacts-field { height: 3; }
    }
    """

    title_text = "Certificate contacts"

    def __init__(self, contacts: list[Contact], save: Save) -> None:
        super().__init__()
        self.contacts = contacts
        self.save = save

    def fields(self) -> ComposeResult:
        text = "\n".join(contact_text(c) for c in self.contacts)
        yield row("Contacts", TextArea(text, id="contacts-field", compact=True,
                                       placeholder="email, name, phone: one a line"))  # fmt: skip
        yield Static("One contact a line: email, then name and phone if you like.",
                     classes="form-note")  # fmt: skip

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._untyped)

    def _untyped(self) -> None:
        self._typed = False

    def gather(self) -> list[Contact]:
        contacts = parse_contacts(self.query_one("#contacts-field", TextArea).text)
        if not contacts:
            raise InvalidValue("Type at least one contact (to remove them all: d in the list).")
        return contacts

    async def write(self, data: list[Contact]) -> list[Contact]:
        return await self.save(data)


class ContactsScreen(Dialog[None]):
    """The vault's certificate contacts (see the module's doc)."""

    DEFAULT_CSS = """
    ContactsScreen {
        #contacts { width: 80; max-width: 100%; height: auto; max-height: 100%; }
        #contacts-body { height: auto; max-height: 1fr; }
        #contacts-message { height: auto; margin-bottom: 1; }
        &.-short #contacts-message { margin-bottom: 0; }
        #contacts-message.-error { color: $text-error; }
    }
    """

    HELP = KeyedHelp(
        """\
## Certificate contacts

Who the vault emails when a certificate's lifetime action is "Email contacts".
**{contacts.reload}** reads them again, **{contacts.close}** closes.
""",
        writes="""
**{contacts.edit}** edits the list; **{contacts.delete}** deletes every contact after **y**.
""",
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit", id="contacts.edit", tooltip="Edit the contacts"),
        Binding("d", "delete", "Delete all", id="contacts.delete",
                tooltip="Delete every contact (after y)"),
        Binding("ctrl+r", "reload", "Reload", id="contacts.reload", tooltip="Read them again"),
        Binding("escape", "close", "Close", id="contacts.close", tooltip="Close"),
    ]  # fmt: skip

    def __init__(
        self,
        read: Callable[[], Awaitable[list[Contact]]],
        save: Save | None = None,
        delete: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        self.read = read
        self.save = save
        self.delete = delete
        self.read_only = save is None
        self.contacts: list[Contact] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="contacts", classes="dialog"):
            yield Static("Certificate contacts", classes="dialog-title")
            with VerticalScroll(id="contacts-body"):
                yield Static("", id="contacts-message")
                yield SectionsView(id="contacts-rows")
            yield Static("", id="contacts-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.message("Reading the contacts…")
        self.query_one("#contacts-body").focus()
        self._hint()
        self._load()

    @work(exclusive=True, group="contacts-read", exit_on_error=False)
    async def _load(self, said: str = "") -> None:
        try:
            contacts = await self.read()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        self.contacts = contacts
        self.query_one("#contacts-rows", SectionsView).show(contact_sections(contacts))
        self.message(said)
        self._hint()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit":
            return self.save is not None and self.contacts is not None
        if action == "delete":
            return self.delete is not None and bool(self.contacts)
        return True

    def _hint(self) -> None:
        parts = [("edit", "{contacts.edit} edit"), ("delete", "{contacts.delete} delete all")]
        shown = [text for action, text in parts if self.check_action(action, ())]
        shown += ["{contacts.reload} reload", "esc close"]
        self.query_one("#contacts-hint", Static).update(Text(with_keys(self, " · ".join(shown))))

    def message(self, text: str, tone: str = "") -> None:
        message = self.query_one("#contacts-message", Static)
        message.update(literal(text))
        message.display = bool(text)
        message.set_class(tone == "error", "-error")

    @work(exclusive=True, group="contacts-act", exit_on_error=False)
    async def action_edit(self) -> None:
        if self.save is None or self.contacts is None:
            return
        saved = await self.app.push_screen_wait(ContactsForm(self.contacts, self.save))
        if saved is not None:
            self._load(f"Saved {len(saved)} contact{'' if len(saved) == 1 else 's'}.")

    @work(exclusive=True, group="contacts-act", exit_on_error=False)
    async def action_delete(self) -> None:
        if self.delete is None or not self.contacts:
            return
        n = len(self.contacts)
        lines = [f"Delete all {n} certificate contact{'' if n == 1 else 's'} of this vault? "
                 "Its \"Email contacts\" lifetime actions then email no one."]  # fmt: skip
        if not await self.app.push_screen_wait(
            ConfirmDialog("Delete the certificate contacts?", lines, "Delete")
        ):
            return
        try:
            await self.delete()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        self._load("Deleted the contacts.")

    def action_reload(self) -> None:
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)
