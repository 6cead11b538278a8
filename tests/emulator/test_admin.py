"""The admin endpoint (/_emulator/...) over HTTPS, trusting only the emulator's CA."""

from __future__ import annotations

import itertools
import json
import os

import pytest
from azure.core.exceptions import HttpResponseError

from kvtui.emulator import EmulatorInfo
from tests.emulator.admin_support import Admin
from tests.support import Clients, ClientSecretMsalCredential, kv_clients

_names = (f"adm{os.getpid()}n{i}" for i in itertools.count())


async def test_info_is_the_json_line(admin: Admin, info: EmulatorInfo) -> None:
    _, data = await admin.call("GET", "", expect=200)
    assert data == json.loads(info.to_json())
    assert data["admin_url"] == info.admin_url


async def test_create_vault_serves_it_live(admin: Admin, info: EmulatorInfo) -> None:
    name = next(_names)
    _, vault = await admin.call("POST", "/vaults", {"name": name}, expect=201)
    assert vault["name"] == name and vault["rbac"] is False
    assert vault["tenant_id"] == info.tenant_id
    assert vault["url"] not in [u for n, u in info.vaults.items() if n != name]
    async with kv_clients(info, vault["url"]) as kv:
        await kv.secrets.set_secret("hello", "world")
        assert (await kv.secrets.get_secret("hello")).value == "world"
    _, listed = await admin.call("GET", "/vaults", expect=200)
    assert vault in listed["value"]
    # Names are case-insensitive, as in Azure.
    await admin.call("POST", "/vaults", {"name": name.upper()}, expect=409)


async def test_create_vault_in_the_other_tenant(admin: Admin, info: EmulatorInfo) -> None:
    body = {"name": next(_names), "tenant": "other", "rbac": True}
    _, vault = await admin.call("POST", "/vaults", body, expect=201)
    assert vault["tenant_id"] == info.other_tenant_id and vault["rbac"] is True
    async with ClientSecretMsalCredential(info) as cred:
        async with kv_clients(info, vault["url"], credential=cred) as kv:
            await kv.secrets.set_secret("x", "y")
        # The vault's challenge sent the client to the other tenant for its token.
        assert cred.calls[0]["tenant_id"] == info.other_tenant_id


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "9starts-with-digit"},
        {"name": "a-"},
        {"name": "x" * 25},
        {"name": "double--hyphen"},
        {"name": "okname", "seed": "nonsense"},
        {"name": "okname", "tenant": "00000000-0000-0000-0000-000000000000"},
        {"name": "okname", "rbac": "yes"},
    ],
)
async def test_create_vault_rejects_bad_input(admin: Admin, body: dict[str, object]) -> None:
    _, err = await admin.call("POST", "/vaults", body)
    assert err["error"]["code"] in ("BadRequest", "BadParameter")
    _, listed = await admin.call("GET", "/vaults", expect=200)
    assert "okname" not in [v["name"] for v in listed["value"]]


async def test_switch_vault_to_rbac(admin: Admin, vault_url: str) -> None:
    name = admin.vault_name(vault_url)
    _, vault = await admin.call("PATCH", f"/vaults/{name}", {"rbac": True}, expect=200)
    assert vault["rbac"] is True
    _, again = await admin.call("GET", f"/vaults/{name}", expect=200)
    assert again["rbac"] is True
    await admin.call("PATCH", f"/vaults/{name}", {"location": "x"}, expect=400)
    await admin.call("PATCH", "/vaults/no-such-vault", {"rbac": True}, expect=404)


async def test_principals_list_the_automation_app(admin: Admin, info: EmulatorInfo) -> None:
    _, data = await admin.call("GET", "/principals", expect=200)
    apps = [p for p in data["value"] if p["type"] == "app"]
    assert info.confidential_client["client_id"] in [a["client_id"] for a in apps]
    assert any(p["type"] == "user" and p["oid"] for p in data["value"])


async def test_permissions_round_trip(admin: Admin, vault_url: str) -> None:
    name = admin.vault_name(vault_url)
    path = f"/permissions/{name}/*"
    await admin.call("GET", path, expect=404)  # nothing set: everything allowed
    body = {"secrets": ["GET", "list"], "keys": ["all"]}
    _, rule = await admin.call("PUT", path, body, expect=200)
    assert rule["vault"] == name and rule["principal"] == "*"
    assert rule["secrets"] == ["get", "list"]
    assert rule["certificates"] == []
    assert "unwrapKey" in rule["keys"] and len(rule["keys"]) == 19
    _, same = await admin.call("GET", path, expect=200)
    assert same == rule
    _, listed = await admin.call("GET", "/permissions", expect=200)
    assert listed["value"] == [rule]
    await admin.call("DELETE", path, expect=204)
    await admin.call("DELETE", path, expect=404)


