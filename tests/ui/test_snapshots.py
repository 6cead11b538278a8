"""How the app looks (SVG snapshots): the real app against the emulator, over HTTPS with
real msal. Update with --snapshot-update, then look at every changed SVG.

- The login screen: the real device-code flow, made deterministic with a fixed user
  code and address, a fixed tenant segment and a frozen countdown.
- The vault screens (kvtui/tools/screenshots.py's scenes, the same as ``make
  screenshots``), at the screenshots' size and at 80x24, 120x35 and 200x50: a vault of
  this test process's emulator seeded like the demo at a fixed time (dates, version ids,
  keys, certificates are the same every run), the app's clock an hour later, signed in
  from the start. The vault's URL is on screen: it answers as a fixed URL that the
  screenshot's event loop sends to its real port (screenshots.py says why), so no
  fixed port, no lock, and workers take snapshots at once. Secret values stay masked.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot

from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.emulator.seed import seed_demo
from kvtui.emulator.store import Vault
from kvtui.tools.screenshots import (
    DIALOGS,
    SHOTS,
    Shot,
    add_demo_vault,
    make_app,
    screenshot,
    secrets,
)
from kvtui.tools.screenshots import (
    SIZE as SHOT_SIZE,
)
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.login import LoginScreen
from tests.ui.conftest import WIDE, wait_screen, wait_until


def test_login_screen_shows_code_address_countdown_and_qr(
    snap_compare: Any, info: EmulatorInfo, make_context: Callable[..., AppContext], identity: Any
) -> None:
    # interval 1: snap_compare's Pilot waits for the whole process to go quiet, which a
    # client polling for its token every 50 ms keeps from happening (seconds a pause).
    identity(
        user_code="BHTQ7K2WX", verification_uri="https://microsoft.com/devicelogin", interval=1
    )
    base = info.authority.rsplit("/", 1)[0]
    app = KvtuiApp(
        make_context("https://snapshot.vault.azure.net/", authority=f"{base}/organizations")
    )

    async def code_shown(pilot: Pilot[Any]) -> None:
        login = await wait_screen(pilot, LoginScreen)
        await wait_until(pilot, lambda: login.phase == "code", "the code")
        flow = login.flow
        assert flow is not None
        login.clock = lambda: flow.expires_at - 599.5  # "expires in 9:59"
        login.update_countdown()
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=code_shown)


_shots = itertools.count()


@pytest.fixture(scope="module")
def shots_vault(emulator: EmulatorThread) -> str:
    """The demo vault at T0 (answering as screenshots.SHOWN_URL): its real URL. The
    scenes only read it, so the module shares one."""
    return add_demo_vault(emulator, f"shots{next(_shots)}x{os.getpid()}")


@pytest.mark.parametrize("shot", [s for s in SHOTS if s.signed_in], ids=lambda s: s.name)
async def test_vault_screens_look_the_same(
    snapshot: SnapshotAssertion,
    info: EmulatorInfo,
    shots_vault: str,
    signed_in: None,
    tmp_path: Path,
    shot: Shot,
) -> None:
    svg = await screenshot(make_app(info, tmp_path), shot.scene, shots_vault, SHOT_SIZE)
    assert snapshot.use_extension(SVGImageExtension) == svg


@pytest.mark.parametrize(
    "size", [(80, 24), (120, 35), (200, 50)], ids=lambda s: "x".join(map(str, s))
)
async def test_the_vault_screen_at_each_size(
    snapshot: SnapshotAssertion,
    info: EmulatorInfo,
    shots_vault: str,
    signed_in: None,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    svg = await screenshot(make_app(info, tmp_path), secrets, shots_vault, size)
    assert snapshot.use_extension(SVGImageExtension) == svg


@pytest.mark.parametrize("shot", DIALOGS, ids=lambda s: s.name)
async def test_each_write_dialog_at_80x24(
    snapshot: SnapshotAssertion,
    info: EmulatorInfo,
    shots_vault: str,
    signed_in: None,
    tmp_path: Path,
    shot: Shot,
) -> None:
    """The forms and confirmations of writes (opened, never submitted: the vault is
    shared), where on-call staff use them: 80x24."""
    svg = await screenshot(make_app(info, tmp_path), shot.scene, shots_vault, (80, 24))
    assert snapshot.use_extension(SVGImageExtension) == svg


def _demo_tokens() -> set[str]:
    """The random-looking part of every demo secret value (what must never be shown)."""
    vault = Vault("x", "t", "s")
    seed_demo(vault)  # values do not depend on the clock
    tokens: set[str] = set()
    for item in vault.secrets:
        for version in item.versions:
            tokens.update(re.findall(r"[A-Za-z0-9+/]{16,}", version.data.value))
    return tokens


def test_no_secret_value_in_a_snapshot_or_screenshot() -> None:
    here = Path(__file__).parent
    svgs = [*here.glob("__snapshots__/**/*.svg"), *here.parents[1].glob("screenshots/*.svg")]
    assert len(svgs) >= len(SHOTS)
    tokens = _demo_tokens()
    assert len(tokens) > 50
    for svg in svgs:
        text = svg.read_text(encoding="utf-8")
        # A masked value, or a screen that shows none (a form's value starts empty).
        assert (
            any(
                mark in text
                for mark in ("•", "Loading", "Versions", "ctrl+s&#160;save", "Recovery&#160;id")
            )
            or "login" in svg.name
        )
        shown = [t for t in tokens if t in text]
        assert not shown, f"{svg.name} shows a secret value"
