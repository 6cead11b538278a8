"""VersionsList outside a modal (as a view embeds it), against the real emulator: it
lists on mount and says so, pins its marks to the clock it is given, shows a vault's
error literally inside itself, and stops listing when it is removed; the modal around it
still shows versions at 40x12."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.message import Message
from textual.notifications import Notify
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.worker import WorkerState

from kvtui.core.models import Kind
from kvtui.core.vault import VaultService
from kvtui.tools.pilot import drive
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.widgets.versions_list import VersionsList
from tests.emulator.admin_support import Admin
from tests.ui.conftest import wait_until

SIZE = (80, 24)
HOSTILE = "[b]boom[/b]\x1b[2J"


class Embed(App[None]):
    """A plain screen holding one VersionsList; records the list's messages."""

    def __init__(self, versions: VersionsList) -> None:
        super().__init__()
        self.versions = versions
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield self.versions

    def on_versions_list_loaded(self, message: VersionsList.Loaded) -> None:
        self.messages.append(message)

    def on_versions_list_failed(self, message: VersionsList.Failed) -> None:
        self.messages.append(message)


def text_of(widget: Widget) -> str:
    """What a widget draws, as text."""
    region = Region(0, 0, widget.region.width, widget.region.height)
    return "\n".join(strip.text.rstrip() for strip in widget.render_lines(region))


async def test_lists_on_mount_with_marks_from_the_given_clock(service: VaultService) -> None:
    created = await service.secrets.set_secret("db", "first")
    assert created.properties.created_on is not None
    expires = created.properties.created_on + timedelta(days=400)
    await service.secrets.set_secret("db", "second", expires_on=expires)
    # A clock 390 days on: the newest version expires within the warning's 30 days.
    later = datetime.now(timezone.utc) + timedelta(days=390)
    versions = VersionsList(service, Kind.SECRETS, "db", warn_days=30, now=lambda: later)
    app = Embed(versions)
    async with drive(app, size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.messages, "listed")
        [loaded] = app.messages
        assert isinstance(loaded, VersionsList.Loaded) and len(loaded.versions) == 2
        table = versions.query_one("#versions-table", DataTable)
        assert table.has_focus  # the arrow keys choose a version at once
        rows = [" ".join(str(cell) for cell in table.get_row_at(n)) for n in range(2)]
        assert "current" in rows[0] and "current" not in rows[1]
        # (Made within one second, the two versions may list in either order.)
        expiring = next(n for n, v in enumerate(versions.versions) if v.expires is not None)
        assert "⚠ in 9d" in rows[expiring] or "⚠ in 10d" in rows[expiring]
        assert "⚠" not in rows[1 - expiring]
        if expiring == 1:
            await pilot.press("down")
        detail = versions.query_one("#versions-detail", Static)
        await wait_until(pilot, lambda: "⚠ expires in" in text_of(detail), "the mark")
        assert "second" not in text_of(detail)  # never the value
        await pilot.press("up" if expiring else "down")
        other = versions.versions[1 - expiring].version
        assert other is not None
        await wait_until(
            pilot,
            lambda: other in text_of(detail) and "⚠" not in text_of(detail),
            "the other version's rows",
        )


async def test_errors_are_shown_inside_and_removal_stops_the_listing(
    service: VaultService, admin: Admin
) -> None:
    await service.secrets.set_secret("db", "v")
    name = admin.vault_name(service.vault_url)
    await admin.call(
        "POST",
        "/faults",
        {
            "type": "status",
            "status": 501,
            "vault": name,
            "message": "[b]boom[/b]\x1b[2J",
            "count": 1,
        },
        expect=201,
    )
    now = datetime.now(timezone.utc)
    versions = VersionsList(service, Kind.SECRETS, "db", warn_days=30, now=lambda: now)
    app = Embed(versions)
    async with drive(app, size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.messages, "the error")
        [failed] = app.messages
        assert isinstance(failed, VersionsList.Failed)
        status = versions.query_one("#versions-status", Static)
        assert status.has_class("-error")
        shown = text_of(status)
        assert "[b]boom[/b]␛[2J" in shown and "\x1b" not in shown

        # A slow listing, then the widget goes: its worker is cancelled, not left running.
        # (Nothing sleeps the 5 s: the emulator stops waiting out a latency as soon as
        # the client has gone, as the cancelled request's has.)
        await admin.call(
            "POST", "/faults", {"type": "latency", "vault": name, "latency_ms": 5_000}, expect=201
        )
        versions.reload()
        workers = [w for w in app.workers if w.node is versions and w.group == "versions"]
        await wait_until(
            pilot,
            lambda: any(w.state is WorkerState.RUNNING for w in workers),
            "the listing runs",
        )
        running = next(w for w in workers if w.state is WorkerState.RUNNING)
        await versions.remove()
        await wait_until(pilot, lambda: running.state is WorkerState.CANCELLED, "cancelled")
        assert len(app.messages) == 1  # nothing more came of it


