"""The Microsoft identity platform slice: openid-configuration, JWKS, the device code
flow with its verification page, and the token endpoint (device code, refresh token and
client credentials grants), answering as Microsoft Entra ID does.

The admin routes under ``/_emulator/identity`` (not in the real service) approve or
decline device codes, change lifetimes, block device code sign-in as a Conditional
Access policy would, and revoke refresh tokens and sessions (CAE).
See docs/emulator-identity.md.
"""

from __future__ import annotations

import html
import json
import re
import secrets as pysecrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from string import Template
from typing import Any

from aiohttp import web

from kvtui.emulator.common import KvError, json_body
from kvtui.emulator.directory import ARM_RESOURCES, OIDC_SCOPES, VAULT_RESOURCE, User
from kvtui.emulator.faults import drop_connection
from kvtui.emulator.state import STATE_KEY, EmulatorState

EXT_KEY = "identity"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"
GRAPH_AUDIENCE = "00000003-0000-0000-c000-000000000000"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ADMIN_BASE = "/_emulator/identity"
FORM_TOKEN_LIFETIME = 900.0
FORM_TOKENS_MAX = 1000


# -- state ---------------------------------------------------------------------------


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    tenant_segment: str
    scope: str
    created: float
    expires_at: float
    status: str = "pending"
    """pending, approved, declined or redeemed."""
    oid: str = ""
    """The user who approved."""

    def to_json(self) -> dict[str, Any]:
        return {
            "user_code": self.user_code,
            "client_id": self.client_id,
            "tenant": self.tenant_segment,
            "scope": self.scope,
            "status": self.status,
            "expires_at": int(self.expires_at),
        }


@dataclass
class IdentityState:
    """What the identity platform keeps besides the directory (not persisted)."""

    approve: str
    approve_delay: float
    interval: int = 5
    expires_in: int = 900
    block_device_code: bool = False
    """A Conditional Access policy blocking the device code flow (AADSTS53003)."""
    user_code: str = ""
    """Fixed user code for new device codes ("" = random): deterministic screenshots."""
    verification_uri: str = ""
    """Address reported in place of this listener's /devicelogin ("" = the real one):
    screenshots that do not depend on the port."""
    codes: dict[str, DeviceCode] = field(default_factory=dict)
    token_requests: int = 0
    form_tokens: dict[str, float] = field(default_factory=dict)
    """The device page's one-time form tokens and when each expires (CSRF guard)."""

    def new_form_token(self) -> str:
        now = time.time()
        for old in [t for t, until in self.form_tokens.items() if until < now]:
            del self.form_tokens[old]
        while len(self.form_tokens) >= FORM_TOKENS_MAX:  # the oldest go first
            del self.form_tokens[next(iter(self.form_tokens))]
        token = pysecrets.token_urlsafe(24)
        self.form_tokens[token] = now + FORM_TOKEN_LIFETIME
        return token

    def use_form_token(self, token: str) -> bool:
        """Whether ``token`` was handed out by the page and is still valid (once only)."""
        until = self.form_tokens.pop(token, None)
        return until is not None and until >= time.time()

    def settings(self, token_lifetime: int) -> dict[str, Any]:
        return {
            "approve": self.approve,
            "approve_delay": self.approve_delay,
            "interval": self.interval,
            "expires_in": self.expires_in,
            "token_lifetime": token_lifetime,
            "block_device_code": self.block_device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
        }

    def by_user_code(self, user_code: str) -> DeviceCode | None:
        wanted = user_code.strip().upper()
        return next((c for c in self.codes.values() if c.user_code == wanted), None)

    def refresh(self, code: DeviceCode, default_oid: str) -> None:
        """Apply the automatic approval once its delay has passed."""
        if (
            code.status == "pending"
            and self.approve == "auto"
            and time.time() >= code.created + self.approve_delay
        ):
            code.status, code.oid = "approved", default_oid


def identity_state(state: EmulatorState) -> IdentityState:
    ids = state.extensions.get(EXT_KEY)
    if ids is None:
        s = state.settings
        ids = state.extensions[EXT_KEY] = IdentityState(s.approve, s.approve_delay)
    assert isinstance(ids, IdentityState)
    return ids


# -- AAD's error shape ----------------------------------------------------------------


