"""The row model of the item tables, without an app: order, filter, cursor, window,
what the cells say and the column layout of narrow and wide terminals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from rich.cells import cell_len

from kvtui.core.columns import (
    COLUMN_KEYS,
    DELETED_KEYS,
    DROP_ORDER,
    TAGS_FIRST,
    Layout,
    cell_text,
    columns_for,
    fit_columns,
)
from kvtui.core.models import Item, Kind
from kvtui.core.rows import RowModel

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


def item(name: str, kind: Kind = Kind.SECRETS, **kw: Any) -> Item:
    kw.setdefault("updated", NOW - timedelta(days=3))
    return Item(kind, name, id=f"https://v.vault.azure.net/{kind.value}/{name}", **kw)


def model(items: list[Item] | None = None, height: int = 10, **kw: Any) -> RowModel:
    rows = RowModel(kw.pop("kind", Kind.SECRETS), now=lambda: NOW, cell_width=cell_len, **kw)
    rows.resize(height)
    rows.append_items(items or [])
    return rows


def names(rows: RowModel) -> list[str]:
    return [i.name for i in rows.rows]


def on_screen(rows: RowModel) -> list[str]:
    return [rows.item(rows.index_at(r)).name for r in rows.window]


# -- order ---------------------------------------------------------------------------


def sortable() -> list[Item]:
    """Three items whose order differs by every column (the renderer's tests too)."""
    return [
        item("bravo", enabled=False, content_type="b/type", tags={"t": "2"},
             updated=NOW - timedelta(days=1), expires=NOW + timedelta(days=90),
             deleted=NOW - timedelta(days=2), purge_scheduled=NOW + timedelta(days=88),
             recovery_id="https://v/deletedsecrets/bravo"),
        item("alpha", content_type="c/type", tags={"t": "3"},
             updated=NOW - timedelta(days=5), expires=NOW + timedelta(days=10),
             deleted=NOW - timedelta(days=1), purge_scheduled=NOW + timedelta(days=89),
             recovery_id="https://v/deletedsecrets/alpha"),
        item("Charlie", content_type="a/type", tags={"t": "1"},
             updated=NOW - timedelta(days=3), deleted=NOW - timedelta(days=3),
             purge_scheduled=NOW + timedelta(days=87),
             recovery_id="https://v/deletedsecrets/charlie"),
    ]  # fmt: skip


def test_sort_by_each_column_both_ways() -> None:
    rows = model(sortable())
    expected = {
        "name": ["alpha", "bravo", "Charlie"],  # case-insensitive
        "enabled": ["alpha", "Charlie", "bravo"],
        "type": ["Charlie", "bravo", "alpha"],
        "updated": ["alpha", "Charlie", "bravo"],
        "expires": ["alpha", "bravo", "Charlie"],  # never-expiring last
        "tags": ["Charlie", "bravo", "alpha"],
        # the deleted view's
        "deleted": ["Charlie", "bravo", "alpha"],
        "purge": ["Charlie", "bravo", "alpha"],
        "recovery": ["alpha", "bravo", "Charlie"],
    }
    assert set(expected) == set(COLUMN_KEYS + DELETED_KEYS)
    for column, order in expected.items():
        rows.sort_by(column)
        assert (names(rows), rows.sort_column, rows.sort_reverse) == (order, column, False)
        rows.sort_by(column, reverse=True)
        assert names(rows) == order[::-1], column
    with pytest.raises(ValueError):
        rows.sort_by("colour")  # type: ignore[arg-type]


def test_pages_arriving_out_of_order_land_in_order() -> None:
    rows = model([item("m"), item("c")])
    rows.append_items([item("z"), item("a")])
    rows.sort_by("name", reverse=True)
    rows.append_items([item("b"), item("y")])
    assert names(rows) == ["z", "y", "m", "c", "b", "a"]
    assert [i.name for i in rows.items] == ["m", "c", "z", "a", "b", "y"]  # as added


def test_keys_sort_and_filter_by_their_type_once_details_arrive() -> None:
    keys = [item("k1", Kind.KEYS), item("k2", Kind.KEYS)]
    rows = model(keys, kind=Kind.KEYS)
    rows.sort_by("type")
    assert rows.set_filter("type:ec") == 0
    keys[0].key_type, keys[0].curve = "EC", "P-256"  # details read in the background
    keys[1].key_type, keys[1].key_size = "RSA", 2048
    rows.refresh_items()
    assert rows.filter_text == "type:ec" and names(rows) == ["k1"]
    rows.set_filter("")
    rows.sort_by("type", reverse=True)
    assert names(rows) == ["k2", "k1"]


# -- filter and cursor -----------------------------------------------------------------


def test_filter_narrows_clear_restores_and_the_cursor_stays_on_its_item() -> None:
    listed = [f"app-{i:02d}" for i in range(10)] + ["db-main", "db-replica"]
    rows = model([item(n, tags={"env": "prod" if "db" in n else "dev"}) for n in listed])
    assert rows.cursor_item is not None and rows.cursor_item.name == "app-00"
    rows.move_cursor(11)
    assert rows.set_filter("db") == 2
    assert names(rows) == ["db-main", "db-replica"]
    assert rows.cursor_item.name == "db-replica" and rows.cursor_row == 1
    assert rows.set_filter("tag:env=prod replica") == 1
    assert rows.set_filter("nothing-like-this") == 0
    assert rows.cursor_item is None and rows.cursor_row == 0 and rows.cursor_index is None
    assert rows.set_filter("") == 12 and rows.total_count == 12
    assert rows.cursor_item.name == "app-00"  # it was filtered out: the first row
    rows.move_cursor(2)
    rows.sort_by("name", reverse=True)
    assert rows.cursor_item.name == "app-02" and rows.rows[rows.cursor_row].name == "app-02"


def test_fuzzy_matches_rank_after_substrings_whatever_the_sort() -> None:
    rows = model([item("a-p-p"), item("zapp"), item("apple"), item("other")])
    assert rows.set_filter("app") == 3
    assert names(rows) == ["apple", "zapp", "a-p-p"]
    rows.sort_by("name", reverse=True)
    assert names(rows) == ["zapp", "apple", "a-p-p"]
    rows.append_items([item("bapp"), item("a-x-p-p")])
    assert names(rows) == ["zapp", "bapp", "apple", "a-p-p", "a-x-p-p"]  # tighter first


def test_status_filters_follow_warn_days() -> None:
    soon = item("soon", expires=NOW + timedelta(days=12))
    assert model([soon], warn_days=7).set_filter("status:expiring") == 0
    assert model([soon], warn_days=30).set_filter("status:expiring") == 1


def test_cursor_moves_clamp_and_pages_are_a_window_high() -> None:
    rows = model([item(f"s-{i:03d}") for i in range(100)], height=10)
    assert rows.cursor_row == 0 and on_screen(rows)[0] == "s-000"
    rows.page(1)
    assert rows.cursor_row == 10 and rows.top == 1  # the view follows, one row at a time
    rows.move_cursor(1_000)
    assert rows.cursor_row == 99 and on_screen(rows)[-1] == "s-099"
    rows.page(-1)
    assert rows.cursor_row == 89 and rows.top == 89
    rows.move_cursor(-5)
    assert rows.cursor_row == 0 and rows.top == 0
    assert model([]).cursor_item is None


def test_window_clamps_and_a_shorter_screen_keeps_the_cursor_in_view() -> None:
    rows = model([item(f"s-{i:03d}") for i in range(100)], height=10)
    rows.scroll_to(500)
    assert rows.top == 90 and rows.window == range(90, 100)
    rows.scroll_to(-3)
    assert rows.top == 0
    rows.move_cursor(9)
    rows.resize(4)  # the detail pane took room: the highlighted row stays in view
    assert rows.cursor_row in rows.window and rows.top == 6
    rows.resize(200)
    assert rows.top == 0 and rows.window == range(0, 100)


# -- pages arriving ----------------------------------------------------------------------


def test_untouched_the_first_row_stays_highlighted_while_pages_arrive() -> None:
    rows = model([item("m")])
    assert rows.append_items([item("a")]) is True  # a new first row: on screen
    assert rows.cursor_item is not None and rows.cursor_item.name == "a"
    assert rows.top == 0


def test_rows_arriving_below_the_screen_change_nothing_on_it() -> None:
    rows = model([item(f"s-{i:03d}") for i in range(50)], height=10)
    assert rows.append_items([item(f"t-{i:03d}") for i in range(25)]) is False
    assert rows.append_items([]) is False
    assert rows.append_items([item("s-003x")]) is True


def test_rows_arriving_above_keep_the_highlighted_row_where_the_user_sees_it() -> None:
    rows = model([item(f"s-{i:03d}") for i in range(500, 600)], height=10)
    rows.move_cursor(30)
    held, screen_row = rows.cursor_item, rows.cursor_row - rows.top
    rows.append_items([item(f"s-{i:03d}") for i in range(0, 25)])
    assert rows.cursor_item is held and rows.cursor_row == 55
    assert rows.cursor_row - rows.top == screen_row
    # Scrolled away from the cursor: the rows on screen stay on screen.
    rows.scroll_to(70)
    shown = on_screen(rows)
    rows.append_items([item(f"s-{i:03d}") for i in range(100, 125)])
    assert on_screen(rows) == shown and rows.cursor_item is held


def test_fifty_thousand_items_in_pages_keep_the_cursor_and_filter_fast() -> None:
    total = 50_000
    rows = model(height=20)
    # The second half arrives first: later pages land above the rows being looked at.
    order = list(range(total // 2, total)) + list(range(total // 2))
    pages = [order[i : i + 25] for i in range(0, total, 25)]
    for n, page in enumerate(pages):
        rows.append_items(item(f"secret-{i:05d}") for i in page)
        if n == 40:
            rows.move_cursor(rows.cursor_row + 25)
            held = rows.cursor_item
    assert rows.row_count == total and rows.cursor_item is held
    assert held is not None and held.name in on_screen(rows)
    assert rows.set_filter("-4999")  # substring matches first, in name order
    assert names(rows)[:11] == [f"secret-{i}" for i in range(49_990, 50_000)] + ["secret-04999"]
    assert rows.set_filter("") == total


# -- a reload ----------------------------------------------------------------------------


def test_replace_items_keeps_filter_sort_cursor_by_name_and_its_screen_row() -> None:
    rows = model([item(f"db-{n:02}") for n in range(60)] + [item("web-1")], height=10)
    rows.sort_by("name", reverse=True)
    rows.set_filter("db-")
    rows.move_cursor(0)
    rows.move_cursor(21)
    chosen = rows.cursor_item
    assert chosen is not None and chosen.name == "db-38"
    assert rows.cursor_row - rows.top == 9  # the last row on screen

    fresh = [item(f"db-{n:02}") for n in range(0, 60, 2)] + [item("web-1"), item("db-99")]
    rows.replace_items(fresh)
    assert rows.total_count == len(fresh)
    assert rows.filter_text == "db-" and rows.sort_reverse
    assert names(rows)[:3] == ["db-99", "db-58", "db-56"]
    new = rows.cursor_item
    assert new is not None and new.name == "db-38" and new is not chosen
    assert rows.cursor_row == 11 and rows.cursor_row - rows.top == 9  # still the last

    rows.replace_items([item("other")])  # the highlighted one is gone
    assert rows.row_count == 0 and rows.cursor_item is None


def test_replace_before_the_user_moved_highlights_the_first_row() -> None:
    rows = model([item("b"), item("c")])
    rows.replace_items([item("c"), item("a")])
    assert rows.cursor_item is not None and rows.cursor_item.name == "a"


def test_clear_keeps_filter_and_sort() -> None:
    rows = model(sortable())
    rows.sort_by("updated", reverse=True)
    rows.set_filter("a")
    rows.clear()
    assert (rows.total_count, rows.row_count, rows.cursor_item, rows.top) == (0, 0, None, 0)
    assert (rows.filter_text, rows.sort_column, rows.sort_reverse) == ("a", "updated", True)
    rows.append_items(sortable())
    assert names(rows) == ["bravo", "Charlie", "alpha"]


# -- column layout -----------------------------------------------------------------------

#: Terminal widths and the table's width in them (less a 2-cell scrollbar).
SCREENS = {40: 38, 80: 78, 120: 118, 200: 198}
NAME_36 = "payments-east-storage-connection-str"  # 36 characters


def laid_out(terminal: int, items: list[Item], kind: Kind = Kind.SECRETS) -> Layout:
    return model(items, kind=kind).layout(SCREENS[terminal])


def widths(layout: Layout) -> dict[str, int]:
    return dict(zip(layout.keys, layout.widths, strict=True))


def tagged(name: str) -> Item:
    return item(name, tags={"env": "prod", "team": "payments", "owner": "ops"}, content_type="pem")


def test_at_80_columns_a_36_character_name_shows_whole() -> None:
    assert len(NAME_36) == 36
    layout = laid_out(80, [tagged(NAME_36), tagged("short")])
    assert layout.keys[0] == "name" and widths(layout)["name"] >= 36
    # tags, updated and enabled made room, in that order; type and expires stay.
    assert layout.keys == ("name", "type", "expires")
    assert layout.width <= 78


def test_names_up_to_40_show_whole_at_80_columns() -> None:
    name = "n" * 40
    layout = laid_out(80, [tagged(name)])
    assert widths(layout)["name"] == 40 and layout.width <= 78
    # Longer names are cut (the detail pane has them whole); the rest stay.
    layout = laid_out(80, [tagged("n" * 70)])
    assert widths(layout)["name"] >= 40 and "expires" in layout.keys


def test_short_names_keep_every_column_that_fits() -> None:
    layout = laid_out(80, [item("db")])
    # The tags would be a stub of a few characters: dropped rather than cut.
    assert layout.keys == COLUMN_KEYS[:-1] and layout.width <= 78
    assert laid_out(120, [item("db")]).keys == COLUMN_KEYS


def test_at_40_columns_the_name_comes_first_and_whole() -> None:
    layout = laid_out(40, [tagged(NAME_36)])
    assert layout.keys == ("name",) and widths(layout)["name"] == 36
    layout = laid_out(40, [tagged("db-main")])
    assert layout.keys == ("name", "expires") and layout.width <= 38


def test_at_120_columns_the_tags_are_not_cut_to_five_characters() -> None:
    for kind in Kind:
        long_subject = "CN=payments.example.com, O=Example Corporation, C=US"
        listed = [
            item(NAME_36, kind, tags={"env": "prod", "team": "payments"}, subject=long_subject)
        ]
        layout = laid_out(120, listed, kind)
        assert layout.keys == COLUMN_KEYS, kind
        assert widths(layout)["name"] >= 36
        assert widths(layout)["tags"] >= TAGS_FIRST, kind
        assert layout.width <= 118


def test_at_200_columns_every_column_gets_its_width() -> None:
    long_name = "x" * 70
    layout = laid_out(200, [tagged(long_name)])
    assert layout.keys == COLUMN_KEYS
    assert widths(layout)["tags"] >= len("env=prod, owner=ops, team=payments")
    assert widths(layout)["name"] > 70  # the spare room goes to the name last
    assert layout.width <= 198


def test_columns_drop_in_the_documented_order_and_always_fit() -> None:
    assert DROP_ORDER == ("tags", "updated", "enabled", "type", "expires")
    columns = columns_for(Kind.SECRETS)
    seen: list[tuple[str, ...]] = []
    for width in range(250, 0, -1):
        layout = fit_columns(columns, {"name": 36, "tags": 30, "type": 16}, width)
        assert layout.width <= max(width, 3), width
        assert layout.keys[0] == "name"
        if not seen or seen[-1] != layout.keys:
            seen.append(layout.keys)
    dropped = [next(k for k in a if k not in b) for a, b in pairwise(seen)]
    assert dropped == list(DROP_ORDER)


def test_widths_are_measured_as_shown() -> None:
    # Wide characters take two cells; a control character is shown as one stand-in.
    # At 80 columns, a name of 40 cells shows whole with the type and the expiry date;
    # one of 20 leaves room for the enabled column too.
    for name in ("名前" * 10, "x\u202e" * 5, "a" * 40):  # 20 wide ones; 5 stand-ins <U+202E>
        layout = laid_out(80, [item(name)])
        assert (layout.keys, widths(layout)["name"]) == (("name", "type", "expires"), 40)
    for name in ("ab" * 10, "a\x1b" * 10):  # a control character is one stand-in: ␛
        assert laid_out(80, [item(name)]).keys == ("name", "enabled", "type", "expires")


def test_column_at_finds_the_column_under_a_cell() -> None:
    layout = fit_columns(columns_for(Kind.KEYS), {}, 200)
    assert layout.column_at(0) is None
    assert layout.column_at(1) == "name"
    x = 1
    for key, width in zip(layout.keys, layout.widths, strict=True):
        assert layout.column_at(x) == key and layout.column_at(x + width) == key
        x += width + 1
    assert layout.column_at(x) is None
    assert [c.title for c in layout.columns][2] == "key type"


def test_cells_say_what_the_presenter_says() -> None:
    expiring = item("a", expires=NOW + timedelta(days=12, hours=1), enabled=False,
                    tags={"b": "2", "a": "1"}, content_type="text/plain")  # fmt: skip
    cells = {k: cell_text(expiring, k, Kind.SECRETS, NOW, 30) for k in COLUMN_KEYS}
    assert cells == {
        "name": "a",
        "enabled": "no",
        "type": "text/plain",
        "updated": "2025-05-29",
        "expires": "2025-06-13 ⚠ in 12d",
        "tags": "a=1, b=2",
    }
    key = item("k", Kind.KEYS, key_type="RSA", key_size=2048)
    assert cell_text(key, "type", Kind.KEYS, NOW, 30) == "RSA 2048"
    cert = item("c", Kind.CERTIFICATES, subject="CN=x", expires=NOW - timedelta(days=1))
    assert cell_text(cert, "type", Kind.CERTIFICATES, NOW, 30) == "CN=x"
    assert cell_text(cert, "expires", Kind.CERTIFICATES, NOW, 30) == "2025-05-31 ✖ expired"


def test_a_long_name_in_a_late_page_still_shows_whole() -> None:
    rows = model([item(f"s-{i:04d}") for i in range(2_000)])
    assert rows.layout(78).keys == COLUMN_KEYS[:-1]
    rows.append_items([item(NAME_36)])  # page 81 of a big vault
    layout = rows.layout(78)
    assert layout.keys == ("name", "type", "expires") and widths(layout)["name"] >= 36
