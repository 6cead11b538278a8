"""``make screenshots``: SVG screenshots of the real app against the bundled emulator.

``python -m kvtui.tools.screenshots [DIR]`` starts the emulator in this process with
the demo vault seeded at a fixed time (:data:`T0`), runs the app once per scene with its
clock at :data:`CLOCK`, and writes ``DIR/<scene>.svg`` (default ``screenshots/``). The
same scenes are the snapshot tests' (tests/ui/test_snapshots.py), so what the README
shows is what the tests check. Secret values stay masked: no scene reveals one.

Everything on screen is the same every run: dates (relative to T0 and the frozen
clock), version ids, keys and certificates (derived from their names), the sign-in
code (fixed through the emulator's identity settings) and the vault's URL.

The vault's URL is on screen (the header, item ids, references), but the emulator
listens on free ports: a fixed port would need a machine-wide lock, since test workers,
other test runs and ``make screenshots`` can run at once. So the demo vault answers as
:data:`SHOWN_URL` (its item ids and ARM's ``vaultUri`` say so, as a vault behind a
name would), the app is given that URL, and the screenshot's own event loop sends the
connections for that address to the port the vault listens on (:func:`shown_url_goes_to`).
TLS is verified as ever (the emulator's certificate is for 127.0.0.1, whatever the
port); nothing outside this module knows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Tabs

from kvtui.core.config import Settings
from kvtui.core.models import Kind
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread
from kvtui.emulator.clock import Clock
from kvtui.emulator.seed import seed_demo
from kvtui.tools.pilot import POLL, drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext, build_context
from kvtui.ui.modals.certificate_form import CertificateForm
from kvtui.ui.modals.confirm import ConfirmDialog
from kvtui.ui.modals.copy_menu import CopyMenu
from kvtui.ui.modals.generate import GenerateDialog
from kvtui.ui.modals.item_form import ItemForm
from kvtui.ui.modals.key_form import KeyForm
from kvtui.ui.modals.key_ops import KeyOperations
from kvtui.ui.modals.open_file import OpenFileScreen
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.screens.login import LoginScreen
from kvtui.ui.screens.vault import VaultScreen
from kvtui.ui.widgets.detail_pane import DetailPane
from kvtui.ui.widgets.item_table import ItemTable

#: The demo seed's clock: every date in the vault is relative to it.
T0 = datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc)
#: The app's clock: an hour after the seed.
CLOCK = T0 + timedelta(hours=1)
#: The demo vault's URL on every screenshot, whatever port it listens on (the module's
#: docstring says how). Nothing listens there: it is only ever redirected.
SHOWN_URL = "https://127.0.0.1:29311/"
#: Terminal size of every scene: wide enough for the detail pane beside the table.
SIZE = (160, 42)
#: Fixed sign-in code and address for the login scene.
USER_CODE = "BHTQ7K2WX"
VERIFICATION_URI = "https://microsoft.com/devicelogin"

Scene = Callable[[Pilot[Any]], Awaitable[None]]
#: The keys that show a tab, through another one (see vault_ready).
TAB_KEYS = {Kind.SECRETS: ("2", "1"), Kind.KEYS: ("3", "2"), Kind.CERTIFICATES: ("2", "3")}


# -- the emulator ------------------------------------------------------------------------


def add_demo_vault(emulator: EmulatorThread, name: str = "demo") -> str:
    """A vault seeded like the demo at :data:`T0`, answering as :data:`SHOWN_URL`; the
    URL it really listens on (for :func:`shown_url_goes_to`)."""

    async def add() -> str:
        vault = await emulator.emulator.add_vault(name, seed="empty")
        # Seeded on a clock of its own, fixed at T0 (the same dates and ids every run);
        # then back on the emulator's, which the other vaults and the tokens follow.
        shared, vault.clock = vault.clock, Clock(T0.timestamp())
        try:
            seed_demo(vault)
        finally:
            vault.clock = shared
        real = vault.url
        vault.url = SHOWN_URL  # ids, references and ARM's vaultUri
        return real

    return emulator.call(add())


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    return parts.hostname, parts.port


def shown_url_goes_to(real_url: str) -> None:
    """From now on, the running event loop's connections to :data:`SHOWN_URL`'s address
    go to ``real_url``'s (the app's aiohttp connects through ``loop.sock_connect``)."""
    loop = asyncio.get_running_loop()
    shown, real = _address(SHOWN_URL), _address(real_url)
    connect = loop.sock_connect

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        if tuple(address[:2]) == shown:
            address = (*real, *address[2:])
        await connect(sock, address)

    setattr(loop, "sock_connect", sock_connect)  # noqa: B010  (this loop only)


@contextlib.contextmanager
def screenshot_emulator(state_dir: Path) -> Iterator[tuple[EmulatorThread, str]]:
    """The emulator on free ports with the demo vault (:func:`add_demo_vault`): the
    emulator and the vault's real URL."""
    thread = EmulatorThread(
        EmulatorSettings(vaults=[], seed="empty", approve="auto", state_dir=state_dir)
    )
    thread.start()
    try:
        yield thread, add_demo_vault(thread, "screenshots")
    finally:
        thread.stop()


