"""Test helpers: real msal against the emulator's identity platform, and the official
async SDK clients over HTTPS with the emulator's CA. Nothing here is mocked."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msal
import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import AioHttpTransport
from azure.keyvault.certificates.aio import CertificateClient
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.secrets.aio import SecretClient

from kvtui.emulator import EmulatorInfo


def requests_session(ca_bundle: str) -> requests.Session:
    """A requests session trusting exactly the emulator's CA, whatever the environment
    says (these machines export REQUESTS_CA_BUNDLE): see docs/facts.md."""
    s = requests.Session()
    s.verify = ca_bundle
    s.trust_env = False
    return s


class ClientSecretMsalCredential:
    """An azure-core async credential over msal's ConfidentialClientApplication
    (client credentials), one msal app per tenant, msal calls off the event loop."""

    def __init__(
        self, info: EmulatorInfo, client_id: str | None = None, client_secret: str | None = None
    ) -> None:
        self.info = info
        self.client_id = client_id or info.confidential_client["client_id"]
        self.client_secret = client_secret or info.confidential_client["client_secret"]
        self.http = requests_session(info.ca_bundle)
        self.apps: dict[str, Any] = {}
        self.calls: list[dict[str, Any]] = []

    def _app(self, tenant: str) -> Any:
        if tenant not in self.apps:
            base = self.info.authority.rsplit("/", 1)[0]
            self.apps[tenant] = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self.client_secret,
                authority=f"{base}/{tenant}",
                http_client=self.http,
                instance_discovery=False,
            )
        return self.apps[tenant]

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        tenant = tenant_id or self.info.tenant_id
        self.calls.append({"scopes": scopes, "tenant_id": tenant_id, "claims": claims})
        app = await asyncio.to_thread(self._app, tenant)
        result = await asyncio.to_thread(app.acquire_token_for_client, list(scopes))
        if "access_token" not in result:
            from azure.core.exceptions import ClientAuthenticationError

            raise ClientAuthenticationError(result.get("error_description", str(result)))
        return AccessToken(result["access_token"], int(time.time()) + int(result["expires_in"]))

    async def close(self) -> None:
        self.http.close()

    async def __aenter__(self) -> ClientSecretMsalCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@dataclass
class Clients:
    secrets: SecretClient
    keys: KeyClient
    certificates: CertificateClient
    vault_url: str


@asynccontextmanager
async def kv_clients(
    info: EmulatorInfo, vault_url: str, credential: Any = None, **client_kwargs: Any
) -> AsyncIterator[Clients]:
    """The three official async clients for a vault, sharing one TLS connection pool."""
    ctx = ssl.create_default_context(cafile=info.ca_bundle)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx), trust_env=False)
    cred = credential or ClientSecretMsalCredential(info)
    kwargs: dict[str, Any] = {"verify_challenge_resource": False, "retry_total": 0}
    kwargs.update(client_kwargs)

    def transport() -> AioHttpTransport:
        return AioHttpTransport(session=session, session_owner=False)

    clients = Clients(
        secrets=SecretClient(vault_url, cred, transport=transport(), **kwargs),
        keys=KeyClient(vault_url, cred, transport=transport(), **kwargs),
        certificates=CertificateClient(vault_url, cred, transport=transport(), **kwargs),
        vault_url=vault_url,
    )
    try:
        yield clients
    finally:
        await clients.secrets.close()
        await clients.keys.close()
        await clients.certificates.close()
        if credential is None:
            await cred.close()
        await session.close()


# -- a signed-in user (device code through real msal) -------------------------------

VAULT_SCOPE = "https://vault.azure.net/.default"
ARM_SCOPE = "https://management.azure.com/.default"


_revocations = 0


def revocations() -> int:
    """How many times this process revoked the emulator's sessions (``identity_admin``):
    a signed-in token cache made before the last one no longer signs in silently."""
    return _revocations


def identity_admin(
    info: EmulatorInfo, method: str, path: str = "", body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Call the emulator's identity admin routes (``/_emulator/identity...``)."""
    global _revocations
    if path.startswith("/sessions/revoke"):
        _revocations += 1
    with requests_session(info.ca_bundle) as http:
        resp = http.request(
            method,
            f"{info.admin_url}/identity{path}",
            json=body,
            headers=info.admin_headers(),
            timeout=10,
        )
    resp.raise_for_status()
    result: dict[str, Any] = resp.json()
    return result


def approve_device_code(info: EmulatorInfo, user_code: str, action: str = "approve") -> None:
    identity_admin(info, "POST", f"/device-codes/{user_code}/{action}")