@pytest.mark.parametrize(
    "body", [{"secrets": ["read"]}, {"vaults": ["get"]}, {"secrets": "get"}, ["get"]]
)
async def test_permissions_reject_bad_rules(
    admin: Admin, vault_url: str, body: dict[str, object]
) -> None:
    name = admin.vault_name(vault_url)
    status, err = await admin.call("PUT", f"/permissions/{name}/*", body)
    assert status == 400, err
    await admin.call("GET", "/permissions", expect=200)
    _, listed = await admin.call("GET", "/permissions", expect=200)
    assert listed["value"] == []


async def test_permissions_for_an_unknown_vault_are_404(admin: Admin) -> None:
    await admin.call("PUT", "/permissions/no-such-vault/*", {"secrets": ["all"]}, expect=404)


async def test_faults_get_ids_and_can_be_removed(admin: Admin, vault_url: str) -> None:
    name = admin.vault_name(vault_url)
    _, a = await admin.call("POST", "/faults", {"type": "firewall", "vault": name}, expect=201)
    body = {"type": "throttle", "operation": "secrets/get", "count": 2, "retry_after": 5}
    _, b = await admin.call("POST", "/faults", body, expect=201)
    assert a["id"] != b["id"]
    assert b == {
        "id": b["id"],
        "type": "throttle",
        "vault": "*",
        "operation": "secrets/get",
        "count": 2,
        "retry_after": 5,
    }
    _, listed = await admin.call("GET", "/faults", expect=200)
    assert listed["value"] == [a, b]
    await admin.call("DELETE", f"/faults/{a['id']}", expect=204)
    await admin.call("GET", f"/faults/{a['id']}", expect=404)
    _, got = await admin.call("GET", f"/faults/{b['id']}", expect=200)
    assert got == b
    await admin.call("DELETE", "/faults", expect=204)
    _, listed = await admin.call("GET", "/faults", expect=200)
    assert listed["value"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"type": "explode"},
        {"type": "status", "status": 404},
        {"type": "latency", "latency_ms": -1},
        {"type": "drop", "path": "("},
        {"type": "drop", "operation": "secrets/frobnicate"},
        {"type": "drop", "count": 0},
        {"type": "drop", "skip": -1},
        {"type": "drop", "skip": "2"},
        {"type": "drop", "colour": "red"},
        {"type": "drop", "vault": "no-such-vault"},
        {"type": "response", "status": 403},
        {"type": "response", "status": 399, "body": {}},
        {"type": "response", "status": 403, "body": ["not", "an", "object"]},
        {"type": "response", "status": 429, "body": {}, "headers": {"Retry-After": 7}},
        {"type": "response", "status": 429, "body": {}, "headers": {"X": "a\r\nSet-Cookie: x"}},
        {"type": "status", "status": 503, "body": {"error": {}}},
        {"type": "throttle", "headers": {"Retry-After": "1"}},
    ],
)
async def test_faults_reject_bad_rules(admin: Admin, body: dict[str, object]) -> None:
    status, err = await admin.call("POST", "/faults", body)
    assert status in (400, 404), err
    assert "error" in err
    _, listed = await admin.call("GET", "/faults", expect=200)
    assert listed["value"] == []


async def test_response_fault_answers_the_given_body(admin: Admin, kv: Clients) -> None:
    """A real service's answer, replayed verbatim (status, body, headers)."""
    body = {"error": {"code": "Forbidden", "message": "m\r\nx", "innererror": {"code": "X"}}}
    fault = {
        "type": "response",
        "vault": admin.vault_name(kv.vault_url),
        "operation": "secrets/get",
        "status": 403,
        "body": body,
        "headers": {"x-ms-keyvault-region": "westeurope"},
        "count": 1,
    }
    _, created = await admin.call("POST", "/faults", fault, expect=201)
    assert created["body"] == body and created["status"] == 403
    with pytest.raises(HttpResponseError) as caught:
        await kv.secrets.get_secret("x")
    response = caught.value.response
    assert response is not None and response.status_code == 403
    assert response.json() == body
    assert response.headers["x-ms-keyvault-region"] == "westeurope"


async def test_reset_clears_faults_and_permissions(admin: Admin, vault_url: str) -> None:
    name = admin.vault_name(vault_url)
    await admin.call("PUT", f"/permissions/{name}/*", {}, expect=200)
    await admin.call("POST", "/faults", {"type": "drop", "vault": name}, expect=201)
    await admin.call("POST", "/reset", expect=204)
    assert (await admin.call("GET", "/faults"))[1]["value"] == []
    assert (await admin.call("GET", "/permissions"))[1]["value"] == []


