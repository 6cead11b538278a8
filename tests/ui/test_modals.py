"""The vault browser's modals, each pushed by a tiny host app: the copy menu (keys, esc,
hostile text shown literally), the versions modal against the real emulator (secrets,
keys, certificates, a 403 and a dropped connection), and the export modal writing real
files under tmp_path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.certificates import (
    CertificatePolicy,
    KeyVaultCertificate,
    WellKnownIssuerNames,
)
from textual.app import App
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static

import kvtui.ui
from kvtui.core.models import Kind
from kvtui.core.references import CopyChoice
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorThread
from kvtui.emulator.secrets import add_secret_version
from kvtui.emulator.store import backdated
from kvtui.tools.pilot import drive
from kvtui.ui.modals import CopyMenu, ExportScreen, VersionsScreen
from tests.emulator.admin_support import Admin
from tests.ui.conftest import wait_until

SIZE = (120, 36)
DAY = 86_400


class Host(App[None]):
    """Pushes one modal on mount and records what it is dismissed with."""

    CSS_PATH = str(Path(kvtui.ui.__file__).with_name("app.tcss"))

    def __init__(self, modal: Screen[Any]) -> None:
        super().__init__()
        self.modal = modal
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


def rendered(widget: Widget) -> list[str]:
    """The lines a widget draws, as text."""
    region = Region(0, 0, widget.region.width, widget.region.height)
    return [strip.text.rstrip() for strip in widget.render_lines(region)]


async def closed(pilot: Pilot[Any], host: Host) -> object:
    await wait_until(pilot, lambda: host.results, "the modal was dismissed")
    assert not isinstance(host.screen, type(host.modal))
    [result] = host.results
    return result


# -- copy menu ---------------------------------------------------------------------------

CHOICES = [
    CopyChoice("name", "Name", "db-password"),
    CopyChoice("id", "Id (this version)", "https://v.vault.azure.net/secrets/db-password/abc"),
    CopyChoice("az", "az keyvault secret show command", "az keyvault secret show --id x"),
]


@pytest.mark.parametrize(("keys", "picked"), [(["2"], 1), (["3"], 2), (["down", "enter"], 1)])
async def test_copy_menu_number_keys_and_enter_return_the_choice(
    keys: list[str], picked: int
) -> None:
    host = Host(CopyMenu(CHOICES, "Copy db-password"))
    async with drive(host, size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        assert await closed(pilot, host) == CHOICES[picked]


async def test_copy_menu_esc_returns_none_and_a_number_past_the_end_does_nothing() -> None:
    host = Host(CopyMenu(CHOICES, "Copy db-password"))
    async with drive(host, size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("7")
        await pilot.pause()
        assert host.results == [] and isinstance(host.screen, CopyMenu)
        assert "3" in host.screen.active_bindings and "7" not in host.screen.active_bindings
        await pilot.press("escape")
        assert await closed(pilot, host) is None


async def test_copy_menu_shows_hostile_strings_literally_on_one_line_each() -> None:
    choices = [
        CopyChoice("name", "[bold]x[/]", "\x1b[2J\x1b]52;c;AAAA\x07"),
        CopyChoice("uri", "bad[/x] [link=evil]y", "line one\nline two"),
        CopyChoice("id", "Long", "https://v.vault.azure.net/secrets/" + "a" * 300),
    ]
    host = Host(CopyMenu(choices, "Copy [red]db\x1b[31m"))
    async with drive(host, size=SIZE) as pilot:
        await pilot.pause()
        menu = host.screen
        assert isinstance(menu, CopyMenu)
        # (the list has no border of its own in the dialog's frame)
        lines = [line.strip("▊▎ ") for line in rendered(menu.query_one(OptionList))]
        text = "\n".join(lines)
        assert "\x1b" not in text and "\x07" not in text
        assert "1 [bold]x[/]" in lines
        assert "␛[2J␛]52;c;AAAA␇" in text
        assert "2 bad[/x] [link=evil]y" in lines
        assert "line one␊line two" in text  # one line, newline made visible
        assert len(lines) == 2 * len(choices)  # a label line and a value line each
        long_line = next(line for line in lines if "aaaa" in line)
        assert long_line.endswith("…")
        title = rendered(menu.query_one("#copy-menu-title", Static))[0]
        assert title.strip() == "Copy [red]db␛[31m"
        await pilot.press("1")
        assert await closed(pilot, host) == choices[0]


# -- versions (real emulator) --------------------------------------------------------------


def seed_secret_versions(emulator: EmulatorThread, vault_url: str) -> list[str]:
    """Three versions of ``db`` created 30, 20 and 10 days ago (the service keeps
    seconds, so versions made by the SDK in one test would tie): the oldest expired, the
    middle one expiring in 10 days, with a hostile tag. Returns versions, oldest first."""
    t = int(time.time())

    async def seed() -> list[str]:
        state = emulator.emulator.state
        assert state is not None
        vault = next(v for v in state.vaults.values() if v.url == vault_url)
        made = [
            backdated(add_secret_version(
                vault, "db", "hunter2-old", content_type="text/plain",
                tags={"env": "old"}, attributes={"exp": t - DAY},
            ), t - 30 * DAY),
            backdated(add_secret_version(
                vault, "db", "hunter2-mid", tags={"[bold]x[/]": "\x1b[2J"},
                attributes={"exp": t + 10 * DAY},
            ), t - 20 * DAY),
            backdated(add_secret_version(
                vault, "db", "hunter2-new", content_type="application/json",
                tags={"env": "prod"},
            ), t - 10 * DAY),
        ]  # fmt: skip
        return [v.version for _, v in made]

    return emulator.call(seed())


async def versions_loaded(pilot: Pilot[Any], screen: VersionsScreen) -> DataTable[Any]:
    table: DataTable[Any] = screen.query_one("#versions-table", DataTable)
    await wait_until(pilot, lambda: not table.loading and table.row_count, "versions listed")
    return table


def detail_text(screen: VersionsScreen) -> str:
    return "\n".join(rendered(screen.query_one("#versions-detail", Static)))


async def detail_shows(pilot: Pilot[Any], screen: VersionsScreen, needle: str) -> str:
    """The detail area once it shows ``needle`` (details of keys and certificates load)."""
    await wait_until(pilot, lambda: needle in detail_text(screen), f"the detail shows {needle}")
    return detail_text(screen)


async def test_secret_versions_newest_first_with_markers_and_properties_never_the_value(
    emulator: EmulatorThread, service: VaultService
) -> None:
    old, mid, new = seed_secret_versions(emulator, service.vault_url)
    screen = VersionsScreen(service, Kind.SECRETS, "db", warn_days=30)
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        table = await versions_loaded(pilot, screen)
        await pilot.pause()
        rows = [line for line in rendered(table)[1:] if line.strip()]
        assert [r.split()[0] for r in rows] == [new[:8], mid[:8], old[:8]]
        assert "current" in rows[0] and "current" not in rows[1]
        assert "⚠ in 9d" in rows[1] or "⚠ in 10d" in rows[1]
        assert "✖ expired" in rows[2]
        assert "⚠" not in rows[0] and "✖" not in rows[0]
        status = rendered(screen.query_one("#versions-status", Static))[0]
        assert "3 versions" in status

        text = detail_text(screen)
        assert new in text and "application/json" in text and "env = prod" in text
        await pilot.press("down")
        text = await detail_shows(pilot, screen, mid)
        assert "[bold]x[/] = ␛[2J" in text and "\x1b" not in text
        await pilot.press("down")
        text = await detail_shows(pilot, screen, old)
        assert "text/plain" in text and "expired" in text
        everything = "\n".join(rendered(table) + rendered(screen))
        assert "hunter2" not in everything and "hunter2" not in detail_text(screen)

        await pilot.press("escape")
        assert await closed(pilot, host) is None


async def test_key_and_certificate_versions_show_each_versions_detail(
    service: VaultService,
) -> None:
    sizes = {}
    for size in (2048, 3072):
        key = await service.keys.create_rsa_key("signer", size=size)
        assert key.properties.version
        sizes[key.properties.version] = size
    screen = VersionsScreen(service, Kind.KEYS, "signer", warn_days=30)
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        table = await versions_loaded(pilot, screen)
        assert table.row_count == 2
        for row in range(2):
            table.move_cursor(row=row)
            version = screen.versions[row].version
            assert version is not None
            text = await detail_shows(pilot, screen, f"{sizes[version]} bits")
            assert version in text and "RSA" in text and "sign" in text
        await pilot.press("escape")
        assert await closed(pilot, host) is None

    policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.self, subject="CN=www.example")
    created = await service.certificates.create_certificate("www", policy)
    assert isinstance(created, KeyVaultCertificate) and created.properties is not None
    assert created.properties.x509_thumbprint
    thumbprint = created.properties.x509_thumbprint.hex().upper()
    screen = VersionsScreen(service, Kind.CERTIFICATES, "www", warn_days=30)
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        await versions_loaded(pilot, screen)
        text = await detail_shows(pilot, screen, thumbprint)
        assert "CN=www.example" in text and "Valid until" in text
        await pilot.press("escape")
        assert await closed(pilot, host) is None


async def test_versions_errors_are_shown_in_the_modal(service: VaultService, admin: Admin) -> None:
    await service.secrets.set_secret("db", "v")
    await service.keys.create_ec_key("ec")
    name = admin.vault_name(service.vault_url)
    await admin.call(
        "PUT", f"/permissions/{name}/*", {"secrets": ["get"], "keys": ["list"]}, expect=200
    )

    screen = VersionsScreen(service, Kind.SECRETS, "db", warn_days=30)
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        status = screen.query_one("#versions-status", Static)
        await wait_until(pilot, lambda: status.has_class("-error"), "the 403 is shown")
        message = " ".join(rendered(status))
        assert "secrets list permission" in message
        assert screen.query_one("#versions-table", DataTable).row_count == 0

        # Allowed again, the modal lists on r.
        await admin.call("DELETE", f"/permissions/{name}/*", expect=204)
        await pilot.press("r")
        await wait_until(pilot, lambda: "1 version" in " ".join(rendered(status)), "listed after r")
        assert not status.has_class("-error")
        await pilot.press("escape")
        assert await closed(pilot, host) is None

    await admin.call(
        "PUT", f"/permissions/{name}/*", {"secrets": ["get"], "keys": ["list"]}, expect=200
    )
    screen = VersionsScreen(service, Kind.KEYS, "ec", warn_days=30)
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        await versions_loaded(pilot, screen)
        await detail_shows(pilot, screen, "keys get permission")
        await admin.call("POST", "/faults", {"type": "drop", "vault": name}, expect=201)
        await pilot.press("r")
        status = screen.query_one("#versions-status", Static)
        await wait_until(pilot, lambda: status.has_class("-error"), "the dropped connection")
        assert "was cut (reset or closed)" in " ".join(rendered(status))
        await pilot.press("escape")
        assert await closed(pilot, host) is None


# -- export (real files) ---------------------------------------------------------------------

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


async def submit(pilot: Pilot[Any], screen: ExportScreen, path: Path | str) -> None:
    screen.query_one("#export-path", Input).value = str(path)
    screen.query_one("#export-path", Input).focus()
    await pilot.press("enter")
    await pilot.pause()


def error_text(screen: ExportScreen) -> str:
    error = screen.query_one("#export-error", Static)
    return " ".join(rendered(error)) if error.display else ""


async def test_export_writes_the_default_path_and_returns_it(tmp_path: Path) -> None:
    target = tmp_path / "www-example.pem"
    screen = ExportScreen(target, PEM, "public certificate (PEM)")
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        await pilot.pause()
        assert screen.query_one("#export-path", Input).value == str(target)
        what = " ".join(rendered(screen.query_one("#export-what", Static)))
        assert "public certificate (PEM)" in what
        await pilot.press("enter")
        assert await closed(pilot, host) == target
    assert target.read_bytes() == PEM
    assert target.stat().st_mode & 0o777 == 0o644


async def test_export_refuses_to_overwrite_until_asked(tmp_path: Path) -> None:
    target = tmp_path / "www.pem"
    target.write_bytes(b"old")
    screen = ExportScreen(tmp_path / "other.pem", PEM, "public certificate (PEM)")
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        await submit(pilot, screen, target)
        assert "exists already" in error_text(screen)
        assert screen.query_one("#export-confirm").display
        assert target.read_bytes() == b"old" and host.results == []

        await pilot.press("n")  # keep it: back to the path, nothing written
        await pilot.pause()
        assert not screen.query_one("#export-confirm").display
        assert target.read_bytes() == b"old" and host.results == []

        await submit(pilot, screen, target)
        assert screen.query_one("#export-confirm").display
        await pilot.press("y")
        assert await closed(pilot, host) == target
    assert target.read_bytes() == PEM


async def test_export_shows_why_it_cannot_write_and_esc_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "www.pem"
    screen = ExportScreen(tmp_path / "www.pem", PEM, "public\x1b[2J [bold]key")
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        what = " ".join(rendered(screen.query_one("#export-what", Static)))
        assert "public␛[2J [bold]key" in what
        await submit(pilot, screen, missing)
        assert "does not exist" in error_text(screen)
        assert not screen.query_one("#export-confirm").display  # nothing to overwrite
        await submit(pilot, screen, f"{tmp_path}/")
        assert "add a file name" in error_text(screen)
        await submit(pilot, screen, "   ")
        assert "Type a file name" in error_text(screen)
        assert host.results == []
        await pilot.press("escape")
        assert await closed(pilot, host) is None
    assert list(tmp_path.iterdir()) == []


async def test_export_relative_default_path_is_shown_as_typed_and_written_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    screen = ExportScreen(Path("./www-example.pem"), PEM, "public certificate (PEM)")
    host = Host(screen)
    async with drive(host, size=SIZE) as pilot:
        await pilot.pause()
        assert screen.query_one("#export-path", Input).value == "./www-example.pem"
        assert str(tmp_path) in " ".join(rendered(screen.query_one("#export-hint", Static)))
        await pilot.press("enter")
        assert await closed(pilot, host) == tmp_path / "www-example.pem"
    assert (tmp_path / "www-example.pem").read_bytes() == PEM


# -- every dialog fits a small terminal, its hint line shown -------------------------------


def shown_whole(widget: Widget) -> bool:
    """Displayed, and drawn whole inside its dialog's frame and the terminal."""
    frame = widget.screen.query_one(".dialog").region
    region = widget.region
    return (
        widget.display
        and region.height > 0
        and frame.contains_region(region)
        and widget.screen.region.contains_region(frame)
    )


