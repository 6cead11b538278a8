"""Typed vault errors with messages a person can act on, from the SDK's exceptions."""

from __future__ import annotations

import asyncio
import math
import re
import socket
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    # aiohttp, azure-core and msal are imported where an exception is classified: the
    # error types themselves are needed by the screens before those load (first frame).
    from azure.core.exceptions import HttpResponseError

    from kvtui.core.auth import SignInRequired
    from kvtui.core.clouds import Cloud


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


class TrustFailure(VaultError):
    """The server's TLS certificate is not trusted: retrying cannot help, --ca-bundle can."""


class UnknownVault(VaultError):
    """The vault's host name does not exist in DNS (NXDOMAIN): a wrong name or cloud."""


class ServiceError(VaultError):
    retryable = True


class AuthenticationFailed(VaultError):
    """The token was refused or could not be had; sign in again."""


class SessionExpired(AuthenticationFailed):
    """No token could be had silently (the credential raised
    :class:`~kvtui.core.auth.SignInRequired`): the person has to sign in again, for
    ``tenant`` and ``scopes`` (with ``claims``, a Continuous Access Evaluation
    challenge). :class:`kvtui.core.session.VaultSession` signs in again and retries.

    ``after_sign_in``: the account signed in with a device code a moment ago and still
    has no token; another code would fail the same way, so nobody should ask for one
    by itself (``reason`` says why there was no token)."""

    def __init__(
        self,
        message: str,
        *,
        tenant: str,
        scopes: tuple[str, ...],
        claims: str | None = None,
        after_sign_in: bool = False,
        reason: str = "",
    ) -> None:
        super().__init__(message, status=401, code="SignInRequired")
        self.tenant = tenant
        self.scopes = scopes
        self.claims = claims
        self.after_sign_in = after_sign_in
        self.reason = reason

    @classmethod
    def from_required(cls, required: SignInRequired, prefix: str = "") -> SessionExpired:
        return cls(
            f"{prefix}{required.message}",
            tenant=required.tenant,
            scopes=required.scopes,
            claims=required.claims,
            after_sign_in=required.after_sign_in,
            reason=required.reason or "",
        )


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


# -- errors before any answer: TLS trust, DNS, refused, timeout, reset ------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it wraps: azure-core's ``inner_exception``, ``__cause__``,
    ``__context__``, aiohttp's ``os_error`` (each once)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attr in (
            "inner_exception",
            "os_error",
            "certificate_error",
            "__cause__",
            "__context__",
        ):
            try:
                nxt = getattr(current, attr, None)
            except Exception:  # a property that cannot answer
                nxt = None
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _host_port(chain: list[BaseException], url: str | None) -> tuple[str, int | None]:
    import aiohttp

    for e in chain:
        if isinstance(e, aiohttp.ClientConnectorError):
            return e.host, e.port
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port or (443 if parts.hostname else None)


def _cloud_of(host: str, cloud: Cloud | None) -> tuple[str, Cloud] | None:
    """(vault name, cloud) when ``host`` is ``name`` + a cloud's vault DNS suffix."""
    from kvtui.core.clouds import CLOUDS

    candidates = [cloud] if cloud is not None else []
    candidates += [c for c in CLOUDS.values() if c is not cloud]
    for c in candidates:
        if host.lower().endswith(c.vault_suffix) and len(host) > len(c.vault_suffix):
            return host[: -len(c.vault_suffix)], c
    return None


#: getaddrinfo's "this name does not exist" answers (NXDOMAIN, no address).
_NO_SUCH_NAME = {
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)
}


