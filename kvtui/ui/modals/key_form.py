"""The new-key form: name, type with size or curve (RSA 2048 by default), permitted
operations (all the type allows by default), exportable with its release policy, tags,
enabled and dates. A name and ``ctrl+s`` make an RSA 2048 key.

An EC key can only sign and verify: choosing EC unticks and disables the other
operations. An exportable key must have a release policy (the service's rule): its JSON
is read from a file whose path is typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Checkbox, Input, Select

from kvtui.core.forms import check_name
from kvtui.core.models import Item
from kvtui.core.validation import InvalidValue
from kvtui.core.writes import (
    KEY_SHAPES,
    RSA_OPERATIONS,
    NewKey,
    SecretFields,
    key_shape,
    operations_for,
)
from kvtui.ui.modals.form import WriteForm, row
from kvtui.ui.modals.open_file import read_limited

#: A release policy file: no bigger than this.
MAX_POLICY = 64 * 1024


class KeyForm(WriteForm[Item]):
    """A new key (see the module's doc); dismissed with the key made, or None."""

    DEFAULT_CSS = """
    KeyForm {
        #key-ops { grid-size: 3; grid-gutter: 0 1; height: auto; width: 1fr; }
        #key-ops > Checkbox { width: 1fr; }
        &.-narrow #key-ops { grid-size: 2; grid-gutter: 0 0; }
    }
    """

    title_text = "New key"
    taken_note = "{name} exists: saving adds a new version of it, of the type chosen here."

    def __init__(
        self,
        submit: Callable[[str, NewKey], Awaitable[Item]],
        now: Callable[[], datetime],
        taken: set[str] | None = None,
    ) -> None:
        super().__init__()
        self.submit = submit
        self.now = now
        self.taken = frozenset(taken or ())

    def fields(self) -> ComposeResult:
        yield from self.name_rows()
        shapes = Select([(s, s) for s in KEY_SHAPES], value=KEY_SHAPES[0], allow_blank=False,
                        id="key-shape", compact=True)  # fmt: skip
        yield row("Type", shapes)
        boxes = [
            Checkbox(op, True, id=f"key-op-{op}", compact=True, classes="key-op")
            for op in RSA_OPERATIONS
        ]
        yield row("Operations", Grid(*boxes, id="key-ops"))
        yield row("Exportable", Checkbox("exportable (needs a release policy)", False,
                                         id="key-exportable", compact=True))  # fmt: skip
        yield row("Policy file", Input(placeholder="release policy JSON (exportable keys only)",
                                          id="key-policy", compact=True))  # fmt: skip
        yield from self.property_rows(None)

    @on(Select.Changed, "#key-shape")
    def _shape(self, event: Select.Changed) -> None:
        kty, _, _ = key_shape(str(event.value))
        allowed = operations_for(kty)
        for op in RSA_OPERATIONS:
            box = self.query_one(f"#key-op-{op}", Checkbox)
            box.disabled = op not in allowed
            box.value = op in allowed

    def gather(self) -> tuple[str, NewKey]:
        name = check_name(self.query_one("#form-name", Input).value.strip())
        shape = str(self.query_one("#key-shape", Select).value)
        kty, _, _ = key_shape(shape)
        chosen = tuple(
            op for op in operations_for(kty) if self.query_one(f"#key-op-{op}", Checkbox).value
        )
        if not chosen:
            raise InvalidValue("Tick at least one operation the key may do.")
        exportable = self.query_one("#key-exportable", Checkbox).value
        path = self.query_one("#key-policy", Input).value.strip()
        policy: bytes | None = None
        if path:
            if not exportable:
                raise InvalidValue("A release policy is for an exportable key: tick exportable.")
            try:
                policy = read_limited(path, MAX_POLICY)
            except OSError as exc:
                said = f"{exc.strerror}: {exc.filename}" if exc.strerror else str(exc)
                raise InvalidValue(f"Release policy: {said}.") from None
        elif exportable:
            raise InvalidValue("An exportable key needs a release policy: type its file's path.")
        tags, enabled, not_before, expires = self.properties(self.now())
        fields = SecretFields(None, tags, enabled, not_before, expires)
        operations = None if chosen == operations_for(kty) else chosen
        return name, NewKey(shape, operations, exportable, policy, fields)

    async def write(self, data: tuple[str, NewKey]) -> Item:
        name, new = data
        return await self.submit(name, new)
