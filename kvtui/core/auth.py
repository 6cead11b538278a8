"""Sign-in: msal's device-code flow over a persistent token cache, and an azure-core
async credential over msal for the Key Vault and ARM clients.

Every msal call (constructors included: they fetch the openid-configuration) runs in a
worker thread, never on the event loop. No Textual here: the UI drives this module.
Its parts: :mod:`kvtui.core.accounts` (accounts in the cache, and signing out),
:mod:`kvtui.core.device_code` (the flow and its poll), :mod:`kvtui.core.aad_errors`
(failures worded for the person), :mod:`kvtui.core.token_cache` (the persisted cache).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msal
import requests
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError

from kvtui.core.aad_errors import (
    AuthError,
    describe_aad_error,
    describe_discovery_error,
    describe_transport_error,
)
from kvtui.core.accounts import Account, forget_accounts, home_account_id_of
from kvtui.core.device_code import DeviceFlow, poll_device_flow
from kvtui.core.token_cache import open_token_cache

__all__ = [
    "Account",
    "AuthError",
    "DeviceFlow",
    "MsalCredential",
    "SignIn",
    "SignInRequired",
    "describe_aad_error",
    "http_session",
    "open_token_cache",
]

T = TypeVar("T")

#: Client capability "CP1": this client can handle claims challenges (CAE).
CLIENT_CAPABILITIES = ["CP1"]
#: Tenant path segments that are not one tenant: every work or school account fits them.
MULTI_TENANT = {"organizations", "common"}
#: The tenant of personal Microsoft accounts (what ``consumers`` signs in to).
MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


class SignInRequired(ClientAuthenticationError):
    """No token can be had silently (no account, dead refresh token, claims challenge):
    the person has to sign in again, for ``tenant``.

    ``after_sign_in`` is set when the account has just signed in with a device code and
    no token has been had for it since: another device code would most likely fail the
    same way (an endless loop of codes), so the UI shows the error and stops instead."""

    def __init__(
        self,
        message: str,
        *,
        tenant: str,
        scopes: tuple[str, ...],
        claims: str | None = None,
        after_sign_in: bool = False,
        reason: str = "",
        msal_error: str = "",
    ) -> None:
        super().__init__(message=message)
        self.msal_error = msal_error
        """msal's error code (``invalid_grant``, ``no_account``, ``invalid_tenant``: the
        account's home tenant is gone, so this account can never sign in again)."""
        self.tenant = tenant
        self.scopes = scopes
        self.claims = claims
        self.after_sign_in = after_sign_in
        self.reason = reason


class _PinnedCaSession(requests.Session):
    """A requests session whose trust comes from one CA bundle alone. requests lets
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``Session.verify``; this does not,
    while proxies (HTTPS_PROXY, NO_PROXY) from the environment still apply."""

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.verify = ca_bundle
        self._ca_bundle = ca_bundle

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(
            url, proxies, stream, verify, cert
        )
        settings["verify"] = self._ca_bundle
        return settings


def http_session(ca_bundle: str | None) -> requests.Session:
    """The HTTP session msal uses. With a CA bundle, trust comes from that file alone,
    whatever REQUESTS_CA_BUNDLE and friends say (docs/facts.md)."""
    return _PinnedCaSession(ca_bundle) if ca_bundle else requests.Session()


