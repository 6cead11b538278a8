"""The emulator's admin endpoint (``/_emulator/...``): what the real service does not have.

JSON in and out, on the main listener. Every request needs the run's admin token
(``Authorization: Bearer <admin_token>``, from the JSON line) and any body must be
``application/json``: :func:`admin_guard_middleware` checks both for every
``/_emulator`` route, the identity ones included. Vaults, principals, permissions,
injected faults and the clock; documented in docs/emulator-admin.md. Handlers run on the emulator's
event loop, so they edit the shared state without locks.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from kvtui.emulator.clock import parse_time
from kvtui.emulator.common import Handler, KvError, error_response, json_body
from kvtui.emulator.faults import ANY, RuleError
from kvtui.emulator.settings import SEED_RE, valid_vault_name
from kvtui.emulator.state import STATE_KEY, EmulatorState, VaultHost
from kvtui.emulator.store import Vault

PREFIX = "/_emulator"
EMULATOR_KEY: web.AppKey[VaultHost] = web.AppKey("kvtui_admin_emulator")


def is_admin_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    # Constant time: the comparison must not tell how much of a guess was right.
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.encode("utf-8"))


def _json_or_empty(request: web.Request) -> bool:
    """A body, if any, is JSON (a cross-origin form or text/plain post is not). Clients
    label even an empty POST (aiohttp: application/octet-stream): no body, no check."""
    if not request.can_read_body:
        return True
    ctype = request.headers.get("Content-Type", "")
    return ctype.split(";", 1)[0].strip().lower() == "application/json"


@web.middleware
async def admin_guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The admin routes (``/_emulator``, ``/_emulator/...``): 401 without the run's admin
    token, 415 for a body that is not ``application/json``. Other routes pass."""
    if not is_admin_path(request.path):
        return await handler(request)
    if not _authorized(request, request.app[STATE_KEY].admin_token):
        return error_response(
            401,
            "Unauthorized",
            "The emulator's admin endpoint needs the admin_token of its JSON line: "
            "Authorization: Bearer <admin_token>.",
            headers={"WWW-Authenticate": 'Bearer realm="kvtui-emulator-admin"'},
        )
    if not _json_or_empty(request):
        return error_response(
            415,
            "UnsupportedMediaType",
            "The emulator's admin endpoint takes only application/json bodies.",
        )
    return await handler(request)


def _bad(message: str) -> KvError:
    return KvError(400, "BadRequest", message)


def _not_found(message: str) -> KvError:
    return KvError(404, "NotFound", message)


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


def _vault_json(vault: Vault) -> dict[str, Any]:
    return {
        "name": vault.name,
        "url": vault.url,
        "tenant_id": vault.tenant_id,
        "subscription_id": vault.subscription_id,
        "rbac": vault.rbac,
        "purge_protection": vault.purge_protection,
        "location": vault.location,
    }


def _find_vault(state: EmulatorState, name: str) -> Vault:
    vault = next((v for n, v in state.vaults.items() if n.lower() == name.lower()), None)
    if vault is None:
        raise _not_found(f"No vault named {name!r}.")
    return vault


