"""The Azure Resource Manager slice: tenants, subscriptions and Key Vault resources,
enough for a client to discover the vaults a signed-in user can see.

Every route needs a bearer token with an ARM audience from this emulator's identity
platform. Errors are ARM's ``{"error": {"code", "message"}}`` with a
``WWW-Authenticate`` header on 401s. Lists page ARM's way: ``$top`` and
``$skiptoken``, with ``nextLink`` pointing at the next page. See
docs/emulator-identity.md.
"""

from __future__ import annotations

import functools
import http
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from kvtui.emulator.common import b64url_decode, b64url_encode
from kvtui.emulator.directory import ARM_AUDIENCES, TokenError, cae_claims_challenge
from kvtui.emulator.faults import Fault, drop_connection
from kvtui.emulator.state import STATE_KEY, EmulatorState, Subscription
from kvtui.emulator.store import Vault

VAULT_TYPE = "Microsoft.KeyVault/vaults"
DEFAULT_TOP = 100
#: One clause of a generic resources ``$filter``: ``field eq 'value'``.
CLAUSE_RE = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
#: The fields a clause may test, and what of a vault each compares (case-insensitively).
FILTER_FIELDS = {"resourcetype", "name", "resourcegroup", "location"}
ArmHandler = Callable[[web.Request, dict[str, Any]], Awaitable[web.Response]]


class ArmError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> web.Response:
        body = {"error": {"code": self.code, "message": self.message}}
        return web.json_response(body, status=self.status, headers=self.headers)


def auth_error(
    state: EmulatorState,
    code: str,
    message: str,
    tenant: str = "",
    error: str = "invalid_token",
    claims: str | None = None,
) -> ArmError:
    """A 401 with ARM's challenge: ``authorization_uri`` names the identity platform."""
    header = (
        f'Bearer authorization_uri="{state.directory.issuer_host}/{tenant}", error="{error}", '
        f'error_description="{message.split(".")[0]}."'
    )
    if claims:
        header += f', claims="{claims}"'
    return ArmError(401, code, message, {"WWW-Authenticate": header})


