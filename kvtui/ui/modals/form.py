"""What every write form shares: rows of a label and a field, a message line above
the hint, save and cancel, and the property rows (tags, enabled, dates).

A form subclasses :class:`WriteForm`, composes its rows in
:meth:`WriteForm.fields`, and implements :meth:`WriteForm.gather` (what was typed,
checked: :class:`~kvtui.core.validation.InvalidValue` says what to change) and
:meth:`WriteForm.write` (send it). ``ctrl+s`` saves; a failed write leaves the form open
with everything typed and the error shown. ``esc`` asks before throwing typing away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from kvtui.core.errors import VaultError
from kvtui.core.forms import name_problem, parse_tags, parse_when, tags_field, when_field
from kvtui.core.models import Item
from kvtui.core.validation import InvalidValue
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import with_keys
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.text import literal

R = TypeVar("R")


def row(label: str, *widgets: Any) -> Horizontal:
    """A form row: the label, then its field(s)."""
    return Horizontal(Label(label), *widgets, classes="form-row")


class WriteForm(Dialog[R | None], Generic[R]):
    """A form that writes (see the module's doc); dismissed with what ``write`` gave."""

    DEFAULT_CSS = """
    WriteForm {
        #form { width: 90; max-width: 100%; height: auto; max-height: 100%; }
        #form-fields { height: auto; max-height: 1fr; }
        .form-row { height: auto; }
        .form-row > Label { width: 14; color: $text-muted; }
        .form-row > Input, .form-row > TextArea, .form-row > Checkbox,
        .form-row > Select { width: 1fr; }
        .form-note { color: $text-muted; height: auto; padding-left: 14; }
        .form-note.-bad { color: $text-error; }
        #form-tags { height: 3; }
        #form-message { height: auto; }
        #form-message.-error { color: $text-error; }
        #form-message.-warning { color: $text-warning; }
        &.-short #form-tags { height: 2; }
        /* A short terminal: the form takes the height, the fields what the message and
           the hint leave. */
        &.-short #form { height: 100%; }
        &.-short #form-fields { height: 1fr; }
        &.-narrow .form-row > Label { width: 10; }
        &.-narrow .form-note { padding-left: 10; }
    }
    """

    # A narrow terminal (40 columns): shorter labels leave the fields room. (Textual's
    # annotation makes a ClassVar here an error, as in the Dialog.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="form.save", tooltip="Write it to the vault",
                priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close without saving"),
    ]  # fmt: skip

    title_text = ""
    #: The names already listed (a note says so when one is typed).
    taken: frozenset[str] = frozenset()
    taken_note = "{name} exists: saving adds a new version of it."

    def __init__(self) -> None:
        super().__init__()
        self._busy = False
        self._typed = False

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The dialog's frame and title, the fields (scrolling when the terminal is
        short), the message and the hint."""
        with Vertical(id="form", classes="dialog"):
            yield Static(literal(self.title_text, multiline=False), classes="dialog-title")
            with VerticalScroll(id="form-fields"):
                yield from self.fields()
            yield Static("", id="form-message")
            yield Static(self._hint(multiline=False), id="form-hint", classes="dialog-hint")

    def fields(self) -> ComposeResult:
        """The form's rows (:func:`row`, :meth:`name_rows`, :meth:`property_rows`)."""
        raise NotImplementedError

    def name_rows(self, placeholder: str = "letters, digits and dashes") -> ComposeResult:
        yield row("Name", Input(placeholder=placeholder, id="form-name", max_length=200,
                                compact=True))  # fmt: skip
        note = Static("", id="form-name-note", classes="form-note")
        note.display = False
        yield note

    def property_rows(self, base: Item | None, *, dates: bool = True) -> ComposeResult:
        """Tags, enabled and (``dates``) not-before and expires, prefilled from ``base``."""
        yield row("Tags", TextArea(tags_field(base.tags) if base else "", id="form-tags",
                                   compact=True, placeholder="key=value, one a line"))  # fmt: skip
        yield row("Enabled", Checkbox("enabled", base.enabled if base else True,
                                      id="form-enabled", compact=True))  # fmt: skip
        if dates:
            yield row("Not before", Input(when_field(base.not_before) if base else "",
                                          compact=True, id="form-not-before",
                                          placeholder="2027-01-31 or +1d; empty: now"))  # fmt: skip
            yield row("Expires", Input(when_field(base.expires) if base else "", compact=True,
                                       placeholder="2027-01-31 or +90d; empty: never",
                                       id="form-expires"))  # fmt: skip

    def properties(
        self, now: datetime, *, dates: bool = True
    ) -> tuple[dict[str, str], bool, datetime | None, datetime | None]:
        """The property rows, checked: tags, enabled, not before, expires."""
        tags = parse_tags(self.query_one("#form-tags", TextArea).text)
        enabled = self.query_one("#form-enabled", Checkbox).value
        not_before = expires = None
        if dates:
            typed_nb = self.query_one("#form-not-before", Input).value
            not_before = parse_when(typed_nb, now, "Not before")
            expires = parse_when(self.query_one("#form-expires", Input).value, now, "Expires")
            if not_before and expires and expires <= not_before:
                raise InvalidValue("Expires must come after not before.")
        return tags, enabled, not_before, expires

    def load_properties(self, item: Item, *, dates: bool = True) -> None:
        self.query_one("#form-tags", TextArea).text = tags_field(item.tags)
        self.query_one("#form-enabled", Checkbox).value = item.enabled
        if dates:
            self.query_one("#form-not-before", Input).value = when_field(item.not_before)
            self.query_one("#form-expires", Input).value = when_field(item.expires)

    def _hint(self, *, multiline: bool) -> Text:
        """The keys, with what enter does in the field that has the focus."""
        enter = "enter new line" if multiline else "enter next field"
        return Text(with_keys(self, f"{{form.save}} save · tab next · {enter} · esc cancel"))

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        multiline = isinstance(event.widget, TextArea)
        self.query_one("#form-hint", Static).update(self._hint(multiline=multiline))

    def on_mount(self) -> None:
        self.message("")
        self.query("#form-fields Input, #form-fields TextArea").first().focus()

    # -- typing -----------------------------------------------------------------------

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _edited(self, event: Any) -> None:
        if isinstance(event, Input.Changed) and event.input.id == "form-name":
            self.check_name(event.value)
        # Only what the person changed counts (a Select reports its first value when it
        # mounts, and a form ticks boxes itself, e.g. for a key type).
        if event.control.has_focus_within:
            self._typed = True

    def check_name(self, name: str) -> None:
        note = self.query_one("#form-name-note", Static)
        problem = name_problem(name) if name else None
        if problem is None and name in self.taken:
            note.update(literal(self.taken_note.format(name=name)))
            note.set_class(False, "-bad")
            note.display = True
            return
        note.update(literal(problem or ""))
        note.set_class(problem is not None, "-bad")
        note.display = problem is not None

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def message(self, text: str, tone: str = "") -> None:
        message = self.query_one("#form-message", Static)
        message.update(literal(text))
        message.display = bool(text)
        message.set_class(tone == "error", "-error")
        message.set_class(tone == "warning", "-warning")

    # -- saving -----------------------------------------------------------------------

    def gather(self) -> Any:
        """What was typed, checked (InvalidValue says what to change)."""
        raise NotImplementedError

    async def write(self, data: Any) -> R:
        """Send it; VaultError says what went wrong (the form stays open)."""
        raise NotImplementedError

    def action_save(self) -> None:
        if not self._busy:
            self._save()

    @work(exclusive=True, group="form-save")
    async def _save(self) -> None:
        try:
            data = self.gather()
        except InvalidValue as exc:
            self.message(str(exc), "error")
            return
        self._busy = True
        self.message("Saving…")
        try:
            result = await self.write(data)
        except VaultError as exc:
            self.message(str(exc), "error")
            return
        finally:
            self._busy = False
        self.dismiss(result)

    # -- leaving ----------------------------------------------------------------------

    @work(exclusive=True, group="form-cancel")
    async def action_cancel(self) -> None:
        await self.leave()

    async def leave(self) -> None:
        """esc: close, asking first when something was typed."""
        if self._typed:
            lines = ["What you typed in this form will be lost."]
            if not await self.app.push_screen_wait(
                ConfirmDialog("Discard the form?", lines, "Discard", danger=False)
            ):
                return
        self.dismiss(None)