def describe_transport_error(
    exc: BaseException,
    *,
    prefix: str = "",
    url: str | None = None,
    service: str = "the vault",
    cloud: Cloud | None = None,
) -> VaultError:
    """A message per cause for a request that got no answer: TLS trust (name
    --ca-bundle), a name that does not exist (``no vault named X in <cloud>``), DNS not
    answering, connection refused, timeout, reset; else the network in general.
    ``url`` is the address asked (for the host when the error does not say it)."""
    import aiohttp

    chain = list(_chain(exc))
    host, port = _host_port(chain, url)
    where = f"{host}:{port}" if port and port != 443 else host
    text = " ".join(str(e) for e in chain)
    if "non-TLS protected" in text:
        return InvalidInput(f"{prefix}{service}'s URL must start with https:// (TLS).")
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or any(
        isinstance(e, aiohttp.ClientConnectorCertificateError) for e in chain
    ):
        reason = next(
            (str(m) for e in chain if (m := getattr(e, "verify_message", None))),
            "certificate verify failed",
        )
        return TrustFailure(
            f"{prefix}TLS trust failure talking to {service} at {where}: its certificate is "
            f"not trusted ({reason}). If it is signed by your organisation's CA (or the kvtui "
            "emulator's), pass that CA with --ca-bundle PATH (or KVTUI_CA_BUNDLE)."
        )
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        return NetworkError(
            f"{prefix}the TLS handshake with {service} at {where} failed "
            f"({tls.reason or tls}). Check the address (an https port?), a proxy or "
            "firewall, then retry."
        )
    if any(isinstance(e, aiohttp.ClientProxyConnectionError) for e in chain):
        return NetworkError(
            f"{prefix}the proxy could not be reached on the way to {service} ({where}). "
            "Check HTTPS_PROXY / NO_PROXY and the network, then retry."
        )
    dns = next((e for e in chain if isinstance(e, socket.gaierror)), None)
    if dns is not None or any(isinstance(e, aiohttp.ClientConnectorDNSError) for e in chain):
        if dns is not None and dns.errno in _NO_SUCH_NAME:
            named = _cloud_of(host, cloud) if service == "the vault" else None
            if named is not None:
                name, in_cloud = named
                return UnknownVault(
                    f"{prefix}no vault named {name} in {in_cloud.title or in_cloud.name} "
                    f"({host} does not resolve). Check the vault name and --cloud."
                )
            return UnknownVault(
                f"{prefix}{service}'s host {host} does not resolve (no such name in DNS). "
                "Check the address."
            )
        reason = (dns.strerror if dns is not None else None) or "no answer"
        return NetworkError(
            f"{prefix}the name {host} could not be looked up ({reason}). Check the network "
            "or VPN (DNS), then retry."
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return NetworkError(
            f"{prefix}{service} at {where} refused the connection (nothing listens on that "
            "port, or a firewall rejects it). Check the address, the network, VPN or "
            "firewall, then retry."
        )
    if any(isinstance(e, TimeoutError | asyncio.TimeoutError) for e in chain) or (
        "timeout" in type(exc).__name__.lower()
    ):
        return NetworkError(
            f"{prefix}{service} at {where} did not answer in time. Check the network, VPN, "
            "proxy or firewall, then retry."
        )
    if any(isinstance(e, ConnectionResetError | aiohttp.ServerDisconnectedError) for e in chain):
        return NetworkError(
            f"{prefix}the connection to {service} at {where} was cut (reset or closed). "
            "Check the network, VPN, proxy or firewall, then retry."
        )
    detail = getattr(exc, "message", None) or str(exc)
    return NetworkError(
        f"{prefix}{service} could not be reached ({detail}). Check the network or VPN, then retry."
    )


def retrying_cannot_help(exc: BaseException) -> bool:
    """An error without an answer that trying again cannot cure: an untrusted
    certificate, a name DNS says does not exist, plain http."""
    return isinstance(describe_transport_error(exc), TrustFailure | UnknownVault | InvalidInput)


def classify(
    exc: BaseException, *, what: str = "", url: str | None = None, cloud: Cloud | None = None
) -> VaultError:
    """The VaultError for an exception raised by an azure-keyvault client. ``url`` (the
    vault's) and ``cloud`` word the errors that come before any answer."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from kvtui.core.auth import SignInRequired
    from kvtui.core.throttle import retry_after_seconds

    prefix = f"{what}: " if what else ""
    if isinstance(exc, VaultError):
        return exc
    required = next((e for e in _chain(exc) if isinstance(e, SignInRequired)), None)
    if required is not None:
        return SessionExpired.from_required(required, prefix)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return describe_transport_error(exc, prefix=prefix, url=url, cloud=cloud)
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