def identity_settings(info: EmulatorInfo, **values: Any) -> None:
    """PATCH the emulator's identity settings (its admin endpoint)."""
    from kvtui.core.auth import http_session

    with http_session(info.ca_bundle) as http:
        http.trust_env = False  # loopback: never through a proxy
        url = f"{info.admin_url}/identity/settings"
        http.patch(url, json=values, headers=info.admin_headers(), timeout=10).raise_for_status()


def make_app(info: EmulatorInfo, folder: Path, *, organizations: bool = False) -> KvtuiApp:
    """The app on the demo vault (:data:`SHOWN_URL`), its clock at :data:`CLOCK`, its
    token cache and state file in ``folder``; ``organizations``: sign in through
    ``/organizations`` (the login screen then shows no tenant id, which changes with the
    emulator's state)."""
    base = info.authority.rsplit("/", 1)[0]
    settings = Settings(
        authority=f"{base}/organizations" if organizations else info.authority,
        ca_bundle=info.ca_bundle,
        client_id=info.client_id,
        arm_url=info.arm_url,
        vault=SHOWN_URL,
        token_cache=str(folder / "cache" / "tokens.bin"),
    )
    context: AppContext = build_context(settings, state_path=folder / "state" / "state.json")
    context.retry_total = 0
    context.now = lambda: CLOCK
    return KvtuiApp(context)


