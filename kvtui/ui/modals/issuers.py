"""The vault's certificate issuers (palette "Certificate issuers"): the list, the
highlighted one's details (provider, account id, organisation, administrators; never a
password: the vault does not return it), and, unless the vault is read-only, ``n`` a new
issuer, ``e`` (or enter) edit, ``d`` delete after ``y``.

``IssuerForm`` has name, provider, account id, password (masked, never prefilled),
organisation id and administrators (one a line: ``email, first name, last name,
phone``), enabled. Editing without typing a password keeps the credentials the vault
has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from kvtui.core.certificates import IssuerFields, IssuerInfo, admin_text, parse_admins
from kvtui.core.errors import VaultError
from kvtui.core.forms import check_name
from kvtui.core.present import Section
from kvtui.core.validation import InvalidValue
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.copy_menu import literal as one_line
from kvtui.ui.modals.form import WriteForm, row
from kvtui.ui.modals.rows import SectionsView
from kvtui.ui.text import literal

Save = Callable[[str, IssuerFields], Awaitable[IssuerInfo]]


class IssuerAccess:
    """The vault calls the dialog makes; the writes are None in a read-only vault."""

    def __init__(
        self,
        listed: Callable[[], Awaitable[list[tuple[str, str]]]],
        read: Callable[[str], Awaitable[IssuerInfo]],
        create: Save | None = None,
        update: Save | None = None,
        delete: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.listed = listed
        self.read = read
        self.create = create
        self.update = update
        self.delete = delete


class IssuerForm(WriteForm[IssuerInfo]):
    """A new issuer, or an edit of one (``base``); dismissed with the issuer saved."""

    DEFAULT_CSS = """
    IssuerForm {
        #issuer-admins { height: 3; }
        &.-short #issuer-admins { height: 2; }
    }
    """

    taken_note = "{name} exists: saving replaces it."

    def __init__(self, save: Save, base: IssuerInfo | None = None, taken: set[str] | None = None):
        super().__init__()
        self.save = save
        self.base = base
        self.taken = frozenset(taken or ())
        self.title_text = f"Edit issuer {base.name}" if base else "New certificate issuer"

    def fields(self) -> ComposeResult:
        base = self.base
        if base is None:
            yield from self.name_rows()
        yield row("Provider", Input(base.provider if base else "", id="issuer-provider",
                                    placeholder="DigiCert, GlobalSign, OneCertV2-PublicCA…",
                                    compact=True))  # fmt: skip
        account = base.account_id if base else ""
        yield row("Account id", Input(account, id="issuer-account", compact=True,
                                      placeholder="the account at the CA"))  # fmt: skip
        keep = "empty: keep the one the vault has" if base else "the CA account's API key"
        yield row("Password", Input(password=True, id="issuer-password", compact=True,
                                    placeholder=keep))  # fmt: skip
        yield row("Org id", Input(base.organization_id if base else "", id="issuer-org",
                                  compact=True, placeholder="optional"))  # fmt: skip
        admins = "\n".join(admin_text(a) for a in base.admin_contacts) if base else ""
        hint = "email, first, last, phone: one a line"
        yield row("Admins", TextArea(admins, id="issuer-admins", compact=True, placeholder=hint))
        enabled = base.enabled is not False if base else True
        yield row("Enabled", Checkbox("enabled", enabled, id="issuer-enabled", compact=True))

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._untyped)

    def _untyped(self) -> None:
        self._typed = False

    def gather(self) -> tuple[str, IssuerFields]:
        base = self.base
        name = base.name if base else check_name(self.query_one("#form-name", Input).value.strip())
        provider = self.query_one("#issuer-provider", Input).value.strip()
        if not provider:
            raise InvalidValue("Type the provider (the CA), e.g. DigiCert or GlobalSign.")
        account = self.query_one("#issuer-account", Input).value.strip()
        password = self.query_one("#issuer-password", Input).value
        if base is not None and not password and account != base.account_id:
            raise InvalidValue(
                "The account id changed: type its password too (the vault never returns "
                "the one it has, so it cannot be kept with a new account)."
            )
        fields = IssuerFields(
            provider=provider,
            account_id=account,
            password=password or None,
            organization_id=self.query_one("#issuer-org", Input).value.strip(),
            admin_contacts=parse_admins(self.query_one("#issuer-admins", TextArea).text),
            enabled=self.query_one("#issuer-enabled", Checkbox).value,
        )
        return name, fields

    async def write(self, data: tuple[str, IssuerFields]) -> IssuerInfo:
        name, fields = data
        return await self.save(name, fields)

    def on_unmount(self) -> None:
        # The password leaves with the form.
        for box in self.query("#issuer-password").results(Input):
            box.value = ""


class IssuersScreen(Dialog[None]):
    """The vault's certificate issuers (see the module's doc)."""

    DEFAULT_CSS = """
    IssuersScreen {
        #issuers { width: 90; max-width: 100%; height: auto; max-height: 100%; }
        #issuers-body { height: auto; max-height: 1fr; }
        #issuers-list, #issuers-list:focus {
            height: auto; max-height: 8; border: none; padding: 0; background: $surface;
        }
        #issuers-message { height: auto; margin-bottom: 1; }
        &.-short #issuers-message { margin-bottom: 0; }
        #issuers-message.-error { color: $text-error; }
        #issuers-detail { margin-top: 1; }
        &.-short #issuers-list { max-height: 3; }
        &.-short #issuers-detail { margin-top: 0; }
    }
    """

    HELP = KeyedHelp(
        """\
## Certificate issuers

