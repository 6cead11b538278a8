"""The Microsoft identity platform slice: openid-configuration, token endpoint.

MINIMAL: client credentials only so far; device code, refresh tokens and the
verification page are filled in by the identity work.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kvtui.emulator.common import STATE_KEY
from kvtui.emulator.directory import ARM_RESOURCES, OIDC_SCOPES, VAULT_RESOURCE


def aad_error(
    error: str, description: str, status: int = 400, codes: list[int] | None = None
) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description, "error_codes": codes or []},
        status=status,
    )


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


async def openid_configuration(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    tenant = request.match_info["tenant"]
    base = state.directory.issuer_host
    t = f"{base}/{tenant}"
    issuer_tenant = state.directory.resolve_tenant(tenant) or tenant
    if tenant in ("common", "organizations", "consumers"):
        issuer_tenant = "{tenantid}"
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


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    d = state.directory
    form = await request.post()
    grant = str(form.get("grant_type", ""))
    tenant_seg = request.match_info["tenant"]
    scope = str(form.get("scope", ""))
    client_id = str(form.get("client_id", ""))
    if grant == "client_credentials":
        app = d.app_by_client_id(client_id)
        if app is None:
            return aad_error(
                "unauthorized_client",
                f"AADSTS700016: Application with identifier "
                f"'{client_id}' was not found in the directory.",
                codes=[700016],
            )
        if form.get("client_secret") != app.client_secret:
            return aad_error(
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided.",
                status=401,
                codes=[7000215],
            )
        tenant = d.resolve_tenant(tenant_seg)
        if tenant is None or tenant_seg in ("common", "organizations"):
            return aad_error(
                "invalid_request", f"AADSTS90002: Tenant '{tenant_seg}' not found.", codes=[90002]
            )
        res = resource_of(scope)
        if res is None:
            return aad_error(
                "invalid_scope",
                f"AADSTS1002012: The provided value for scope {scope} is not valid.",
                codes=[1002012],
            )
        access, life = d.access_token(
            tenant=tenant, audience=res[1], client_id=client_id, oid=app.oid, name=app.name
        )
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": access,
        }
        return web.json_response(body)
    return aad_error(
        "unsupported_grant_type",
        f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
        codes=[70003],
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    r.add_get("/{tenant}/discovery/v2.0/keys", jwks)
    r.add_post("/{tenant}/oauth2/v2.0/token", token)
