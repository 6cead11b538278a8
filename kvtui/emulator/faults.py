"""Permissions and injected faults (403s, firewall, throttling, 5xx, latency, drops).

The data plane calls :meth:`Faults.delay` before anything else and :meth:`Faults.check`
once the bearer token is valid (so the SDK's 401 challenge handshake is never
disturbed). The admin endpoint (admin.py) edits the rules; everything runs on the
emulator's event loop, so no locking is needed.

Permissions are access-policy permissions per (vault, principal); the same rules drive
RBAC vaults, where a denial is worded as the RBAC check words it. With no rule for a
caller, everything is allowed.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kvtui.emulator.common import KvError, error_response
from kvtui.emulator.store import Vault

ANY = "*"

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "secrets": ("get", "list", "set", "delete", "recover", "backup", "restore", "purge"),
    "keys": (
        "get",
        "list",
        "update",
        "create",
        "import",
        "delete",
        "recover",
        "backup",
        "restore",
        "decrypt",
        "encrypt",
        "unwrapKey",
        "wrapKey",
        "verify",
        "sign",
        "purge",
        "rotate",
        "getrotationpolicy",
        "setrotationpolicy",
    ),
    "certificates": (
        "get",
        "list",
        "update",
        "create",
        "import",
        "delete",
        "recover",
        "backup",
        "restore",
        "managecontacts",
        "manageissuers",
        "getissuers",
        "listissuers",
        "setissuers",
        "deleteissuers",
        "purge",
    ),
}

FAULT_TYPES = ("firewall", "throttle", "status", "latency", "drop", "response")
#: Where a fault applies: the vaults' data plane (default), the ARM slice, or the identity
#: platform's OAuth endpoints (discovery, devicecode, token).
SERVICES = ("vault", "arm", "identity")

ACCESS_POLICY_HELP = "https://go.microsoft.com/fwlink/?linkid=2125287"

# RBAC data actions (Microsoft.KeyVault/vaults/...) for the access-policy permissions
# whose action is not simply "<kind>/<permission>/action".
_RBAC_ACTIONS: dict[tuple[str, str], str] = {
    ("secrets", "get"): "secrets/getSecret/action",
    ("secrets", "list"): "secrets/readMetadata/action",
    ("secrets", "set"): "secrets/setSecret/action",
    ("secrets", "delete"): "secrets/delete",
    ("keys", "get"): "keys/read",
    ("keys", "list"): "keys/read",
    ("keys", "delete"): "keys/delete",
    ("keys", "wrapKey"): "keys/wrap/action",
    ("keys", "unwrapKey"): "keys/unwrap/action",
    ("keys", "getrotationpolicy"): "keyrotationpolicies/read",
    ("keys", "setrotationpolicy"): "keyrotationpolicies/write",
    ("certificates", "get"): "certificates/read",
    ("certificates", "list"): "certificates/read",
    ("certificates", "delete"): "certificates/delete",
    ("certificates", "managecontacts"): "certificatecontacts/write",
    ("certificates", "getissuers"): "certificatecas/read",
    ("certificates", "listissuers"): "certificatecas/read",
    ("certificates", "setissuers"): "certificatecas/write",
    ("certificates", "manageissuers"): "certificatecas/write",
    ("certificates", "deleteissuers"): "certificatecas/delete",
}


def rbac_action(kind: str, permission: str, method: str = "GET") -> str:
    """The RBAC data action an operation needs, e.g.
    ``Microsoft.KeyVault/vaults/secrets/getSecret/action``."""
    if (kind, permission, method) == ("secrets", "set", "PATCH"):
        action = "secrets/update/action"  # updating properties is its own data action
    else:
        action = _RBAC_ACTIONS.get((kind, permission), f"{kind}/{permission}/action")
    return f"Microsoft.KeyVault/vaults/{action}"


def caller(claims: dict[str, Any]) -> str:
    """How the service names a caller in its 403 messages."""
    return (
        f"appid={claims.get('appid', '')};oid={claims.get('oid', '')};iss={claims.get('iss', '')}"
    )


def vault_label(vault: Vault) -> str:
    return f"{vault.name};location={vault.location}"


class RuleError(ValueError):
    """A permission or fault rule the admin endpoint rejects (400)."""


# -- permissions ------------------------------------------------------------------------------


def parse_permissions(body: dict[str, Any]) -> dict[str, frozenset[str]]:
    """``{"secrets": ["get", "list"], "keys": ["all"]}`` -> allowed permissions per kind.
    Kinds left out allow nothing; ``"all"`` stands for every permission of the kind."""
    unknown = set(body) - set(PERMISSIONS)
    if unknown:
        raise RuleError(f"unknown permission kinds: {', '.join(sorted(unknown))}")
    out: dict[str, frozenset[str]] = {}
    for kind, names in PERMISSIONS.items():
        given = body.get(kind) or []
        if not isinstance(given, list) or not all(isinstance(p, str) for p in given):
            raise RuleError(f"{kind} must be a list of permission names")
        by_lower = {n.lower(): n for n in names}
        allowed: set[str] = set()
        for p in given:
            if p.lower() == "all":
                allowed.update(names)
            elif p.lower() in by_lower:
                allowed.add(by_lower[p.lower()])
            else:
                raise RuleError(f"{p!r} is not a {kind} permission ({', '.join(names)})")
        out[kind] = frozenset(allowed)
    return out


@dataclass
class PermissionRule:
    vault: str
    principal: str
    allowed: dict[str, frozenset[str]]

    def to_json(self) -> dict[str, Any]:
        perms = {k: sorted(v, key=PERMISSIONS[k].index) for k, v in self.allowed.items()}
        return {"vault": self.vault, "principal": self.principal, **perms}


# -- faults -----------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected fault; see docs/emulator-admin.md for the JSON fields."""

    id: str
    type: str
    vault: str = ANY
    operation: str | None = None
    """``kind`` or ``kind/permission``, e.g. ``secrets/get``."""
    method: str | None = None
    path: str | None = None
    """A regular expression searched in the request path."""
    count: int | None = None
    """Fire for the next ``count`` matching requests only; None: until removed."""
    skip: int = 0
    """Let the first ``skip`` matching requests go by untouched (whether or not another
    fault answers them), then fire; ``count`` counts from there."""
    status: int = 503
    retry_after: int = 1
    latency_ms: int = 0
    code: str | None = None
    message: str | None = None
    body: dict[str, Any] | None = None
    """``response`` faults: the JSON body answered as given (e.g. a real service's)."""
    headers: dict[str, str] | None = None
    """``response`` faults: extra response headers (e.g. ``Retry-After``)."""
    service: str = "vault"
    removed: bool = field(default=False, repr=False)
    """Set when the admin endpoint removes the fault: the latency waits it holds end."""
    _path_re: re.Pattern[str] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "vault": self.vault}
        if self.service != "vault":
            out["service"] = self.service
        for name in ("operation", "method", "path", "count", "code", "message", "body", "headers"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.skip:
            out["skip"] = self.skip  # what is left of it, like count
        extra = {
            "status": "status",
            "response": "status",
            "throttle": "retry_after",
            "latency": "latency_ms",
        }
        if self.type in extra:
            out[extra[self.type]] = getattr(self, extra[self.type])
        return out

    def matches_request(self, request: web.Request, service: str) -> bool:
        """The service, method and path match (a vault's name and operation aside)."""
        if self.service != service:
            return False
        if self.method and self.method.upper() != request.method:
            return False
        return self._path_re is None or bool(self._path_re.search(request.path))

    def matches(self, request: web.Request, vault: Vault, op: tuple[str, str] | None) -> bool:
        if not self.matches_request(request, "vault"):
            return False
        if self.vault != ANY and self.vault.lower() != vault.name.lower():
            return False
        if self.operation:
            if op is None:
                return False
            kind, _, perm = self.operation.partition("/")
            if kind != op[0] or (perm not in ("", ANY) and perm.lower() != op[1].lower()):
                return False
        return True


def _int_field(body: dict[str, Any], name: str, default: int | None, lo: int, hi: int) -> Any:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RuleError(f"{name} must be an integer from {lo} to {hi}")
    return value


def _str_field(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise RuleError(f"{name} must be a string")
    return value


def parse_fault(fault_id: str, body: dict[str, Any]) -> Fault:
    known = {
        "type",
        "vault",
        "operation",
        "method",
        "path",
        "count",
        "skip",
        "status",
        "retry_after",
        "latency_ms",
        "code",
        "message",
        "body",
        "headers",
        "service",
    }
    unknown = set(body) - known
    if unknown:
        raise RuleError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    kind = body.get("type")
    if kind not in FAULT_TYPES:
        raise RuleError(f"type must be one of {', '.join(FAULT_TYPES)}")
    if kind != "response" and ("body" in body or "headers" in body):
        raise RuleError("body and headers are for response faults only")
    answer = body.get("body")
    if kind == "response" and not isinstance(answer, dict):
        raise RuleError("a response fault needs a body: the JSON object to answer with")
    headers = body.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "\n" not in k + v and "\r" not in k + v
        for k, v in headers.items()
    ):
        raise RuleError("headers must be an object of one-line strings")
    service = _str_field(body, "service") or "vault"
    if service not in SERVICES:
        raise RuleError(f"service must be one of {', '.join(SERVICES)}")
    if service != "vault":
        if kind == "firewall":
            raise RuleError("firewall faults apply to vaults only")
        given = [name for name in ("vault", "operation") if body.get(name) not in (None, ANY)]
        if given:
            raise RuleError(f"{' and '.join(given)} apply to vault faults only")
    # The identity platform answers most errors with 400 (OAuth's error responses).
    # A response fault replays any error answer, 4xx included.
    lowest = 400 if service == "identity" or kind == "response" else 500
    fault = Fault(
        id=fault_id,
        type=kind,
        vault=_str_field(body, "vault") or ANY,
        operation=_str_field(body, "operation"),
        method=_str_field(body, "method"),
        path=_str_field(body, "path"),
        count=_int_field(body, "count", None, 1, 10**9),
        skip=_int_field(body, "skip", 0, 0, 10**9),
        status=_int_field(body, "status", 503, lowest, 599),
        retry_after=_int_field(body, "retry_after", 1, 0, 86400),
        latency_ms=_int_field(body, "latency_ms", 0, 0, 600_000),
        code=_str_field(body, "code"),
        message=_str_field(body, "message"),
        body=answer if kind == "response" else None,
        headers=headers or None if kind == "response" else None,
        service=service,
    )
    if fault.operation:
        kind_, _, perm = fault.operation.partition("/")
        if kind_ not in PERMISSIONS or (
            perm not in ("", ANY) and perm.lower() not in {p.lower() for p in PERMISSIONS[kind_]}
        ):
            raise RuleError(
                f"operation must be kind[/permission], e.g. secrets/get, not {fault.operation!r}"
            )
    if fault.path is not None:
        try:
            fault._path_re = re.compile(fault.path)
        except re.error as exc:
            raise RuleError(f"path is not a valid regular expression: {exc}") from exc
    return fault


def _fault_response(
    fault: Fault, vault: Vault, request: web.Request, claims: dict[str, Any]
) -> web.StreamResponse:
    if fault.type == "firewall":
        peer = request.remote or "127.0.0.1"
        message = (
            "Client address is not authorized and caller is not a trusted service.\r\n"
            f"Client address: {peer}\r\nCaller: {caller(claims)}\r\nVault: {vault_label(vault)}"
        )
        return error_response(
            403, fault.code or "Forbidden", fault.message or message, "ForbiddenByFirewall"
        )
    if fault.type == "response":
        return web.json_response(fault.body, status=fault.status, headers=fault.headers)
    if fault.type == "throttle":
        # The service's wording (real 429s quoted in tests/core/real_errors.py).
        message = (
            "Request was not processed because too many requests were received. "
            "Reason: VaultRequestTypeLimitReached"
        )
        return error_response(
            429,
            fault.code or "Throttled",
            fault.message or message,
            headers={"Retry-After": str(fault.retry_after)},
        )
    phrase = (
        http.HTTPStatus(fault.status).phrase
        if fault.status in http.HTTPStatus._value2member_map_
        else "Error"
    )
    code = fault.code or phrase.replace(" ", "")
    message = (
        fault.message or f"The service is unable to process the request ({fault.status} {phrase})."
    )
    return error_response(fault.status, code, message)


class Faults:
    """The permission and fault rules of one emulator."""

    def __init__(self, latency_ms: int = 0) -> None:
        self.latency_ms = latency_ms
        self.permissions: dict[tuple[str, str], PermissionRule] = {}
        self.faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)

    # -- editing (admin endpoint) --

    def set_permissions(self, vault: str, principal: str, body: dict[str, Any]) -> PermissionRule:
        rule = PermissionRule(vault, principal, parse_permissions(body))
        self.permissions[(vault.lower(), principal.lower())] = rule
        return rule

    def remove_permissions(self, vault: str, principal: str) -> bool:
        return self.permissions.pop((vault.lower(), principal.lower()), None) is not None

    def add_fault(self, body: dict[str, Any]) -> Fault:
        fault = parse_fault(str(next(self._ids)), body)
        self.faults[fault.id] = fault
        return fault

    def remove_fault(self, fault_id: str) -> bool:
        """Remove a fault; the requests its latency holds are answered at once."""
        fault = self.faults.pop(fault_id, None)
        if fault is None:
            return False
        fault.removed = True
        return True

    def clear_faults(self) -> None:
        for fault_id in list(self.faults):
            self.remove_fault(fault_id)

    def reset(self) -> None:
        self.permissions.clear()
        self.clear_faults()

    # -- the data plane --

    async def delay(self, request: web.Request) -> None:
        """Wait the configured latency before a vault request is answered."""
        if self.latency_ms > 0:
            await wait_out(request, self.latency_ms / 1000)

    def allowed(self, vault: Vault, claims: dict[str, Any], kind: str, permission: str) -> bool:
        """Whether the most specific rule for (vault, caller) allows the operation."""
        ids = [str(claims.get("oid", "")).lower(), str(claims.get("appid", "")).lower(), ANY]
        for v in (vault.name.lower(), ANY):
            for principal in ids:
                rule = self.permissions.get((v, principal))
                if rule is not None:
                    return permission in rule.allowed.get(kind, frozenset())
        return True

    def _take(self, request: web.Request, vault: Vault, op: tuple[str, str] | None) -> list[Fault]:
        """The faults this request triggers (latency ones, then at most one other),
        spending one of each one's ``skip``, else of its ``count``."""
        return self._spend(lambda fault: fault.matches(request, vault, op))

    def _spend(self, matches: Callable[[Fault], bool]) -> list[Fault]:
        fired: list[Fault] = []
        for fault in list(self.faults.values()):
            if not matches(fault):
                continue
            if fault.skip > 0:
                fault.skip -= 1  # this request goes by
                continue
            if fault.type != "latency" and any(f.type != "latency" for f in fired):
                continue
            fired.append(fault)
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    del self.faults[fault.id]
        return fired

    async def fire(self, request: web.Request, service: str) -> Fault | None:
        """For the ARM slice and the identity platform, whose error bodies differ from a
        vault's: wait out the matching latency faults, then return the first other
        matching fault (spent) for the caller to answer with (``drop``:
        :func:`drop_connection`), or None to go on."""
        fired = self._spend(lambda fault: fault.matches_request(request, service))
        for fault in fired:
            if fault.type == "latency":
                await wait_out(request, fault.latency_ms / 1000, fault)
        return next((f for f in fired if f.type != "latency"), None)

    async def check(
        self,
        request: web.Request,
        vault: Vault,
        op: tuple[str, str] | None,
        claims: dict[str, Any],
    ) -> web.StreamResponse | None:
        """A response that replaces the real one (403, 429, 5xx...), or None to go on."""
        for fault in self._take(request, vault, op):
            if fault.type == "latency":
                await wait_out(request, fault.latency_ms / 1000, fault)
            elif fault.type == "drop":
                return drop_connection(request)
            else:
                return _fault_response(fault, vault, request, claims)
        if op is not None and not self.allowed(vault, claims, *op):
            return denial(request, vault, op, claims).response()
        return None