class SignIn:
    """One msal PublicClientApplication per tenant, all sharing one token cache."""

    def __init__(
        self,
        *,
        authority_host: str,
        tenant: str,
        client_id: str,
        cache: msal.TokenCache,
        ca_bundle: str | None = None,
        validate_authority: bool = True,
    ) -> None:
        self.authority_host = authority_host.rstrip("/")
        self.tenant = tenant
        self.client_id = client_id
        self.cache = cache
        self.http = http_session(ca_bundle)
        self.validate_authority = validate_authority
        self._apps: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.fresh: set[str] = set()
        """home_account_ids signed in with a device code that no token was had for since
        (see SignInRequired.after_sign_in)."""
        self.token_lock = threading.Lock()
        """Held around each silent token request: msal-extensions re-reads the cache file
        without its lock, so a read during another thread's write saw an empty file (no
        account) when several requests ran at once (ARM lists subscriptions in parallel)."""

    # -- msal apps (blocking: call from threads) ---------------------------------------

    def _app(self, tenant: str | None) -> Any:
        key = tenant or self.tenant
        with self._lock:
            app = self._apps.get(key)
            if app is None:
                authority = f"{self.authority_host}/{key}"
                try:
                    app = msal.PublicClientApplication(
                        self.client_id,
                        authority=authority,
                        token_cache=self.cache,
                        http_client=self.http,
                        instance_discovery=self.validate_authority,
                        validate_authority=self.validate_authority,
                        client_capabilities=CLIENT_CAPABILITIES,
                    )
                except ValueError as exc:
                    if "authority configuration" in str(exc) or "Discovery" in str(exc):
                        raise describe_discovery_error(
                            exc, tenant=key, authority=self.authority_host
                        ) from exc
                    raise AuthError(
                        f"The authority {authority} is not valid: {exc}",
                        code="authority",
                        retry=False,
                    ) from exc
                except requests.RequestException as exc:
                    raise describe_transport_error(exc, authority) from exc
                self._apps[key] = app
            return app

    async def app(self, tenant: str | None = None) -> Any:
        return await asyncio.to_thread(self._app, tenant)

    # -- accounts --------------------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        """The cached accounts that can sign in to this authority and tenant.

        msal's get_accounts() keeps those of the authority's host (and its aliases). Of
        them, with ``organizations`` or ``common`` every work or school account fits;
        with ``consumers``, personal accounts; with one tenant (its id, or a domain msal
        resolved to its id), the accounts whose home tenant it is and those that have
        signed in to it before (msal keeps an account record per tenant, as for a
        guest). A guest that never signed in to it is not offered: "Sign in with
        another account" reaches it. No network besides the OpenID configuration."""
        app = await self.app()
        return await asyncio.to_thread(self._locked, self._fitting_accounts, app)

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` under token_lock: a cache read while another thread writes the
        file can see it empty (see token_lock)."""
        with self.token_lock:
            return fn(*args)

    def _fitting_accounts(self, app: Any) -> list[Account]:
        tenant = self.tenant.lower()
        resolved = str(getattr(app.authority, "tenant", "") or tenant).lower()
        seen: dict[str, Account] = {}
        for raw in app.get_accounts():
            acc = Account.from_msal(raw)
            if acc.home_account_id in seen:
                continue
            if tenant in MULTI_TENANT or resolved in MULTI_TENANT:
                fits = acc.tenant_id.lower() != MSA_TENANT or tenant == "common"
            elif tenant == "consumers" or resolved == "consumers":
                fits = acc.tenant_id.lower() == MSA_TENANT
            else:
                fits = resolved in self._realms(acc) or tenant in self._realms(acc)
            if fits:
                seen[acc.home_account_id] = acc
        return list(seen.values())

    def _realms(self, account: Account) -> set[str]:
        """The tenants ``account`` is known in: its home tenant and every tenant msal
        keeps an account record of it for (one per tenant signed in to)."""
        realms = {account.tenant_id.lower()}
        query = {"home_account_id": account.home_account_id}
        for raw in self.cache.search(msal.TokenCache.CredentialType.ACCOUNT, query=query):
            realms.add(str(raw.get("realm", "")).lower())
        return realms

    async def sign_out(self, account: Account) -> bool:
        """Forget ``account`` and its tokens (kvtui.core.accounts.forget_accounts, as
        ``kvtui logout`` does): the next start cannot continue as it. No network.
        False if it was not in the cache."""
        self.fresh.discard(account.home_account_id)
        removed = await asyncio.to_thread(self._locked, forget_accounts, self.cache, [account])
        return removed > 0

    # -- silent tokens (blocking: call from threads) ---------------------------------------

    def acquire_silent(
        self, account: Account, scopes: list[str], tenant: str, claims: str | None = None
    ) -> dict[str, Any]:
        """msal's silent token for ``account`` in ``tenant`` (refreshed with its refresh
        token when needed, always when there are ``claims``), as msal's dict:
        ``access_token``, or ``error`` (``no_account`` when it is not in the cache).
        Blocking, under token_lock: call it in a thread."""
        with self.token_lock:
            app = self._app(tenant)
            raw = next(
                (
                    a
                    for a in app.get_accounts()
                    if a.get("home_account_id") == account.home_account_id
                ),
                None,
            )
            if raw is None:
                return {"error": "no_account"}
            result: dict[str, Any] | None = app.acquire_token_silent_with_error(
                scopes, raw, claims_challenge=claims, force_refresh=bool(claims)
            )
            return result or {"error": "no_token"}

    # -- device code -----------------------------------------------------------------------

    async def start_device_flow(
        self, scopes: list[str], tenant: str | None = None, claims: str | None = None
    ) -> DeviceFlow:
        app = await self.app(tenant)
        try:
            raw = await asyncio.to_thread(app.initiate_device_flow, scopes, claims_challenge=claims)
        except requests.RequestException as exc:
            raise describe_transport_error(exc, self.authority_host) from exc
        if "user_code" not in raw:
            raise describe_aad_error(raw, tenant=tenant or self.tenant, client_id=self.client_id)
        return DeviceFlow(
            user_code=raw["user_code"],
            verification_uri=raw["verification_uri"],
            message=raw.get("message", ""),
            expires_at=float(raw["expires_at"]),
            tenant=tenant or self.tenant,
            raw=raw,
        )

    async def complete_device_flow(self, flow: DeviceFlow) -> Account:
        """Poll until the code is approved, declined or expired, or ``flow.cancel()``
        (then AuthError ``cancelled``, within 0.2 s)."""
        app = await self.app(flow.tenant)
        try:
            result = await asyncio.to_thread(poll_device_flow, app, flow)
        except requests.RequestException as exc:
            raise describe_transport_error(exc, self.authority_host) from exc
        if "access_token" not in result:
            if flow.cancelled:
                raise AuthError("Sign-in was cancelled.", code="cancelled")
            if result.get("error") == "authorization_pending":
                # Past the expiry's grace, and never told expired_token.
                result = {"error": "expired_token"}
            raise describe_aad_error(result, tenant=flow.tenant, client_id=self.client_id)
        # The account msal just stored, by its home_account_id: never by user name (two
        # accounts can share one, in two tenants or as a deleted and re-created user).
        home = home_account_id_of(result)
        raws = await asyncio.to_thread(self._locked, app.get_accounts)
        account = next(
            (Account.from_msal(r) for r in raws if r.get("home_account_id") == home), None
        )
        if account is None and "." in home and not home.startswith("."):
            # msal stored it; the read raced a write of the cache file by another
            # thread (seen as an empty cache). Its id is all the credential needs.
            claims = result.get("id_token_claims") or {}
            account = Account(
                username=str(claims.get("preferred_username", "")),
                home_account_id=home,
                tenant_id=home.split(".", 1)[1],
                environment=urlsplit(self.authority_host).netloc,
            )
        if account is None:
            raise AuthError("Signed in, but the account did not reach the token cache.")
        self.fresh.add(home)
        return account

    def credential(self, account: Account) -> MsalCredential:
        return MsalCredential(self, account)


def token_options(
    claims: str | None, tenant_id: str | None, enable_cae: bool
) -> TokenRequestOptions:
    """azure-core's ``get_token`` arguments as ``get_token_info``'s options."""
    options: TokenRequestOptions = {"enable_cae": enable_cae}
    if claims:
        options["claims"] = claims
    if tenant_id:
        options["tenant_id"] = tenant_id
    return options


class MsalCredential:
    """An azure-core async credential: silent tokens for one signed-in account, in
    whichever tenant the vault's challenge names; SignInRequired when that fails."""

    def __init__(self, sign_in: SignIn, account: Account) -> None:
        self.sign_in = sign_in
        self.account = account

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        return await asyncio.to_thread(self.token_info_blocking, scopes, options or {})

    def token_info_blocking(
        self, scopes: tuple[str, ...], opts: TokenRequestOptions
    ) -> AccessTokenInfo:
        """:meth:`get_token_info`, blocking (msal and the token cache's file): the
        early listing's sync client uses it, in its own process."""
        tenant = opts.get("tenant_id") or self.account.tenant_id or self.sign_in.tenant
        claims = opts.get("claims")
        home = self.account.home_account_id
        try:
            result = self.sign_in.acquire_silent(self.account, list(scopes), tenant, claims)
        except requests.RequestException as exc:
            raise ClientAuthenticationError(
                message=str(describe_transport_error(exc, self.sign_in.authority_host))
            ) from exc
        except AuthError as exc:
            if exc.code != "tenant" or opts.get("tenant_id"):
                raise
            # The account's own home tenant is gone (a deleted tenant, or an emulator
            # started afresh): this account cannot sign in any more; a new one can.
            result = {"error": "invalid_tenant", "error_description": str(exc)}
        if "access_token" not in result:
            reason = (
                "a claims challenge (Continuous Access Evaluation)"
                if claims
                else (result.get("error_description") or result.get("error") or "no token")
            )
            reason = str(reason).split("\r\n")[0].split(" Trace ID")[0]
            raise SignInRequired(
                f"Sign in again to continue: {reason}",
                tenant=tenant,
                scopes=tuple(scopes),
                claims=claims,
                after_sign_in=home in self.sign_in.fresh,
                reason=reason,
                msal_error=str(result.get("error", "")),
            )
        self.sign_in.fresh.discard(home)
        now = int(time.time())
        expires_on = now + int(result.get("expires_in", 0))
        refresh_in = result.get("refresh_in")
        return AccessTokenInfo(
            result["access_token"],
            expires_on,
            refresh_on=now + int(refresh_in) if refresh_in else None,
        )

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        options = token_options(claims, tenant_id, enable_cae)
        info = await self.get_token_info(*scopes, options=options)
        return AccessToken(info.token, info.expires_on)

    async def close(self) -> None:
        return None

    def blocking(self) -> BlockingMsalCredential:
        """The same account as azure-core's sync credential (for a sync client)."""
        return BlockingMsalCredential(self)

    async def __aenter__(self) -> MsalCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class BlockingMsalCredential:
    """azure-core's sync credential protocol over :class:`MsalCredential` (the early
    listing's sync SecretClient, kvtui/core/lister.py)."""

    def __init__(self, credential: MsalCredential) -> None:
        self.credential = credential

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        return self.credential.token_info_blocking(scopes, options or {})

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        info = self.get_token_info(*scopes, options=token_options(claims, tenant_id, enable_cae))
        return AccessToken(info.token, info.expires_on)

    def close(self) -> None:
        return None
