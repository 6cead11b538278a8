"""The emulated Microsoft identity platform, driven by real msal: device code sign-in,
silent sign-in from the cache and with refresh tokens, AAD's errors, guest tenants,
Conditional Access and CAE, and the verification page."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError

from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.emulator.settings import AZURE_CLI_CLIENT_ID
from tests.support import (
    VAULT_SCOPE,
    EmulatorClock,
    UserMsalCredential,
    approve_device_code,
    identity_admin,
    kv_clients,
    requests_session,
)


@pytest.fixture
def settings(info: EmulatorInfo) -> Iterator[dict[str, Any]]:
    """The identity settings, restored after the test whatever it changed."""
    before = identity_admin(info, "GET")["settings"]
    yield before
    identity_admin(info, "PATCH", "/settings", before)


def public_app(info: EmulatorInfo, client_id: str | None = None, tenant: str = "") -> Any:
    base = info.authority.rsplit("/", 1)[0]
    return msal.PublicClientApplication(
        client_id or info.client_id,
        authority=f"{base}/{tenant or 'organizations'}",
        http_client=requests_session(info.ca_bundle),
        instance_discovery=False,
    )


def token_requests(info: EmulatorInfo) -> int:
    return int(identity_admin(info, "GET")["token_requests"])


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def signed_in(info: EmulatorInfo, app: Any, scopes: list[str] | None = None) -> dict[str, Any]:
    flow = app.initiate_device_flow(scopes=scopes or [VAULT_SCOPE])
    assert "user_code" in flow, flow
    approve_device_code(info, flow["user_code"])
    result: dict[str, Any] = app.acquire_token_by_device_flow(flow)
    return result


# -- discovery and the device code request -------------------------------------------


@pytest.mark.parametrize("tenant", ["organizations", "home"])
def test_msal_accepts_the_authority(info: EmulatorInfo, tenant: str) -> None:
    app = public_app(info, tenant=info.tenant_id if tenant == "home" else tenant)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    assert re.fullmatch(r"[A-Z0-9]{9}", flow["user_code"])
    assert flow["verification_uri"] == info.admin_url.replace("/_emulator", "/devicelogin")
    assert flow["expires_in"] == 900
    assert flow["message"] == (
        f"To sign in, use a web browser to open the page {flow['verification_uri']} "
        f"and enter the code {flow['user_code']} to authenticate."
    )


def test_unknown_client_id_is_refused(info: EmulatorInfo) -> None:
    flow = public_app(info, client_id="11111111-2222-3333-4444-555555555555").initiate_device_flow(
        scopes=[VAULT_SCOPE]
    )
    assert "user_code" not in flow
    assert flow["error"] == "unauthorized_client"
    assert flow["error_codes"] == [700016]
    assert flow["error_description"].startswith("AADSTS700016:")


def test_unknown_tenant_is_refused(info: EmulatorInfo) -> None:
    with requests_session(info.ca_bundle) as http:
        base = info.authority.rsplit("/", 1)[0]
        resp = http.post(
            f"{base}/00000000-0000-0000-0000-000000000001/oauth2/v2.0/devicecode",
            data={"client_id": info.client_id, "scope": VAULT_SCOPE},
        )
    assert resp.status_code == 400
    assert resp.json()["error_codes"] == [90002]


def test_unknown_tenant_discovery_answers_as_entra_id(info: EmulatorInfo) -> None:
    """400 ``invalid_tenant`` AADSTS90002 from the OpenID configuration, worded as in
    Azure/azure-cli #22145 and james-gould/azure-keyvault-emulator #324; msal then
    raises its "Unable to get authority configuration" ValueError."""
    base = info.authority.rsplit("/", 1)[0]
    with requests_session(info.ca_bundle) as http:
        resp = http.get(f"{base}/no-such-tenant.example/v2.0/.well-known/openid-configuration")
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    # Worded as the full body quoted in tests/core/real_errors.py (Entra ID has also
    # answered with the sentences in another order; either is real).
    assert body["error_description"].startswith(
        "AADSTS90002: Tenant 'no-such-tenant.example' not found. This may happen if there "
        "are no active subscriptions for the tenant. Check to make sure you have the correct "
        "tenant ID. Check with your subscription administrator."
    )
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=90002"
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        public_app(info, tenant="no-such-tenant.example")


def test_a_second_user_with_the_same_upn_in_the_other_tenant(info: EmulatorInfo) -> None:
    upn = f"same-{time.time_ns()}@kvtui-demo.example"
    home = identity_admin(info, "POST", "/users", {"upn": upn})
    other = identity_admin(info, "POST", "/users", {"upn": upn, "home_tenant": "other"})
    assert home["upn"] == other["upn"] == upn
    assert home["oid"] != other["oid"]
    assert (home["home_tenant"], home["tenants"]) == (info.tenant_id, [info.tenant_id])
    assert other["tenants"] == [info.other_tenant_id]
    users = {u["oid"]: u for u in identity_admin(info, "GET")["users"]}
    assert users[other["oid"]]["home_tenant"] == info.other_tenant_id
    # Approved by the second one, a device code gives that user's tokens and account.
    app = public_app(info, tenant=info.other_tenant_id)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    path = f"/device-codes/{flow['user_code']}/approve"
    identity_admin(info, "POST", path, {"oid": other["oid"]})
    result = app.acquire_token_by_device_flow(flow)
    assert claims_of(result["access_token"])["oid"] == other["oid"]
    [account] = app.get_accounts()
    assert account["username"] == upn
    assert account["home_account_id"] == f"{other['oid']}.{info.other_tenant_id}"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"upn": "no-at-sign"},
        {"upn": "x@y.example", "home_tenant": "elsewhere"},
        {"upn": "x@y.example", "tenants": "home"},
        {"upn": "x@y.example", "tenants": ["nowhere"]},
        {"upn": "x@y.example", "name": 3},
    ],
)
def test_admin_rejects_bad_users(info: EmulatorInfo, body: dict[str, Any]) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        identity_admin(info, "POST", "/users", body)
    assert caught.value.response.status_code == 400


# -- device code sign-in -------------------------------------------------------------


def test_device_code_sign_in_waits_for_approval(info: EmulatorInfo, settings: Any) -> None:
    identity_admin(info, "PATCH", "/settings", {"interval": 1})
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    assert flow["interval"] == 1
    results: list[dict[str, Any]] = []
    poller = threading.Thread(target=lambda: results.append(app.acquire_token_by_device_flow(flow)))
    before = token_requests(info)
    poller.start()
    deadline = time.time() + 10
    while token_requests(info) == before and time.time() < deadline:
        time.sleep(0.05)  # the first poll answered authorization_pending
    assert poller.is_alive()
    approve_device_code(info, flow["user_code"])
    poller.join(10)
    result = results[0]
    assert result["token_type"] == "Bearer"
    assert result["scope"].split() == ["https://vault.azure.net/user_impersonation", VAULT_SCOPE]
    claims = claims_of(result["access_token"])
    assert claims["aud"] == "https://vault.azure.net"
    assert claims["tid"] == info.tenant_id
    assert result["id_token_claims"]["tid"] == info.tenant_id
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == ["demo.user@kvtui-demo.example"]
    assert accounts[0]["home_account_id"] == f"{claims['oid']}.{info.tenant_id}"


def test_pending_answer_is_aads_shape(info: EmulatorInfo) -> None:
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["error"] == "authorization_pending"
    assert result["error_codes"] == [70016]
    assert result["error_description"].startswith("AADSTS70016:")


def test_silent_sign_in_uses_the_cache(info: EmulatorInfo) -> None:
    app = public_app(info)
    first = signed_in(info, app)
    before = token_requests(info)
    again = app.acquire_token_silent([VAULT_SCOPE], app.get_accounts()[0])
    assert again["access_token"] == first["access_token"]
    assert again["token_source"] == "cache"
    assert token_requests(info) == before


def test_short_lived_token_is_refreshed_silently(info: EmulatorInfo, settings: Any) -> None:
    identity_admin(info, "PATCH", "/settings", {"token_lifetime": 120})
    app = public_app(info)
    first = signed_in(info, app)
    assert first["expires_in"] == 120
    before = token_requests(info)
    again = app.acquire_token_silent([VAULT_SCOPE], app.get_accounts()[0])
    assert again["token_source"] == "identity_provider"
    assert again["access_token"] != first["access_token"]
    assert token_requests(info) == before + 1
    # The same refresh token also gets a token for another resource (ARM).
    arm = app.acquire_token_silent(["https://management.azure.com/.default"], app.get_accounts()[0])
    assert claims_of(arm["access_token"])["aud"] == "https://management.azure.com/"


def test_azure_cli_client_id_is_accepted(info: EmulatorInfo) -> None:
    app = public_app(info, client_id=AZURE_CLI_CLIENT_ID)
    result = signed_in(info, app)
    assert claims_of(result["access_token"])["appid"] == AZURE_CLI_CLIENT_ID


def test_declined_code(info: EmulatorInfo) -> None:
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    approve_device_code(info, flow["user_code"], "decline")
    result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "authorization_declined"
    assert "access_token" not in result
    assert app.get_accounts() == []


@pytest.mark.filterwarnings("ignore:Attempted too soon")
def test_expired_code(info: EmulatorInfo, clock: EmulatorClock) -> None:
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    clock.advance(flow["expires_in"] - 5)
    still = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert still["error"] == "authorization_pending"
    clock.advance(6)
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["error"] == "expired_token"
    assert result["error_codes"] == [70020]


def test_unknown_device_code(info: EmulatorInfo) -> None:
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    flow["device_code"] = "not-a-code"
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["error"] == "bad_verification_code"
    assert result["error_codes"] == [70018]


def test_conditional_access_block(info: EmulatorInfo, settings: Any) -> None:
    identity_admin(info, "PATCH", "/settings", {"block_device_code": True})
    app = public_app(info)
    result = signed_in(info, app)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [53003]
    assert (
        "AADSTS53003: Access has been blocked by Conditional Access policies"
        in (result["error_description"])
    )


def test_revoked_refresh_token_ends_silent_sign_in(info: EmulatorInfo, settings: Any) -> None:
    identity_admin(info, "PATCH", "/settings", {"token_lifetime": 120})
    app = public_app(info)
    signed_in(info, app)
    assert identity_admin(info, "POST", "/refresh-tokens/revoke", {})["revoked"] >= 1
    account = app.get_accounts()[0]
    assert app.acquire_token_silent([VAULT_SCOPE], account) is None
    result = app.acquire_token_silent_with_error([VAULT_SCOPE], account)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [70000]


def test_admin_rejects_bad_settings(info: EmulatorInfo) -> None:
    with requests_session(info.ca_bundle) as http:
        http.headers.update(info.admin_headers())
        url = f"{info.admin_url}/identity/settings"
        assert http.patch(url, json={"approve": "sometimes"}).status_code == 400
        assert http.patch(url, json={"interval": "soon"}).status_code == 400
        assert http.post(f"{info.admin_url}/identity/device-codes/NOPE/approve").status_code == 404


# -- through the official SDK ---------------------------------------------------------


async def test_guest_tenant_vault_with_a_user_credential(
    emulator: EmulatorThread, info: EmulatorInfo
) -> None:
    vault = emulator.call(emulator.emulator.add_vault("guestvault", tenant=info.other_tenant_id))
    async with UserMsalCredential(info) as cred:
        result = await asyncio.to_thread(cred.sign_in)
        assert result["id_token_claims"]["tid"] == info.tenant_id
        async with kv_clients(info, vault.url, credential=cred) as kv:
            await kv.secrets.set_secret("partner-secret", "v1")
            assert (await kv.secrets.get_secret("partner-secret")).value == "v1"
        assert cred.calls[-1]["tenant_id"] == info.other_tenant_id
        token = cred.app(info.other_tenant_id).acquire_token_silent(
            [VAULT_SCOPE], cred.app(info.other_tenant_id).get_accounts()[0]
        )
        assert claims_of(token["access_token"])["tid"] == info.other_tenant_id


async def test_cae_revocation_gets_a_claims_challenge(info: EmulatorInfo, vault_url: str) -> None:
    async with UserMsalCredential(info) as cred:
        await asyncio.to_thread(cred.sign_in)
        async with kv_clients(info, vault_url, credential=cred) as kv:
            await kv.secrets.set_secret("s", "v")
            revoked = identity_admin(info, "POST", "/sessions/revoke", {"refresh_tokens": False})
            # The cached token is revoked: the vault answers with a claims challenge,
            # the SDK asks for a new token with those claims, msal refreshes.
            assert (await kv.secrets.get_secret("s")).value == "v"
            challenge = cred.calls[-1]["claims"]
            assert json.loads(challenge)["access_token"]["nbf"]["value"] == str(
                revoked["revoked_before"]
            )
            identity_admin(info, "POST", "/sessions/revoke", {})
            with pytest.raises(ClientAuthenticationError):
                await kv.secrets.get_secret("s")


async def test_revoked_token_without_cae_is_plain_invalid_token(
    info: EmulatorInfo, vault_url: str
) -> None:
    async with UserMsalCredential(info, client_capabilities=[]) as cred:
        await asyncio.to_thread(cred.sign_in)
        async with kv_clients(info, vault_url, credential=cred) as kv:
            await kv.secrets.set_secret("s", "v")
        token = (await cred.get_token(VAULT_SCOPE, tenant_id=info.tenant_id)).token
        assert "xms_cc" not in claims_of(token)
    identity_admin(info, "POST", "/sessions/revoke", {"refresh_tokens": False})
    with requests_session(info.ca_bundle) as http:
        resp = http.get(
            f"{vault_url}secrets/s?api-version=7.5", headers={"Authorization": f"Bearer {token}"}
        )
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert "claims=" not in resp.headers["WWW-Authenticate"]


# -- the verification page ------------------------------------------------------------


FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')


def form_token(http: Any, page_url: str) -> str:
    """The one-time token of a freshly served verification page, as a browser has it."""
    page = http.get(page_url)
    assert page.status_code == 200
    match = FORM_TOKEN_RE.search(page.text)
    assert match, page.text
    return match.group(1)


def submit(http: Any, page_url: str, code: str, action: str, **headers: str) -> Any:
    data = {"code": code, "action": action, "form_token": form_token(http, page_url)}
    return http.post(page_url, data=data, headers=headers)


def code_status(info: EmulatorInfo, user_code: str) -> str:
    codes = identity_admin(info, "GET")["device_codes"]
    return str(next(c["status"] for c in codes if c["user_code"] == user_code))


def test_device_page_approves(info: EmulatorInfo) -> None:
    page_url = info.admin_url.replace("/_emulator", "/devicelogin")
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    with requests_session(info.ca_bundle) as http:
        form = http.get(page_url)
        assert form.status_code == 200
        assert form.headers["Content-Type"].startswith("text/html")
        assert '<form method="post" action="/devicelogin">' in form.text
        assert 'name="code"' in form.text
        done = submit(http, page_url, flow["user_code"].lower(), "approve")
        assert done.status_code == 200
        assert "You may now close this window." in done.text
        again = submit(http, page_url, flow["user_code"], "approve")
        assert again.status_code == 400
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result


def test_device_page_declines(info: EmulatorInfo) -> None:
    page_url = info.admin_url.replace("/_emulator", "/devicelogin")
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    with requests_session(info.ca_bundle) as http:
        done = submit(http, page_url, flow["user_code"], "decline")
    assert "declined" in done.text
    assert app.acquire_token_by_device_flow(flow)["error"] == "authorization_declined"


def test_device_page_refuses_a_post_it_did_not_serve(info: EmulatorInfo) -> None:
    """A page on another site cannot approve a code in the user's name (CSRF): a post
    needs the one-time token of a page this listener served, and no foreign Origin."""
    page_url = info.admin_url.replace("/_emulator", "/devicelogin")
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    code = flow["user_code"]
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    with requests_session(info.ca_bundle) as http:
        no_token = http.post(page_url, data={"code": code, "action": "approve"}, headers=evil)
        guessed = http.post(page_url, data={"code": code, "action": "approve", "form_token": "x"})
        foreign = submit(http, page_url, code, "approve", Origin="https://evil.example")
        cross_site = submit(http, page_url, code, "approve", **{"Sec-Fetch-Site": "cross-site"})
        token = form_token(http, page_url)
        once = http.post(page_url, data={"code": "NOPE", "action": "approve", "form_token": token})
        twice = http.post(page_url, data={"code": code, "action": "approve", "form_token": token})
        for resp in (no_token, guessed, foreign, cross_site, twice):
            assert resp.status_code == 403
            assert "did not come from this page" in resp.text
        assert once.status_code == 400
        assert code_status(info, code) == "pending"
        origin = page_url.rsplit("/", 1)[0]
        same = submit(
            http, page_url, code, "approve", Origin=origin, **{"Sec-Fetch-Site": "same-origin"}
        )
        assert same.status_code == 200
    assert code_status(info, code) == "approved"
    app.acquire_token_by_device_flow(flow)


def test_device_page_escapes_the_code(info: EmulatorInfo) -> None:
    page_url = info.admin_url.replace("/_emulator", "/devicelogin")
    evil = '"><script>alert(1)</script>'
    with requests_session(info.ca_bundle) as http:
        resp = submit(http, page_url, evil, "approve")
        prefilled = http.get(page_url, params={"code": evil})
    assert resp.status_code == 400
    assert "wasn&#x27;t found" in resp.text
    for text in (resp.text, prefilled.text):
        assert "<script>" not in text
        assert "&lt;script&gt;" in text


@pytest.mark.filterwarnings("ignore:Attempted too soon")
def test_auto_approval_after_its_delay(
    info: EmulatorInfo, settings: Any, clock: EmulatorClock
) -> None:
    identity_admin(info, "PATCH", "/settings", {"approve": "auto", "approve_delay": 30})
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    early = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert early["error"] == "authorization_pending"
    clock.advance(25)
    later = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert later["error"] == "authorization_pending"
    clock.advance(5)
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert "access_token" in result, result
