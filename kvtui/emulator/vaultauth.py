"""The vault listener's gate: the 401 challenge, token validation, then injected faults
and permissions (``vault_auth_middleware``), before any data-plane route runs."""

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
