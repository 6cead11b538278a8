"""Sign-in: msal's device-code flow, a persistent token cache, and an azure-core async
credential over msal for the Key Vault and ARM clients.

Every msal call (constructors included: they fetch the openid-configuration) runs in a
worker thread, never on the event loop. No Textual here: the UI drives this module.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msal
import requests
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError

log = logging.getLogger("kvtui.auth")

#: Client capability "CP1": this client can handle claims challenges (CAE).
CLIENT_CAPABILITIES = ["CP1"]
#: AADSTS codes meaning a Conditional Access policy blocks the device-code flow.
CONDITIONAL_ACCESS_CODES = {53003, 50097, 530003, 50158, 530034, 50076}


class AuthError(Exception):
    """A sign-in failure with a message a person can act on."""

    def __init__(self, message: str, *, code: str = "", retry: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry


class SignInRequired(ClientAuthenticationError):
    """No token can be had silently (no account, dead refresh token, claims challenge):
    the person has to sign in again, for ``tenant``."""

    def __init__(
        self, message: str, *, tenant: str, scopes: tuple[str, ...], claims: str | None = None
    ) -> None:
        super().__init__(message=message)
        self.tenant = tenant
        self.scopes = scopes
        self.claims = claims


@dataclass(frozen=True)
class Account:
    username: str
    home_account_id: str
    tenant_id: str
    environment: str

    @classmethod
    def from_msal(cls, raw: dict[str, Any]) -> Account:
        home = str(raw.get("home_account_id", ""))
        return cls(
            username=str(raw.get("username", "")),
            home_account_id=home,
            tenant_id=home.split(".", 1)[1] if "." in home else str(raw.get("realm", "")),
            environment=str(raw.get("environment", "")),
        )


@dataclass
class DeviceFlow:
    """A device-code flow under way: show ``verification_uri`` and ``user_code``."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: float
    tenant: str
    raw: dict[str, Any] = field(repr=False)

    def seconds_left(self) -> int:
        return max(0, int(self.expires_at - time.time()))


def describe_aad_error(result: dict[str, Any], *, tenant: str, client_id: str) -> AuthError:
    """An AuthError a person can act on, from msal's error dict."""
    error = str(result.get("error", ""))
    desc = str(result.get("error_description", "")).split("\r\n")[0].split(" Trace ID")[0]
    codes = {int(c) for c in result.get("error_codes", []) if str(c).isdigit()}
    if codes & CONDITIONAL_ACCESS_CODES:
        return AuthError(
            "Your organisation's Conditional Access policy blocks device-code sign-in "
            f"here ({desc}). Sign in from a managed or compliant device, ask your "
            "administrator for an exception for this tool, or use another sign-in method.",
            code="conditional_access",
            retry=False,
        )
    if error == "authorization_declined":
        return AuthError("The sign-in request was declined. Press r to start again.", code=error)
    if error in ("expired_token", "code_expired"):
        return AuthError(
            "The code expired before it was approved. Press r for a new code.", code="expired_token"
        )
    if 90002 in codes or 90072 in codes:
        return AuthError(
            f"Tenant {tenant!r} was not found, or this account is not in it "
            f"({desc}). Check --tenant.",
            code="tenant",
            retry=False,
        )
    if 700016 in codes:
        return AuthError(
            f"The client id {client_id} is not known in tenant {tenant!r} "
            f"({desc}). Check --client-id.",
            code="client_id",
            retry=False,
        )
    return AuthError(f"Sign-in failed: {desc or error or 'unknown error'}", code=error)


