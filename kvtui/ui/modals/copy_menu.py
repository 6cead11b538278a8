"""The copy menu: what can be copied for an item (name, ids, references, commands).

``CopyMenu(choices, title)`` is dismissed with the :class:`CopyChoice` picked (a
number key 1-9, or enter on the highlighted line) or None (esc). It only shows and
returns choices: copying to the clipboard is the caller's job. It never receives a
secret's value (``copy_choices`` takes none), but every label and value is treated as
untrusted: shown literally, control characters made visible, one line each.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kvtui.core.references import CopyChoice
from kvtui.ui.dialog import Dialog
from kvtui.ui.keys import KeyedHelp, with_keys
from kvtui.ui.text import literal as literal_text

_NUMBERED = 9


def literal(value: str) -> Content:
    """``value`` as one line of Content shown as it is: no markup, control characters
    (newlines included) made visible."""
    return Content.from_rich_text(
        literal_text(value, escape_style="reverse", multiline=False, no_wrap=True)
    )


def choice_prompt(number: int | None, choice: CopyChoice) -> Content:
    """Two lines: ``1 Label`` and, indented, the value (each cut to one line by CSS)."""
    key = f"{number} " if number is not None else "  "
    return Content.assemble(
        (key, "bold $text-accent"),
        literal(choice.label),
        "\n  ",
        literal(choice.text).stylize("$text-muted"),
    )


class CopyMenu(Dialog[CopyChoice | None]):
    """Pick what to copy. Dismissed with the choice, or None."""

    DEFAULT_CSS = """
    CopyMenu {
        #copy-menu {
            width: 90%;
            max-width: 110;
            max-height: 90%;
        }
        #copy-menu-list, #copy-menu-list:focus {
            height: auto;
            max-height: 24;
            border: none;
            padding: 0;
            margin-bottom: 1;
            background: $surface;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
    }
    """

    HELP = KeyedHelp("""\
## Copy

Each line shows what it copies. Press its number (1-9), or move to it and press
**enter**. **{copy_menu.cancel}** copies nothing.
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="copy_menu.cancel", tooltip="Copy nothing"),
        *(
            Binding(
                str(n),
                f"pick({n - 1})",
                f"Copy #{n}",
                show=False,
                id=f"copy_menu.pick_{n}",
                tooltip=f"Copy line {n} of the menu",
            )
            for n in range(1, _NUMBERED + 1)
        ),
    ]

    def __init__(self, choices: list[CopyChoice], title: str) -> None:
        super().__init__()
        self.choices = list(choices)
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="copy-menu", classes="dialog"):
            yield Static(literal(self.title_text), id="copy-menu-title", classes="dialog-title")
            yield OptionList(
                *(
                    Option(choice_prompt(n if n <= _NUMBERED else None, c))
                    for n, c in enumerate(self.choices, start=1)
                ),
                id="copy-menu-list",
            )
            hint = (
                with_keys(self, "1-9 or enter: copy · {copy_menu.cancel}: cancel")
                if self.choices
                else "Nothing to copy."
            )
            yield Static(hint, id="copy-menu-hint", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one("#copy-menu-list", OptionList)
        if self.choices:
            options.highlighted = 0
        options.focus()

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_list)

    def _fit_list(self) -> None:
        """The list no taller than the room its frame leaves it: a list cut off by the
        frame instead would scroll its highlighted choice out of sight (40x12)."""
        frame = self.query_one("#copy-menu")
        options = self.query_one("#copy-menu-list", OptionList)
        limit = frame.styles.max_height
        if limit is None or not self.size.height:
            return
        others = sum(
            w.outer_size.height + w.styles.margin.height for w in frame.children if w is not options
        )
        room = (
            int(limit.resolve(self.size, self.app.size))
            - frame.styles.gutter.height
            - others
            - options.styles.margin.height
        )
        options.styles.max_height = max(2, min(24, room))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            index = parameters[0] if parameters else -1
            return isinstance(index, int) and 0 <= index < len(self.choices)
        return True

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.dismiss(self.choices[index])

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#copy-menu-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick(event.option_index)
