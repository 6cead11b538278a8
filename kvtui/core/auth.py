"""Sign-in: msal's device-code flow, a persistent token cache, and an azure-core async
credential over msal for the Key Vault and ARM clients.

Every msal call (constructors included: they fetch the openid-configuration) runs in a
worker thread, never on the event loop. No Textual here: the UI drives this module.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msal
import requests
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError

log = logging.getLogger("kvtui.auth")
T = TypeVar("T")

#: Client capability "CP1": this client can handle claims challenges (CAE).
CLIENT_CAPABILITIES = ["CP1"]
#: AADSTS codes meaning a Conditional Access policy blocks the device-code flow.
CONDITIONAL_ACCESS_CODES = {53003, 50097, 530003, 50158, 530034, 50076}
#: Tenant path segments that are not one tenant: every work or school account fits them.
MULTI_TENANT = {"organizations", "common"}
#: The tenant of personal Microsoft accounts (what ``consumers`` signs in to).
MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


class AuthError(Exception):
    """A sign-in failure with a message a person can act on."""

    def __init__(self, message: str, *, code: str = "", retry: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry


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


def home_account_id_of(result: dict[str, Any]) -> str:
    """The ``home_account_id`` msal gives the account of a token response: ``uid.utid``
    from its ``client_info`` (the user's home tenant, also when it signed in to another
    tenant as a guest), else ``oid.tid`` from the id token, as msal falls back to."""
    raw = result.get("client_info")
    if isinstance(raw, str) and raw:
        try:
            info = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except ValueError:
            info = None
        if isinstance(info, dict) and info.get("uid") and info.get("utid"):
            return f"{info['uid']}.{info['utid']}"
    claims = result.get("id_token_claims") or {}
    return f"{claims.get('oid') or claims.get('sub', '')}.{claims.get('tid', '')}"


_AADSTS = re.compile(r"AADSTS\d+: [^\\\r\n]*?(?=\s*(?:Trace ID|\\r|\\n|\r|\n|\"|$))")


def describe_discovery_error(exc: BaseException, *, tenant: str, authority: str) -> AuthError:
    """An AuthError for msal's ValueError when the tenant's OpenID configuration cannot
    be had (an unknown tenant answers 400 AADSTS90002 ``invalid_tenant``). msal wraps the
    service's answer in a long text about authority formats; say what to check."""
    chain = " ".join(str(e) for e in (exc, exc.__context__, exc.__cause__) if e is not None)
    found = _AADSTS.search(chain)
    # The first sentence of the service's answer ("AADSTS90002: Tenant 'x' not found.").
    detail = found.group(0).split(". ")[0].rstrip(".") if found else "no OpenID configuration"
    if "90002" in chain or "invalid_tenant" in chain:
        lead = f"Tenant {tenant!r} was not found"
    else:
        lead = f"The identity endpoint {authority} did not accept tenant {tenant!r}"
    return AuthError(
        f"{lead} ({detail}). Check --tenant: a tenant id (GUID), a domain such as "
        "contoso.onmicrosoft.com, organizations or common.",
        code="tenant",
        retry=False,
    )


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
    whatever REQUESTS_CA_BUNDLE and friends say (docs/facts.md)."""
    return _PinnedCaSession(ca_bundle) if ca_bundle else requests.Session()


def default_cache_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kvtui")) / "msal_token_cache.bin"


def _thread_safe_cache(persistence: Any) -> msal.SerializableTokenCache:
    """msal-extensions' PersistedTokenCache with one lock for this process's threads.

    Its file lock keeps other processes out of a write, but not a reader in another
    thread: a search() that reloads while a write has just truncated the file reads it
    empty, makes that the cache, and the next write saves it so. Measured: the account
    a device code had just signed in was lost while a vault listing got a token in
    another thread. Every search and modify (msal's add goes through modify) holds the
    lock here."""
    from msal_extensions import PersistedTokenCache

    class ThreadSafeCache(PersistedTokenCache):  # type: ignore[misc]
        def __init__(self, persistence: Any) -> None:
            super().__init__(persistence)
            self._threads = threading.RLock()

        def modify(self, *args: Any, **kwargs: Any) -> Any:
            with self._threads:
                return super().modify(*args, **kwargs)

        def search(self, *args: Any, **kwargs: Any) -> Any:
            with self._threads:
                return super().search(*args, **kwargs)

    cache: msal.SerializableTokenCache = ThreadSafeCache(persistence)
    return cache


def open_token_cache(path: Path | None = None) -> msal.SerializableTokenCache:
    """msal's token cache persisted by msal-extensions: the platform's encrypted store if
    it has one that works, else a file of mode 0600 in a 0700 folder."""
    from msal_extensions import FilePersistence, build_encrypted_persistence

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
    cache = _thread_safe_cache(persistence)
    if path.exists():
        os.chmod(path, 0o600)
    return cache


#: Seconds past a code's expiry that polling goes on, waiting for expired_token.
EXPIRY_GRACE = 30
#: Errors of a device-code poll that mean "ask again later" (msal's own list).
_PENDING = ("authorization_pending", "slow_down")


def poll_device_flow(app: Any, flow: dict[str, Any]) -> dict[str, Any]:
    """msal's device-code poll, one request at a time, until the code is approved,
    declined or expired, or within 0.2 s of :meth:`SignIn.cancel` (which sets
    ``flow["expires_at"]`` to 0). Blocking: call in a thread.

    msal's own loop checks for the end only between its sleeps, one second per unit of
    ``interval``: with ``interval`` 0 (a local identity platform polled at full speed)
    it never checks and polls until the code expires, so a cancelled sign-in kept a
    thread (and the process's exit) waiting for minutes."""
    interval = float(flow.get("interval", 5) or 0)
    once = {**flow, "interval": 1}  # msal returns after one poll when told to exit
    while True:
        result: dict[str, Any] = app.acquire_token_by_device_flow(
            once, exit_condition=lambda _flow: True
        )
        if result.get("error") not in _PENDING:
            return result
        if result.get("error") == "slow_down":
            interval += 5
        until = time.monotonic() + interval
        while True:
            expires_at = float(flow.get("expires_at", 0))
            # 0: cancelled. Past the code's expiry, the identity platform answers
            # expired_token (worded for the person) on the next poll; a grace period
            # only guards against one that never does.
            if expires_at == 0 or time.time() > expires_at + EXPIRY_GRACE:
                return result
            left = until - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(0.2, left))


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
            result = await asyncio.to_thread(poll_device_flow, app, flow.raw)
        except requests.RequestException as exc:
            raise describe_transport_error(exc, self.authority_host) from exc
        if "access_token" not in result:
            if result.get("error") == "authorization_pending" or flow.raw.get("expires_at") == 0:
                raise AuthError("Sign-in was cancelled.", code="cancelled")
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
        home = self.account.home_account_id
        try:
            result = await asyncio.to_thread(self._silent, list(scopes), tenant, claims)
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
