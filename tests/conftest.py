"""Fixtures: one emulator per test process (in a thread of its own, over real HTTPS),
and a fresh vault per test so tests never share data."""

from __future__ import annotations

import gc
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread
from kvtui.emulator.store import Vault
from tests.emulator.admin_support import Admin, admin_client
from tests.support import Clients, SignedInCache, identity_admin, kv_clients, open_service

_counter = itertools.count()

#: Seconds between a client's polls for a device code's token in the tests (the
#: emulator takes a fraction; Azure says 5).
POLL_INTERVAL = 0.05

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


#: Frames a second of the apps the test workers run (``TEXTUAL_FPS``; Textual's default
#: is 60). Headless apps are drawn by the Pilot whenever a test looks (each ``press`` and
#: ``pause``); the screen's own 60 Hz timer meanwhile drew frames no one reads while a
#: test waited on the emulator (a tenth of the UI tests' CPU). kvtui run in tmux by the
#: end-to-end tests gets Textual's default (tests/e2e/test_tmux.py: ``Tmux``).
TEST_FPS = "5"


def pytest_configure(config: pytest.Config) -> None:
    """Textual reads ``TEXTUAL_FPS`` when it is imported, which pytest's plugins do
    before this runs: set here, it reaches the worker processes of ``-n`` (started
    after this, with this environment), not a run without ``-n``."""
    os.environ.setdefault("TEXTUAL_FPS", TEST_FPS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tiers, as markers (``make test-fast`` runs the first):

    - ``pure``: in this process, no emulator, no terminal (row model, presenter,
      filtering, config, classify...);
    - ``emulator``: against the emulator started once per test process (core and
      emulator tests, Pilot tests of the screens), or a process of their own (a module
      that imports ``subprocess`` or starts an ``EmulatorThread``);
    - ``tmux``: the thin end-to-end layer, kvtui in a real terminal (tests/e2e).
    """
    for item in items:
        if item.get_closest_marker("tmux") is not None:
            continue
        module = getattr(item, "module", None)
        spawns = any(hasattr(module, name) for name in ("subprocess", "EmulatorThread"))
        needs = "emulator" in getattr(item, "fixturenames", ()) or spawns
        item.add_marker(pytest.mark.emulator if needs else pytest.mark.pure)


@pytest.fixture(autouse=True)
def young_heap() -> None:
    """Each test starts with the garbage of the one before collected and whatever
    outlives it (the emulator, the modules, Textual's caches of drawn lines) moved out of
    the collector's way (``gc.freeze``): the automatic full collections during a test
    then walk only what this test made, not a test process's whole heap (a third of a
    second each, about 15% of the UI tests' time). Nothing is frozen that is garbage."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorThread]:
    state_dir = tmp_path_factory.mktemp("emulator-state")
    thread = EmulatorThread(
        EmulatorSettings(
            vaults=["shared"],
            seed="empty",
            approve="manual",
            state_dir=state_dir,
        )
    )
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def info(emulator: EmulatorThread) -> EmulatorInfo:
    return emulator.info


@pytest.fixture
def vault_url(emulator: EmulatorThread) -> str:
    """A new, empty vault of its own for this test."""
    name = f"t{os.getpid()}x{next(_counter)}"
    vault = emulator.call(emulator.emulator.add_vault(name))
    return vault.url


@pytest.fixture
async def kv(info: EmulatorInfo, vault_url: str) -> AsyncIterator[Clients]:
    """The official async secrets/keys/certificates clients on this test's vault,
    authenticated with a client secret through real msal."""
    async with kv_clients(info, vault_url) as clients:
        yield clients


@pytest.fixture
async def service(info: EmulatorInfo, vault_url: str) -> AsyncIterator[VaultService]:
    """kvtui's VaultService on this test's vault (client secret, no retries)."""
    async with open_service(info, vault_url) as svc:
        yield svc


@pytest.fixture
async def admin(info: EmulatorInfo) -> AsyncIterator[Admin]:
    """The emulator's admin endpoint; faults and permissions are reset afterwards."""
    async with admin_client(info) as a:
        yield a
        await a.call("POST", "/reset", expect=204)


@pytest.fixture(scope="session")
def signed_in_cache(info: EmulatorInfo, tmp_path_factory: pytest.TempPathFactory) -> SignedInCache:
    """The emulator's user signed in once per test process (tests/support.py); the UI
    tests' ``signed_in`` and tests/e2e copy it."""
    return SignedInCache(info, tmp_path_factory.mktemp("signed-in"))


@pytest.fixture
def identity(info: EmulatorInfo) -> Iterator[Callable[..., dict[str, Any]]]:
    """PATCH the identity platform's settings; every setting is restored afterwards.
    New device codes are polled every ``POLL_INTERVAL`` s: an approval is noticed at
    once, and a code waiting for one is not polled flat out (``interval`` 0 made
    kvtui's poll thread send request after request while a test read the screen)."""
    before = identity_admin(info, "GET")["settings"]
    identity_admin(info, "PATCH", "/settings", {"interval": POLL_INTERVAL})

    def patch(**values: Any) -> dict[str, Any]:
        return identity_admin(info, "PATCH", "/settings", values)

    yield patch
    identity_admin(info, "PATCH", "/settings", {k: before[k] for k in SETTINGS if k in before})


@pytest.fixture
async def sdk(info: EmulatorInfo, vault: Vault) -> AsyncIterator[Clients]:
    """The official SDK's async clients on the test's ``vault`` (each module, or its
    folder's conftest, says which vault that is)."""
    async with kv_clients(info, vault.url) as clients:
        yield clients