# -- driving the app ---------------------------------------------------------------------


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], object], what: str) -> None:
    """Let the app run until ``predicate()`` holds (the cap only stops a hang)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"never happened: {what}")
        await pilot.pause(POLL)


def _vault(pilot: Pilot[Any]) -> VaultScreen:
    screens = [s for s in pilot.app.screen_stack if isinstance(s, VaultScreen)]
    assert screens, "no vault screen"
    return screens[-1]


def _loaded(screen: VaultScreen) -> bool:
    """Every tab listed, the keys' and certificates' third column filled in."""
    tables = {t.kind: t for t in screen.query(".kind-body > ItemTable").results(ItemTable)
              if not t.model.deleted}  # fmt: skip
    if len(tables) < len(Kind) or not all(t.is_mounted for t in tables.values()):
        return False
    if any(screen.tab_of(k).listing or tables[k].total_count == 0 for k in Kind):
        return False
    keys = tables[Kind.KEYS].rows
    certificates = tables[Kind.CERTIFICATES].rows
    return all(i.key_type for i in keys) and all(i.subject for i in certificates)


def _detail_shown(screen: VaultScreen, kind: Kind) -> bool:
    pane = screen.query_one(f"#detail-{kind.value}", DetailPane)
    table = screen.query_one(f"#table-{kind.value}", ItemTable)
    item = table.cursor_item
    return item is not None and pane.item is item and pane.detail is not None


def _tabs_settled(screen: VaultScreen) -> bool:
    """The tab underline has reached the active tab (it moves, animated, a moment after
    a tab's label changes, e.g. when its count arrives)."""
    tabs = screen.query_one(Tabs)
    active = tabs.active_tab
    if active is None:
        return False
    underline = tabs.query_one("Underline")
    span = active.virtual_region.shrink(active.styles.gutter).column_span
    here = (getattr(underline, "highlight_start", None), getattr(underline, "highlight_end", None))
    return here == span


async def vault_ready(pilot: Pilot[Any], kind: Kind = Kind.SECRETS) -> VaultScreen:
    """Signed in, every tab loaded, ``kind``'s tab on show with its detail."""
    await wait_until(
        pilot, lambda: any(isinstance(s, VaultScreen) for s in pilot.app.screen_stack), "vault"
    )
    screen = _vault(pilot)
    await wait_until(pilot, lambda: _loaded(screen), "every tab loaded")
    await pilot.pause()
    # Through another tab: the underline can stay as wide as "Secrets…" when the count
    # arrives as it moves (Textual measures the tab before its new label is laid out);
    # moving it again puts it under the label as it is now.
    await pilot.press(*TAB_KEYS[kind])
    await wait_until(pilot, lambda: screen.kind is kind, f"the {kind.value} tab")
    await wait_until(pilot, lambda: _detail_shown(screen, kind), f"{kind.value} detail")
    await wait_until(pilot, lambda: _tabs_settled(screen), "the tab underline")
    await pilot.pause()
    return screen


async def secrets(pilot: Pilot[Any]) -> None:
    """The secrets tab, the first secret's detail beside it (value masked)."""
    await vault_ready(pilot)


async def keys(pilot: Pilot[Any]) -> None:
    """The keys tab with the first key's detail."""
    await vault_ready(pilot, Kind.KEYS)


async def certificates(pilot: Pilot[Any]) -> None:
    """The certificates tab with the first certificate's detail."""
    await vault_ready(pilot, Kind.CERTIFICATES)


async def filtered(pilot: Pilot[Any]) -> None:
    """``/`` and ``tag:env=prod settings`` typed: the secrets that match, the box open."""
    screen = await vault_ready(pilot)
    await pilot.press("slash")
    box = screen.query_one("#filter-secrets", Input)
    box.cursor_blink = False
    await pilot.press(*"tag:env=prod")
    table = screen.query_one("#table-secrets", ItemTable)
    await wait_until(pilot, lambda: table.filter_text == "tag:env=prod", "the filter")
    await wait_until(pilot, lambda: _detail_shown(screen, Kind.SECRETS), "the match's detail")
    await pilot.pause()


async def versions(pilot: Pilot[Any]) -> None:
    """The versions of a secret with twelve (filtered to it first)."""
    screen = await vault_ready(pilot)
    await pilot.press("slash", *"billing-db-connection", "enter")
    await wait_until(pilot, lambda: _detail_shown(screen, Kind.SECRETS), "the secret's detail")
    await pilot.press("v")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, VersionsScreen), "versions")
    modal = pilot.app.screen
    assert isinstance(modal, VersionsScreen)
    await wait_until(pilot, lambda: len(modal.versions) > 1, "the versions listed")
    await pilot.pause()


async def copy_menu(pilot: Pilot[Any]) -> None:
    """``y`` on a secret: what can be copied (never its value)."""
    await vault_ready(pilot)
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CopyMenu), "the copy menu")
    await pilot.pause()


async def _modal(pilot: Pilot[Any], kind: type[Any], what: str) -> Any:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind), what)
    await pilot.pause()
    return pilot.app.screen


def _no_blink(screen: Any) -> None:
    for box in screen.query("Input, TextArea"):
        box.cursor_blink = False


async def new_secret(pilot: Pilot[Any]) -> None:
    """``n``: the new secret form, a name typed (no value: values are never shown)."""
    await vault_ready(pilot)
    await pilot.press("n")
    form = await _modal(pilot, ItemForm, "the form")
    _no_blink(form)
    await pilot.press(*"orders-api-token", "tab")
    await pilot.pause()


async def new_version(pilot: Pilot[Any]) -> None:
    """``u`` on a secret: its properties prefilled, the value empty."""
    screen = await vault_ready(pilot)
    await pilot.press("slash", *"billing-db-connection", "enter")
    await wait_until(pilot, lambda: _detail_shown(screen, Kind.SECRETS), "the secret's detail")
    await pilot.press("u")
    _no_blink(await _modal(pilot, ItemForm, "the form"))


async def edit(pilot: Pilot[Any]) -> None:
    """``e`` on a key (the second: the first belongs to a certificate)."""
    screen = await vault_ready(pilot, Kind.KEYS)
    await pilot.press("down")
    await wait_until(pilot, lambda: _detail_shown(screen, Kind.KEYS), "the key's detail")
    await pilot.press("e")
    _no_blink(await _modal(pilot, ItemForm, "the form"))


