"""The vault session (kvtui/core/session.py) against the emulator, with real msal and the
real SDK: a call whose sign-in expired signs in again (once for every call that needs
it) and is retried; a listing starts over after a renewed sign-in; a sign-in given up
fails the call with a typed SessionExpired; throttling waits are counted while they
hold a request; the vault's first answer is reported once. And ``classify`` turns the
credential's SignInRequired into SessionExpired, wherever it sits in the chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from kvtui.core.auth import Account, SignIn, SignInRequired
from kvtui.core.errors import SessionExpired, Throttled, VaultError, classify
from kvtui.core.models import Kind
from kvtui.core.session import PREFETCH, VaultSession
from kvtui.core.throttle import ThrottleCallback
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo
from tests.core.conftest import VAULT_SCOPE, make_sign_in
from tests.emulator.admin_support import Admin
from tests.support import Clients, approve_device_code, identity_admin


async def device_code(sign_in: SignIn, info: EmulatorInfo) -> Account:
    """Sign in with a device code, approved at once (as the person would)."""
    flow = await sign_in.start_device_flow([VAULT_SCOPE])
    await asyncio.to_thread(approve_device_code, info, flow.user_code)
    return await asyncio.wait_for(sign_in.complete_device_flow(flow), 20)


async def revoke_sessions(info: EmulatorInfo) -> None:
    """Continuous Access Evaluation: the vault refuses the cached token with a claims
    challenge, and the refresh token is dead too: no token can be had silently."""
    await asyncio.to_thread(
        identity_admin, info, "POST", "/sessions/revoke", {"refresh_tokens": True}
    )


class Opened:
    """The OpenService of the tests: VaultService on the emulator, no retries."""

    def __init__(self, sign_in: SignIn, info: EmulatorInfo, retry_total: int = 0) -> None:
        self.sign_in, self.info, self.retry_total = sign_in, info, retry_total
        self.accounts: list[Account] = []

    def __call__(
        self,
        vault_url: str,
        account: Account,
        *,
        on_throttle: ThrottleCallback | None = None,
        on_answer: Callable[[], None] | None = None,
    ) -> VaultService:
        self.accounts.append(account)
        return VaultService(
            vault_url,
            self.sign_in.credential(account),
            ca_bundle=self.info.ca_bundle,
            verify_challenge_resource=False,
            retry_total=self.retry_total,
            on_throttle=on_throttle,
            on_answer=on_answer,
        )


@pytest.fixture
async def signed_in(
    info: EmulatorInfo, tmp_path: Path, fast_identity: None
) -> AsyncIterator[tuple[SignIn, Account]]:
    sign_in = make_sign_in(info, tmp_path / "cache.bin")
    yield sign_in, await device_code(sign_in, info)


async def test_an_expired_sign_in_is_renewed_once_and_every_call_retried(
    info: EmulatorInfo, kv: Clients, signed_in: tuple[SignIn, Account]
) -> None:
    sign_in, account = signed_in
    await kv.secrets.set_secret("db", "v1")
    answered: list[int] = []
    asked: list[SessionExpired] = []

    async def renew(expired: SessionExpired) -> Account | None:
        asked.append(expired)
        return await device_code(sign_in, info)

    opened = Opened(sign_in, info)
    session = VaultSession(
        kv.vault_url, account, opened, renew=renew, answered=lambda: answered.append(1)
    )
    try:
        assert await session.call(lambda s: s.get_secret_value("db")) == "v1"
        assert answered == [1]
        await revoke_sessions(info)
        values = await asyncio.gather(
            *(session.call(lambda s: s.get_secret_value("db")) for _ in range(3))
        )
        assert values == ["v1"] * 3
        assert len(asked) == 1  # one sign-in for the three calls
        expired = asked[0]
        assert expired.tenant and VAULT_SCOPE in expired.scopes
        assert expired.claims  # the vault's claims challenge, carried to the sign-in
        assert not expired.after_sign_in
        assert session.generation == 1 and session.signed_in
        assert answered == [1]  # reported once
        assert opened.accounts == [account]  # the same account: the same service
    finally:
        await session.close()


async def test_a_sign_in_given_up_fails_with_a_typed_error(
    info: EmulatorInfo, kv: Clients, signed_in: tuple[SignIn, Account]
) -> None:
    sign_in, account = signed_in
    await kv.secrets.set_secret("db", "v1")
    asked: list[SessionExpired] = []

    async def give_up(expired: SessionExpired) -> Account | None:
        asked.append(expired)
        return None

    session = VaultSession(kv.vault_url, account, Opened(sign_in, info), renew=give_up)
    try:
        assert await session.call(lambda s: s.get_secret_value("db")) == "v1"
        await revoke_sessions(info)
        with pytest.raises(SessionExpired) as err:
            await session.call(lambda s: s.get_secret_value("db"))
        assert "Reading db" in str(err.value)
        assert not session.signed_in and len(asked) == 1
        with pytest.raises(SessionExpired):
            async for _ in session.list_pages(Kind.SECRETS):
                pass
    finally:
        await session.close()


async def test_a_listing_starts_over_after_a_renewed_sign_in(
    info: EmulatorInfo, kv: Clients, signed_in: tuple[SignIn, Account]
) -> None:
    sign_in, account = signed_in
    # Eight pages of 25: more than the session reads ahead (PREFETCH), so a request
    # made after the revocation below meets it.
    names = [f"s{n:03d}" for n in range(200)]
    await asyncio.gather(*(kv.secrets.set_secret(name, "v") for name in names))

    async def renew(expired: SessionExpired) -> Account | None:
        return await device_code(sign_in, info)

    session = VaultSession(kv.vault_url, account, Opened(sign_in, info), renew=renew)
    pages: list[list[str]] = []
    restarts: list[int] = []

    def restart() -> None:
        restarts.append(len(pages))
        pages.clear()

    try:
        async for page in session.list_pages(Kind.SECRETS, restart=restart):
            pages.append([i.name for i in page])
            if len(pages) == 1 and not restarts:
                await revoke_sessions(info)  # the next page's request meets it
        assert len(restarts) == 1  # once (after the pages read before it)
        assert 1 <= restarts[0] <= 1 + PREFETCH + 1
        assert sorted(n for page in pages for n in page) == names
    finally:
        await session.close()


async def test_a_throttled_request_is_counted_until_it_is_over(
    info: EmulatorInfo, kv: Clients, admin: Admin, signed_in: tuple[SignIn, Account]
) -> None:
    sign_in, account = signed_in
    await kv.secrets.set_secret("db", "v1")
    name = admin.vault_name(kv.vault_url)
    fault = {"type": "throttle", "vault": name, "operation": "secrets/get", "retry_after": 30}
    await admin.call("POST", "/faults", fault, expect=201)
    now = [1000.0]
    seen: list[float] = []
    session = VaultSession(
        kv.vault_url, account, Opened(sign_in, info), clock=lambda: now[0], throttle_changed=None
    )
    session.throttle_changed = lambda: seen.append(session.throttle_left())
    try:
        with pytest.raises(Throttled):  # no retries: the SDK gives up at once
            await session.call(lambda s: s.get_secret_value("db"))
        assert seen[0] == 30  # as the 429 came: the vault's Retry-After
        assert session.throttle_left() == 0  # nobody waits any more
    finally:
        await session.close()


def test_classify_types_an_expired_sign_in_wherever_it_is_in_the_chain() -> None:
    required = SignInRequired(
        "Sign in again to continue: no token",
        tenant="t1",
        scopes=(VAULT_SCOPE,),
        claims='{"access_token":{}}',
        after_sign_in=True,
        reason="no token",
    )
    direct = classify(required, what="Reading db")
    assert isinstance(direct, SessionExpired) and isinstance(direct, VaultError)
    assert str(direct) == "Reading db: Sign in again to continue: no token"
    assert (direct.tenant, direct.scopes, direct.claims) == ("t1", (VAULT_SCOPE,), required.claims)
    assert direct.after_sign_in and direct.reason == "no token"

    wrapper: Any
    try:
        try:
            raise required
        except SignInRequired as exc:
            raise ClientAuthenticationError("the pipeline gave up") from exc
    except ClientAuthenticationError as exc:
        wrapper = exc
    wrapped = classify(wrapper)
    assert isinstance(wrapped, SessionExpired) and wrapped.tenant == "t1"
    # Other authentication errors stay what they were.
    assert not isinstance(classify(ClientAuthenticationError("bad secret")), SessionExpired)
