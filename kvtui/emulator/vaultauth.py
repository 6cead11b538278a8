"""The vault listener's gate: the 401 challenge, token validation, then injected faults
and permissions (``vault_auth_middleware``), before any data-plane route runs; and the
request log (``request_log_middleware``, around everything else)."""

from __future__ import annotations

from aiohttp import web

from kvtui.emulator.common import CLAIMS_KEY, VAULT_KEY, Handler, error_response, operation_of
from kvtui.emulator.directory import VAULT_RESOURCE, TokenError, cae_claims_challenge
from kvtui.emulator.state import STATE_KEY, EmulatorState
from kvtui.emulator.store import Vault


def challenge_header(
    state: EmulatorState, vault: Vault, error: str | None = None, claims: str | None = None
) -> str:
    header = (
        f'Bearer authorization="{state.directory.issuer_host}/{vault.tenant_id}", '
        f'resource="{VAULT_RESOURCE}"'
    )
    if error:
        header += f', error="{error}"'
    if claims:
        header += f', claims="{claims}"'
    return header


def unauthorized(
    state: EmulatorState,
    vault: Vault,
    message: str,
    error: str | None = None,
    claims: str | None = None,
) -> web.Response:
    return error_response(
        401,
        "Unauthorized",
        message,
        headers={"WWW-Authenticate": challenge_header(state, vault, error, claims)},
    )


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Each request in the emulator's log (requestlog.py), with what it was answered."""
    status = 0
    try:
        response = await handler(request)
        transport = request.transport
        # A dropped connection (faults.drop_connection) was answered nothing.
        status = response.status if transport and not transport.is_closing() else 0
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        op = operation_of(request.match_info.handler)
        request.app[STATE_KEY].requests.add(
            request.app[VAULT_KEY].name,
            request.method,
            request.path,
            "/".join(op) if op else None,
            status,
        )


@web.middleware
async def vault_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The vault's 401 challenge, token validation, then faults and permissions."""
    state = request.app[STATE_KEY]
    vault = request.app[VAULT_KEY]
    await state.faults.delay(request)
    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("bearer "):
        return unauthorized(
            state, vault, "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token."
        )
    try:
        claims = state.directory.validate(auth[7:].strip(), (VAULT_RESOURCE,))
    except TokenError as exc:
        # A revoked token of a CAE-capable client (xms_cc=cp1) gets a claims challenge.
        cae = cae_claims_challenge(exc)
        error = "insufficient_claims" if cae else "invalid_token"
        return unauthorized(state, vault, str(exc), error, cae)
    if claims.get("tid") != vault.tenant_id:
        return unauthorized(
            state,
            vault,
            f"AKV10032: Invalid issuer. Expected one of "
            f"https://sts.windows.net/{vault.tenant_id}/, found {claims.get('iss')}.",
        )
    request[CLAIMS_KEY] = claims
    blocked = await state.faults.check(request, vault, operation_of(handler), claims)
    if blocked is not None:
        return blocked
    return await handler(request)
