"""Fixtures: one emulator per test process (in a thread of its own, over real HTTPS),
and a fresh vault per test so tests never share data."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread
from tests.emulator.admin_support import Admin, admin_client
from tests.support import Clients, kv_clients, open_service

_counter = itertools.count()


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