class ModalHost(App[None]):
    def __init__(self, modal: VersionsScreen) -> None:
        super().__init__()
        self.modal = modal

    def on_mount(self) -> None:
        self.push_screen(self.modal)


async def test_the_modal_at_40x12_shows_versions_details_and_how_to_close(
    service: VaultService,
) -> None:
    for value in ("one", "two", "three"):
        await service.secrets.set_secret("db", value)
    modal = VersionsScreen(service, Kind.SECRETS, "db", warn_days=30)
    app = ModalHost(modal)
    async with drive(app, size=(40, 12)) as pilot:
        table = modal.query_one("#versions-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 3, "listed")
        await pilot.pause()
        assert modal.has_class("-narrow", "-short")  # no frame: the whole screen
        screen = modal.region
        shown = text_of(table)
        first, second = (v.version or "" for v in modal.versions[:2])
        assert f"{first[:8]} current" in shown and second[:8] in shown
        detail = modal.query_one("#versions-detail-scroll")
        assert detail.region.height >= 2 and screen.contains_region(detail.region)
        assert "Attributes" in text_of(modal.query_one("#versions-detail", Static))
        hint = modal.query_one("#versions-hint", Static)
        assert screen.contains_region(hint.region)
        assert text_of(hint).startswith("esc: close")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not modal, "closed")


async def test_current_is_the_current_version_even_made_in_the_same_second(
    service: VaultService, admin: Admin
) -> None:
    """The emulator's clock stopped: three versions with the same date. "current" marks
    the version the vault says is current (it comes first), not one of the same date."""
    await admin.call("POST", "/clock", {"frozen": True}, expect=200)
    made = [await service.secrets.set_secret("same", f"v{n}") for n in range(3)]
    assert len({m.properties.created_on for m in made}) == 1
    current = made[-1].properties.version
    now = datetime.now(timezone.utc)
    versions = VersionsList(service, Kind.SECRETS, "same", warn_days=30, now=lambda: now)
    app = Embed(versions)
    async with drive(app, size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.messages, "listed")
        table = versions.query_one("#versions-table", DataTable)
        rows = [" ".join(str(cell) for cell in table.get_row_at(n)) for n in range(3)]
        assert versions.versions[0].version == current
        assert "current" in rows[0] and not any("current" in r for r in rows[1:])


async def test_enter_reveals_an_old_versions_value_and_moving_on_hides_it(
    service: VaultService,
) -> None:
    await service.secrets.set_secret("api", "old-value-1")
    await service.secrets.set_secret("api", "new-value-2")
    now = datetime.now(timezone.utc)
    versions = VersionsList(service, Kind.SECRETS, "api", warn_days=30, now=lambda: now)
    app = Embed(versions)
    notes: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with drive(app, size=SIZE, message_hook=hook) as pilot:
        await wait_until(pilot, lambda: app.messages, "listed")
        detail = versions.query_one("#versions-detail", Static)
        assert "enter reveals" in text_of(detail)
        await pilot.press("down")  # the old version
        old = versions.versions[1]
        assert versions.highlighted is old
        assert "old-value-1" not in text_of(detail)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "old-value-1" in text_of(detail), "the old value")
        assert "new-value-2" not in text_of(detail)
        await pilot.press("up")  # moving on hides it
        await wait_until(pilot, lambda: "enter reveals" in text_of(detail), "hidden")
        assert "old-value-1" not in text_of(detail) and "new-value-2" not in text_of(detail)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: "old-value-1" in text_of(detail), "shown again")
        await pilot.press("enter")  # enter again hides it
        await wait_until(pilot, lambda: "old-value-1" not in text_of(detail), "hidden again")
        await pilot.press("c")  # copies the highlighted (old) version's value
        short = (old.version or "")[:8]
        await wait_until(pilot, lambda: any(short in n for n in notes), "copied")
        assert any(n.startswith(f"Copied the value of api ({short})") for n in notes)
        assert not any("old-value-1" in n for n in notes)
