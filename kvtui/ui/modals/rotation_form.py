"""A key's rotation policy, viewed and edited (palette: "Rotation policy"): the expiry
new versions get, when to rotate (N days after creation, or N days before expiry, or
never automatically), and when to notify (N days before expiry).

Durations are typed as ``90d``, ``6m`` (months), ``2y`` or ISO 8601 (``P90D``). The
service's own rules (an expiry of at least 28 days; rotating before expiry needs an
expiry) come back as its message, and the form stays open with everything typed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from kvtui.core.validation import InvalidValue, shown
from kvtui.core.writes import RotationFields
from kvtui.ui.modals.form import WriteForm, row

_SHORT = re.compile(r"^\s*(\d{1,5})\s*([dmy])\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$", re.IGNORECASE)
WHEN = (("never automatically", ""), ("days after creation", "after"),
        ("days before expiry", "before"))  # fmt: skip


def duration(text: str, what: str) -> str | None:
    """``90d`` / ``6m`` / ``2y`` / ``P90D`` → ISO 8601 (``P90D``); empty → None."""
    text = text.strip()
    if not text:
        return None
    short = _SHORT.match(text)
    if short:
        return f"P{int(short.group(1))}{short.group(2).upper()}"
    if _ISO.match(text):
        return text.upper()
    raise InvalidValue(f"{what}: {shown(text)} is not a duration. Type 90d, 6m, 2y or P90D.")


def days_text(iso: str | None) -> str:
    """``P90D`` → ``90d`` (what the form shows); other ISO forms as they are."""
    if not iso:
        return ""
    match = re.fullmatch(r"P(\d+)([DMY])", iso.upper())
    return f"{match.group(1)}{match.group(2).lower()}" if match else iso


class RotationForm(WriteForm[RotationFields]):
    """The rotation policy of one key; dismissed with what was saved."""

    DEFAULT_CSS = """
    RotationForm {
        #form { width: 76; }
        .form-row > #rot-when { width: 2fr; }
        .form-row > #rot-days { width: 1fr; }
    }
    """

    def __init__(
        self,
        name: str,
        current: RotationFields,
        submit: Callable[[RotationFields], Awaitable[RotationFields]],
    ) -> None:
        super().__init__()
        self.title_text = f"Rotation policy of {name}"
        self.current = current
        self.submit = submit

    def fields(self) -> ComposeResult:
        c = self.current
        when = "after" if c.rotate_after else "before" if c.rotate_before else ""
        days = days_text(c.rotate_after or c.rotate_before)
        expiry = Input(days_text(c.expires_in), id="rot-expiry", compact=True,
                       placeholder="expire after: 90d, 6m, 2y; empty: never")  # fmt: skip
        yield row("New versions", expiry)
        when_select = Select(WHEN, value=when, allow_blank=False, id="rot-when", compact=True)
        yield row("Rotate", Input(days, id="rot-days", compact=True, placeholder="30d"),
                  when_select)  # fmt: skip
        yield row("Notify", Input(days_text(c.notify_before), id="rot-notify", compact=True,
                                  placeholder="before expiry: 30d; empty: no notice"))  # fmt: skip
        yield Static(
            "The vault makes the new version itself; Event Grid sends the notice.",
            classes="form-note",
        )

    def gather(self) -> RotationFields:
        expires = duration(self.query_one("#rot-expiry", Input).value, "New versions")
        when = str(self.query_one("#rot-when", Select).value)
        days = duration(self.query_one("#rot-days", Input).value, "Rotate")
        if when and not days:
            raise InvalidValue("Rotate: type how long, e.g. 30d.")
        notify = duration(self.query_one("#rot-notify", Input).value, "Notify")
        return RotationFields(
            expires_in=expires,
            rotate_after=days if when == "after" else None,
            rotate_before=days if when == "before" else None,
            notify_before=notify,
        )

    async def write(self, data: RotationFields) -> RotationFields:
        return await self.submit(data)
