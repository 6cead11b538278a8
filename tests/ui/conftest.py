"""UI test helpers: the real app (Pilot) against the session's emulator, real msal, real
TLS. Each test gets its own token cache and state file."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from kvtui.core.config import Settings
from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext, build_context
from tests.emulator.admin_support import Admin, admin_client
from tests.support import approve_device_code, identity_admin, revocations

S = TypeVar("S", bound=Screen[Any])

SETTINGS = (
    "approve",
    "approve_delay",
    "interval",
    "expires_in",
    "token_lifetime",
    "block_device_code",
    "user_code",
    "verification_uri",
)
SIZE = (120, 35)
_vaults = itertools.count()


@pytest.fixture(autouse=True)
def not_in_tmux(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headless apps never touch the tmux server the tests may run in: clearing a copied
    secret deletes tmux buffers when $TMUX is set (tests/e2e covers that in a tmux of
    its own)."""
    monkeypatch.delenv("TMUX", raising=False)


@pytest.fixture
def identity(info: EmulatorInfo) -> Iterator[Callable[..., dict[str, Any]]]:
    """PATCH the identity platform's settings (msal polls without sleeping); every
    setting is restored afterwards."""
    before = identity_admin(info, "GET")["settings"]
    identity_admin(info, "PATCH", "/settings", {"interval": 0})

    def patch(**values: Any) -> dict[str, Any]:
        return identity_admin(info, "PATCH", "/settings", values)

    yield patch
    identity_admin(info, "PATCH", "/settings", {k: before[k] for k in SETTINGS if k in before})


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

    The app runs on this event loop; between checks this only yields to it for a few
    milliseconds. (``pilot.pause()`` would also wait for every widget of the screen to
    drain its messages and force a layout and render of the whole screen at each check:
    that was most of a Pilot test's CPU time.) Once it holds, the screen's pending
    messages are processed, as ``pilot.pause()`` does, so the app has settled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_CAP
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)
    await pilot.pause()  # then let the screen finish what it was doing, once


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


# -- the vault screen (tests/ui/test_vault_screen.py) -----------------------------------


@pytest.fixture
def demo_vault(emulator: EmulatorThread) -> Vault:
    """A vault of its own, seeded like `kvtui demo` (secrets, keys, certificates; some
    expired, expiring, disabled)."""
    return emulator.call(
        emulator.emulator.add_vault(f"demo{next(_vaults)}x{os.getpid()}", seed="demo")
    )


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


def token_cache_path(folder: Path) -> Path:
    """Where ``make_context(cache_dir=folder)`` keeps its token cache."""
    return folder / "cache" / "tokens.bin"


class SignedInCache:
    """A token cache of the emulator's user, signed in once per test process (a device
    code through real msal, approved through the admin endpoint) and copied into each
    test's folder: the app then signs in silently, as a second start would, instead of
    every test paying a device-code sign-in. Made again after sessions were revoked
    (tests/support.py counts the ``/sessions/revoke`` calls)."""

    def __init__(self, info: EmulatorInfo, folder: Path) -> None:
        self.info = info
        self.folder = folder
        self.made_at: int | None = None

    def _make(self) -> Path:
        generation = revocations()
        folder = self.folder / f"g{generation}"
        settings = Settings(
            authority=self.info.authority,
            ca_bundle=self.info.ca_bundle,
            client_id=self.info.client_id,
            arm_url=self.info.arm_url,
            token_cache=str(token_cache_path(folder)),
        )
        context = build_context(settings, state_path=folder / "state" / "state.json")

        async def sign_in() -> None:
            flow = await context.sign_in.start_device_flow([context.vault_scope])
            await asyncio.to_thread(approve_device_code, self.info, flow.user_code)
            await asyncio.wait_for(context.sign_in.complete_device_flow(flow), 60)

        # A thread of its own: this may run inside a test's event loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, sign_in()).result()
        self.made_at = generation
        return token_cache_path(folder)

    def copy_to(self, folder: Path) -> None:
        """``folder``'s token cache (``make_context(cache_dir=folder)``) signed in."""
        if self.made_at != revocations():
            self._make()
        source = token_cache_path(self.folder / f"g{self.made_at}")
        target = token_cache_path(folder)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(source, target)
        os.chmod(target, 0o600)


@pytest.fixture(scope="session")
def signed_in_cache(info: EmulatorInfo, tmp_path_factory: pytest.TempPathFactory) -> SignedInCache:
    return SignedInCache(info, tmp_path_factory.mktemp("signed-in"))


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