def aad_error(
    error: str, description: str, status: int = 400, codes: list[int] | None = None
) -> web.Response:
    """``{"error", "error_description", "error_codes", "timestamp", "trace_id", ...}``."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": (
            f"{description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {stamp}"
        ),
        "error_codes": codes or [],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
    }
    if codes:
        body["error_uri"] = f"https://login.microsoftonline.com/error?code={codes[0]}"
    return web.json_response(body, status=status)


class AadError(Exception):
    def __init__(self, error: str, description: str, code: int, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.code, self.status = error, description, code, status

    def response(self) -> web.Response:
        return aad_error(self.error, self.description, self.status, [self.code])


# Wording of Microsoft Entra ID's answers, as quoted (with sources) in
# tests/core/real_errors.py.


def tenant_not_found(segment: str, error: str = "invalid_request") -> AadError:
    """AADSTS90002; the discovery document answers it with ``invalid_tenant``."""
    return AadError(
        error,
        f"AADSTS90002: Tenant '{segment}' not found. This may happen if there are no "
        "active subscriptions for the tenant. Check to make sure you have the correct "
        "tenant ID. Check with your subscription administrator.",
        90002,
    )


def unknown_client(client_id: str, directory: str) -> AadError:
    return AadError(
        "unauthorized_client",
        f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
        f"directory '{directory}'. This can happen if the application has not been "
        "installed by the administrator of the tenant or consented to by any user in the "
        "tenant. You may have sent your authentication request to the wrong tenant.",
        700016,
    )


# -- scopes ---------------------------------------------------------------------------


def resource_of(scope: str) -> tuple[str, str] | None:
    """(resource, audience) for the first resource scope in ``scope``, or None."""
    for s in scope.split():
        if s in OIDC_SCOPES:
            continue
        resource = s.rsplit("/", 1)[0] if "/" in s[8:] else s
        resource = resource.rstrip("/")
        if resource == VAULT_RESOURCE:
            return resource, VAULT_RESOURCE
        if resource in ARM_RESOURCES:
            return resource, resource + "/"
        return None
    return None


def check_scope(scope: str) -> tuple[str, str] | None:
    """The (resource, audience) a user token is for: None means only OIDC scopes
    (AAD then issues a Microsoft Graph token). Raises AadError for unknown resources."""
    requested = [s for s in scope.split() if s not in OIDC_SCOPES]
    if not requested:
        return None
    res = resource_of(scope)
    if res is None:
        raise AadError(
            "invalid_resource",
            f"AADSTS500011: The resource principal named {requested[0]} was not found in "
            "the tenant. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
            500011,
        )
    if any(resource_of(s) != res for s in requested):
        raise AadError(
            "invalid_scope",
            f"AADSTS28000: Provided value for the input parameter scope '{scope}' is not "
            "valid because it contains more than one resource. Scope "
            f"{' '.join(requested)} is not valid.",
            28000,
        )
    return res


def wants_cae(claims_param: str) -> bool:
    """Whether the ``claims`` request parameter declares the client capability cp1."""
    try:
        claims = json.loads(claims_param) if claims_param else {}
        values = claims.get("access_token", {}).get("xms_cc", {}).get("values", [])
        return "cp1" in [str(v).lower() for v in values]
    except (ValueError, AttributeError):
        return False


# -- discovery ------------------------------------------------------------------------


async def openid_configuration(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    tenant = request.match_info["tenant"]
    base = state.directory.issuer_host
    t = f"{base}/{tenant}"
    issuer_tenant = state.directory.resolve_tenant(tenant)
    if tenant in ("common", "organizations", "consumers"):
        issuer_tenant = "{tenantid}"
    if issuer_tenant is None:
        return tenant_not_found(tenant, "invalid_tenant").response()
    return web.json_response(
        {
            "token_endpoint": f"{t}/oauth2/v2.0/token",
            "authorization_endpoint": f"{t}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{t}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{t}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "kvtui.emulator",
        }
    )


async def jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].directory.jwks())


# -- device code ----------------------------------------------------------------------


def new_user_code() -> str:
    return "".join(pysecrets.choice(USER_CODE_ALPHABET) for _ in range(9))


async def injected_fault(request: web.Request) -> web.StreamResponse | None:
    """The answer of an injected fault (docs/emulator-admin.md, ``"service": "identity"``)
    in AAD's error shape, or None. ``message`` replaces the ``error_description`` (the
    Trace ID, Correlation ID and Timestamp follow it, as always); ``error_codes`` holds
    the number of its ``AADSTSnnnn:`` prefix, if it has one."""
    fault = await request.app[STATE_KEY].faults.fire(request, "identity")
    if fault is None:
        return None
    if fault.type == "drop":
        return drop_connection(request)
    if fault.type == "response":  # a given answer, verbatim (e.g. a real one)
        return web.json_response(fault.body, status=fault.status, headers=fault.headers)
    if fault.type == "throttle":
        error, code, status = "temporarily_unavailable", 90055, 429
        description = (
            "AADSTS90055: TenantThrottlingError - There are too many incoming requests. "
            "This exception is thrown for blocked tenants."
        )
    elif fault.status < 500:
        error, code, status = "invalid_request", 900144, fault.status
        description = (
            "AADSTS900144: The request body must contain the following parameter: 'grant_type'."
        )
    else:
        error, code, status = "temporarily_unavailable", 50000, fault.status
        description = (
            "AADSTS50000: There was an error issuing a token or an issue with our sign-in service."
        )
    codes = [code]
    if fault.message is not None:
        description = fault.message
        given = re.match(r"AADSTS(\d+)", description)
        codes = [int(given.group(1))] if given else []
    response = aad_error(fault.code or error, description, status, codes)
    if fault.type == "throttle":
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


async def devicecode(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    faulted = await injected_fault(request)
    if faulted is not None:
        return faulted
    ids = identity_state(state)
    form = await request.post()
    client_id = str(form.get("client_id", ""))
    scope = str(form.get("scope", ""))
    segment = request.match_info["tenant"]
    try:
        if state.directory.resolve_tenant(segment) is None:
            raise tenant_not_found(segment)
        if not state.directory.public_client_ok(client_id):
            raise unknown_client(client_id, segment)
        check_scope(scope)
    except AadError as exc:
        return exc.response()
    now = time.time()
    code = DeviceCode(
        device_code=pysecrets.token_urlsafe(48),
        user_code=ids.user_code.upper() or new_user_code(),
        client_id=client_id,
        tenant_segment=segment,
        scope=scope,
        created=now,
        expires_at=now + ids.expires_in,
    )
    ids.codes[code.device_code] = code
    uri = ids.verification_uri or f"{state.directory.issuer_host}/devicelogin"
    return web.json_response(
        {
            "user_code": code.user_code,
            "device_code": code.device_code,
            "verification_uri": uri,
            "expires_in": ids.expires_in,
            "interval": ids.interval,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the "
            f"code {code.user_code} to authenticate.",
        }
    )


def redeem_device_code(state: EmulatorState, form: Any) -> tuple[User, DeviceCode]:
    """The user who approved the device code in ``form``, or the AAD error."""
    ids = identity_state(state)
    d = state.directory
    code = ids.codes.get(str(form.get("device_code") or form.get("code") or ""))
    if code is None or code.client_id != str(form.get("client_id", "")):
        raise AadError(
            "bad_verification_code",
            "AADSTS70018: Invalid verification code. The device code is not valid.",
            70018,
        )
    ids.refresh(code, d.default_user.oid)
    if code.status == "redeemed":
        raise AadError(
            "invalid_grant",
            "AADSTS70000: The provided value for the 'device_code' is not valid. "
            "It has already been redeemed.",
            70000,
        )
    if time.time() > code.expires_at:
        raise AadError(
            "expired_token",
            "AADSTS70020: The provided value for the input parameter 'device_code' is not "
            "valid. This device code has expired.",
            70020,
        )
    if code.status == "declined":
        raise AadError(
            "authorization_declined",
            "AADSTS70000: The user declined the authorization request.",
            70000,
        )
    if code.status == "pending":
        raise AadError(
            "authorization_pending",
            "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            70016,
        )
    if ids.block_device_code:
        raise AadError(
            "invalid_grant",
            "AADSTS53003: Access has been blocked by Conditional Access policies. The "
            "access policy does not allow token issuance.",
            53003,
        )
    user = d.user_by_oid(code.oid)
    assert user is not None
    code.status = "redeemed"
    return user, code


def redeem_refresh_token(state: EmulatorState, form: Any) -> User:
    d = state.directory
    token = str(form.get("refresh_token", ""))
    problem = d.refresh_token_problem(token, str(form.get("client_id", "")))
    if problem == "revoked":
        raise AadError(
            "invalid_grant",
            "AADSTS70000: The provided grant has expired due to it being revoked, a fresh "
            "auth token is needed. The user might have changed or reset their password.",
            70000,
        )
    if problem == "expired":
        raise AadError(
            "invalid_grant",
            "AADSTS700082: The refresh token has expired due to inactivity. The token was "
            "issued and was inactive for 90.00:00:00.",
            700082,
        )
    if problem is not None:
        raise AadError(
            "invalid_grant",
            "AADSTS9002313: Invalid request. Request is malformed or invalid.",
            9002313,
        )
    user = d.user_by_oid(d.state.refresh_tokens[token].oid)
    assert user is not None
    return user


def user_token_response(
    state: EmulatorState, user: User, segment: str, client_id: str, scope: str, claims: str
) -> web.Response:
    """The token response AAD gives a signed-in user (access, refresh and id token)."""
    d = state.directory
    tenant = d.user_tenant(segment, user)
    if tenant is None:
        raise AadError(
            "invalid_grant",
            f"AADSTS50020: User account '{user.upn}' from identity provider does not "
            f"exist in tenant '{segment}' and cannot access the application "
            f"'{client_id}' in that tenant.",
            50020,
        )
    res = check_scope(scope)
    if res is None:
        audience, granted = GRAPH_AUDIENCE, "openid profile email User.Read"
    else:
        audience = res[1]
        resource_scopes = [s for s in scope.split() if s not in OIDC_SCOPES]
        granted = " ".join(dict.fromkeys([f"{res[0]}/user_impersonation", *resource_scopes]))
    access, life = d.access_token(
        tenant=tenant,
        audience=audience,
        client_id=client_id,
        oid=user.oid,
        name=user.name,
        upn=user.upn,
        scp="user_impersonation",
        cae=wants_cae(claims),
    )
    return web.json_response(
        {
            "token_type": "Bearer",
            "scope": granted,
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": access,
            "refresh_token": d.new_refresh_token(user.oid, client_id),
            "id_token": d.id_token(user, tenant, client_id),
            "client_info": d.client_info(user),
        }
    )


def client_credentials(state: EmulatorState, form: Any, segment: str) -> web.Response:
    d = state.directory
    client_id = str(form.get("client_id", ""))
    app = d.app_by_client_id(client_id)
    if app is None:
        raise unknown_client(client_id, segment)
    if form.get("client_secret") != app.client_secret:
        raise AadError(
            "invalid_client", "AADSTS7000215: Invalid client secret provided.", 7000215, 401
        )
    tenant = d.resolve_tenant(segment)
    if tenant is None or segment in ("common", "organizations"):
        raise tenant_not_found(segment)
    scope = str(form.get("scope", ""))
    res = resource_of(scope)
    if res is None:
        raise AadError(
            "invalid_scope",
            f"AADSTS1002012: The provided value for scope {scope} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the "
            "resource identifier (application ID URI).",
            1002012,
        )
    access, life = d.access_token(
        tenant=tenant,
        audience=res[1],
        client_id=client_id,
        oid=app.oid,
        name=app.name,
        cae=wants_cae(str(form.get("claims", ""))),
    )
    return web.json_response(
        {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": access}
    )


async def token(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    identity_state(state).token_requests += 1
    faulted = await injected_fault(request)
    if faulted is not None:
        return faulted
    form = await request.post()
    grant = str(form.get("grant_type", ""))
    segment = request.match_info["tenant"]
    client_id = str(form.get("client_id", ""))
    scope, claims = str(form.get("scope", "")), str(form.get("claims", ""))
    try:
        if grant == "client_credentials":
            return client_credentials(state, form, segment)
        if grant not in (DEVICE_GRANT, "refresh_token"):
            raise AadError(
                "unsupported_grant_type",
                f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
                70003,
            )
        if state.directory.resolve_tenant(segment) is None:
            raise tenant_not_found(segment)
        if not state.directory.public_client_ok(client_id):
            raise unknown_client(client_id, segment)
        if grant == DEVICE_GRANT:
            user, code = redeem_device_code(state, form)
            scope = scope or code.scope
        else:
            user = redeem_refresh_token(state, form)
        return user_token_response(state, user, segment, client_id, scope, claims)
    except AadError as exc:
        return exc.response()


# -- the verification page ------------------------------------------------------------


def render_page(title: str, body: str, status: int = 200) -> web.Response:
    """The page template with ``body`` (already escaped HTML) filled in."""
    template = resources.files("kvtui.emulator").joinpath("device_page.html").read_text()
    text = Template(template).substitute(title=html.escape(title), body=body)
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "form-action 'self'",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


def code_form(form_token: str, prefill: str = "", error: str = "") -> str:
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return (
        "<p>Enter the code displayed on your app or device.</p>"
        f"{message}"
        '<form method="post" action="/devicelogin">'
        f'<input type="hidden" name="form_token" value="{html.escape(form_token)}">'
        '<label for="code">Code</label> '
        f'<input id="code" name="code" autocomplete="off" value="{html.escape(prefill)}" '
        "autofocus required> "
        '<button name="action" value="approve" type="submit">Approve</button> '
        '<button name="action" value="decline" type="submit">Decline</button>'
        "</form>"
    )


async def devicelogin_page(request: web.Request) -> web.Response:
    ids = identity_state(request.app[STATE_KEY])
    return render_page("Enter code", code_form(ids.new_form_token(), request.query.get("code", "")))


def _cross_origin(request: web.Request) -> bool:
    """Whether a browser says this post comes from another site's page. The real page
    needs the user's own session; here the one-time form token stands in for it, and
    this is a second line."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return True
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")


