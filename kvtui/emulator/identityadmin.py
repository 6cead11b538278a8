"""The identity platform's admin routes under ``/_emulator/identity`` (not in the real
service): approve or decline device codes, change lifetimes, block device code sign-in
as a Conditional Access policy would, add users, and revoke refresh tokens and
sessions (CAE). See docs/emulator-identity.md.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kvtui.emulator.common import KvError, json_body
from kvtui.emulator.identitystate import decide, identity_state
from kvtui.emulator.state import STATE_KEY

ADMIN_BASE = "/_emulator/identity"


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
    "interval": (int, float),
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
    """Register the identity admin routes."""
    r = app.router
    r.add_get(ADMIN_BASE, admin_get)
    r.add_patch(f"{ADMIN_BASE}/settings", admin_settings)
    r.add_post(f"{ADMIN_BASE}/users", admin_add_user)
    r.add_post(f"{ADMIN_BASE}/device-codes/{{user_code}}/{{action:approve|decline}}", admin_decide)
    r.add_post(f"{ADMIN_BASE}/refresh-tokens/revoke", admin_revoke_refresh_tokens)
    r.add_post(f"{ADMIN_BASE}/sessions/revoke", admin_revoke_sessions)
