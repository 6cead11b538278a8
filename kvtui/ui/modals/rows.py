"""Detail rows in a dialog: the presenter's :class:`~kvtui.core.present.Section` s
drawn as the detail pane draws them (labels in a column, every value literal), for the
certificate administration dialogs (pending operation, policy, issuers, contacts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group
from textual.widgets import Static

from kvtui.core.present import Section
from kvtui.ui.widgets.detail_rows import ROW_PARTS, row_styles, section_parts


class SectionsView(Static):
    """``view.show(sections)``: the sections' titles and rows, folded to the width."""

    DEFAULT_CSS = """
    SectionsView {
        width: 1fr;
        height: auto;
        & > .sections--label { color: $text-muted; }
        & > .sections--heading { text-style: bold; color: $text-accent; }
        & > .sections--expired { color: $text-error; }
        & > .sections--expiring { color: $text-warning; }
        & > .sections--muted { color: $text-muted; text-style: italic; }
        & > .sections--escape { text-style: reverse; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"sections--{part}" for part in ROW_PARTS}

    def show(self, sections: Sequence[Section]) -> None:
        parts = section_parts(sections, row_styles(self, "sections"))
        self.update(Group(*parts[1:]))  # no blank line above the first title