def _bool_field(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise _bad(f"{name} must be true or false")
    return value


# -- info, vaults, principals -----------------------------------------------------------------


async def info(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    if emulator.info is None:
        raise KvError(503, "ServiceUnavailable", "The emulator is still starting.")
    return web.json_response(json.loads(emulator.info.to_json()))


async def list_vaults(request: web.Request) -> web.Response:
    return web.json_response({"value": [_vault_json(v) for v in _state(request).vaults.values()]})


async def create_vault(request: web.Request) -> web.Response:
    state = _state(request)
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or not valid_vault_name(name):
        raise _bad("name must be 1-24 letters, digits and hyphens, starting with a letter")
    if any(n.lower() == name.lower() for n in state.vaults):
        raise KvError(409, "Conflict", f"A vault named {name!r} exists already.")
    seed = body.get("seed", "empty")
    if not isinstance(seed, str) or not SEED_RE.match(seed):
        raise _bad("seed must be empty, demo or bulk:N")
    tenants = {
        "home": state.directory.state.home_tenant,
        "other": state.directory.state.other_tenant,
    }
    tenant = body.get("tenant", "home")
    tenant_id = tenants.get(tenant, tenant) if isinstance(tenant, str) else None
    if tenant_id not in tenants.values():
        raise _bad(f"tenant must be home, other, or one of {', '.join(tenants.values())}")
    rbac = _bool_field(body, "rbac", False)
    vault = await request.app[EMULATOR_KEY].add_vault(name, seed=seed, tenant=tenant_id, rbac=rbac)
    return web.json_response(_vault_json(vault), status=201)


async def get_vault(request: web.Request) -> web.Response:
    return web.json_response(_vault_json(_find_vault(_state(request), request.match_info["name"])))


async def update_vault(request: web.Request) -> web.Response:
    vault = _find_vault(_state(request), request.match_info["name"])
    body = await json_body(request)
    if set(body) - {"rbac", "purge_protection"}:
        raise _bad("only rbac and purge_protection can be changed")
    protect = _bool_field(body, "purge_protection", vault.purge_protection)
    if vault.purge_protection and not protect:  # as Azure: once on, for good
        raise _bad("purge_protection cannot be turned off once it is on")
    vault.rbac = _bool_field(body, "rbac", vault.rbac)
    vault.purge_protection = protect
    return web.json_response(_vault_json(vault))


async def principals(request: web.Request) -> web.Response:
    d = _state(request).directory.state
    users = [
        {"type": "user", "oid": u.oid, "name": u.name, "upn": u.upn, "home_tenant": u.home_tenant}
        for u in d.users
    ]
    apps = [{"type": "app", "oid": a.oid, "name": a.name, "client_id": a.client_id} for a in d.apps]
    return web.json_response({"value": users + apps})


# -- permissions ------------------------------------------------------------------------------


def _rule_key(request: web.Request) -> tuple[str, str]:
    vault, principal = request.match_info["vault"], request.match_info["principal"]
    if vault != ANY:
        vault = _find_vault(_state(request), vault).name
    return vault, principal


async def list_permissions(request: web.Request) -> web.Response:
    rules = _state(request).faults.permissions.values()
    return web.json_response({"value": [r.to_json() for r in rules]})


async def put_permissions(request: web.Request) -> web.Response:
    vault, principal = _rule_key(request)
    body = await json_body(request, required=False)
    try:
        rule = _state(request).faults.set_permissions(vault, principal, body)
    except RuleError as exc:
        raise _bad(str(exc)) from exc
    return web.json_response(rule.to_json())


async def get_permissions(request: web.Request) -> web.Response:
    vault, principal = _rule_key(request)
    rule = _state(request).faults.permissions.get((vault.lower(), principal.lower()))
    if rule is None:
        raise _not_found(f"No permissions set for {principal!r} on {vault!r}: all allowed.")
    return web.json_response(rule.to_json())


async def delete_permissions(request: web.Request) -> web.Response:
    vault, principal = _rule_key(request)
    if not _state(request).faults.remove_permissions(vault, principal):
        raise _not_found(f"No permissions set for {principal!r} on {vault!r}.")
    return web.Response(status=204)


async def clear_permissions(request: web.Request) -> web.Response:
    _state(request).faults.permissions.clear()
    return web.Response(status=204)


# -- the request log --------------------------------------------------------------------------


async def list_requests(request: web.Request) -> web.Response:
    """The vaults' requests (requestlog.py), oldest first: ``?vault=NAME`` one vault's
    only, ``?since=SEQ`` those after the ``seq`` given (a test notes ``last`` first)."""
    state = _state(request)
    vault = request.query.get("vault")
    if vault is not None:
        vault = _find_vault(state, vault).name
    raw = request.query.get("since", "0")
    if not raw.isdigit():
        raise _bad(f"since must be a request's seq (0 or more), not {raw!r}")
    entries = state.requests.since(int(raw), vault)
    return web.json_response({"value": [e.to_json() for e in entries], "last": state.requests.last})


# -- faults -----------------------------------------------------------------------------------


async def list_faults(request: web.Request) -> web.Response:
    faults = _state(request).faults.faults.values()
    return web.json_response({"value": [f.to_json() for f in faults]})


async def add_fault(request: web.Request) -> web.Response:
    state = _state(request)
    body = await json_body(request)
    vault = body.get("vault", ANY)
    if isinstance(vault, str) and vault != ANY:
        body["vault"] = _find_vault(state, vault).name
    try:
        fault = state.faults.add_fault(body)
    except RuleError as exc:
        raise _bad(str(exc)) from exc
    return web.json_response(fault.to_json(), status=201)


def _fault_id(request: web.Request) -> str:
    fault_id = request.match_info["id"]
    if fault_id not in _state(request).faults.faults:
        raise _no_fault(fault_id)
    return fault_id


def _no_fault(fault_id: str) -> KvError:
    return _not_found(f"No fault {fault_id!r} (it may have run out).")


async def get_fault(request: web.Request) -> web.Response:
    return web.json_response(_state(request).faults.faults[_fault_id(request)].to_json())


async def delete_fault(request: web.Request) -> web.Response:
    """The fault goes; requests its latency holds are answered at once."""
    fault_id = request.match_info["id"]
    if not _state(request).faults.remove_fault(fault_id):
        raise _no_fault(fault_id)
    return web.Response(status=204)


async def clear_faults(request: web.Request) -> web.Response:
    _state(request).faults.clear_faults()
    return web.Response(status=204)


async def reset(request: web.Request) -> web.Response:
    """Faults and permissions cleared, the clock back as it started."""
    state = _state(request)
    state.faults.reset()
    state.clock.reset()
    return web.Response(status=204)


# -- the clock --------------------------------------------------------------------------------

CLOCK_FIELDS = ("reset", "frozen", "now", "advance_seconds")


def _number(value: object) -> float | None:
    """A JSON number (not a boolean), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


async def get_clock(request: web.Request) -> web.Response:
    return web.json_response(_state(request).clock.to_json())


async def set_clock(request: web.Request) -> web.Response:
    """``{"reset"?, "frozen"?, "now"?, "advance_seconds"?}``, checked first, then applied
    in that order."""
    body = await json_body(request)
    unknown = sorted(set(body) - set(CLOCK_FIELDS))
    if unknown:
        raise _bad(f"unknown field {unknown[0]!r}: the clock takes {', '.join(CLOCK_FIELDS)}")
    reset = _bool_field(body, "reset", False)
    frozen = body.get("frozen")
    if frozen is not None and not isinstance(frozen, bool):
        raise _bad("frozen must be true or false")
    when: float | None = None
    if body.get("now") is not None:
        raw = body["now"]
        when = _number(raw)
        if when is None and isinstance(raw, str):
            try:
                when = parse_time(raw)
            except ValueError as exc:
                raise _bad(f"now: {exc}") from None
        if when is None or not 0 <= when < 253402300800:  # before year 10000
            raise _bad("now must be an ISO 8601 time (e.g. 2026-01-01T00:00:00Z) or unix seconds")
    advance = None
    if body.get("advance_seconds") is not None:
        advance = _number(body["advance_seconds"])
        if advance is None or not 0 <= advance <= 100 * 365 * 86400:
            raise _bad("advance_seconds must be a number of seconds, 0 or more")
    clock = _state(request).clock
    if reset:
        clock.reset()
    if frozen is True:
        clock.freeze()
    elif frozen is False:
        clock.resume()
    if when is not None:
        clock.set(when)
    if advance is not None:
        clock.advance(advance)
    return web.json_response(clock.to_json())


def setup(app: web.Application, emulator: VaultHost) -> None:
    """Register the admin routes; ``emulator`` (server.py's ``Emulator``) adds vaults."""
    app[EMULATOR_KEY] = emulator
    r = app.router
    r.add_get(PREFIX, info)
    r.add_get(f"{PREFIX}/vaults", list_vaults)
    r.add_post(f"{PREFIX}/vaults", create_vault)
    r.add_get(f"{PREFIX}/vaults/{{name}}", get_vault)
    r.add_patch(f"{PREFIX}/vaults/{{name}}", update_vault)
    r.add_get(f"{PREFIX}/principals", principals)
    r.add_get(f"{PREFIX}/permissions", list_permissions)
    r.add_delete(f"{PREFIX}/permissions", clear_permissions)
    rule = f"{PREFIX}/permissions/{{vault}}/{{principal}}"
    r.add_put(rule, put_permissions)
    r.add_get(rule, get_permissions)
    r.add_delete(rule, delete_permissions)
    r.add_get(f"{PREFIX}/requests", list_requests)
    r.add_get(f"{PREFIX}/faults", list_faults)
    r.add_post(f"{PREFIX}/faults", add_fault)
    r.add_delete(f"{PREFIX}/faults", clear_faults)
    r.add_get(f"{PREFIX}/faults/{{id}}", get_fault)
    r.add_delete(f"{PREFIX}/faults/{{id}}", delete_fault)
    r.add_post(f"{PREFIX}/reset", reset)
    r.add_get(f"{PREFIX}/clock", get_clock)
    r.add_post(f"{PREFIX}/clock", set_clock)
