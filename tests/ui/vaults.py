"""The vault screen through Pilot, for the tests of the vault screen, its tabs and the
item view: the app opened on a vault (:func:`open_vault`), what a tab holds and what
the terminal shows."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from kvtui.core.models import Kind
from kvtui.emulator import EmulatorInfo
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.detail_pane import DetailPane
from kvtui.ui.widgets.item_table import ItemTable
from tests.emulator.admin_support import Admin
from tests.ui.conftest import SIZE, wait_screen, wait_until
from tests.ui.test_login import approve, code_on_screen


@asynccontextmanager
async def open_vault(
    context: AppContext,
    *,
    size: tuple[int, int] = SIZE,
    listed_first: Kind | None = Kind.SECRETS,
    **run: Any,
) -> AsyncIterator[tuple[KvtuiApp, Pilot[None], VaultScreen]]:
    """``async with open_vault(make_context(url)) as (app, pilot, vault)``: the app
    signed in (the ``signed_in`` fixture) on its vault screen, every tab listing, and
    ``listed_first`` listed (None: not waited for). ``run``: more for ``run_test``."""
    app = KvtuiApp(context)
    async with drive(app, size=size, **run) as pilot:
        vault = await vault_screen(pilot)
        if listed_first is not None:
            kind = listed_first
            await wait_until(pilot, lambda: listed(vault, kind), f"the {kind.value}")
        yield app, pilot, vault


async def sign_in_by_code(pilot: Pilot[Any], info: EmulatorInfo) -> None:
    """The login screen's device code, approved as the person would (at start, or
    mid-session when the sign-in expired)."""
    _, code = await code_on_screen(pilot)
    await approve(info, code)


def table(screen: VaultScreen, kind: Kind) -> ItemTable:
    return screen.query_one(f"#table-{kind.value}", ItemTable)


def pane(screen: VaultScreen, kind: Kind) -> DetailPane:
    return screen.query_one(f"#detail-{kind.value}", DetailPane)


def shown(screen: VaultScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def rendered(t: ItemTable) -> list[str]:
    """The table's lines as the terminal gets them (header first)."""
    return [t.render_line(y).text for y in range(t.scrollable_content_region.height)]


def listed(screen: VaultScreen, kind: Kind) -> bool:
    return not screen.tab_of(kind).listing and table(screen, kind).total_count > 0


async def vault_screen(pilot: Any) -> VaultScreen:
    """The vault screen, once it has started loading its three tabs."""
    vault = await wait_screen(pilot, VaultScreen)
    await wait_until(
        pilot,
        lambda: all(t.loader and (t.listing or t.loader.is_finished) for t in vault.tabs),
        "the tabs loading",
    )
    return vault


_LINE = re.compile(
    r'<text [^>]*x="([\d.]+)"[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>'
)


def screen_lines(app: KvtuiApp) -> list[str]:
    """What the terminal shows, one string a line (from the app's own SVG export: what
    is drawn, not what a widget holds)."""
    svg = app.export_screenshot()
    width = app.size.width
    rows = [[" "] * width for _ in range(app.size.height)]
    for x, line, text in _LINE.findall(svg):
        row, column = int(line), round(float(x) / 12.2) - 1  # 12.2: one cell, in the SVG
        for offset, ch in enumerate(html.unescape(text).replace("\xa0", " ")):
            if 0 <= row < len(rows) and 0 <= column + offset < width:
                rows[row][column + offset] = ch
    return ["".join(r).rstrip() for r in rows]


def on_screen(app: KvtuiApp, text: str) -> bool:
    return any(text in line for line in screen_lines(app))


def finished(vault: VaultScreen, kind: Kind) -> bool:
    tab = vault.tab_of(kind)
    return tab.loader is not None and tab.loader.is_finished and not tab.listing


async def add_fault(admin: Admin, **fault: Any) -> str:
    _, body = await admin.call("POST", "/faults", fault, expect=201)
    return str(body["id"])