def authenticate(request: web.Request) -> dict[str, Any]:
    """The claims of the request's ARM token, or ArmError 401 as ARM answers."""
    state = request.app[STATE_KEY]
    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("bearer "):
        raise auth_error(
            state,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    try:
        return state.directory.validate(auth[7:].strip(), ARM_AUDIENCES)
    except TokenError as exc:
        raise token_error(state, exc) from exc


def token_error(state: EmulatorState, exc: TokenError) -> ArmError:
    if exc.reason == "expired":
        return auth_error(
            state,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )
    if exc.reason == "audience":
        allowed = ",".join(f"'{a}'" for a in ARM_AUDIENCES)
        return auth_error(
            state,
            "InvalidAuthenticationToken",
            f"The access token has been obtained for wrong audience or resource "
            f"'{exc.claims.get('aud')}'. It should exactly match with one of the allowed "
            f"audiences {allowed}.",
        )
    if exc.reason == "revoked":
        claims = cae_claims_challenge(exc)
        return auth_error(
            state,
            "InvalidAuthenticationToken",
            "The access token has been revoked. Acquire a new token.",
            error="insufficient_claims" if claims else "invalid_token",
            claims=claims,
        )
    return auth_error(state, "InvalidAuthenticationToken", "The access token is invalid.")


def arm_route(handler: ArmHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Check api-version and the token, then run ``handler(request, claims)``."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            claims = authenticate(request)
            if not request.query.get("api-version"):
                raise ArmError(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            fault = await request.app[STATE_KEY].faults.fire(request, "arm")
            if fault is not None:
                return fault_response(request, fault)
            return await handler(request, claims)
        except ArmError as exc:
            return exc.response()

    return wrapper


def fault_response(request: web.Request, fault: Fault) -> web.StreamResponse:
    """An injected fault (docs/emulator-admin.md, ``"service": "arm"``) in ARM's shape."""
    if fault.type == "drop":
        return drop_connection(request)
    if fault.type == "response":  # a given answer, verbatim (e.g. a real one)
        return web.json_response(fault.body, status=fault.status, headers=fault.headers)
    if fault.type == "throttle":
        return ArmError(
            429,
            fault.code or "TooManyRequests",
            fault.message or "The request was throttled: too many requests. Retry later.",
            {"Retry-After": str(fault.retry_after)},
        ).response()
    phrase = http.HTTPStatus(fault.status).phrase if fault.status in _STATUSES else "Error"
    return ArmError(
        fault.status,
        fault.code or phrase.replace(" ", ""),
        fault.message or f"The server could not process the request ({fault.status} {phrase}).",
    ).response()


_STATUSES = {s.value for s in http.HTTPStatus}


# -- paging ---------------------------------------------------------------------------


def arm_page(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    """One page of ``items`` (sorted by id): ``$top`` items after the ``$skiptoken``."""
    try:
        top = int(request.query.get("$top", DEFAULT_TOP))
    except ValueError:
        top = -1
    if top < 1:
        raise ArmError(400, "InvalidTopInQueryString", "The $top query parameter is invalid.")
    start = 0
    token = request.query.get("$skiptoken")
    if token:
        try:
            marker = str(json.loads(b64url_decode(token))["after"])
        except Exception as exc:
            raise ArmError(
                400, "InvalidSkipToken", "The $skiptoken query parameter is invalid."
            ) from exc
        start = next((i for i, it in enumerate(items) if it["id"].lower() > marker), len(items))
    chunk = items[start : start + top]
    body: dict[str, Any] = {"value": chunk}
    if start + top < len(items) and chunk:
        skip = b64url_encode(json.dumps({"after": chunk[-1]["id"].lower()}).encode())
        url = request.url.update_query({"$skiptoken": skip, "$top": str(top)})
        body["nextLink"] = str(url)
    return web.json_response(body)


# -- resources ------------------------------------------------------------------------


def subscription_json(sub: Subscription) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub.subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.subscription_id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def vault_resource(vault: Vault) -> dict[str, Any]:
    """The generic resource entry (``/resources`` lists these)."""
    return {
        "id": vault.resource_id,
        "name": vault.name,
        "type": VAULT_TYPE,
        "location": vault.location,
        "tags": {},
    }


def vault_json(vault: Vault) -> dict[str, Any]:
    return {
        **vault_resource(vault),
        "properties": {
            "tenantId": vault.tenant_id,
            "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [],
            "vaultUri": vault.url,
            "enabledForDeployment": False,
            "enableRbacAuthorization": vault.rbac,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": 90,
            # Azure sends it only once it is on (it cannot be turned off).
            **({"enablePurgeProtection": True} if vault.purge_protection else {}),
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
        },
    }


def subscription_of(request: web.Request, claims: dict[str, Any]) -> Subscription:
    """The path's subscription: 404 when unknown, 401 when the token is of another
    tenant (ARM's InvalidAuthenticationTokenTenant, naming the right tenant)."""
    state = request.app[STATE_KEY]
    wanted = request.match_info["subscription"]
    sub = next(
        (s for s in state.subscriptions if s.subscription_id.lower() == wanted.lower()), None
    )
    if sub is None:
        raise ArmError(
            404, "SubscriptionNotFound", f"The subscription '{wanted}' could not be found."
        )
    if claims.get("tid") != sub.tenant_id:
        d = state.directory
        raise auth_error(
            state,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match "
            f"the tenant '{d.issuer(sub.tenant_id)}' associated with this subscription. "
            f"Please use the authority (URL) '{d.issuer_host}/{sub.tenant_id}' to get the "
            "token.",
            tenant=sub.tenant_id,
        )
    return sub


def vaults_of(state: EmulatorState, sub: Subscription) -> list[Vault]:
    vaults = [v for v in state.vaults.values() if v.subscription_id == sub.subscription_id]
    return sorted(vaults, key=lambda v: v.resource_id.lower())


@arm_route
async def list_tenants(request: web.Request, claims: dict[str, Any]) -> web.Response:
    d = request.app[STATE_KEY].directory
    user = d.user_by_oid(str(claims.get("oid")))
    tenants = user.tenants if user else [str(claims.get("tid"))]
    items = [
        {
            "id": f"/tenants/{t}",
            "tenantId": t,
            "tenantCategory": "Home" if user is None or t == user.home_tenant else "ProjectedBy",
            "displayName": d.state.tenant_names.get(t, t),
            "defaultDomain": f"{t[:8]}.onmicrosoft.example",
            "tenantType": "AAD",
        }
        for t in sorted(tenants)
    ]
    return arm_page(request, items)


@arm_route
async def list_subscriptions(request: web.Request, claims: dict[str, Any]) -> web.Response:
    state = request.app[STATE_KEY]
    subs = [s for s in state.subscriptions if s.tenant_id == claims.get("tid")]
    items = sorted((subscription_json(s) for s in subs), key=lambda s: str(s["id"]).lower())
    return web.json_response({"value": items, "count": {"type": "Total", "value": len(items)}})


@arm_route
async def get_subscription(request: web.Request, claims: dict[str, Any]) -> web.Response:
    return web.json_response(subscription_json(subscription_of(request, claims)))


@arm_route
async def list_vaults(request: web.Request, claims: dict[str, Any]) -> web.Response:
    sub = subscription_of(request, claims)
    return arm_page(request, [vault_json(v) for v in vaults_of(request.app[STATE_KEY], sub)])


def parse_filter(flt: str) -> dict[str, str]:
    """A generic resources ``$filter`` as ARM takes it from clients such as ``az
    keyvault show``: clauses ``field eq 'value'`` joined by ``and``, on resourceType,
    name, resourceGroup and location (field -> lower-cased value). Anything else is
    ARM's 400 InvalidFilterInQueryString."""
    wanted: dict[str, str] = {}
    for clause in re.split(r"\s+and\s+", flt.strip(), flags=re.IGNORECASE):
        m = CLAUSE_RE.match(clause)
        field = m.group(1).lower() if m else ""
        if m is None or field not in FILTER_FIELDS or field in wanted:
            raise ArmError(
                400,
                "InvalidFilterInQueryString",
                f"Invalid $filter '{flt}' specified in the query string.",
            )
        wanted[field] = m.group(2).replace("''", "'").lower()
    return wanted


def _field(vault: Vault, field: str) -> str:
    return {
        "resourcetype": VAULT_TYPE,
        "name": vault.name,
        "resourcegroup": vault.resource_group,
        "location": vault.location,
    }[field].lower()


@arm_route
async def list_managed_hsms(request: web.Request, claims: dict[str, Any]) -> web.Response:
    """The emulator has no Managed HSMs: an empty list, as Azure answers when there are
    none (``az keyvault list`` asks for both)."""
    subscription_of(request, claims)  # (a subscription the caller cannot see: 404/403)
    return arm_page(request, [])


@arm_route
async def list_resources(request: web.Request, claims: dict[str, Any]) -> web.Response:
    sub = subscription_of(request, claims)
    flt = request.query.get("$filter")
    wanted = parse_filter(flt) if flt else {}
    items = [
        vault_resource(v)
        for v in vaults_of(request.app[STATE_KEY], sub)
        if all(_field(v, k) == value for k, value in wanted.items())
    ]
    return arm_page(request, items)


@arm_route
async def get_vault(request: web.Request, claims: dict[str, Any]) -> web.Response:
    sub = subscription_of(request, claims)
    rg, name = request.match_info["group"], request.match_info["name"]
    vaults = vaults_of(request.app[STATE_KEY], sub)
    in_group = [v for v in vaults if v.resource_group.lower() == rg.lower()]
    if not in_group:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    vault = next((v for v in in_group if v.name.lower() == name.lower()), None)
    if vault is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource '{VAULT_TYPE}/{name}' under resource group '{rg}' was not found. "
            "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )
    return web.json_response(vault_json(vault))


def setup(app: web.Application) -> None:
    """Register the ARM routes on the identity platform's listener."""
    r = app.router
    sub = "/subscriptions/{subscription}"
    r.add_get("/tenants", list_tenants)
    r.add_get("/subscriptions", list_subscriptions)
    r.add_get(sub, get_subscription)
    r.add_get(f"{sub}/providers/Microsoft.KeyVault/vaults", list_vaults)
    r.add_get(f"{sub}/providers/Microsoft.KeyVault/managedHSMs", list_managed_hsms)
    r.add_get(f"{sub}/resources", list_resources)
    r.add_get(
        f"{sub}/resourceGroups/{{group}}/providers/Microsoft.KeyVault/vaults/{{name}}", get_vault
    )
