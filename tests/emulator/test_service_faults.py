"""Faults injected into the ARM slice and the identity platform (``"service": "arm"`` or
``"identity"``): their answers keep each service's error shape, with the fault's
``code`` and ``message``, as real clients (requests, msal) see them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kvtui.emulator import EmulatorInfo
from tests.emulator.admin_support import Admin
from tests.emulator.test_identity import public_app
from tests.support import ARM_SCOPE, VAULT_SCOPE, UserMsalCredential, requests_session

API = {"api-version": "2022-07-01"}


def arm_get(info: EmulatorInfo, path: str) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON) of an ARM GET as the signed-in demo user."""
    cred = UserMsalCredential(info)
    try:
        result = cred.sign_in([ARM_SCOPE])
        token = result["access_token"]
        with requests_session(info.ca_bundle) as http:
            resp = http.get(
                f"{info.arm_url}{path.lstrip('/')}",
                params=API,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
        return resp.status_code, dict(resp.headers), resp.json()
    finally:
        cred.http.close()


async def test_arm_status_fault_has_arms_error_shape(info: EmulatorInfo, admin: Admin) -> None:
    fault = {
        "type": "status",
        "service": "arm",
        "status": 500,
        "path": "/providers/Microsoft.KeyVault/vaults$",
        "count": 1,
        "message": "vaults are down",
    }
    _, created = await admin.call("POST", "/faults", fault, expect=201)
    assert created["service"] == "arm"

    status, _, body = await asyncio.to_thread(arm_get, info, "/subscriptions")
    assert status == 200  # another path: untouched, the fault is not spent
    sub = body["value"][0]["subscriptionId"]
    path = f"/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults"
    status, _, body = await asyncio.to_thread(arm_get, info, path)
    assert (status, body) == (
        500,
        {"error": {"code": "InternalServerError", "message": "vaults are down"}},
    )
    status, _, body = await asyncio.to_thread(arm_get, info, path)
    assert status == 200  # count 1: spent


async def test_arm_throttle_fault(info: EmulatorInfo, admin: Admin) -> None:
    fault = {"type": "throttle", "service": "arm", "retry_after": 7, "count": 1}
    await admin.call("POST", "/faults", fault, expect=201)
    status, headers, body = await asyncio.to_thread(arm_get, info, "/subscriptions")
    assert status == 429
    assert headers["Retry-After"] == "7"
    assert body["error"]["code"] == "TooManyRequests"


async def test_vault_faults_leave_arm_and_identity_alone(info: EmulatorInfo, admin: Admin) -> None:
    await admin.call("POST", "/faults", {"type": "status", "status": 500}, expect=201)
    status, _, _ = await asyncio.to_thread(arm_get, info, "/subscriptions")
    assert status == 200


@pytest.mark.parametrize(
    ("fault", "wording"),
    [
        ({"type": "firewall", "service": "arm"}, "vaults only"),
        ({"type": "status", "service": "arm", "operation": "secrets/get"}, "operation apply"),
        ({"type": "status", "service": "identity", "operation": "secrets"}, "operation apply"),
        ({"type": "status", "service": "graph"}, "service must be one of"),
        ({"type": "status", "service": "arm", "status": 400}, "500 to 599"),
        ({"type": "status", "status": 400}, "500 to 599"),
    ],
)
async def test_bad_service_faults_are_refused(
    admin: Admin, fault: dict[str, Any], wording: str
) -> None:
    _, body = await admin.call("POST", "/faults", fault, expect=400)
    assert wording in body["error"]["message"]


async def test_identity_fault_on_the_device_code_request(info: EmulatorInfo, admin: Admin) -> None:
    """msal's initiate_device_flow hands the AAD error back: the fault's message is the
    error_description (Trace ID and the rest after it)."""
    fault = {
        "type": "status",
        "service": "identity",
        "status": 400,
        "path": "/oauth2/v2.0/devicecode$",
        "code": "invalid_client",
        "message": "AADSTS7000000: no codes today",
        "count": 1,
    }
    await admin.call("POST", "/faults", fault, expect=201)
    flow = await asyncio.to_thread(
        lambda: public_app(info).initiate_device_flow(scopes=[VAULT_SCOPE])
    )
    assert "user_code" not in flow
    assert flow["error"] == "invalid_client"
    assert flow["error_description"].startswith("AADSTS7000000: no codes today Trace ID: ")


async def test_identity_fault_while_polling_for_the_token(info: EmulatorInfo, admin: Admin) -> None:
    """An AAD error (400) on the token endpoint ends msal's device-code polling with that
    error. (A 5xx makes msal raise ``MsalServiceError("HTTP Error: 500")`` instead, body
    unread.)"""
    app = public_app(info)
    flow = await asyncio.to_thread(app.initiate_device_flow, scopes=[VAULT_SCOPE])
    assert "user_code" in flow, flow
    fault = {
        "type": "status",
        "service": "identity",
        "status": 400,
        "path": "/token$",
        "code": "invalid_grant",
        "message": "AADSTS50173: the grant is no longer valid",
    }
    await admin.call("POST", "/faults", fault, expect=201)
    result = await asyncio.to_thread(app.acquire_token_by_device_flow, flow)
    assert result["error"] == "invalid_grant"
    assert result["error_description"].startswith(
        "AADSTS50173: the grant is no longer valid Trace ID: "
    )
    assert result["error_codes"] == [50173]
