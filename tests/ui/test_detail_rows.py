"""The detail rows' grid (kvtui/ui/widgets/detail_rows.py): labels in a column, values
folded beside them, at any width a pane can have. Pure: Rich only."""

from __future__ import annotations

from rich.console import Console
from rich.style import Style

from kvtui.core.present import Row
from kvtui.ui.widgets.detail_rows import RowStyles, row_grid

STYLES = RowStyles(
    label=Style(bold=True),
    heading=Style(underline=True),
    expired=Style(color="red"),
    expiring=Style(color="yellow"),
    muted=Style(dim=True),
    escape=Style(reverse=True),
)
ROWS = [
    Row("Type", ("EC P-256",)),
    Row("Recovery level", ("Recoverable+Purgeable (90 days)",), "muted"),
    Row("Tags", ("env=prod", "owner=team-platform-with-a-long-name-that-goes-on")),
    Row("Id", ("https://demo.vault.azure.net/secrets/billing-db/0123456789abcdef",)),
]


def lines(width: int) -> list[str]:
    console = Console(width=width, color_system=None)
    rendered = console.render_lines(row_grid(ROWS, STYLES), pad=False)
    return ["".join(segment.text for segment in line) for line in rendered]


def test_labels_line_up_and_values_fold_beside_them() -> None:
    shown = lines(40)
    assert all(len(line) == 40 for line in shown)
    assert shown[0] == "Type           EC P-256".ljust(40)
    assert shown[1].startswith("Recovery level Recoverable+Purgeable")
    # A tag a line; a long one folds under its own column, not under the label.
    tags = shown.index("Tags           env=prod".ljust(40))
    assert shown[tags + 1].startswith(" " * 15 + "owner=team-platform")
    assert all(line.startswith(" " * 15) for line in shown[tags + 2 : tags + 3])
    assert "".join(line[15:].strip() for line in shown[tags + 1 :]).startswith(
        "owner=team-platform-with-a-long-name-that-goes-on"
    )


def test_a_narrow_pane_still_shows_every_value() -> None:
    """Rich's grid dropped the values at 12 columns; here the labels give way."""
    shown = lines(12)
    text = "".join(line[6:].strip() for line in shown)
    for value in ("EC", "P-256", "env=prod", "0123456789abcdef"):
        assert value in text
    assert any(line.startswith("Recov…") for line in shown)