async def devicelogin_submit(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    ids = identity_state(state)
    form = await request.post()
    entered, action = str(form.get("code", "")), str(form.get("action", "approve"))
    if _cross_origin(request) or not ids.use_form_token(str(form.get("form_token", ""))):
        # A page elsewhere must not approve a code in the user's name (CSRF): only a
        # form this listener served, once, within its lifetime.
        error = "This form has expired or did not come from this page. Enter the code again."
        return render_page("Enter code", code_form(ids.new_form_token(), entered, error), 403)
    code = ids.by_user_code(entered)
    if code is None:
        error = f"The code {entered} wasn't found. Check the code and try again."
        return render_page("Enter code", code_form(ids.new_form_token(), entered, error), 400)
    try:
        decide(state, code, action == "approve", state.directory.default_user.oid)
    except ValueError as exc:
        return render_page("Code not usable", f"<p>{html.escape(str(exc))}</p>", 400)
    user = state.directory.default_user
    if action == "approve":
        text = (
            f"<p>{html.escape(user.upn)} signed in to the application "
            f"{html.escape(code.client_id)} on your device.</p>"
            "<p>You may now close this window.</p>"
        )
        return render_page("Signed in", text)
    text = "<p>You declined to sign in to the application on your device.</p>"
    return render_page("Sign-in declined", text + "<p>You may now close this window.</p>")


def decide(state: EmulatorState, code: DeviceCode, approve: bool, oid: str) -> None:
    """Approve or decline a pending code; ValueError says why it cannot be."""
    ids = identity_state(state)
    ids.refresh(code, state.directory.default_user.oid)
    if time.time() > code.expires_at:
        raise ValueError(f"The code {code.user_code} has expired. Request a new code.")
    if code.status != "pending":
        raise ValueError(f"The code {code.user_code} was already used ({code.status}).")
    code.status, code.oid = ("approved" if approve else "declined"), oid


# -- admin routes ---------------------------------------------------------------------


async def admin_get(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    ids = identity_state(state)
    d = state.directory
    for code in ids.codes.values():
        ids.refresh(code, d.default_user.oid)
    return web.json_response(
        {
            "settings": ids.settings(d.token_lifetime),
            "device_codes": [c.to_json() for c in ids.codes.values()],
            "token_requests": ids.token_requests,
            "users": [
                {"oid": u.oid, "upn": u.upn, "home_tenant": u.home_tenant, "tenants": u.tenants}
                for u in d.state.users
            ],
            "revoked_before": d.revoked_before,
        }
    )


SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "approve": (str,),
    "approve_delay": (int, float),
    "interval": (int,),
    "expires_in": (int,),
    "token_lifetime": (int,),
    "block_device_code": (bool,),
    "user_code": (str,),
    "verification_uri": (str,),
}


def check_setting(key: str, value: Any) -> None:
    kinds = SETTING_TYPES.get(key)
    if kinds is None:
        raise KvError(400, "BadRequest", f"Unknown setting {key!r}.")
    if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
        raise KvError(400, "BadRequest", f"Invalid value for {key}: {value!r}.")
    if key == "approve" and value not in ("auto", "manual"):
        raise KvError(400, "BadRequest", "approve must be auto or manual.")
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise KvError(400, "BadRequest", f"{key} must not be negative.")


async def admin_settings(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    ids = identity_state(state)
    body = await json_body(request)
    for key, value in body.items():
        check_setting(key, value)
    for key, value in body.items():
        if key == "token_lifetime":
            state.directory.token_lifetime = value
        else:
            setattr(ids, key, value)
    return web.json_response(ids.settings(state.directory.token_lifetime))


async def admin_decide(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request, required=False)
    code = identity_state(state).by_user_code(request.match_info["user_code"])
    if code is None:
        raise KvError(404, "NotFound", "No device code has this user code.")
    oid = str(body.get("oid") or state.directory.default_user.oid)
    if state.directory.user_by_oid(oid) is None:
        raise KvError(404, "NotFound", f"No user has the object id {oid}.")
    try:
        decide(state, code, request.match_info["action"] == "approve", oid)
    except ValueError as exc:
        raise KvError(409, "Conflict", str(exc)) from exc
    return web.json_response(code.to_json())


async def admin_revoke_refresh_tokens(request: web.Request) -> web.Response:
    body = await json_body(request, required=False)
    oid = body.get("oid")
    n = request.app[STATE_KEY].directory.revoke_refresh_tokens(str(oid) if oid else None)
    return web.json_response({"revoked": n})


async def admin_revoke_sessions(request: web.Request) -> web.Response:
    d = request.app[STATE_KEY].directory
    body = await json_body(request, required=False)
    oid = str(body.get("oid") or d.default_user.oid)
    if oid not in {u.oid for u in d.state.users} | {a.oid for a in d.state.apps}:
        raise KvError(404, "NotFound", f"No principal has the object id {oid}.")
    revoked_before = d.revoke_sessions(oid)
    refresh = 0
    if body.get("refresh_tokens", True):
        refresh = d.revoke_refresh_tokens(oid)
    return web.json_response(
        {"oid": oid, "revoked_before": revoked_before, "refresh_tokens_revoked": refresh}
    )


async def admin_add_user(request: web.Request) -> web.Response:
    """A new user: ``{"upn", "name"?, "home_tenant"?, "tenants"?}``. A UPN may repeat:
    Entra ID has one per tenant, so the same UPN can live in two tenants, and a deleted
    and re-created user keeps its UPN with a new object id. ``home_tenant`` is a tenant
    id of this emulator, or ``home``/``other``; ``tenants`` (default: the home tenant)
    are those it may sign in to (home first, then those it is a guest in)."""
    d = request.app[STATE_KEY].directory
    body = await json_body(request)
    known = {"home": d.state.home_tenant, "other": d.state.other_tenant}
    valid = set(known.values())

    def tenant_of(value: Any) -> str:
        tenant = known.get(str(value), str(value))
        if not isinstance(value, str) or tenant not in valid:
            raise KvError(400, "BadRequest", f"Unknown tenant {value!r}.")
        return tenant

    upn = body.get("upn")
    if not isinstance(upn, str) or "@" not in upn or not upn.strip():
        raise KvError(400, "BadRequest", "upn must be a user principal name (name@domain).")
    name = body.get("name", upn.split("@", 1)[0])
    if not isinstance(name, str):
        raise KvError(400, "BadRequest", "name must be a string.")
    home = tenant_of(body.get("home_tenant", "home"))
    tenants_raw = body.get("tenants", [home])
    if not isinstance(tenants_raw, list):
        raise KvError(400, "BadRequest", "tenants must be a list of tenant ids.")
    tenants = list(dict.fromkeys([home, *(tenant_of(t) for t in tenants_raw)]))
    user = d.add_user(upn=upn.strip(), name=name, home_tenant=home, tenants=tenants)
    return web.json_response(
        {
            "oid": user.oid,
            "upn": user.upn,
            "home_tenant": user.home_tenant,
            "tenants": user.tenants,
        },
        status=201,
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    r.add_get("/{tenant}/discovery/v2.0/keys", jwks)
    r.add_post("/{tenant}/oauth2/v2.0/devicecode", devicecode)
    r.add_post("/{tenant}/oauth2/v2.0/token", token)
    r.add_get("/devicelogin", devicelogin_page)
    r.add_post("/devicelogin", devicelogin_submit)
    r.add_get(ADMIN_BASE, admin_get)
    r.add_patch(f"{ADMIN_BASE}/settings", admin_settings)
    r.add_post(f"{ADMIN_BASE}/users", admin_add_user)
    r.add_post(f"{ADMIN_BASE}/device-codes/{{user_code}}/{{action:approve|decline}}", admin_decide)
    r.add_post(f"{ADMIN_BASE}/refresh-tokens/revoke", admin_revoke_refresh_tokens)
    r.add_post(f"{ADMIN_BASE}/sessions/revoke", admin_revoke_sessions)
