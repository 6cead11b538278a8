"""Finding vaults through Azure Resource Manager: tenants -> subscriptions -> vaults.

A thin client over ARM's REST API with aiohttp and the sign-in credential (no
azure-mgmt packages: three GETs do not justify them). Results arrive progressively, one
subscription at a time, so a picker can fill as they answer.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError

from kvtui.core.errors import (
    AuthenticationFailed,
    PermissionDenied,
    ServiceError,
    Throttled,
    VaultError,
    describe_transport_error,
)

API_SUBSCRIPTIONS = "2022-12-01"
API_VAULTS = "2023-07-01"


@dataclass(frozen=True)
class Subscription:
    id: str
    name: str
    tenant_id: str


@dataclass(frozen=True)
class VaultRef:
    """A vault as ARM lists it (``kvtui.core.state.SavedVault`` is one the user opened
    or pinned)."""

    name: str
    url: str
    subscription_id: str
    subscription_name: str
    resource_group: str
    location: str
    tenant_id: str
    rbac: bool


SubscriptionResult = tuple[Subscription | None, list[VaultRef] | VaultError]


class ArmClient:
    def __init__(
        self,
        arm_url: str,
        credential: AsyncTokenCredential,
        scope: str,
        *,
        ca_bundle: str | None = None,
        home_tenant: str | None = None,
    ) -> None:
        self.arm_url = arm_url.rstrip("/")
        self.credential = credential
        self.scope = scope
        self.home_tenant = home_tenant
        ctx: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        )
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ctx), timeout=aiohttp.ClientTimeout(total=30)
        )

    async def close(self) -> None:
        await self._session.close()

    async def _get(self, url: str, tenant: str | None) -> dict[str, Any]:
        try:
            token = await self.credential.get_token(self.scope, tenant_id=tenant)
        except ClientAuthenticationError as exc:  # SignInRequired among them
            raise AuthenticationFailed(
                f"No token for Azure Resource Manager: {exc.message}"
            ) from exc
        headers = {"Authorization": f"Bearer {token.token}"}
        try:
            async with self._session.get(url, headers=headers) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                try:
                    body: Any = await resp.json(content_type=None)
                except ValueError:  # not JSON (a proxy's page, say)
                    body = None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # One wording per cause, as for vaults: TLS trust names --ca-bundle.
            raise describe_transport_error(exc, url=url, service="Azure Resource Manager") from exc
        if status == 200 and isinstance(body, dict):
            return body
        err = body.get("error", {}) if isinstance(body, dict) else {}
        message = str(err.get("message") or f"HTTP {status}")
        if status == 401:
            raise AuthenticationFailed(
                f"Azure Resource Manager refused the token: {message}", status=status
            )
        if status == 403:
            raise PermissionDenied(f"Not allowed to list here: {message}", status=status)
        if status == 429:
            ra = float(retry_after) if retry_after and retry_after.isdigit() else None
            raise Throttled("Azure Resource Manager is throttling requests.", retry_after=ra)
        if status >= 500:
            raise ServiceError(
                f"Azure Resource Manager failed ({status}): {message}", status=status
            )
        raise VaultError(message, status=status)

    async def _list(self, url: str, tenant: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url:
            page = await self._get(next_url, tenant)
            out.extend(v for v in page.get("value", []) if isinstance(v, dict))
            next_url = page.get("nextLink")
        return out

    async def tenants(self) -> list[str]:
        rows = await self._list(
            f"{self.arm_url}/tenants?api-version={API_SUBSCRIPTIONS}", self.home_tenant
        )
        return [str(r["tenantId"]) for r in rows if r.get("tenantId")]

    async def subscriptions(self, tenant: str | None) -> list[Subscription]:
        rows = await self._list(
            f"{self.arm_url}/subscriptions?api-version={API_SUBSCRIPTIONS}", tenant
        )
        return [
            Subscription(
                str(r["subscriptionId"]),
                str(r.get("displayName", "")),
                str(r.get("tenantId", tenant or "")),
            )
            for r in rows
            if r.get("state", "Enabled") == "Enabled"
        ]

    async def vaults(self, sub: Subscription) -> list[VaultRef]:
        rows = await self._list(
            f"{self.arm_url}/subscriptions/{quote(sub.id)}/providers/Microsoft.KeyVault/vaults"
            f"?api-version={API_VAULTS}",
            sub.tenant_id,
        )
        out = []
        for r in rows:
            props = r.get("properties") or {}
            rid = str(r.get("id", ""))
            parts = rid.split("/")
            rg = parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""
            out.append(
                VaultRef(
                    name=str(r.get("name", "")),
                    url=str(props.get("vaultUri", "")),
                    subscription_id=sub.id,
                    subscription_name=sub.name,
                    resource_group=rg,
                    location=str(r.get("location", "")),
                    tenant_id=str(props.get("tenantId", sub.tenant_id)),
                    rbac=bool(props.get("enableRbacAuthorization", False)),
                )
            )
        return out

    async def all_vaults(
        self, on_subscriptions: Callable[[list[Subscription]], None] | None = None
    ) -> AsyncGenerator[SubscriptionResult, None]:
        """(subscription, its vaults or the error it gave), as each subscription answers;
        the tenants the account can see are searched concurrently. A tenant or the tenant
        list failing gives (None, error). ``on_subscriptions`` hears each tenant's
        subscriptions before their vaults are asked for (for "Searching 3
        subscriptions…")."""
        try:
            tenants = await self.tenants()
        except VaultError as exc:
            yield None, exc
            return
        queue: asyncio.Queue[SubscriptionResult | None] = asyncio.Queue()

        async def one_sub(sub: Subscription) -> None:
            try:
                await queue.put((sub, await self.vaults(sub)))
            except VaultError as exc:
                await queue.put((sub, exc))

        async def one_tenant(tenant: str) -> None:
            try:
                subs = await self.subscriptions(tenant)
            except Exception as exc:  # a tenant needing MFA must not hide the others
                if isinstance(exc, VaultError):
                    exc.args = (f"Tenant {tenant}: {exc}",)
                    err: VaultError = exc
                else:
                    err = AuthenticationFailed(f"Tenant {tenant}: {exc}")
                await queue.put((None, err))
                return
            if on_subscriptions is not None:
                on_subscriptions(subs)
            await asyncio.gather(*(one_sub(s) for s in subs))

        async def run_all() -> None:
            try:
                await asyncio.gather(*(one_tenant(t) for t in tenants))
            finally:
                await queue.put(None)

        task = asyncio.create_task(run_all())
        try:
            while (entry := await queue.get()) is not None:
                yield entry
        finally:
            task.cancel()
