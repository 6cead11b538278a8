"""The emulator's errors have the shape of the real service's (tests/core/real_errors.py,
each quoted from a cited public source): the same status, code and innererror code, and
a message matching the real one with its identifiers abstracted.

Real cases the emulator does not produce by itself (the network security perimeter and
public-network-access 403s) are served verbatim by a ``response`` fault instead.
"""

from __future__ import annotations

import re
from typing import Any

import msal
import pytest
from azure.core.exceptions import HttpResponseError

from kvtui.emulator import EmulatorInfo
from tests.core.real_errors import AAD_ERRORS, VAULT_ERRORS, RealAadError, RealVaultError
from tests.emulator.admin_support import Admin
from tests.support import VAULT_SCOPE, Clients, identity_admin, requests_session

REAL = {c.name: c for c in VAULT_ERRORS}
REAL_AAD = {c.name: c for c in AAD_ERRORS}


async def _error(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        await call
    return caught.value


def assert_same_shape(err: HttpResponseError, real: RealVaultError) -> None:
    assert err.status_code == real.status, real.name
    body = err.response.json() if err.response is not None else {}
    error = body["error"]
    assert error["code"] == real.code, real.name
    inner = (error.get("innererror") or {}).get("code")
    assert inner == real.inner, real.name
    assert re.fullmatch(real.pattern, error["message"], re.DOTALL), (real.name, error["message"])


async def test_access_policy_denials(kv: Clients, admin: Admin) -> None:
    await kv.secrets.set_secret("db", "v")
    vault = admin.vault_name(kv.vault_url)
    await admin.call("PUT", f"/permissions/{vault}/*", {"secrets": ["list"]}, expect=200)
    assert_same_shape(await _error(kv.secrets.get_secret("db")), REAL["access_policy_get"])
    await admin.call("PUT", f"/permissions/{vault}/*", {"secrets": ["get"]}, expect=200)
    listing = kv.secrets.list_properties_of_secrets()
    err = await _error(listing.__anext__())
    assert_same_shape(err, REAL["access_policy_list"])


async def test_rbac_denial(kv: Clients, admin: Admin) -> None:
    await kv.secrets.set_secret("db", "v")
    vault = admin.vault_name(kv.vault_url)
    await admin.call("PATCH", f"/vaults/{vault}", {"rbac": True}, expect=200)
    await admin.call("PUT", f"/permissions/{vault}/*", {"secrets": ["list"]}, expect=200)
    err = await _error(kv.secrets.get_secret("db"))
    assert_same_shape(err, REAL["rbac_get_secret"])
    assert_same_shape(err, REAL["rbac_get_secret_terraform"])


async def test_firewall_and_throttle_faults(kv: Clients, admin: Admin) -> None:
    vault = admin.vault_name(kv.vault_url)
    await admin.call("POST", "/faults", {"type": "firewall", "vault": vault, "count": 1})
    assert_same_shape(await _error(kv.secrets.get_secret("x")), REAL["firewall_not_trusted"])
    await admin.call("POST", "/faults", {"type": "throttle", "vault": vault, "count": 1})
    err = await _error(kv.secrets.get_secret("x"))
    assert_same_shape(err, REAL["throttled"])
    assert err.response is not None and err.response.headers["Retry-After"] == "1"


async def test_deleted_but_recoverable_and_not_found(kv: Clients) -> None:
    await kv.secrets.set_secret("my-secret", "v")
    await kv.secrets.delete_secret("my-secret")
    err = await _error(kv.secrets.set_secret("my-secret", "again"))
    assert_same_shape(err, REAL["deleted_but_recoverable"])
    assert_same_shape(await _error(kv.secrets.get_secret("never")), REAL["secret_not_found"])
    err = await _error(kv.secrets.get_secret("never", "0" * 32))
    assert_same_shape(err, REAL["secret_not_found"])
    err = await _error(kv.secrets.get_deleted_secret("never"))
    assert_same_shape(err, REAL["deleted_secret_not_found"])
    err = await _error(kv.secrets.recover_deleted_secret("never"))
    assert_same_shape(err, REAL["deleted_secret_not_found"])


async def test_deleted_but_recoverable_key(kv: Clients) -> None:
    await kv.keys.create_rsa_key("my-key")
    await kv.keys.delete_key("my-key")
    err = await _error(kv.keys.create_rsa_key("my-key"))
    assert_same_shape(err, REAL["deleted_but_recoverable_key"])


# -- Microsoft Entra ID ---------------------------------------------------------------


def assert_same_aad_shape(result: dict[str, Any], real: RealAadError) -> None:
    assert result["error"] == real.result["error"], (real.name, result)
    assert result["error_codes"] == real.result["error_codes"], real.name
    first = result["error_description"].split("\r\n")[0].split(" Trace ID")[0]
    assert re.fullmatch(real.pattern, first), (real.name, first)


def test_unknown_tenant_discovery(info: EmulatorInfo) -> None:
    base = info.authority.rsplit("/", 1)[0]
    with requests_session(info.ca_bundle) as http:
        resp = http.get(f"{base}/no-such-tenant/v2.0/.well-known/openid-configuration")
    assert resp.status_code == 400
    assert_same_aad_shape(resp.json(), REAL_AAD["tenant_not_found"])


def _app(info: EmulatorInfo, client_id: str) -> Any:
    return msal.PublicClientApplication(
        client_id,
        authority=info.authority,
        http_client=requests_session(info.ca_bundle),
        instance_discovery=False,
    )


def test_unknown_client_id(info: EmulatorInfo) -> None:
    flow = _app(info, "00000000-0000-0000-0000-00000000dead").initiate_device_flow(
        scopes=[VAULT_SCOPE]
    )
    assert "user_code" not in flow
    assert_same_aad_shape(flow, REAL_AAD["unknown_client_id"])


@pytest.fixture
def identity_settings(info: EmulatorInfo) -> Any:
    before = identity_admin(info, "GET")["settings"]
    yield
    keep = ("interval", "expires_in", "block_device_code", "approve")
    identity_admin(info, "PATCH", "/settings", {k: before[k] for k in keep})


def test_conditional_access_block(info: EmulatorInfo, identity_settings: Any) -> None:
    identity_admin(info, "PATCH", "/settings", {"block_device_code": True, "interval": 0})
    app = _app(info, info.client_id)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    identity_admin(info, "POST", f"/device-codes/{flow['user_code']}/approve")
    result = app.acquire_token_by_device_flow(flow)
    assert_same_aad_shape(result, REAL_AAD["conditional_access_blocked"])


def test_expired_device_code(info: EmulatorInfo, identity_settings: Any) -> None:
    identity_admin(info, "PATCH", "/settings", {"expires_in": 0, "interval": 0})
    app = _app(info, info.client_id)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert_same_aad_shape(result, REAL_AAD["device_code_expired"])