async def delete(pilot: Pilot[Any]) -> None:
    """``d`` on the second secret (the first belongs to a certificate): the
    confirmation, with what a delete means in this vault."""
    screen = await vault_ready(pilot)
    await pilot.press("down")
    await wait_until(pilot, lambda: _detail_shown(screen, Kind.SECRETS), "the detail")
    await pilot.press("d")
    await _modal(pilot, ConfirmDialog, "the confirmation")


async def deleted(pilot: Pilot[Any]) -> None:
    """``D``: the secrets deleted and not yet purged."""
    screen = await vault_ready(pilot)
    await pilot.press("D")
    tab = screen.tab_of(Kind.SECRETS)
    await wait_until(
        pilot, lambda: tab.deleted.finished and tab.deleted.table.total_count, "the deleted"
    )
    await wait_until(pilot, lambda: _tabs_settled(screen), "the tab label")


async def purge(pilot: Pilot[Any]) -> None:
    """``P`` in the deleted view: the name must be typed."""
    await deleted(pilot)
    await pilot.press("P")
    _no_blink(await _modal(pilot, ConfirmDialog, "the confirmation"))


async def recover(pilot: Pilot[Any]) -> None:
    """``R`` in the deleted view."""
    await deleted(pilot)
    await pilot.press("R")
    await _modal(pilot, ConfirmDialog, "the confirmation")


async def marked(pilot: Pilot[Any]) -> None:
    """Three rows marked with space (not the first: a certificate's), then ``d``: one
    confirmation that lists them."""
    screen = await vault_ready(pilot)
    await pilot.press("down", "space", "space", "space")
    table = screen.query_one("#table-secrets", ItemTable)
    await wait_until(pilot, lambda: len(table.marked_items) == 3, "three marked")
    await wait_until(pilot, lambda: _detail_shown(screen, Kind.SECRETS), "the detail")
    await pilot.press("d")
    await _modal(pilot, ConfirmDialog, "the confirmation")


async def generate(pilot: Pilot[Any]) -> None:
    """``ctrl+g`` in the new secret form: length and kinds of character."""
    await new_secret(pilot)
    await pilot.press("ctrl+g")
    _no_blink(await _modal(pilot, GenerateDialog, "the generator"))


async def discard(pilot: Pilot[Any]) -> None:
    """``esc`` in a form with something typed: asked first."""
    await new_secret(pilot)
    await pilot.press("escape")
    await _modal(pilot, ConfirmDialog, "the question")


async def new_key(pilot: Pilot[Any]) -> None:
    """``n`` on the keys tab: the new key form, a name typed (RSA 2048 by default)."""
    await vault_ready(pilot, Kind.KEYS)
    await pilot.press("n")
    _no_blink(await _modal(pilot, KeyForm, "the form"))
    await pilot.press(*"orders-signing")
    await pilot.pause()


async def key_operations(pilot: Pilot[Any]) -> None:
    """``C`` on an RSA key: encrypt with RSA-OAEP-256, some text typed (a result would
    differ from one run to the next: the emulator's keys are new each time)."""
    screen = await vault_ready(pilot, Kind.KEYS)
    await pilot.press("slash", *"data-encryption-key", "enter")
    await wait_until(pilot, lambda: _detail_shown(screen, Kind.KEYS), "the key's detail")
    await pilot.press("C")
    _no_blink(await _modal(pilot, KeyOperations, "the dialog"))
    await pilot.press(*"card ending 4242, exp 09/29")
    await pilot.pause()


async def new_certificate(pilot: Pilot[Any]) -> None:
    """``n`` on the certificates tab: a name, tab, a subject."""
    await vault_ready(pilot, Kind.CERTIFICATES)
    await pilot.press("n")
    _no_blink(await _modal(pilot, CertificateForm, "the form"))
    await pilot.press(*"orders-tls", "tab", *"CN=orders.example.com")
    await pilot.pause()


#: Where the restore scene points (the default is in the working folder, which differs
#: from one machine to the next).
BACKUP_PATH = "./backups/demo-billing-api-key.secret.backup"


async def restore(pilot: Pilot[Any]) -> None:
    """ "Restore from a backup" in the palette: which file to read."""
    await vault_ready(pilot)
    await pilot.press("colon", *"restore")
    palette = await _modal(pilot, CommandPalette, "the palette")
    await wait_until(pilot, lambda: palette.query_one(CommandList).option_count > 0, "the command")
    await pilot.press("enter")
    opened = await _modal(pilot, OpenFileScreen, "the path")
    box = opened.query_one(Input)
    box.cursor_blink = False
    box.value = BACKUP_PATH
    box.cursor_position = len(BACKUP_PATH)


