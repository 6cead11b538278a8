"""The form of a write: a new secret, a new version of one, or an item's properties.

``ItemForm(spec)`` does the write itself (``spec.submit``) and is dismissed with the
item written, or None (cancelled). A write that fails leaves the form open with
everything typed, the error above the hint: nothing is lost.

- **Keys.** ``ctrl+s`` saves; ``tab``/``shift+tab`` move between fields; enter in a
  one-line field moves on, in the value editor it is a new line; ``esc`` cancels, and
  asks first when something was typed. ``ctrl+g`` generates a value, ``ctrl+o`` reads
  it from a file: either is hidden until ``ctrl+t`` shows it.
- **Checked while typing**: the name (1-127 letters, digits and dashes). At save: the
  dates (``2027-01-31``, ``+90d``), the tags (``key=value`` a line, at most 15), the
  value's size, and JSON when the content type says JSON (kvtui/core/forms.py).
- **Changed meanwhile?** A new version or an edit reads the item again before it
  writes: when it changed since the form opened (a newer version, other properties),
  the form says so; ``ctrl+s`` again writes anyway, ``ctrl+r`` loads what is there now.
- **A name that was deleted** (409 ObjectIsDeletedButRecoverable): ``ctrl+r`` recovers
  it instead.

The value is never prefilled (a new version starts empty), logged or kept after the
form closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static, TextArea

from kvtui.core.errors import Conflict, VaultError
from kvtui.core.forms import (
    CONTENT_TYPES,
    check_name,
    check_value,
    generate_value,
)
from kvtui.core.models import Item, Kind
from kvtui.core.present import when_text
from kvtui.core.validation import InvalidValue
from kvtui.core.writes import SecretFields
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.modals.form import WriteForm, row
from kvtui.ui.modals.generate import GenerateDialog
from kvtui.ui.modals.open_file import OpenFileScreen
from kvtui.ui.text import literal

Mode = Literal["new", "version", "edit"]

#: Files read as a value: no bigger than this (a secret holds 25 KiB).
MAX_FILE = 64 * 1024


@dataclass(frozen=True)
class FormData:
    """What the form sends: the name, the value (new and version), the properties."""

    name: str
    value: str | None
    fields: SecretFields


@dataclass
class FormSpec:
    """What a form is for and how it writes."""

    kind: Kind
    mode: Mode
    submit: Callable[[FormData], Awaitable[Item]]
    now: Callable[[], datetime]
    name: str = ""
    base: Item | None = None
    """The item (version) the form starts from: prefilled properties, and what a
    concurrent change is measured against."""
    read_current: Callable[[], Awaitable[Item]] | None = None
    recover: Callable[[str], Awaitable[Item]] | None = None
    taken: set[str] = field(default_factory=set)
    """Names listed in the tab: a new secret of one of them is a new version (said)."""


_VALUE_NOTE = "{form.generate} generate · {form.from_file} from a file"
_TITLES = {"new": "New {kind}", "version": "New version of {name}", "edit": "Edit {name}"}


def _state(item: Item) -> tuple[object, ...]:
    """What a concurrent change is seen in: the version and every property the form
    shows (``updated`` alone has whole seconds: two writes in one second look equal)."""
    return (item.version, item.updated, item.enabled, item.content_type,
            sorted(item.tags.items()), item.not_before, item.expires)  # fmt: skip


class ItemForm(WriteForm[Item]):
    """A form that writes (see the module's doc); dismissed with the item written."""

    DEFAULT_CSS = """
    ItemForm {
        #form-value { height: 4; }
        &.-short #form-value { height: 3; }
    }
    """

    HELP = KeyedHelp("""\
## Form

**{form.save}** saves, **esc** cancels (asking first when something was typed).
**tab**/**shift+tab** move between fields; **enter** in a one-line field moves on.

- Dates: `2027-01-31`, `2027-01-31T12:00`, or `+90d` (`h`, `d`, `w`, `y` from now).
- Tags: one `key=value` a line, at most 15.
- **{form.generate}** generates a value, **{form.from_file}** reads it from a file;
  **{form.show}** shows or hides it.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "generate", "Generate", id="form.generate",
                tooltip="Generate a random value (hidden until ctrl+t)"),
        Binding("ctrl+o", "from_file", "From file", id="form.from_file",
                tooltip="Read the value from a file"),
        Binding("ctrl+t", "show_value", "Show value", id="form.show",
                tooltip="Show or hide a generated or file value"),
        Binding("ctrl+r", "reload_or_recover", "Reload", id="form.reload",
                tooltip="Load the item as it is now, or recover a deleted name"),
    ]  # fmt: skip

    def __init__(self, spec: FormSpec) -> None:
        super().__init__()
        self.spec = spec
        self.title_text = _TITLES[spec.mode].format(kind=spec.kind.singular, name=spec.name)
        self.taken = frozenset(spec.taken)
        self.hidden_value: str | None = None
        """A generated value, or a file's: sent instead of the editor's, shown on ask."""
        self.hidden_from = ""
        self._changed_ok: Item | None = None
        """Save was pressed again after "changed meanwhile" about this state."""
        self._recoverable = False

    @property
    def has_value(self) -> bool:
        return self.spec.mode in ("new", "version") and self.spec.kind is Kind.SECRETS

    # -- layout ---------------------------------------------------------------------

    def fields(self) -> ComposeResult:
        spec = self.spec
        base = spec.base
        if spec.mode == "new":
            yield from self.name_rows()
        if self.has_value:
            yield row("Value", TextArea(id="form-value", compact=True, soft_wrap=True,
                                        placeholder="the value (paste works)"))  # fmt: skip
            yield Static(with_keys(self, _VALUE_NOTE), id="form-value-note", classes="form-note")
        if spec.kind is Kind.SECRETS:
            content_type = Input(
                value=(base.content_type or "") if base else "",
                placeholder="text/plain, application/json, …",
                suggester=SuggestFromList(CONTENT_TYPES, case_sensitive=False),
                id="form-content-type",
                compact=True,
            )
            yield row("Content type", content_type)
        yield from self.property_rows(base, dates=spec.kind is not Kind.CERTIFICATES)

    # -- typing -----------------------------------------------------------------------

    @on(TextArea.Changed, "#form-value")
    def _value_typed(self, event: TextArea.Changed) -> None:
        if self.hidden_value is not None and event.text_area.text:
            self._drop_hidden()  # typing replaces a generated value

    # -- a value from elsewhere -------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("generate", "from_file"):
            return self.has_value
        if action == "show_value":
            return self.hidden_value is not None
        if action == "reload_or_recover":
            return self._recoverable or self.spec.read_current is not None
        return True

    @work(exclusive=True, group="form-generate")
    async def action_generate(self) -> None:
        choice = await self.app.push_screen_wait(GenerateDialog())
        if choice is None:
            return
        length, classes = choice
        try:
            value = generate_value(length, classes)
        except InvalidValue as exc:
            self.message(str(exc), "error")
            return
        self._hold(value, f"generated: {length} characters ({', '.join(classes)})")

    @work(exclusive=True, group="form-file")
    async def action_from_file(self) -> None:
        data = await self.app.push_screen_wait(
            OpenFileScreen("Read the value from a file", Path.cwd() / "", MAX_FILE)
        )
        if data is None:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.message("That file is not UTF-8 text: a secret's value is text.", "error")
            return
        self._hold(text, f"from a file: {len(data):,} bytes")

    def _hold(self, value: str, said: str) -> None:
        self.hidden_value = value
        self.hidden_from = said
        self._typed = True
        area = self.query_one("#form-value", TextArea)
        with area.prevent(TextArea.Changed):
            area.text = ""
        area.placeholder = "(a value is set: type here to replace it)"
        self._value_note()
        self.refresh_bindings()

    def _drop_hidden(self) -> None:
        self.hidden_value = None
        self.query_one("#form-value", TextArea).placeholder = "the value (paste works)"
        self._value_note()
        self.refresh_bindings()

    def _value_note(self, show: bool = False) -> None:
        note = self.query_one("#form-value-note", Static)
        if self.hidden_value is None:
            note.update(with_keys(self, _VALUE_NOTE))
            return
        text = Text(f"Value {self.hidden_from}. ")
        if show:
            text.append_text(literal(self.hidden_value, "bold"))
            text.append(with_keys(self, " · {form.show} hides it"))
        else:
            text.append(with_keys(self, "Hidden: {form.show} shows it"))
        note.update(text)

    def action_show_value(self) -> None:
        if self.hidden_value is None:
            return
        note = self.query_one("#form-value-note", Static)
        showing = note.has_class("-showing")
        note.set_class(not showing, "-showing")
        self._value_note(show=not showing)

    # -- saving -----------------------------------------------------------------------

    def gather(self) -> FormData:
        """What was typed, checked (InvalidValue says what to change)."""
        spec = self.spec
        now = spec.now()
        name = spec.name
        if spec.mode == "new":
            name = check_name(self.query_one("#form-name", Input).value.strip())
        content_type: str | None = None
        if spec.kind is Kind.SECRETS:
            content_type = self.query_one("#form-content-type", Input).value.strip() or None
        value: str | None = None
        if self.has_value:
            value = self.hidden_value
            if value is None:
                value = self.query_one("#form-value", TextArea).text
            if not value:
                raise InvalidValue("Type a value (or ctrl+g generates one).")
            check_value(value, content_type)
        dates = spec.kind is not Kind.CERTIFICATES
        tags, enabled, not_before, expires = self.properties(now, dates=dates)
        if spec.mode == "edit" and spec.kind is Kind.SECRETS and content_type is None:
            content_type = ""  # cleared (None would keep it)
        fields = SecretFields(content_type, tags, enabled, not_before, expires)
        return FormData(name, value, fields)

    @work(exclusive=True, group="form-save")
    async def _save(self) -> None:
        try:
            data = self.gather()
        except InvalidValue as exc:
            self.message(str(exc), "error")
            return
        self._busy = True
        self.message("Saving…", "")
        try:
            if not await self._unchanged():
                return
            item = await self.spec.submit(data)
        except VaultError as exc:
            self._recoverable = (
                isinstance(exc, Conflict)
                and exc.code == "ObjectIsDeletedButRecoverable"
                and self.spec.recover is not None
            )
            text = str(exc)
            if self._recoverable:
                text += with_keys(self, " Press {form.reload} to recover it instead.")
            self.message(text, "error")
            self.refresh_bindings()
            return
        finally:
            self._busy = False
        del data
        self.dismiss(item)

    async def _unchanged(self) -> bool:
        """True to go on: the item is as it was when the form opened, or the user
        pressed save again after hearing that it changed."""
        spec, base = self.spec, self.spec.base
        if spec.read_current is None or base is None:
            return True
        current = await spec.read_current()
        if _state(current) == _state(base):
            return True
        seen = self._changed_ok
        if seen is not None and _state(seen) == _state(current):
            return True
        self._changed_ok = current
        what = (
            f"a newer version ({current.version}) was made"
            if current.version != base.version
            else "its properties were changed"
        )
        when = when_text(current.updated, spec.now()) if current.updated else "meanwhile"
        self.message(
            f"{spec.name} changed since you opened this form: {what}, updated {when}. "
            + with_keys(self, "{form.save} again writes anyway; {form.reload} loads it as it is."),
            "warning",
        )
        return False

    @work(exclusive=True, group="form-save")
    async def action_reload_or_recover(self) -> None:
        spec = self.spec
        if self._recoverable and spec.recover is not None:
            name = self.query_one("#form-name", Input).value.strip()
            self.message(f"Recovering {name}…", "")
            try:
                item = await spec.recover(name)
            except VaultError as exc:
                self.message(str(exc), "error")
                return
            self.dismiss(item)
            return
        if spec.read_current is None:
            return
        try:
            current = await spec.read_current()
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        spec.base = current
        self._changed_ok = None
        self._load(current)
        self.message(f"Loaded {spec.name} as it is now (version {current.version}).", "")

    def _load(self, item: Item) -> None:
        if self.spec.kind is Kind.SECRETS:
            self.query_one("#form-content-type", Input).value = item.content_type or ""
        self.load_properties(item, dates=self.spec.kind is not Kind.CERTIFICATES)

    def on_unmount(self) -> None:
        self.hidden_value = None
