"""ItemTable, the renderer, in a tiny app: literal untrusted text, status styles, the
header, keys and clicks, Enter, scrolling with pages arriving, names whole at 80x24.

Order, filter, cursor, window and column layout are the row model's, tested without an
app in tests/core/test_rows.py. The widget stands alone (it takes Items, not a vault),
so these tests build Items directly and need no emulator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.strip import Strip

from kvtui.core.models import Item, Kind
from kvtui.tools.pilot import drive
from kvtui.ui.text import literal
from kvtui.ui.widgets.item_table import ItemTable
from tests.core.test_rows import NOW, item, sortable

SIZE = (140, 24)  # every column shows, even beside a 40-cell name


class TableApp(App[None]):
    def __init__(self, kind: Kind = Kind.SECRETS, warn_days: int = 30) -> None:
        super().__init__()
        self.kind = kind
        self.warn_days = warn_days
        self.events: list[tuple[str, Item | None]] = []

    def compose(self) -> ComposeResult:
        yield ItemTable(self.kind, warn_days=self.warn_days, now=lambda: NOW)

    def on_item_table_highlighted(self, message: ItemTable.Highlighted) -> None:
        self.events.append(("highlighted", message.item))

    def on_item_table_selected(self, message: ItemTable.Selected) -> None:
        self.events.append(("selected", message.item))


def lines(table: ItemTable) -> list[Strip]:
    return [table.render_line(y) for y in range(table.scrollable_content_region.height)]


def texts(table: ItemTable) -> list[str]:
    return [strip.text for strip in lines(table)]


def shown_names(table: ItemTable) -> list[str]:
    """Names as the table shows them (first column), of the rows on screen."""
    return [t[1:].split("  ")[0].rstrip() for t in texts(table)[1:] if t.strip()]


HOSTILE = [
    item("[bold]x[/]", tags={"[red]t": "[/]v"}, content_type="[link=evil]ct"),
    item("esc\x1b[31mred\x1b]52;c;AAAA\x07", tags={"k": "\x9b2J"}),
    item("rtl\u202eevil\u2066x", content_type="text/\u200bplain"),
    item("emoji😀名前", tags={"旗": "🇯🇵"}),
    item("CJK中文字符" * 12, tags={"long": "v" * 300}),
    item("plain"),
    item("nul\x00del\x7fsur\ud800end"),
]


async def test_untrusted_strings_render_literally_and_keep_columns_aligned() -> None:
    app = TableApp()
    async with drive(app, size=SIZE) as pilot:
        table = app.query_one(ItemTable)
        table.append_items(HOSTILE)
        table.move_cursor(table.rows.index(HOSTILE[5]))  # the cursor row is bold: "plain"
        await pilot.pause()
        width = table.scrollable_content_region.width
        rendered = lines(table)
        body = [s for s in rendered[1 : len(HOSTILE) + 1]]
        assert len(body) == len(HOSTILE)
        offsets = set()
        for strip in rendered:
            assert strip.cell_length == width
            assert sum(cell_len(seg.text) for seg in strip) == width
        for strip in body:
            text = strip.text
            # No terminal control sequence can reach the terminal.
            assert not any(ch in text for ch in "\x1b\x07\x9b\x00\x7f\u202e\u2066\u200b\ud800")
            # Markup is never applied: no segment is bold (but the cursor's) or a link.
            if "plain" not in text:
                assert not any(seg.style and (seg.style.bold or seg.style.link) for seg in strip)
            # The "updated" column starts at the same cell in every row.
            prefix = text[: text.index("2025-05-29")]
            offsets.add(cell_len(prefix))
        assert len(offsets) == 1
        all_text = "\n".join(s.text for s in body)
        assert "[bold]x[/]" in all_text
        assert "[red]t=" in all_text  # (cut: the stand-ins widen the name column)
        assert "esc␛[31mred␛]52;c;AAAA␇" in all_text
        assert "k=<U+00" in all_text  # <U+009B>, cut to the tags column
        assert "rtl<U+202E>evil<U+2066>x" in all_text
        assert "nul␀del␡sur<U+D800>end" in all_text
        assert "emoji😀名前" in all_text
        assert "…" in all_text  # the long CJK name and the long tag are cut with an ellipsis


def test_literal_text_is_literal() -> None:
    text = literal("[b]hi[/b]\x1b[2J\u202e", escape_style="reverse")
    assert text.plain == "[b]hi[/b]␛[2J<U+202E>"
    # Only the escapes are styled; the markup-looking text is plain text.
    assert [(s.start, s.end, str(s.style)) for s in text.spans] == [
        (9, 10, "reverse"),
        (13, 21, "reverse"),
    ]
    assert literal("ok").spans == []


async def test_status_markers_and_styles() -> None:
    app = TableApp()
    async with drive(app, size=SIZE) as pilot:
        table = app.query_one(ItemTable)
        table.append_items(
            [
                item("a-expired", expires=NOW - timedelta(days=1)),
                item("b-expiring", expires=NOW + timedelta(days=12, hours=1)),
                item("c-disabled", enabled=False),
                item("d-fine", expires=NOW + timedelta(days=300)),
                item("e-hours", expires=NOW + timedelta(hours=5)),
            ]
        )
        table.move_cursor(4)  # keep the cursor style off the rows checked below
        await pilot.pause()
        rows = {s.text.split()[0]: s for s in lines(table)[1:6]}
        assert "2025-05-31 ✖ expired" in rows["a-expired"].text
        assert "⚠ in 12d" in rows["b-expiring"].text
        assert "⚠ in 5h" in rows["e-hours"].text
        assert " no " in rows["c-disabled"].text
        assert "✖" not in rows["d-fine"].text and "⚠" not in rows["d-fine"].text

        def colors(strip: Strip) -> set[Any]:
            return {seg.style.color for seg in strip if seg.style and seg.text.strip()}

        expired = table.get_component_rich_style("item-table--expired").color
        expiring = table.get_component_rich_style("item-table--expiring").color
        disabled = table.get_component_rich_style("item-table--disabled").color
        assert colors(rows["a-expired"]) == {expired}
        assert colors(rows["b-expiring"]) == {expiring}
        assert colors(rows["c-disabled"]) == {disabled}
        assert len({expired, expiring, disabled} | colors(rows["d-fine"])) == 4


async def test_click_on_header_sorts_and_toggles() -> None:
    app = TableApp()
    async with drive(app, size=SIZE) as pilot:
        table = app.query_one(ItemTable)
        table.append_items(sortable())
        await pilot.pause()
        header = texts(table)[0]
        x = header.index("updated")
        assert "name ▲" in header
        await pilot.click(ItemTable, offset=(x, 0))
        assert (table.sort_column, table.sort_reverse) == ("updated", False)
        assert shown_names(table) == ["alpha", "Charlie", "bravo"]
        assert "updated ▲" in texts(table)[0] and "name ▲" not in texts(table)[0]
        await pilot.click(ItemTable, offset=(x, 0))
        assert (table.sort_column, table.sort_reverse) == ("updated", True)
        assert shown_names(table) == ["bravo", "Charlie", "alpha"]
        assert "updated ▼" in texts(table)[0]


async def test_cursor_keys_messages_and_click() -> None:
    app = TableApp()
    async with drive(app, size=(110, 12)) as pilot:
        table = app.query_one(ItemTable)
        table.focus()
        table.append_items([item(f"s-{i:03d}") for i in range(100)])
        await pilot.pause()
        assert app.events == [("highlighted", table.rows[0])]
        await pilot.press("down")
        assert table.cursor_item is not None and table.cursor_item.name == "s-001"
        await pilot.press("enter")
        await pilot.pause()
        assert app.events[-2:] == [("highlighted", table.rows[1]), ("selected", table.rows[1])]
        await pilot.press("pagedown")
        page = table.scrollable_content_region.height - 1
        assert table.cursor_row == 1 + page
        await pilot.press("end")
        assert table.cursor_item.name == "s-099"
        await pilot.pause()
        # The view followed the cursor: the last line on screen is the last item.
        assert shown_names(table)[-1] == "s-099"
        await pilot.press("pageup")
        assert table.cursor_row == 99 - page
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and shown_names(table)[0] == "s-000"
        await pilot.press("up")
        assert table.cursor_row == 0
        # Scrolled by the wheel or the scrollbar: the model knows; a key brings the
        # cursor's row back into view.
        table.scroll_to(y=40, animate=False)
        await pilot.pause()
        assert table.model.top == 40 and shown_names(table)[0] == "s-040"
        await pilot.press("down")
        await pilot.pause()
        assert table.cursor_row == 1 and table.scroll_y == 1
        assert shown_names(table)[0] == "s-001"
        await pilot.press("home")
        # A click highlights a row; a click on the highlighted row selects it.
        app.events.clear()
        await pilot.click(ItemTable, offset=(3, 4))
        assert table.cursor_item.name == "s-003"
        assert app.events == [("highlighted", table.cursor_item)]
        await pilot.click(ItemTable, offset=(3, 4))
        await pilot.pause()
        assert app.events[-1] == ("selected", table.cursor_item)


async def test_replace_items_keeps_filter_sort_and_cursor_in_one_step() -> None:
    app = TableApp()
    async with drive(app, size=SIZE) as pilot:
        table = app.query_one(ItemTable)
        table.append_items([item(f"db-{n:02}") for n in range(30)] + [item("web-1")])
        table.sort_by("name", reverse=True)
        table.set_filter("db-")
        table.move_cursor(5)
        chosen = table.cursor_item
        assert chosen is not None and chosen.name == "db-24"
        await pilot.pause()
        app.events.clear()

        fresh = [item(f"db-{n:02}") for n in range(0, 30, 2)] + [item("web-1"), item("db-99")]
        table.replace_items(fresh)
        assert table.total_count == len(fresh)
        assert table.filter_text == "db-" and table.sort_reverse
        assert [i.name for i in table.rows][:3] == ["db-99", "db-28", "db-26"]
        new = table.cursor_item
        assert new is not None and new.name == "db-24" and new is not chosen
        await pilot.pause()
        # The new item is announced (the detail pane reads it again), nothing in between.
        assert app.events == [("highlighted", new)]
        assert "db-24" in "".join(texts(table))

        table.replace_items([item("other")])  # the highlighted one is gone: the first row
        assert table.row_count == 0 and table.cursor_item is None
        await pilot.pause()
        assert app.events[-1] == ("highlighted", None)
        assert "no items match" in "".join(texts(table))


NAME_36 = "payments-east-storage-connection-str"  # 36 characters


async def test_at_80x24_a_36_character_name_shows_whole() -> None:
    app = TableApp()
    async with drive(app, size=(80, 24)) as pilot:
        table = app.query_one(ItemTable)
        listed = [item(f"{NAME_36[:-3]}{n:03d}", tags={"env": "prod"}) for n in range(60)]
        table.append_items(listed)
        await pilot.pause()
        rows = texts(table)
        assert rows[0].split()[:2] == ["name", "▲"]  # the name column comes first
        assert all(line.startswith(f" {NAME_36[:-3]}") for line in rows[1:])
        assert f" {NAME_36[:-3]}000 " in rows[1]
        assert "…" not in "".join(rows)
        assert "expires" in rows[0] and "tags" not in rows[0]  # the tags made room
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_at_40x12_the_name_and_the_filter_result_show() -> None:
    app = TableApp()
    async with drive(app, size=(40, 12)) as pilot:
        table = app.query_one(ItemTable)
        table.append_items([item("db-main"), item("web-front", expires=NOW)])
        table.set_filter("web")
        await pilot.pause()
        rows = texts(table)
        assert rows[0].split() == ["name", "▲", "expires"]
        assert rows[1].split()[:2] == ["web-front", "2025-06-01"]
        table.append_items([item(NAME_36)])
        table.set_filter("payments")
        await pilot.pause()
        assert texts(table)[0].split() == ["name", "▲"]  # the name alone, whole
        assert texts(table)[1].split() == [NAME_36]
        table.set_filter("nothing-like-this")
        await pilot.pause()
        assert "no items match nothing-like-this" in texts(table)[1]


async def test_pages_arriving_above_keep_the_highlighted_row_on_screen() -> None:
    app = TableApp()
    async with drive(app, size=(110, 14)) as pilot:
        table = app.query_one(ItemTable)
        table.focus()
        table.append_items([item(f"s-{i:04d}") for i in range(1_000, 1_100)])
        await pilot.pause()
        await pilot.press("down", "down", "pagedown")
        held = table.cursor_item
        assert held is not None
        y = shown_names(table).index(held.name)
        for start in range(0, 1_000, 25):  # every page lands above the screen
            table.append_items(item(f"s-{i:04d}") for i in range(start, start + 25))
        await pilot.pause()
        assert table.cursor_item is held and table.row_count == 1_100
        assert shown_names(table).index(held.name) == y  # where the user left it
        assert table.scroll_y == table.cursor_row - y
        await pilot.press("end")
        await pilot.pause()
        assert shown_names(table)[-1] == "s-1099"