async def wait_out(request: web.Request, seconds: float, fault: Fault | None = None) -> None:
    """Sleep ``seconds``, or until the client has gone: a request given up under latency
    is not answered seconds later (nothing waits for it, an emulator stopping included).
    A ``fault``'s latency also ends once the fault is removed (a test holds a request
    with a long latency and lets it go when it has seen what it waits for)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        if request.transport is None or request.transport.is_closing():
            return
        if fault is not None and fault.removed:
            return
        await asyncio.sleep(min(left, 0.05))


def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering. aiohttp then fails to write the response
    returned here, treats it as a client disconnect and logs nothing above DEBUG."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)


def denial(
    request: web.Request, vault: Vault, op: tuple[str, str], claims: dict[str, Any]
) -> KvError:
    """The service's 403 for a missing permission, worded for the vault's mode."""
    kind, permission = op
    if not vault.rbac:
        message = (
            f"The user, group or application '{caller(claims)}' does not have {kind} "
            f"{permission} permission on key vault '{vault_label(vault)}'. "
            f"For help resolving this issue, please see {ACCESS_POLICY_HELP}"
        )
        return KvError(403, "Forbidden", message, "AccessDenied")
    resource = (
        f"/subscriptions/{vault.subscription_id}/resourcegroups/{vault.resource_group}"
        f"/providers/microsoft.keyvault/vaults/{vault.name}{request.path.rstrip('/')}"
    )
    message = (
        "Caller is not authorized to perform action on resource.\r\n"
        "If role assignments, deny assignments or role definitions were changed recently, "
        "please observe propagation time.\r\n"
        f"Caller: {caller(claims)}\r\n"
        f"Action: '{rbac_action(kind, permission, request.method)}'\r\n"
        f"Resource: '{resource.lower()}'\r\n"
        "Assignment: (not found)\r\n"
        "DenyAssignmentId: null\r\n"
        "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
        f"Vault: {vault_label(vault)}\r\n"
    )
    return KvError(403, "Forbidden", message, "ForbiddenByRbac")
