"""kvtui's sign-in core (msal device code, persisted cache, async credential) against
the emulator's identity platform, over HTTPS with real msal."""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

import pytest

from kvtui.core.accounts import cached_accounts
from kvtui.core.auth import AuthError, SignIn, SignInRequired, open_token_cache
from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.core.conftest import VAULT_SCOPE, make_sign_in, sign_in_with_device_code
from tests.support import identity_admin, kv_clients


async def test_device_code_then_silent_second_start(
    info: EmulatorInfo, vault_url: str, tmp_path: Path, fast_identity: None
) -> None:
    cache_path = tmp_path / "cache" / "tokens.bin"
    first = make_sign_in(info, cache_path)
    assert await first.accounts() == []
    account = await sign_in_with_device_code(first, info)
    assert account.username == "demo.user@kvtui-demo.example"
    async with kv_clients(info, vault_url, credential=first.credential(account)) as kv:
        await kv.secrets.set_secret("after-sign-in", "top-secret-value-42")
        assert (await kv.secrets.get_secret("after-sign-in")).value == "top-secret-value-42"

    # Tomorrow: a new process, the same cache file, no device code.
    second = make_sign_in(info, cache_path)
    [known] = await second.accounts()
    assert known == account
    async with kv_clients(info, vault_url, credential=second.credential(known)) as kv:
        assert (await kv.secrets.get_secret("after-sign-in")).value == "top-secret-value-42"

    # The cache is private and holds tokens, never secret values.
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o700
    content = cache_path.read_bytes()
    assert b"RefreshToken" in content
    assert b"top-secret-value-42" not in content


async def test_declined_code_says_so(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    with pytest.raises(AuthError, match="declined") as err:
        await sign_in_with_device_code(sign_in, info, action="decline")
    assert err.value.retry


async def test_expired_code_says_so(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    identity_admin(info, "PATCH", "/settings", {"expires_in": 1})
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    flow = await sign_in.start_device_flow([VAULT_SCOPE])
    await asyncio.sleep(1.5)
    with pytest.raises(AuthError, match="expired"):
        await sign_in.complete_device_flow(flow)


async def test_conditional_access_block_is_explained(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    identity_admin(info, "PATCH", "/settings", {"block_device_code": True})
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    with pytest.raises(AuthError, match="Conditional Access") as err:
        await sign_in_with_device_code(sign_in, info)
    assert err.value.code == "conditional_access" and not err.value.retry


async def test_cancel_stops_the_poll(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    identity_admin(info, "PATCH", "/settings", {"interval": 1})
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    flow = await sign_in.start_device_flow([VAULT_SCOPE])
    task = asyncio.create_task(sign_in.complete_device_flow(flow))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    flow.cancel()
    with pytest.raises(AuthError, match="cancelled"):
        await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 3


async def test_cancel_stops_the_poll_at_full_speed(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    """With ``interval`` 0 msal's own loop never looked at the cancel: the poll (and the
    process's exit, which waits for its thread) went on until the code expired."""
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    flow = await sign_in.start_device_flow([VAULT_SCOPE])
    assert flow.raw["interval"] == 0
    msal_flow = dict(flow.raw)
    task = asyncio.create_task(sign_in.complete_device_flow(flow))
    for _ in range(3):
        await asyncio.sleep(0)  # the poll's thread starts
    flow.cancel()
    with pytest.raises(AuthError, match="cancelled"):
        await asyncio.wait_for(task, 10)  # a cap against the hang, not a speed target
    assert flow.cancelled
    assert flow.raw == msal_flow  # msal's flow dict is left as msal gave it


async def test_refresh_after_expiry_then_dead_refresh_token_needs_sign_in(
    info: EmulatorInfo, vault_url: str, tmp_path: Path, fast_identity: None
) -> None:
    # msal counts a token with under 5 minutes left as expired: a 60 s token is
    # refreshed on every call.
    identity_admin(info, "PATCH", "/settings", {"token_lifetime": 60})
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    account = await sign_in_with_device_code(sign_in, info)
    cred = sign_in.credential(account)
    first = await cred.get_token_info(VAULT_SCOPE)
    await asyncio.sleep(1.1)
    second = await cred.get_token_info(VAULT_SCOPE)
    assert second.token != first.token  # refreshed silently with the refresh token
    identity_admin(info, "POST", "/refresh-tokens/revoke", {})
    with pytest.raises(SignInRequired) as err:
        await cred.get_token_info(VAULT_SCOPE)
    assert err.value.scopes == (VAULT_SCOPE,)


async def test_vault_in_another_tenant_uses_the_challenges_tenant(
    info: EmulatorInfo, emulator: EmulatorThread, tmp_path: Path, fast_identity: None
) -> None:
    guest = emulator.call(
        emulator.emulator.add_vault(f"guest{time.time_ns()}", tenant=info.other_tenant_id)
    )
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    account = await sign_in_with_device_code(sign_in, info)
    assert account.tenant_id == info.tenant_id
    async with kv_clients(info, guest.url, credential=sign_in.credential(account)) as kv:
        await kv.secrets.set_secret("cross-tenant", "ok")
        assert (await kv.secrets.get_secret("cross-tenant")).value == "ok"


async def test_untrusted_certificate_names_the_ca_option(
    info: EmulatorInfo, tmp_path: Path
) -> None:
    sign_in = make_sign_in(info, tmp_path / "c.bin", ca_bundle=None)
    with pytest.raises(AuthError, match="--ca-bundle") as err:
        await sign_in.start_device_flow([VAULT_SCOPE])
    assert err.value.code == "tls"


async def test_unreachable_identity_endpoint_is_named(info: EmulatorInfo, tmp_path: Path) -> None:
    sign_in = SignIn(
        authority_host="https://127.0.0.1:9",
        tenant="organizations",
        client_id=info.client_id,
        cache=open_token_cache(tmp_path / "c.bin"),
        ca_bundle=info.ca_bundle,
        validate_authority=False,
    )
    with pytest.raises(AuthError, match="Cannot reach") as err:
        await sign_in.accounts()
    assert err.value.code == "network"


async def test_unknown_client_id_is_named(info: EmulatorInfo, tmp_path: Path) -> None:
    sign_in = SignIn(
        authority_host=info.authority.rsplit("/", 1)[0],
        tenant="organizations",
        client_id="11111111-2222-3333-4444-555555555555",
        cache=open_token_cache(tmp_path / "c.bin"),
        ca_bundle=info.ca_bundle,
        validate_authority=False,
    )
    with pytest.raises(AuthError, match="client"):
        await sign_in.start_device_flow([VAULT_SCOPE])


async def test_logout_removes_the_account(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    sign_in = make_sign_in(info, tmp_path / "c.bin")
    account = await sign_in_with_device_code(sign_in, info)
    assert await sign_in.sign_out(account)
    assert await make_sign_in(info, tmp_path / "c.bin").accounts() == []
    assert cached_accounts(open_token_cache(tmp_path / "c.bin")) == []
    # Its refresh token went with it: no token can be had silently any more.
    with pytest.raises(SignInRequired) as err:
        await sign_in.credential(account).get_token_info(VAULT_SCOPE)
    assert err.value.msal_error == "no_account"
    assert not await sign_in.sign_out(account)  # already gone