async def test_not_json_is_a_400(admin: Admin) -> None:
    async with admin.session.post(
        f"{admin.info.admin_url}/faults",
        data=b"type=drop",
        headers={**admin.info.admin_headers(), "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "BadParameter"


# -- the admin token, JSON bodies only, no CORS ---------------------------------------------

GUARDED = [
    ("GET", ""),
    ("GET", "/vaults"),
    ("POST", "/vaults"),
    ("GET", "/principals"),
    ("POST", "/faults"),
    ("DELETE", "/permissions"),
    ("POST", "/reset"),
    ("GET", "/identity"),
    ("PATCH", "/identity/settings"),
    ("POST", "/identity/device-codes/NOPE/approve"),
    ("POST", "/identity/sessions/revoke"),
    ("GET", "/no-such-route"),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", "Basic {token}", "Bearer {token}x", "{token}"],
)
async def test_every_admin_route_needs_the_token(
    admin: Admin, info: EmulatorInfo, authorization: str | None
) -> None:
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=info.admin_token)
    for method, path in GUARDED:
        async with admin.session.request(
            method, f"{info.admin_url}{path}", json={}, headers=headers
        ) as resp:
            assert resp.status == 401, (method, path)
            assert resp.content_type == "application/json"
            body = await resp.json()
            assert body["error"]["code"] == "Unauthorized"
            assert "admin_token" in body["error"]["message"]
            text = json.dumps(body)
            assert info.confidential_client["client_secret"] not in text
            assert info.admin_token not in text
            assert "Access-Control-Allow-Origin" not in resp.headers


async def test_the_token_opens_the_admin_endpoint(admin: Admin, info: EmulatorInfo) -> None:
    assert info.admin_token and len(info.admin_token) >= 40
    headers = {"Authorization": f"bearer  {info.admin_token} "}  # scheme case, spaces
    async with admin.session.get(info.admin_url, headers=headers) as resp:
        assert resp.status == 200
        assert (await resp.json())["admin_token"] == info.admin_token
    status, _ = await admin.call("GET", "/identity")
    assert status == 200


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
    ],
)
async def test_only_json_bodies_are_taken(
    admin: Admin, info: EmulatorInfo, content_type: str
) -> None:
    """The cross-origin "simple request" a web page can send without a preflight
    (text/plain, a form) is refused, even with the token: 415, and nothing changes."""
    name = next(_names)
    body = json.dumps({"name": name}).encode()
    headers = {
        **info.admin_headers(),
        "Content-Type": content_type,
        "Origin": "https://evil.example",
    }
    async with admin.session.post(f"{info.admin_url}/vaults", data=body, headers=headers) as resp:
        assert resp.status == 415
        assert (await resp.json())["error"]["code"] == "UnsupportedMediaType"
        assert "Access-Control-Allow-Origin" not in resp.headers
    assert (await admin.call("GET", f"/vaults/{name}"))[0] == 404
    # The same body as JSON is taken.
    json_headers = {**info.admin_headers(), "Content-Type": "application/json; charset=utf-8"}
    async with admin.session.post(
        f"{info.admin_url}/vaults", data=body, headers=json_headers
    ) as resp:
        assert resp.status == 201


async def test_no_cors_preflight_is_granted(admin: Admin, info: EmulatorInfo) -> None:
    headers = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with admin.session.options(f"{info.admin_url}/reset", headers=headers) as resp:
        assert resp.status >= 400
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")]


