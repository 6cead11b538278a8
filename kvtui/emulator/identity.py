"""The Microsoft identity platform slice: openid-configuration, JWKS, the device code
endpoint, and the token endpoint (device code, refresh token and
client credentials grants), answering as Microsoft Entra ID does.

Its state is in identitystate.py; the verification page (``/devicelogin``) in
devicelogin.py; the admin routes under ``/_emulator/identity`` (not in the real
service) in identityadmin.py. See docs/emulator-identity.md.
"""

from __future__ import annotations

import json
import re
import secrets as pysecrets
import uuid
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from kvtui.emulator.directory import ARM_RESOURCES, OIDC_SCOPES, VAULT_RESOURCE, User
from kvtui.emulator.faults import drop_connection
from kvtui.emulator.identitystate import DeviceCode, identity_state
from kvtui.emulator.state import STATE_KEY, EmulatorState

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"
GRAPH_AUDIENCE = "00000003-0000-0000-c000-000000000000"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


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
    now = ids.clock.time()
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
    if ids.clock.time() > code.expires_at:
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


def setup(app: web.Application) -> None:
    """Register the OAuth and discovery routes (the verification page and the admin
    routes register themselves: devicelogin.py, identityadmin.py)."""
    r = app.router
    r.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    r.add_get("/{tenant}/discovery/v2.0/keys", jwks)
    r.add_post("/{tenant}/oauth2/v2.0/devicecode", devicecode)
    r.add_post("/{tenant}/oauth2/v2.0/token", token)
