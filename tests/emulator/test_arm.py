"""The ARM slice: subscriptions and Key Vault resources, with tokens from real msal
(device code user, guest tenant, client credentials), over plain HTTPS."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import msal
import pytest
import requests

from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.support import (
    ARM_SCOPE,
    VAULT_SCOPE,
    UserMsalCredential,
    kv_clients,
    requests_session,
)

API = {"api-version": "2022-07-01"}
_names = itertools.count()


@pytest.fixture(scope="module")
def user(info: EmulatorInfo) -> Iterator[UserMsalCredential]:
    cred = UserMsalCredential(info)
    result = cred.sign_in([ARM_SCOPE])
    assert "access_token" in result, result
    yield cred
    cred.http.close()


def arm_token(cred: UserMsalCredential, tenant: str, scope: str = ARM_SCOPE) -> str:
    app = cred.app(tenant)
    result = app.acquire_token_silent([scope], app.get_accounts()[0])
    assert result and "access_token" in result, result
    return str(result["access_token"])


@pytest.fixture(scope="module")
def home_token(info: EmulatorInfo, user: UserMsalCredential) -> str:
    return arm_token(user, info.tenant_id)


@pytest.fixture(scope="module")
def guest_token(info: EmulatorInfo, user: UserMsalCredential) -> str:
    return arm_token(user, info.other_tenant_id)


@pytest.fixture
def http(info: EmulatorInfo) -> Iterator[requests.Session]:
    with requests_session(info.ca_bundle) as s:
        yield s


def get(
    http: requests.Session, info: EmulatorInfo, path: str, token: str | None, **params: str
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = path if path.startswith("https://") else f"{info.arm_url}{path.lstrip('/')}"
    return http.get(url, params={**API, **params}, headers=headers, timeout=10)


def subscriptions(http: requests.Session, info: EmulatorInfo, token: str) -> list[dict[str, Any]]:
    resp = get(http, info, "/subscriptions", token)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == {"type": "Total", "value": len(body["value"])}
    return list(body["value"])


def new_vault(emulator: EmulatorThread, tenant: str, rbac: bool = False) -> Any:
    name = f"arm{next(_names)}x{id(emulator) % 1000}"
    return emulator.call(emulator.emulator.add_vault(name, tenant=tenant, rbac=rbac))


def all_pages(
    http: requests.Session, info: EmulatorInfo, path: str, token: str, **params: str
) -> Any:
    resp = get(http, info, path, token, **params)
    pages = [resp.json()]
    while pages[-1].get("nextLink"):
        nxt = http.get(
            pages[-1]["nextLink"], headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert nxt.status_code == 200, nxt.text
        pages.append(nxt.json())
    return pages


def test_subscriptions_of_the_tokens_tenant(
    http: requests.Session, info: EmulatorInfo, home_token: str, guest_token: str
) -> None:
    home = subscriptions(http, info, home_token)
    assert len(home) == 2
    assert {s["tenantId"] for s in home} == {info.tenant_id}
    for s in home:
        assert s["id"] == f"/subscriptions/{s['subscriptionId']}"
        assert s["state"] == "Enabled"
        assert s["authorizationSource"] == "RoleBased"
    guest = subscriptions(http, info, guest_token)
    assert [s["tenantId"] for s in guest] == [info.other_tenant_id]
    assert guest[0]["displayName"] == "kvtui partner"


def test_client_credentials_token_works(http: requests.Session, info: EmulatorInfo) -> None:
    app = msal.ConfidentialClientApplication(
        info.confidential_client["client_id"],
        client_credential=info.confidential_client["client_secret"],
        authority=info.authority,
        http_client=requests_session(info.ca_bundle),
        instance_discovery=False,
    )
    token = app.acquire_token_for_client([ARM_SCOPE])["access_token"]
    assert len(subscriptions(http, info, token)) == 2


def test_unauthenticated_requests(
    http: requests.Session, info: EmulatorInfo, user: UserMsalCredential
) -> None:
    missing = get(http, info, "/subscriptions", None)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    vault_token = arm_token(user, info.tenant_id, VAULT_SCOPE)
    wrong = get(http, info, "/subscriptions", vault_token)
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "wrong audience" in wrong.json()["error"]["message"]
    garbage = get(http, info, "/subscriptions", "not.a.token")
    assert garbage.status_code == 401
    assert garbage.json() == {
        "error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}
    }


def test_api_version_is_required(
    http: requests.Session, info: EmulatorInfo, home_token: str
) -> None:
    resp = http.get(
        f"{info.arm_url}subscriptions", headers={"Authorization": f"Bearer {home_token}"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "MissingApiVersionParameter"


def test_vaults_of_a_subscription_page_by_page(
    emulator: EmulatorThread, http: requests.Session, info: EmulatorInfo, guest_token: str
) -> None:
    made = [new_vault(emulator, info.other_tenant_id, rbac=i == 0) for i in range(3)]
    made[1].purge_protection = True
    sub = made[0].subscription_id
    expected = {v.resource_id for v in emulator.state.vaults.values() if v.subscription_id == sub}
    pages = all_pages(
        http,
        info,
        f"/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults",
        guest_token,
        **{"$top": "2"},
    )
    assert len(pages) >= 2
    assert all(len(p["value"]) <= 2 for p in pages)
    got = [v for p in pages for v in p["value"]]
    assert {v["id"] for v in got} == expected
    assert len(got) == len(expected)
    first = next(v for v in got if v["name"] == made[0].name)
    assert first["type"] == "Microsoft.KeyVault/vaults"
    assert first["properties"]["vaultUri"] == made[0].url
    assert first["properties"]["tenantId"] == info.other_tenant_id
    assert first["properties"]["enableRbacAuthorization"] is True
    assert first["properties"]["sku"] == {"family": "A", "name": "standard"}
    assert "enablePurgeProtection" not in first["properties"]
    other = next(v for v in got if v["name"] == made[1].name)
    assert other["properties"]["enableRbacAuthorization"] is False
    assert other["properties"]["enablePurgeProtection"] is True


def test_generic_resources_filter(
    emulator: EmulatorThread, http: requests.Session, info: EmulatorInfo, guest_token: str
) -> None:
    vault = new_vault(emulator, info.other_tenant_id)
    path = f"/subscriptions/{vault.subscription_id}/resources"
    pages = all_pages(
        http, info, path, guest_token, **{"$filter": "resourceType eq 'Microsoft.KeyVault/vaults'"}
    )
    entry = next(v for p in pages for v in p["value"] if v["name"] == vault.name)
    assert entry == {
        "id": vault.resource_id,
        "name": vault.name,
        "type": "Microsoft.KeyVault/vaults",
        "location": vault.location,
        "tags": {},
    }
    none = get(
        http, info, path, guest_token, **{"$filter": "resourceType eq 'Microsoft.Web/sites'"}
    )
    assert none.json()["value"] == []
    bad = get(http, info, path, guest_token, **{"$filter": "name eq 'x' or 1"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidFilterInQueryString"

    # `az keyvault show --name X` without -g: the type and the name, joined by "and".
    both = f"resourceType eq 'Microsoft.KeyVault/vaults' and name eq '{vault.name.upper()}'"
    found = get(http, info, path, guest_token, **{"$filter": both})
    assert found.status_code == 200
    assert [v["id"] for v in found.json()["value"]] == [vault.resource_id]
    other = f"resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'no-such-{vault.name}'"
    assert get(http, info, path, guest_token, **{"$filter": other}).json()["value"] == []
    grouped = f"resourceGroup eq '{vault.resource_group}' AND name eq '{vault.name}'"
    assert len(get(http, info, path, guest_token, **{"$filter": grouped}).json()["value"]) == 1
    for wrong in ("name eq 'a' and name eq 'b'", "tagName eq 'env'", "name ne 'x'"):
        assert get(http, info, path, guest_token, **{"$filter": wrong}).status_code == 400


def test_no_managed_hsms_is_an_empty_list(
    emulator: EmulatorThread, http: requests.Session, info: EmulatorInfo, guest_token: str
) -> None:
    vault = new_vault(emulator, info.other_tenant_id)
    path = f"/subscriptions/{vault.subscription_id}/providers/Microsoft.KeyVault/managedHSMs"
    got = get(http, info, path, guest_token)
    assert got.status_code == 200 and got.json() == {"value": []}


def test_one_vault_and_not_found(
    emulator: EmulatorThread, http: requests.Session, info: EmulatorInfo, guest_token: str
) -> None:
    vault = new_vault(emulator, info.other_tenant_id)
    one = get(http, info, vault.resource_id, guest_token)
    assert one.status_code == 200
    assert one.json()["properties"]["vaultUri"] == vault.url
    missing = get(http, info, vault.resource_id + "nope", guest_token)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound"
    unknown = get(http, info, "/subscriptions/00000000-0000-0000-0000-000000000042", guest_token)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "SubscriptionNotFound"


def test_subscription_of_another_tenant_names_its_tenant(
    emulator: EmulatorThread, http: requests.Session, info: EmulatorInfo, home_token: str
) -> None:
    vault = new_vault(emulator, info.other_tenant_id)
    resp = get(http, info, vault.resource_id, home_token)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationTokenTenant"
    assert f'/{info.other_tenant_id}"' in resp.headers["WWW-Authenticate"]


def test_tenants_of_the_user(http: requests.Session, info: EmulatorInfo, home_token: str) -> None:
    resp = get(http, info, "/tenants", home_token)
    assert {t["tenantId"] for t in resp.json()["value"]} == {info.tenant_id, info.other_tenant_id}


async def test_discovered_vault_opens_with_the_sdk(
    emulator: EmulatorThread, info: EmulatorInfo, guest_token: str, user: UserMsalCredential
) -> None:
    vault = new_vault(emulator, info.other_tenant_id)
    with requests_session(info.ca_bundle) as http:
        found = get(http, info, vault.resource_id, guest_token).json()
    async with kv_clients(info, found["properties"]["vaultUri"], credential=user) as kv:
        await kv.secrets.set_secret("via-arm", "yes")
        assert (await kv.secrets.get_secret("via-arm")).value == "yes"
