"""Two accounts with one user name (the same UPN in two tenants), accounts offered per
tenant, and an unknown tenant: kvtui's SignIn with real msal against the emulator."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from kvtui.core.accounts import cached_accounts, forget_accounts
from kvtui.core.auth import Account, AuthError, SignIn, SignInRequired, open_token_cache
from kvtui.emulator import EmulatorInfo
from tests.core.conftest import VAULT_SCOPE, make_sign_in
from tests.support import identity_admin


def twins(info: EmulatorInfo) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two users of one UPN: one at home, one whose home is the other tenant."""
    upn = f"twin-{uuid.uuid4().hex[:8]}@kvtui-demo.example"
    home = identity_admin(info, "POST", "/users", {"upn": upn, "home_tenant": "home"})
    other = identity_admin(info, "POST", "/users", {"upn": upn, "home_tenant": "other"})
    return home, other


async def sign_in_as(sign_in: SignIn, info: EmulatorInfo, oid: str) -> Account:
    """A device code approved by the user ``oid``."""
    flow = await sign_in.start_device_flow([VAULT_SCOPE])
    task = asyncio.create_task(sign_in.complete_device_flow(flow))
    path = f"/device-codes/{flow.user_code}/approve"
    await asyncio.to_thread(identity_admin, info, "POST", path, {"oid": oid})
    return await asyncio.wait_for(task, 10)


async def test_the_account_just_signed_in_is_picked_by_id_not_by_user_name(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    first, second = twins(info)
    cache = tmp_path / "c.bin"
    a = await sign_in_as(make_sign_in(info, cache, tenant=info.tenant_id), info, first["oid"])
    assert a.home_account_id == f"{first['oid']}.{info.tenant_id}"
    # The same UPN again, in the other tenant: the account msal just stored, not the
    # first one of that user name (which kept the app asking for codes forever).
    b_sign_in = make_sign_in(info, cache, tenant=info.other_tenant_id)
    b = await sign_in_as(b_sign_in, info, second["oid"])
    assert b.username == a.username
    assert b.home_account_id == f"{second['oid']}.{info.other_tenant_id}"
    assert b.tenant_id == info.other_tenant_id


async def test_only_accounts_that_fit_the_tenant_are_offered(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    first, second = twins(info)
    cache = tmp_path / "c.bin"
    a = await sign_in_as(make_sign_in(info, cache, tenant=info.tenant_id), info, first["oid"])
    b = await sign_in_as(
        make_sign_in(info, cache, tenant=info.other_tenant_id), info, second["oid"]
    )

    async def offered(tenant: str) -> set[str]:
        return {acc.home_account_id for acc in await make_sign_in(info, cache, tenant).accounts()}

    assert await offered("organizations") == {a.home_account_id, b.home_account_id}
    assert await offered("common") == {a.home_account_id, b.home_account_id}
    assert await offered(info.tenant_id) == {a.home_account_id}
    assert await offered(info.other_tenant_id) == {b.home_account_id}


async def test_guest_account_fits_a_tenant_it_signed_in_to(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    upn = f"guest-{uuid.uuid4().hex[:8]}@kvtui-demo.example"
    body = {"upn": upn, "home_tenant": "home", "tenants": ["other"]}
    guest = identity_admin(info, "POST", "/users", body)
    cache = tmp_path / "c.bin"
    other = make_sign_in(info, cache, tenant=info.other_tenant_id)
    assert await other.accounts() == []  # not signed in there yet
    acc = await sign_in_as(other, info, guest["oid"])
    assert acc.tenant_id == info.tenant_id  # its home tenant, from client_info
    fresh = make_sign_in(info, cache, tenant=info.other_tenant_id)
    assert [x.home_account_id for x in await fresh.accounts()] == [acc.home_account_id]


@pytest.mark.parametrize("tenant", ["no-such-tenant.example", str(uuid.UUID(int=7))])
async def test_unknown_tenant_says_check_tenant(
    info: EmulatorInfo, tmp_path: Path, tenant: str
) -> None:
    sign_in = make_sign_in(info, tmp_path / "c.bin", tenant=tenant)
    with pytest.raises(AuthError) as caught:
        await sign_in.start_device_flow([VAULT_SCOPE])
    message = str(caught.value)
    assert "Check --tenant" in message
    assert f"Tenant {tenant!r} was not found" in message
    assert "AADSTS90002" in message
    assert "Authority would typically" not in message  # msal's own text stays out
    assert caught.value.code == "tenant"
    assert caught.value.retry is False


async def test_forgetting_one_account_keeps_the_other_of_the_same_user_name(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> None:
    """Signing out (kvtui logout, the app's "Sign out") removes one account by its id,
    with its tokens in every tenant; another account of the same user name stays."""
    first, second = twins(info)
    cache = tmp_path / "c.bin"
    a = await sign_in_as(make_sign_in(info, cache, tenant=info.tenant_id), info, first["oid"])
    b = await sign_in_as(
        make_sign_in(info, cache, tenant=info.other_tenant_id), info, second["oid"]
    )
    assert {x.home_account_id for x in cached_accounts(open_token_cache(cache))} == {
        a.home_account_id,
        b.home_account_id,
    }
    assert forget_accounts(open_token_cache(cache), [a]) == 1
    assert cached_accounts(open_token_cache(cache)) == [b]
    assert forget_accounts(open_token_cache(cache), [a]) == 0  # already gone
    organizations = make_sign_in(info, cache)
    with pytest.raises(SignInRequired):
        await organizations.credential(a).get_token_info(VAULT_SCOPE)
    # b signs in silently still, in its own tenant.
    await organizations.credential(b).get_token_info(VAULT_SCOPE)