async def login(pilot: Pilot[Any]) -> None:
    """The sign-in code, its address and QR code, the countdown frozen at 9:59."""
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, LoginScreen), "login")
    screen = pilot.app.screen
    assert isinstance(screen, LoginScreen)
    await wait_until(pilot, lambda: screen.phase == "code", "the code")
    flow = screen.flow
    assert flow is not None
    screen.clock = lambda: flow.expires_at - 599.5  # "expires in 9:59"
    screen.update_countdown()
    await pilot.pause()


@dataclass(frozen=True)
class Shot:
    name: str
    scene: Scene
    signed_in: bool = True
    """False: the device code waits for approval (the login screen stays)."""


SHOTS = (
    Shot("login", login, signed_in=False),
    Shot("secrets", secrets),
    Shot("keys", keys),
    Shot("certificates", certificates),
    Shot("filter", filtered),
    Shot("versions", versions),
    Shot("copy-menu", copy_menu),
    Shot("new-secret", new_secret),
    Shot("key-operations", key_operations),
    Shot("new-certificate", new_certificate),
)

#: The dialogs of writes, snapshot at 80x24 (tests/ui/test_snapshots.py).
DIALOGS = (
    Shot("new-secret", new_secret),
    Shot("new-version", new_version),
    Shot("edit", edit),
    Shot("delete", delete),
    Shot("deleted", deleted),
    Shot("purge", purge),
    Shot("recover", recover),
    Shot("marked", marked),
    Shot("generate", generate),
    Shot("discard", discard),
    # (b's dialog is the export's, which shows the backup's size: the emulator's
    # blobs are not the same size from one run to the next.)
    Shot("restore", restore),
    Shot("new-key", new_key),
    Shot("key-operations", key_operations),
    Shot("new-certificate", new_certificate),
)


# -- the script --------------------------------------------------------------------------


async def screenshot(
    app: KvtuiApp,
    scene: Scene,
    real_url: str,
    size: tuple[int, int],
    title: str | None = None,
    *,
    simplify: bool = True,
) -> str:
    """The SVG of ``app`` after ``scene``, taken as pytest-textual-snapshot takes it
    (``textual._doc.take_svg_screenshot``'s steps), with :data:`SHOWN_URL` sent to
    ``real_url``. ``simplify``: fewer SVG elements (the snapshots'); the README's
    screenshots keep one per cell."""
    shown_url_goes_to(real_url)
    async with drive(app, size=size, notifications=True) as pilot:
        await scene(pilot)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        svg = app.export_screenshot(title=title or app.title, simplify=simplify)
        app.exit()
    return svg


def take_all(out: Path, names: list[str] | None = None) -> list[Path]:
    """Write ``out/<name>.svg`` for every shot (or those named)."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="kvtui-shots-") as tmp:
        base = Path(tmp)
        with screenshot_emulator(base / "emulator") as (emulator, real_url):
            info = emulator.info
            for shot in SHOTS:
                if names and shot.name not in names:
                    continue
                if shot.signed_in:
                    identity_settings(info, approve="auto", approve_delay=0, interval=0)
                else:
                    identity_settings(
                        info,
                        approve="manual",
                        user_code=USER_CODE,
                        verification_uri=VERIFICATION_URI,
                        interval=1,  # msal notices the app's exit within a second
                    )
                app = make_app(info, base / shot.name, organizations=not shot.signed_in)
                title = f"kvtui — {shot.name}"
                take = screenshot(app, shot.scene, real_url, SIZE, title, simplify=False)
                svg = asyncio.run(take)
                # Rich names the SVG's styles after a random number: a fixed name keeps
                # an unchanged screenshot byte for byte the same.
                svg = re.sub(r"\bterminal-\d+-", "terminal-kvtui-", svg)
                path = out / f"{shot.name}.svg"
                path.write_text(svg, encoding="utf-8")
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kvtui.tools.screenshots", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out", nargs="?", type=Path, default=Path("screenshots"))
    parser.add_argument("--only", action="append", metavar="NAME", help="only this shot")
    args = parser.parse_args(argv)
    for path in take_all(args.out, args.only):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
