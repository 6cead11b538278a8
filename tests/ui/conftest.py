"""UI test helpers: the real app (Pilot) against the session's emulator, real msal, real
TLS. Each test gets its own token cache and state file."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from kvtui.core.config import Settings
from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.emulator.store import Vault
from kvtui.tools.pilot import POLL
from kvtui.ui.launch import AppContext, build_context
from tests.emulator.admin_support import Admin, admin_client
from tests.support import SignedInCache, token_cache_path

S = TypeVar("S", bound=Screen[Any])

#: The tests' terminal: 80x24, the one kvtui is used in most (over SSH). A test about
#: another size says so (WIDE, or a size of its own).
SIZE = (80, 24)
#: A large terminal: every column of the table, and the detail pane beside it.
WIDE = (120, 35)
_vaults = itertools.count()


@pytest.fixture(autouse=True)
def not_in_tmux(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headless apps never touch the tmux server the tests may run in: clearing a copied
    secret deletes tmux buffers when $TMUX is set (tests/e2e covers that in a tmux of
    its own)."""
    monkeypatch.delenv("TMUX", raising=False)


@pytest.fixture
def make_context(info: EmulatorInfo, tmp_path: Path) -> Callable[..., AppContext]:
    """An AppContext pointed at the emulator, like `kvtui --authority ... --ca-bundle
    ... --client-id ... --vault ...`; the same cache_dir means the same token cache."""

    def make(
        vault: str | None = None, cache_dir: Path | None = None, **settings: Any
    ) -> AppContext:
        folder = cache_dir or tmp_path
        values: dict[str, Any] = {
            "authority": info.authority,
            "ca_bundle": info.ca_bundle,
            "client_id": info.client_id,
            "arm_url": info.arm_url,
            "vault": vault,
            "token_cache": str(token_cache_path(folder)),
        }
        s = Settings(**{**values, **settings})
        ctx = build_context(s, state_path=folder / "state" / "state.json")
        ctx.retry_total = 0
        return ctx

    return make


#: Only stops a hang: under ``-n 4`` on a loaded 2-core machine a step can take seconds.
WAIT_CAP = 60.0


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], object], what: str) -> None:
    """Let the app run until ``predicate()`` holds (a generous cap only stops a hang).

    Each check follows ``pilot.pause()``: the screen's messages are processed first, so
    the state checked is a settled one, and the test goes on from it without yielding
    (a state the app only passes through, like a code on screen before its automatic
    approval, is still seen)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_CAP
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause(POLL)


async def wait_screen(pilot: Pilot[Any], kind: type[S]) -> S:
    # Mounted too: a screen is on the stack before its widgets are composed.
    await wait_until(
        pilot,
        lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen.is_mounted,
        kind.__name__,
    )
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


@asynccontextmanager
async def at_size(pilot: Pilot[Any], size: tuple[int, int]) -> AsyncIterator[None]:
    """``async with at_size(pilot, (80, 24)):`` the terminal resized to 80x24, as a
    person resizes theirs, and the screen laid out again at that size (already that
    size: nothing changes); whatever fails inside says "at 80x24".

    One app going through the sizes instead of one app booted at each: the app takes
    the new size at once (``screen.size`` is the app's), and sends the screen its
    Resize after a short timer; the wait is for the screen laid out at that size
    (``outer_size``), then for what the Resize set off (new classes, a new layout)."""
    width, height = size
    await pilot.resize_terminal(width, height)
    named = f"{width}x{height}"
    await wait_until(pilot, lambda: pilot.app.screen.outer_size == size, f"the screen at {named}")
    await pilot.pause()
    try:
        yield
    except Exception as error:
        error.add_note(f"at {named}")
        raise


# -- the vault screen (tests/ui/test_vault_screen.py) -----------------------------------


@pytest.fixture
def demo_vault(emulator: EmulatorThread) -> Vault:
    """A vault of its own, seeded like `kvtui demo` (secrets, keys, certificates; some
    expired, expiring, disabled)."""
    return emulator.call(
        emulator.emulator.add_vault(f"demo{next(_vaults)}x{os.getpid()}", seed="demo")
    )


@pytest.fixture
def vault(new_vault: Callable[..., Vault]) -> Vault:
    """An empty vault of the test's own (a module may ask for another)."""
    return new_vault()


@pytest.fixture
def new_vault(emulator: EmulatorThread) -> Callable[..., Vault]:
    """``new_vault(seed="bulk:2000")``: another vault of its own."""

    def make(seed: str = "empty") -> Vault:
        name = f"v{next(_vaults)}x{os.getpid()}"
        return emulator.call(emulator.emulator.add_vault(name, seed=seed))

    return make


@pytest.fixture
async def admin(info: EmulatorInfo) -> AsyncIterator[Admin]:
    """The emulator's admin endpoint (permissions, faults); every rule and fault this
    test added is removed afterwards."""
    async with admin_client(info) as client:
        yield client
        await client.call("POST", "/reset")


@pytest.fixture
def signed_in(
    identity: Callable[..., dict[str, Any]], signed_in_cache: SignedInCache, tmp_path: Path
) -> None:
    """The app goes straight to the vault: the test's token cache (``make_context()``'s
    default folder) holds a signed-in account, and should a sign-in be needed after all
    (sessions revoked, another tenant), device codes approve themselves at once. Tests
    of the sign-in itself use ``identity`` and the login screen instead."""
    signed_in_cache.copy_to(tmp_path)
    identity(approve="auto", approve_delay=0)
