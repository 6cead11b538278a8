"""Sign-in failures worded for the person: msal's error dicts, its discovery errors and
transport failures become an :class:`AuthError` saying what to check. No Textual, no
network: pure functions over what msal and requests give."""

from __future__ import annotations

import re
from typing import Any

#: AADSTS codes meaning a Conditional Access policy blocks the device-code flow.
CONDITIONAL_ACCESS_CODES = {53003, 50097, 530003, 50158, 530034, 50076}


class AuthError(Exception):
    """A sign-in failure with a message a person can act on."""

    def __init__(self, message: str, *, code: str = "", retry: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry


def describe_aad_error(result: dict[str, Any], *, tenant: str, client_id: str) -> AuthError:
    """An AuthError a person can act on, from msal's error dict."""
    error = str(result.get("error", ""))
    desc = str(result.get("error_description", "")).split("\r\n")[0].split(" Trace ID")[0]
    codes = {int(c) for c in result.get("error_codes", []) if str(c).isdigit()}
    if codes & CONDITIONAL_ACCESS_CODES:
        return AuthError(
            "Your organisation's Conditional Access policy blocks device-code sign-in "
            f"here ({desc}). Sign in from a managed or compliant device, ask your "
            "administrator for an exception for this tool, or use another sign-in method.",
            code="conditional_access",
            retry=False,
        )
    if error == "authorization_declined":
        return AuthError("The sign-in request was declined. Press r to start again.", code=error)
    if error in ("expired_token", "code_expired"):
        return AuthError(
            "The code expired before it was approved. Press r for a new code.", code="expired_token"
        )
    if 90002 in codes or 90072 in codes:
        return AuthError(
            f"Tenant {tenant!r} was not found, or this account is not in it "
            f"({desc}). Check --tenant.",
            code="tenant",
            retry=False,
        )
    if 700016 in codes:
        return AuthError(
            f"The client id {client_id} is not known in tenant {tenant!r} "
            f"({desc}). Check --client-id.",
            code="client_id",
            retry=False,
        )
    return AuthError(f"Sign-in failed: {desc or error or 'unknown error'}", code=error)


_AADSTS = re.compile(r"AADSTS\d+: [^\\\r\n]*?(?=\s*(?:Trace ID|\\r|\\n|\r|\n|\"|$))")


def describe_discovery_error(exc: BaseException, *, tenant: str, authority: str) -> AuthError:
    """An AuthError for msal's ValueError when the tenant's OpenID configuration cannot
    be had (an unknown tenant answers 400 AADSTS90002 ``invalid_tenant``). msal wraps the
    service's answer in a long text about authority formats; say what to check."""
    chain = " ".join(str(e) for e in (exc, exc.__context__, exc.__cause__) if e is not None)
    found = _AADSTS.search(chain)
    # The first sentence of the service's answer ("AADSTS90002: Tenant 'x' not found.").
    detail = found.group(0).split(". ")[0].rstrip(".") if found else "no OpenID configuration"
    if "90002" in chain or "invalid_tenant" in chain:
        lead = f"Tenant {tenant!r} was not found"
    else:
        lead = f"The identity endpoint {authority} did not accept tenant {tenant!r}"
    return AuthError(
        f"{lead} ({detail}). Check --tenant: a tenant id (GUID), a domain such as "
        "contoso.onmicrosoft.com, organizations or common.",
        code="tenant",
        retry=False,
    )


def describe_transport_error(exc: BaseException, authority: str) -> AuthError:
    text = str(exc)
    if (
        "CERTIFICATE_VERIFY_FAILED" in text
        or "SSLError" in type(exc).__name__
        or "certificate verify failed" in text
    ):
        return AuthError(
            f"TLS trust failure talking to {authority}: its certificate is not trusted. If it "
            "is signed by your organisation's CA (or the kvtui emulator's), pass that CA with "
            "--ca-bundle PATH (or KVTUI_CA_BUNDLE).",
            code="tls",
        )
    return AuthError(
        f"Cannot reach the identity endpoint {authority}: {text}. Check the "
        "network, a proxy (HTTPS_PROXY / NO_PROXY) or --authority.",
        code="network",
    )
