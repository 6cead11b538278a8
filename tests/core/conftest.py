"""Sign-in helpers for the core tests: kvtui's own SignIn against the emulator."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvtui.core.auth import Account, SignIn, open_token_cache
from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.emulator.store import Vault
from tests.support import EmulatorClock, approve_device_code, emulator_clock, identity_admin

VAULT_SCOPE = "https://vault.azure.net/.default"


@pytest.fixture
def fast_identity(info: EmulatorInfo) -> Iterator[None]:
    """Poll without sleeping; restore the emulator's identity settings afterwards."""
    before = identity_admin(info, "GET")["settings"]
    identity_admin(info, "PATCH", "/settings", {"interval": 0})
    yield
    identity_admin(
        info,
        "PATCH",
        "/settings",
        {
            k: before[k]
            for k in ("interval", "expires_in", "token_lifetime", "block_device_code", "approve")
        },
    )


def make_sign_in(
    info: EmulatorInfo, cache_path: Path, tenant: str = "organizations", ca_bundle: str | None = ""
) -> SignIn:
    return SignIn(
        authority_host=info.authority.rsplit("/", 1)[0],
        tenant=tenant,
        client_id=info.client_id,
        cache=open_token_cache(cache_path),
        ca_bundle=info.ca_bundle if ca_bundle == "" else ca_bundle,
        validate_authority=False,
    )


async def sign_in_with_device_code(
    sign_in: SignIn, info: EmulatorInfo, action: str = "approve"
) -> Account:
    flow = await sign_in.start_device_flow([VAULT_SCOPE])
    assert flow.verification_uri.endswith("/devicelogin")
    assert flow.user_code in flow.message
    assert flow.seconds_left() > 60
    task = asyncio.create_task(sign_in.complete_device_flow(flow))
    await asyncio.sleep(0.2)
    assert not task.done()  # still waiting for the person
    await asyncio.to_thread(approve_device_code, info, flow.user_code, action)
    return await asyncio.wait_for(task, 10)


@pytest.fixture
def clock(info: EmulatorInfo) -> Iterator[EmulatorClock]:
    """The emulator's clock, to move instead of sleeping; reset afterwards."""
    with emulator_clock(info) as c:
        yield c


_names = (f"c{os.getpid()}x{i}" for i in itertools.count())


@pytest.fixture
def vault(emulator: EmulatorThread) -> Vault:
    """An empty vault of the test's own."""
    return emulator.call(emulator.emulator.add_vault(next(_names)))