class EmulatorClock:
    """The emulator's clock through its admin endpoint (``/_emulator/clock``), as a
    test moves it instead of sleeping; :func:`emulator_clock` resets it afterwards."""

    def __init__(self, info: EmulatorInfo) -> None:
        self.info = info

    def call(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET the clock, or POST ``body`` to it; its state (``now``, ``time``, ...)."""
        with requests_session(self.info.ca_bundle) as http:
            resp = http.request(
                "POST" if body is not None else "GET",
                f"{self.info.admin_url}/clock",
                json=body,
                headers=self.info.admin_headers(),
                timeout=10,
            )
        resp.raise_for_status()
        result: dict[str, Any] = resp.json()
        return result

    def time(self) -> float:
        return float(self.call()["time"])

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.call({"advance_seconds": seconds})

    def freeze(self) -> dict[str, Any]:
        return self.call({"frozen": True})

    def reset(self) -> dict[str, Any]:
        return self.call({"reset": True})


@contextmanager
def emulator_clock(info: EmulatorInfo) -> Iterator[EmulatorClock]:
    """The emulator's clock for one test: back as the emulator started it afterwards
    (the tokens other tests hold must not look expired)."""
    clock = EmulatorClock(info)
    try:
        yield clock
    finally:
        clock.reset()


class UserMsalCredential:
    """An azure-core async credential acting as the emulator's signed-in user, over
    msal's PublicClientApplication: one msal app per tenant, all sharing one token
    cache, msal always off the event loop. ``tenant_id`` (from a vault's challenge) picks
    the app; ``claims`` (a CAE challenge) are passed through to msal."""

    def __init__(
        self,
        info: EmulatorInfo,
        client_id: str | None = None,
        cache: msal.TokenCache | None = None,
        client_capabilities: list[str] | None = None,
    ) -> None:
        self.info = info
        self.client_id = client_id or info.client_id
        self.cache = cache or msal.TokenCache()
        self.capabilities = ["CP1"] if client_capabilities is None else client_capabilities
        self.http = requests_session(info.ca_bundle)
        self.base = info.authority.rsplit("/", 1)[0]
        self.apps: dict[str, Any] = {}
        self.calls: list[dict[str, Any]] = []

    def app(self, tenant: str = "organizations") -> Any:
        """The msal app of ``tenant`` (blocking: call it from a thread)."""
        if tenant not in self.apps:
            self.apps[tenant] = msal.PublicClientApplication(
                self.client_id,
                authority=f"{self.base}/{tenant}",
                token_cache=self.cache,
                http_client=self.http,
                instance_discovery=False,
                client_capabilities=self.capabilities or None,
            )
        return self.apps[tenant]

    def sign_in(self, scopes: list[str] | None = None, tenant: str = "organizations") -> Any:
        """Device code sign-in, approved through the admin route (blocking)."""
        app = self.app(tenant)
        flow = app.initiate_device_flow(scopes=scopes or [VAULT_SCOPE])
        assert "user_code" in flow, flow
        approve_device_code(self.info, flow["user_code"])
        return app.acquire_token_by_device_flow(flow)

    def _acquire(self, scopes: list[str], tenant: str, claims: str | None) -> Any:
        app = self.app(tenant)
        accounts = app.get_accounts()
        if not accounts:
            raise_auth_error(f"no signed-in account for tenant {tenant}")
        result = app.acquire_token_silent_with_error(
            scopes, accounts[0], claims_challenge=claims or None
        )
        if not result or "access_token" not in result:
            raise_auth_error(str((result or {}).get("error_description", result)))
        return result

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        info = await self.get_token_info(
            *scopes, options={"claims": claims, "tenant_id": tenant_id, "enable_cae": enable_cae}
        )
        return AccessToken(info.token, info.expires_on)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        opts = dict(options or {})
        tenant = opts.get("tenant_id") or "organizations"
        self.calls.append({"scopes": scopes, "tenant_id": opts.get("tenant_id"), **opts})
        result = await asyncio.to_thread(self._acquire, list(scopes), tenant, opts.get("claims"))
        return AccessTokenInfo(result["access_token"], int(time.time()) + int(result["expires_in"]))

    async def close(self) -> None:
        self.http.close()

    async def __aenter__(self) -> UserMsalCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def raise_auth_error(message: str) -> Any:
    from azure.core.exceptions import ClientAuthenticationError

    raise ClientAuthenticationError(message)


@asynccontextmanager
async def open_service(
    info: EmulatorInfo, url: str, retry_total: int = 0, on_throttle: Any = None
) -> AsyncIterator[Any]:
    """kvtui's VaultService on ``url``, signed in with the emulator's client secret."""
    from kvtui.core.vault import VaultService

    cred = ClientSecretMsalCredential(info)
    svc = VaultService(
        url,
        cred,  # type: ignore[arg-type]
        ca_bundle=info.ca_bundle,
        verify_challenge_resource=False,
        retry_total=retry_total,
        on_throttle=on_throttle,
    )
    try:
        yield svc
    finally:
        await svc.close()
        await cred.close()


# -- a signed-in token cache, made once per test process ----------------------------


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
        from kvtui.core.config import Settings
        from kvtui.ui.launch import build_context

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
        self.copy_file(token_cache_path(folder))

    def copy_file(self, target: Path) -> None:
        """A signed-in token cache at ``target`` (mode 0600, in a 0700 folder)."""
        if self.made_at != revocations():
            self._make()
        source = token_cache_path(self.folder / f"g{self.made_at}")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(source, target)
        os.chmod(target, 0o600)
