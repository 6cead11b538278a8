"""Test helpers: real msal against the emulator's identity platform, and the official
async SDK clients over HTTPS with the emulator's CA. Nothing here is mocked."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import msal
import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import AioHttpTransport
from azure.keyvault.certificates.aio import CertificateClient
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.secrets.aio import SecretClient

from kvtui.emulator import EmulatorInfo


def requests_session(ca_bundle: str) -> requests.Session:
    """A requests session trusting exactly the emulator's CA, whatever the environment
    says (these machines export REQUESTS_CA_BUNDLE): see FACTS.md."""
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
