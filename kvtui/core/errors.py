"""Typed vault errors with messages a person can act on, from the SDK's exceptions."""

from __future__ import annotations

import math
import re

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from kvtui.core.throttle import retry_after_seconds


class VaultError(Exception):
    """Base: ``str(err)`` is the message for a person; ``retryable`` if trying again
    can help without changing anything."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PermissionDenied(VaultError):
    """403 from an access policy or RBAC: the message names what is missing."""


class FirewallDenied(VaultError):
    """403 ForbiddenByFirewall: this network may not reach the vault."""


class Throttled(VaultError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None, **kw: object) -> None:
        super().__init__(message, status=429, code="Throttled")
        self.retry_after = retry_after


class NotFound(VaultError):
    pass


class Conflict(VaultError):
    pass


class InvalidInput(VaultError):
    pass


class NetworkError(VaultError):
    retryable = True


class ServiceError(VaultError):
    retryable = True


class AuthenticationFailed(VaultError):
    """The token was refused or could not be had; sign in again."""


def _one_line(text: str) -> str:
    """The service's multi-line message (RBAC and firewall 403s put ``\r\n`` between
    "Caller: ...", "Action: ..." lines) on one line: "a; b" where a line has no full stop."""
    out = ""
    for line in (part.strip() for part in text.splitlines()):
        if not line:
            continue
        if out:
            out += " " if out.endswith((".", ":", ";")) else "; "
        out += line
    return out


def _service_message(exc: HttpResponseError) -> str:
    if exc.error is not None and exc.error.message:
        return _one_line(str(exc.error.message))
    lines = str(exc.message or exc).splitlines()
    return lines[0] if lines else ""


def _inner_code(exc: HttpResponseError) -> str:
    err = exc.error
    inner = getattr(err, "innererror", None) if err is not None else None
    if isinstance(inner, dict):
        return str(inner.get("code", ""))
    return str(getattr(inner, "code", "") or "")


_ACCESS_POLICY_RE = re.compile(
    r"does not have (secrets|keys|certificates|storage) (\w+) permission"
)
_RBAC_ACTION_RE = re.compile(r"Action: '(?:Microsoft\.KeyVault/vaults/)?([^']+)'", re.IGNORECASE)
_DELETED_RE = re.compile(r"(Secret|Key|Certificate) \S+ is currently in a deleted", re.IGNORECASE)
_CLIENT_ADDRESS_RE = re.compile(r"Client address: ([^\s;]+)")
_DENY_ASSIGNMENT_RE = re.compile(r"DenyAssignmentId: (?!null\b)([^\s;]+)", re.IGNORECASE)

# Built-in roles that grant a data action (the least powerful that does), by action
# prefix: https://learn.microsoft.com/azure/key-vault/general/rbac-guide
_ROLES = (
    ("secrets/getSecret/", "Key Vault Secrets User"),
    ("secrets/readMetadata/", "Key Vault Reader"),
    ("secrets/", "Key Vault Secrets Officer"),
    ("keys/read", "Key Vault Reader"),
    ("keyrotationpolicies/read", "Key Vault Reader"),
    ("keys/", "Key Vault Crypto User"),
    ("keyrotationpolicies/", "Key Vault Crypto Officer"),
    ("certificates/read", "Key Vault Reader"),
    ("certificatecas/read", "Key Vault Reader"),
    ("certificatecontacts/read", "Key Vault Reader"),
    ("certificate", "Key Vault Certificates Officer"),
)


def _rbac_action(message: str) -> str | None:
    m = _RBAC_ACTION_RE.search(message)
    return m.group(1) if m else None


def _role_for(action: str) -> str | None:
    lower = action.lower()
    return next((role for prefix, role in _ROLES if lower.startswith(prefix.lower())), None)


def classify(exc: BaseException, *, what: str = "") -> VaultError:
    """The VaultError for an exception raised by an azure-keyvault client."""
    prefix = f"{what}: " if what else ""
    if isinstance(exc, VaultError):
        return exc
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return NetworkError(
            f"{prefix}the vault could not be reached ({exc.message}). "
            "Check the network or VPN, then retry."
        )
    if isinstance(exc, ClientAuthenticationError) and not isinstance(exc, HttpResponseError):
        return AuthenticationFailed(f"{prefix}{exc.message}")
    if not isinstance(exc, HttpResponseError):
        return VaultError(f"{prefix}{exc}")
    status = exc.status_code
    code = exc.error.code if exc.error is not None else None
    message = _service_message(exc)
    inner = _inner_code(exc)
    if status == 403 and inner == "ForbiddenByFirewall":
        address = _CLIENT_ADDRESS_RE.search(message)
        this = f"this address ({address.group(1)})" if address else "this address"
        return FirewallDenied(
            f"{prefix}the vault's firewall does not allow this network. Connect from an "
            f"allowed network (VPN, private endpoint) or ask for {this} to be added to the "
            f"vault's firewall. ({message})",
            status=status,
            code=inner,
        )
    if status == 403 and inner == "ForbiddenByConnection":
        return FirewallDenied(
            f"{prefix}the vault's public network access is disabled: connect through its "
            "private endpoint (from its virtual network, or a VPN into it), or ask for "
            f"public access from this network. ({message})",
            status=status,
            code=inner,
        )
    if status == 403 and inner == "ForbiddenByRbac":
        action = _rbac_action(message)
        role = _role_for(action) if action else None
        need = (
            f"a role that grants {action} (such as {role})"
            if action and role
            else (f"a role that grants {action}" if action else "a role that allows this")
        )
        deny = _DENY_ASSIGNMENT_RE.search(message)
        if deny:
            why = f"a deny assignment ({deny.group(1)}) blocks it; ask its owner, or "
        elif "Assignment: (not found)" in message:
            why = "no role assignment gives you this; "
        else:
            why = ""
        return PermissionDenied(
            f"{prefix}your Azure role assignments do not allow this (RBAC vault): "
            f"{why}ask for {need} on this vault. A role assigned in the last few minutes "
            f"may still be propagating: retry in a few minutes. ({message})",
            status=status,
            code=inner,
        )
    if status == 403 and inner == "AccessDenied":
        missing = _ACCESS_POLICY_RE.search(message)
        what_missing = (
            f"does not give you the {missing.group(1)} {missing.group(2)} permission: ask a "
            "vault administrator to add it"
            if missing
            else "does not allow this"
        )
        return PermissionDenied(
            f"{prefix}the vault's access policy {what_missing}. ({message})",
            status=status,
            code=inner,
        )
    if status == 403:
        return PermissionDenied(f"{prefix}{message}", status=status, code=code)
    if status == 429:
        retry_after = None
        if exc.response is not None:
            retry_after = retry_after_seconds(getattr(exc.response, "headers", {}) or {})
        # The service does not always send Retry-After (real 429s quoted in
        # tests/core/real_errors.py have none).
        wait = (
            f" Retry in {math.ceil(retry_after)} s."
            if retry_after
            else " Wait a few seconds, then retry."
        )
        return Throttled(
            f"{prefix}the vault is throttling requests (too many requests).{wait}",
            retry_after=retry_after,
        )
    if status == 401:
        return AuthenticationFailed(
            f"{prefix}the vault refused the sign-in token ({message}). Sign in again.",
            status=status,
            code=code,
        )
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return NotFound(f"{prefix}{message}", status=status, code=code)
    if status == 409 and inner == "ObjectIsDeletedButRecoverable":
        deleted = _DELETED_RE.match(message)
        noun = deleted.group(1).lower() if deleted else "secret"
        return Conflict(
            f"{prefix}{message} Recover it (az keyvault {noun} recover) or purge it "
            f"(az keyvault {noun} purge) first, or use another name.",
            status=status,
            code=inner,
        )
    if isinstance(exc, ResourceExistsError) or status == 409:
        return Conflict(f"{prefix}{message}", status=status, code=code)
    if status == 400:
        return InvalidInput(f"{prefix}{message}", status=status, code=code)
    if status is not None and status >= 500:
        return ServiceError(
            f"{prefix}the vault service failed ({status}: {message}). Retry in a moment.",
            status=status,
            code=code,
        )
    return VaultError(f"{prefix}{message}", status=status, code=code)