async def test_a_lone_surrogate_is_a_400_on_admin_routes(admin: Admin) -> None:
    raw = b'{"user_code": "\\ud800"}'
    async with admin.session.patch(
        f"{admin.info.admin_url}/identity/settings",
        data=raw,
        headers={**admin.info.admin_headers(), "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "BadParameter"
    _, data = await admin.call("GET", "/identity", expect=200)
    assert data["settings"]["user_code"] == ""


async def test_the_request_log_lists_what_reached_a_vault_and_never_a_value(
    admin: Admin, info: EmulatorInfo
) -> None:
    name = next(_names)
    _, vault = await admin.call("POST", "/vaults", {"name": name}, expect=201)
    _, before = await admin.call("GET", "/requests", expect=200)
    value = "never-in-the-log-" + name
    async with kv_clients(info, vault["url"]) as kv:
        await kv.secrets.set_secret("logged", value)
        await kv.secrets.get_secret("logged")
        with pytest.raises(HttpResponseError):
            await kv.secrets.get_secret("missing")
        await kv.secrets.delete_secret("logged")  # via the SDK's poller: a delete, then gets
    await admin.call("PUT", f"/permissions/{name}/*", {"secrets": ["get"]}, expect=200)
    async with kv_clients(info, vault["url"]) as kv:
        with pytest.raises(HttpResponseError):
            await kv.secrets.set_secret("refused", value)
    await admin.call("DELETE", f"/permissions/{name}/*", expect=204)
    # An injected fault is logged with what it answered; a dropped connection with 0.
    for fault in ({"type": "throttle", "retry_after": 1}, {"type": "drop"}):
        body = {**fault, "vault": name, "path": "^/secrets/faulty", "count": 1}
        await admin.call("POST", "/faults", body, expect=201)
        async with kv_clients(info, vault["url"]) as kv:
            with pytest.raises(Exception):  # noqa: B017  (HttpResponseError, ServiceRequestError)
                await kv.secrets.get_secret("faulty")

    query = f"/requests?vault={name.upper()}&since={before['last']}"
    _, logged = await admin.call("GET", query, expect=200)
    seen = [(e["method"], e["path"], e["operation"], e["status"]) for e in logged["value"]]
    # The SDK's first request of a client has no token: the vault's 401 challenge.
    assert seen[0] == ("PUT", "/secrets/logged", "secrets/set", 401)
    assert ("PUT", "/secrets/logged", "secrets/set", 200) in seen
    assert ("GET", "/secrets/logged/", "secrets/get", 200) in seen
    assert ("GET", "/secrets/missing/", "secrets/get", 404) in seen
    assert ("DELETE", "/secrets/logged", "secrets/delete", 200) in seen
    assert ("PUT", "/secrets/refused", "secrets/set", 403) in seen
    # (The client sends it again after the dropped connection: the fault is spent, so 404.)
    assert seen[-3:] == [
        ("GET", "/secrets/faulty/", "secrets/get", 429),
        ("GET", "/secrets/faulty/", "secrets/get", 0),
        ("GET", "/secrets/faulty/", "secrets/get", 404),
    ]
    assert all(e["vault"] == name for e in logged["value"])
    seqs = [e["seq"] for e in logged["value"]]
    assert seqs == sorted(seqs) and seqs[0] > before["last"] and logged["last"] >= seqs[-1]
    assert value not in json.dumps(logged)

    # Another vault's requests are not in this vault's log.
    _, other = await admin.call("GET", f"/requests?since={before['last']}", expect=200)
    assert {e["seq"] for e in logged["value"]} <= {e["seq"] for e in other["value"]}
    _, later = await admin.call("GET", f"/requests?vault={name}&since={seqs[-1]}", expect=200)
    assert later["value"] == []


@pytest.mark.parametrize(
    ("query", "status"), [("?since=-1", 400), ("?since=x", 400), ("?vault=nosuchvault", 404)]
)
async def test_the_request_log_refuses_bad_queries(admin: Admin, query: str, status: int) -> None:
    await admin.call("GET", f"/requests{query}", expect=status)


async def test_purge_protection_refuses_purges_as_the_service_does(
    admin: Admin, info: EmulatorInfo
) -> None:
    name = next(_names)
    _, vault = await admin.call("POST", "/vaults", {"name": name}, expect=201)
    assert vault["purge_protection"] is False
    _, vault = await admin.call("PATCH", f"/vaults/{name}", {"purge_protection": True}, expect=200)
    assert vault["purge_protection"] is True
    async with kv_clients(info, vault["url"]) as kv:
        secret = await kv.secrets.set_secret("kept", "v")
        key = await kv.keys.create_rsa_key("kept-key")
        # The recovery level says it: no "+Purgeable".
        assert secret.properties.recovery_level == "Recoverable"
        assert key.properties.recovery_level == "Recoverable"
        await kv.secrets.delete_secret("kept")
        deleted = await kv.secrets.get_deleted_secret("kept")
        assert deleted.properties.recovery_level == "Recoverable"
        with pytest.raises(HttpResponseError) as err:
            await kv.secrets.purge_deleted_secret("kept")
        assert err.value.status_code == 403 and err.value.error is not None
        assert err.value.error.code == "Forbidden"
        message = err.value.error.message or ""
        assert message.startswith(
            'Operation "purge" is not allowed because purge protection is enabled for this vault.'
        )
        assert message.endswith(f"\r\nVault: {name};location=westeurope")
        # Still deleted, and recoverable.
        assert (await kv.secrets.recover_deleted_secret("kept")).name == "kept"
    # Once on, for good (as in Azure).
    await admin.call("PATCH", f"/vaults/{name}", {"purge_protection": False}, expect=400)
    await admin.call("PATCH", f"/vaults/{name}", {"rbac": True}, expect=200)