def open_vault_dialog(tmp_path: Path) -> Screen[Any]:
    from kvtui.core.config import Settings
    from kvtui.ui.launch import build_context
    from kvtui.ui.screens.open_vault import OpenVaultScreen

    settings = Settings(token_cache=str(tmp_path / "cache" / "tokens.bin"))
    context = build_context(settings, state_path=tmp_path / "state.json")
    return OpenVaultScreen(context, "kv-prod")


MANY = [CopyChoice(f"c{n}", f"Choice {n}", f"value {n} " + "x" * 80) for n in range(12)]


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
@pytest.mark.parametrize("dialog", ["copy", "export", "export-confirm", "open-vault"])
async def test_each_dialog_fits_and_shows_its_title_and_hint(
    dialog: str, size: tuple[int, int], tmp_path: Path
) -> None:
    existing = tmp_path / "www.pem"
    existing.write_bytes(b"old")
    screen: Screen[Any] = {
        "copy": lambda: CopyMenu(MANY, "Copy db-password"),
        "export": lambda: ExportScreen(tmp_path / "new.pem", PEM, "public certificate (PEM)"),
        "export-confirm": lambda: ExportScreen(existing, PEM, "public certificate (PEM)"),
        "open-vault": lambda: open_vault_dialog(tmp_path),
    }[dialog]()
    host = Host(screen)
    async with drive(host, size=size) as pilot:
        await pilot.pause()
        if dialog == "export-confirm":
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen.query_one("#export-confirm").display, "ask")
            assert shown_whole(screen.query_one("#export-confirm-question"))
        await pilot.pause()
        title = screen.query_one(".dialog-title", Static)
        hint = screen.query_one(".dialog-hint", Static)
        assert shown_whole(title), (title.region, screen.query_one(".dialog").region)
        assert shown_whole(hint), (hint.region, screen.query_one(".dialog").region)
        assert "esc" in " ".join(rendered(hint))
        if dialog == "copy":  # the list scrolls within the frame: the last choice shows
            options = screen.query_one(OptionList)
            assert shown_whole(options)
            assert "Choice 0" in " ".join(rendered(options))
            await pilot.press(*["down"] * (len(MANY) - 1))
            await pilot.pause()
            assert options.highlighted == len(MANY) - 1
            assert "Choice 11" in " ".join(rendered(options))
            assert shown_whole(options) and shown_whole(hint)
        if dialog.startswith("export") or dialog == "open-vault":
            assert shown_whole(screen.query_one(Input))