The CAs this vault may ask for certificates (a certificate's policy names one). Move
through the list to see each; **{issuers.reload}** lists them again, **{issuers.close}**
closes. The vault never returns an issuer's password.
""",
        writes="""
**{issuers.new}** adds one, **{issuers.edit}** (or **enter**) edits the highlighted one,
**{issuers.delete}** deletes it after **y**.
""",
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New", id="issuers.new", tooltip="Add a certificate issuer"),
        Binding("e", "edit", "Edit", id="issuers.edit", tooltip="Edit the highlighted issuer"),
        Binding("d", "delete", "Delete", id="issuers.delete",
                tooltip="Delete the highlighted issuer (after y)"),
        Binding("ctrl+r", "reload", "Reload", id="issuers.reload", tooltip="List them again"),
        Binding("escape", "close", "Close", id="issuers.close", tooltip="Close"),
    ]  # fmt: skip

    def __init__(self, access: IssuerAccess) -> None:
        super().__init__()
        self.access = access
        self.read_only = access.create is None
        self.issuers: list[tuple[str, str]] = []
        self.detail: IssuerInfo | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(id="issuers", classes="dialog"):
            yield Static("Certificate issuers", classes="dialog-title")
            with VerticalScroll(id="issuers-body", can_focus=False):
                yield Static("", id="issuers-message")
                yield OptionList(id="issuers-list")
                yield SectionsView(id="issuers-detail")
            yield Static("", id="issuers-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.message("Listing the issuers…")
        self.query_one("#issuers-list", OptionList).focus()
        self._hint()
        self._load()

    @property
    def highlighted(self) -> str | None:
        index = self.query_one("#issuers-list", OptionList).highlighted
        if index is None or not 0 <= index < len(self.issuers):
            return None
        return self.issuers[index][0]

    # -- reading ------------------------------------------------------------------------

    @work(exclusive=True, group="issuers-list", exit_on_error=False)
    async def _load(self, focus: str | None = None, said: str = "") -> None:
        try:
            issuers = await self.access.listed()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        self.issuers = issuers
        self.loaded = True
        options = self.query_one("#issuers-list", OptionList)
        options.clear_options()
        for name, provider in issuers:
            options.add_option(Option(one_line(f"{name}  ({provider})" if provider else name)))
        options.display = bool(issuers)
        if not issuers:
            self.detail = None
            self._detail_rows([Section("Issuers", note="This vault has no certificate issuers.")])
        else:
            names = [n for n, _ in issuers]
            options.highlighted = names.index(focus) if focus in names else 0
        self.message(said)
        self._hint()
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted, "#issuers-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        name = self.highlighted
        if name is not None:
            self._read(name)

    @work(exclusive=True, group="issuers-read", exit_on_error=False)
    async def _read(self, name: str) -> None:
        try:
            detail = await self.access.read(name)
        except VaultError as exc:
            self.detail = None
            self._detail_rows([Section("Issuer", note=str(exc), note_tone="expired")])
            return
        if self.highlighted != name:
            return
        self.detail = detail
        self._detail_rows(detail.sections())
        self.refresh_bindings()

    def _detail_rows(self, sections: list[Section]) -> None:
        self.query_one("#issuers-detail", SectionsView).show(sections)

    # -- keys ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "new":
            return self.access.create is not None and self.loaded
        if action == "edit":
            return self.access.update is not None and self.highlighted is not None
        if action == "delete":
            return self.access.delete is not None and self.highlighted is not None
        return True

    def _hint(self) -> None:
        parts = [
            ("new", "{issuers.new} new"),
            ("edit", "{issuers.edit} edit"),
            ("delete", "{issuers.delete} delete"),
        ]
        shown = [text for action, text in parts if self.check_action(action, ())]
        shown += ["{issuers.reload} reload", "esc close"]
        self.query_one("#issuers-hint", Static).update(Text(with_keys(self, " · ".join(shown))))

    def message(self, text: str, tone: str = "") -> None:
        message = self.query_one("#issuers-message", Static)
        message.update(literal(text))
        message.display = bool(text)
        message.set_class(tone == "error", "-error")

    @on(OptionList.OptionSelected, "#issuers-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.check_action("edit", ()):
            self.action_edit()

    @work(exclusive=True, group="issuers-act", exit_on_error=False)
    async def action_new(self) -> None:
        create = self.access.create
        if create is None:
            return
        taken = {n for n, _ in self.issuers}
        saved = await self.app.push_screen_wait(IssuerForm(create, None, taken))
        if saved is not None:
            self._load(saved.name, f"Saved issuer {saved.name}.")

    @work(exclusive=True, group="issuers-act", exit_on_error=False)
    async def action_edit(self) -> None:
        update, name = self.access.update, self.highlighted
        if update is None or name is None:
            return
        base = self.detail if self.detail is not None and self.detail.name == name else None
        if base is None:
            try:
                base = await self.access.read(name)
            except VaultError as exc:
                self.message(str(exc), "error")
                return
        saved = await self.app.push_screen_wait(IssuerForm(update, base))
        if saved is not None:
            self._load(name, f"Saved issuer {name}.")

    @work(exclusive=True, group="issuers-act", exit_on_error=False)
    async def action_delete(self) -> None:
        delete, name = self.access.delete, self.highlighted
        if delete is None or name is None:
            return
        line = Text("Delete certificate issuer ")
        line.append_text(literal(name, "bold", multiline=False))
        line.append("? Certificates whose policy names it can no longer be renewed by it.")
        if not await self.app.push_screen_wait(
            ConfirmDialog(f"Delete issuer {name}?", [line], "Delete")
        ):
            return
        try:
            await delete(name)
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        self._load(None, f"Deleted issuer {name}.")

    def action_reload(self) -> None:
        self._load(self.highlighted)

    def action_close(self) -> None:
        self.dismiss(None)
