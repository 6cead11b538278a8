"""kvtui's error messages for answers the real service gave (tests/core/real_errors.py,
each quoted from a cited public source).

The emulator answers each body verbatim (a ``response`` fault), the official SDK turns it
into its exception, and kvtui's VaultService classifies it, as it does against Azure.
Microsoft Entra ID's errors reach kvtui as msal's dict, the endpoint's JSON body.
"""

from __future__ import annotations

import pytest

from kvtui.core.auth import describe_aad_error
from kvtui.core.errors import VaultError
from kvtui.core.vault import VaultService
from tests.core.real_errors import AAD_ERRORS, VAULT_ERRORS, RealAadError, RealVaultError
from tests.emulator.admin_support import Admin


@pytest.mark.parametrize("case", VAULT_ERRORS, ids=lambda c: c.name)
async def test_real_vault_error_gets_an_actionable_message(
    case: RealVaultError, service: VaultService, admin: Admin, vault_url: str
) -> None:
    fault = {
        "type": "response",
        "vault": admin.vault_name(vault_url),
        "operation": "secrets/get",
        "status": case.status,
        "body": case.body,
        "headers": case.headers,
    }
    await admin.call("POST", "/faults", fault, expect=201)
    with pytest.raises(VaultError) as caught:
        await service.get_secret_value("anything")
    err = caught.value
    text = str(err)
    assert type(err) is case.kind, text
    assert err.status == case.status
    for phrase in case.says:
        assert phrase.lower() in text.lower(), (phrase, text)
    assert "\r" not in text and "\n" not in text, text  # one line, however the service wraps
    assert text.startswith("Reading anything: ")


def test_real_bodies_match_their_own_patterns() -> None:
    """The patterns the emulator's wording is held to (test_real_wording.py) describe
    the real messages."""
    import re

    for case in VAULT_ERRORS:
        assert re.fullmatch(case.pattern, case.message, re.DOTALL), case.name
    for aad in AAD_ERRORS:
        first = aad.result["error_description"].split("\r\n")[0].split(" Trace ID")[0]
        assert re.fullmatch(aad.pattern, first), aad.name


@pytest.mark.parametrize("case", AAD_ERRORS, ids=lambda c: c.name)
def test_real_aad_error_gets_an_actionable_message(case: RealAadError) -> None:
    err = describe_aad_error(case.result, tenant="contoso-tenant", client_id="my-client-id")
    text = str(err)
    assert err.code == case.code, text
    for phrase in case.says:
        assert phrase.lower() in text.lower(), (phrase, text)
    assert "Trace ID" not in text and "\r" not in text and "\n" not in text
