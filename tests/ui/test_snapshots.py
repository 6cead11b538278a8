"""How the app looks (SVG snapshots): the real app against the emulator, over HTTPS with
real msal. Update with --snapshot-update, then look at every changed SVG.

- The login screen: the real device-code flow, made deterministic with a fixed user
  code and address, a fixed tenant segment and a frozen countdown.
- The vault screens (kvtui/tools/screenshots.py's scenes, the same as ``make
  screenshots``): an emulator of their own on fixed ports (the vault's URL is on
  screen), the demo seed at a fixed time (dates, version ids, keys, certificates are the
  same every run) and the app's clock an hour later. Secret values stay masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kvtui.emulator import EmulatorInfo
from kvtui.emulator.seed import seed_demo
from kvtui.emulator.store import Vault
from kvtui.tools.screenshots import (
    SHOTS,
    Shot,
    fixed_port_emulator,
    make_app,
)
from kvtui.tools.screenshots import (
    SIZE as SHOT_SIZE,
)
from kvtui.ui.app import KvtuiApp
from kvtui.ui.launch import AppContext
from kvtui.ui.screens.login import LoginScreen
from tests.ui.conftest import SIZE, wait_screen, wait_until


def test_login_screen_shows_code_address_countdown_and_qr(
    snap_compare: Any, info: EmulatorInfo, make_context: Callable[..., AppContext], identity: Any
) -> None:
    # interval 1: msal notices the cancel when the app exits (0 never sleeps, never checks)
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

    assert snap_compare(app, terminal_size=SIZE, run_before=code_shown)


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorInfo]:
    """The screenshots' emulator (fixed ports, demo seed at T0); one at a time on this
    machine, so xdist workers and ``make screenshots`` take turns."""
    with fixed_port_emulator(tmp_path_factory.mktemp("fixed-emulator")) as emulator:
        yield emulator.info


@pytest.mark.parametrize("shot", [s for s in SHOTS if s.signed_in], ids=lambda s: s.name)
def test_vault_screens_look_the_same(
    snap_compare: Any, fixed: EmulatorInfo, tmp_path: Path, shot: Shot
) -> None:
    app = make_app(fixed, tmp_path)
    assert snap_compare(app, terminal_size=SHOT_SIZE, run_before=shot.scene)


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
        assert "•" in text or "login" in svg.name or "Loading" in text or "Versions" in text
        shown = [t for t in tokens if t in text]
        assert not shown, f"{svg.name} shows a secret value"
