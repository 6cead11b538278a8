"""The vault service and ARM client: plain models and errors a person can act on,
over the real SDK against the emulator (faults and permissions set by its admin API)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kvtui.core.arm import ArmClient
from kvtui.core.errors import (
    FirewallDenied,
    NetworkError,
    NotFound,
    PermissionDenied,
    ServiceError,
    Throttled,
)
from kvtui.core.models import Kind, Status
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.core.conftest import make_sign_in, sign_in_with_device_code
from tests.emulator.admin_support import Admin
from tests.support import ClientSecretMsalCredential


async def test_pages_arrive_one_at_a_time_as_plain_items(
    emulator: EmulatorThread, info: EmulatorInfo
) -> None:
    vault = emulator.call(emulator.emulator.add_vault(f"svc{time.time_ns() % 10**12}", seed="demo"))
    cred = ClientSecretMsalCredential(info)
    svc = VaultService(
        vault.url,
        cred,
        ca_bundle=info.ca_bundle,  # type: ignore[arg-type]
        verify_challenge_resource=False,
    )
    try:
        pages = [p async for p in svc.list_pages(Kind.SECRETS)]
        assert [len(p) for p in pages][:2] == [25, 25]
        items = [i for p in pages for i in p]
        statuses = {i.status() for i in items}
        assert {Status.OK, Status.EXPIRED, Status.EXPIRING, Status.DISABLED} <= statuses
        multi = max(items[:15], key=lambda i: 0)
        versions = await svc.list_versions(Kind.SECRETS, multi.name)
        assert all(v.version and v.id.endswith(v.version) for v in versions)
        assert versions[0].versionless_id == multi.id
        keys = [i for p in [p async for p in svc.list_pages(Kind.KEYS)] for i in p]
        assert keys and all(k.kind is Kind.KEYS for k in keys)
        certs = [i for p in [p async for p in svc.list_pages(Kind.CERTIFICATES)] for i in p]
        assert certs and all(c.thumbprint and len(c.thumbprint) == 40 for c in certs)
    finally:
        await svc.close()
        await cred.close()


async def test_value_is_fetched_on_demand(service: VaultService) -> None:
    await service.secrets.set_secret("db", "hunter2")
    assert await service.get_secret_value("db") == "hunter2"
    with pytest.raises(NotFound, match="Reading missing"):
        await service.get_secret_value("missing")


async def test_permission_denial_names_the_missing_permission(
    service: VaultService, admin: Admin
) -> None:
    await service.secrets.set_secret("db", "v")
    name = admin.vault_name(service.vault_url)
    await admin.call("PUT", f"/permissions/{name}/*", {"secrets": ["list"]}, expect=200)
    [[item]] = [p async for p in service.list_pages(Kind.SECRETS)]
    with pytest.raises(PermissionDenied, match=r"access policy.*secrets get permission"):
        await service.get_secret_value(item.name)
    with pytest.raises(PermissionDenied, match="keys list"):
        async for _ in service.list_pages(Kind.KEYS):
            pass
    await admin.call("PATCH", f"/vaults/{name}", {"rbac": True}, expect=200)
    with pytest.raises(PermissionDenied, match="RBAC"):
        await service.get_secret_value(item.name)


@pytest.mark.parametrize(
    ("fault", "error", "needle"),
    [
        ({"type": "firewall"}, FirewallDenied, "firewall"),
        ({"type": "throttle", "retry_after": 7}, Throttled, "Retry in 7 s"),
        ({"type": "status", "status": 503}, ServiceError, "503"),
        ({"type": "drop"}, NetworkError, "was cut"),
    ],
)
async def test_faults_become_typed_errors(
    service: VaultService, admin: Admin, fault: dict[str, object], error: type, needle: str
) -> None:
    await admin.call(
        "POST", "/faults", {**fault, "vault": admin.vault_name(service.vault_url)}, expect=201
    )
    with pytest.raises(error, match=needle) as err:
        async for _ in service.list_pages(Kind.SECRETS):
            pass
    if isinstance(err.value, Throttled):
        assert err.value.retry_after == 7


async def test_arm_lists_the_vaults_of_every_subscription_in_every_tenant(
    info: EmulatorInfo, emulator: EmulatorThread, tmp_path: Path, fast_identity: None
) -> None:
    emulator.call(
        emulator.emulator.add_vault(f"other{time.time_ns() % 10**12}", tenant=info.other_tenant_id)
    )
    sign_in = make_sign_in(info, tmp_path / "cache.bin")
    cred = sign_in.credential(await sign_in_with_device_code(sign_in, info))
    arm = ArmClient(
        info.arm_url,
        cred,
        "https://management.azure.com/.default",  # type: ignore[arg-type]
        ca_bundle=info.ca_bundle,
        home_tenant=info.tenant_id,
    )
    try:
        found = {}
        async for sub, result in arm.all_vaults():
            assert sub is not None and isinstance(result, list), result
            for v in result:
                found[v.url] = v
        assert set(info.vaults.values()) <= set(found)
        assert all(v.subscription_name and v.resource_group for v in found.values())
        assert {v.tenant_id for v in found.values()} == {info.tenant_id, info.other_tenant_id}
    finally:
        await arm.close()