def describe_transport_error(exc: BaseException, authority: str) -> AuthError:
    text = str(exc)
    if (
        "CERTIFICATE_VERIFY_FAILED" in text
        or "SSLError" in type(exc).__name__
        or "certificate verify failed" in text
    ):
        return AuthError(
            f"TLS trust failure talking to {authority}: its certificate is not trusted. If it "
            "is signed by your organisation's CA (or the kvtui emulator's), pass that CA with "
            "--ca-bundle PATH (or KVTUI_CA_BUNDLE).",
            code="tls",
        )
    return AuthError(
        f"Cannot reach the identity endpoint {authority}: {text}. Check the "
        "network, a proxy (HTTPS_PROXY / NO_PROXY) or --authority.",
        code="network",
    )


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
    whatever REQUESTS_CA_BUNDLE and friends say (FACTS.md)."""
    return _PinnedCaSession(ca_bundle) if ca_bundle else requests.Session()


def default_cache_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kvtui")) / "msal_token_cache.bin"


def open_token_cache(path: Path | None = None) -> msal.SerializableTokenCache:
    """msal's token cache persisted by msal-extensions: the platform's encrypted store if
    it has one that works, else a file of mode 0600 in a 0700 folder."""
    from msal_extensions import FilePersistence, PersistedTokenCache, build_encrypted_persistence

    own_folder = path is None or not path.parent.exists()
    path = path or default_cache_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if own_folder:  # never chmod a folder the user named (token_cache = "/tmp/x.bin")
        os.chmod(path.parent, 0o700)
    if path.exists() and not path.is_file():
        raise IsADirectoryError(errno.EISDIR, "not a file", str(path))
    persistence: Any
    try:
        persistence = build_encrypted_persistence(str(path))
        persistence.save(persistence.load() if path.exists() else "{}")
    except Exception as exc:  # no keyring, no libsecret/D-Bus on a headless box
        log.info("encrypted token cache unavailable (%s); using a 0600 file", exc)
        persistence = FilePersistence(str(path))
    cache = PersistedTokenCache(persistence)
    if path.exists():
        os.chmod(path, 0o600)
    return cache


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
        app = await self.app()
        raw = await asyncio.to_thread(app.get_accounts)
        seen: dict[str, Account] = {}
        for r in raw:
            acc = Account.from_msal(r)
            seen.setdefault(acc.home_account_id, acc)
        return list(seen.values())

    async def remove_account(self, account: Account) -> None:
        app = await self.app()

        def remove() -> None:
            for raw in app.get_accounts():
                if raw.get("home_account_id") == account.home_account_id:
                    app.remove_account(raw)

        await asyncio.to_thread(remove)

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
        """Poll until the code is approved, declined or expired (or cancel() is called)."""
        app = await self.app(flow.tenant)
        try:
            result = await asyncio.to_thread(app.acquire_token_by_device_flow, flow.raw)
        except requests.RequestException as exc:
            raise describe_transport_error(exc, self.authority_host) from exc
        if "access_token" not in result:
            if result.get("error") == "authorization_pending" or flow.raw.get("expires_at") == 0:
                raise AuthError("Sign-in was cancelled.", code="cancelled")
            raise describe_aad_error(result, tenant=flow.tenant, client_id=self.client_id)
        claims = result.get("id_token_claims") or {}
        home = f"{claims.get('oid', '')}.{claims.get('tid', '')}"
        for acc in await self.accounts():
            if acc.home_account_id == home or acc.username == claims.get("preferred_username"):
                return acc
        raise AuthError("Signed in, but the account did not reach the token cache.")

    @staticmethod
    def cancel(flow: DeviceFlow) -> None:
        """Stop a complete_device_flow() poll within about a second."""
        flow.raw["expires_at"] = 0

    def credential(self, account: Account) -> MsalCredential:
        return MsalCredential(self, account)


class MsalCredential:
    """An azure-core async credential: silent tokens for one signed-in account, in
    whichever tenant the vault's challenge names; SignInRequired when that fails."""

    def __init__(self, sign_in: SignIn, account: Account) -> None:
        self.sign_in = sign_in
        self.account = account

    def _silent(self, scopes: list[str], tenant: str, claims: str | None) -> dict[str, Any]:
        with self.sign_in.token_lock:
            return self._silent_locked(scopes, tenant, claims)

    def _silent_locked(self, scopes: list[str], tenant: str, claims: str | None) -> dict[str, Any]:
        app = self.sign_in._app(tenant)
        raw = next(
            (
                a
                for a in app.get_accounts()
                if a.get("home_account_id") == self.account.home_account_id
            ),
            None,
        )
        if raw is None:
            return {"error": "no_account"}
        result = app.acquire_token_silent_with_error(
            scopes, raw, claims_challenge=claims, force_refresh=bool(claims)
        )
        return result or {"error": "no_token"}

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        opts = options or {}
        tenant = opts.get("tenant_id") or self.account.tenant_id or self.sign_in.tenant
        claims = opts.get("claims")
        try:
            result = await asyncio.to_thread(self._silent, list(scopes), tenant, claims)
        except requests.RequestException as exc:
            raise ClientAuthenticationError(
                message=str(describe_transport_error(exc, self.sign_in.authority_host))
            ) from exc
        if "access_token" not in result:
            reason = (
                "a claims challenge (Continuous Access Evaluation)"
                if claims
                else (result.get("error_description") or result.get("error") or "no token")
            )
            raise SignInRequired(
                f"Sign in again to continue: {reason}",
                tenant=tenant,
                scopes=tuple(scopes),
                claims=claims,
            )
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
        options: TokenRequestOptions = {"enable_cae": enable_cae}
        if claims:
            options["claims"] = claims
        if tenant_id:
            options["tenant_id"] = tenant_id
        info = await self.get_token_info(*scopes, options=options)
        return AccessToken(info.token, info.expires_on)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> MsalCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
