"""Writes to a vault (kvtui/core/writes.py) over the real SDK against the emulator, each
checked with the official client: create, new version, edit of properties, delete,
recover, purge, restore; read-only refusals that send nothing (the emulator's request
log); errors worded as reads' are; an audit record of each write, never its value."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.keyvault.certificates import CertificatePolicy

from kvtui.core import writes
from kvtui.core.errors import Conflict, PermissionDenied
from kvtui.core.models import Kind
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo
from kvtui.emulator.store import Vault
from tests.emulator.admin_support import Admin
from tests.support import Clients, open_service

VALUE = "s3cret-value-never-logged"


@pytest.fixture
async def svc(info: EmulatorInfo, vault: Vault) -> AsyncIterator[VaultService]:
    async with open_service(info, vault.url) as service:
        yield service


async def test_a_secret_from_creation_to_purge(
    svc: VaultService, sdk: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kvtui.audit")
    expires = datetime(2027, 1, 31, tzinfo=timezone.utc)
    fields = writes.SecretFields(content_type="text/plain", tags={"env": "prod"}, expires=expires)
    first = await writes.set_secret(svc, "db-password", VALUE, fields)
    got = await sdk.secrets.get_secret("db-password")
    assert got.value == VALUE and got.properties.version == first.version
    assert (first.content_type, first.tags, first.expires) == (
        "text/plain",
        {"env": "prod"},
        expires,
    )

    second = await writes.set_secret(svc, "db-password", VALUE + "-2")
    assert second.version != first.version
    assert (await sdk.secrets.get_secret("db-password")).value == VALUE + "-2"

    # Properties, not the value: the first version disabled, the current one re-dated.
    later = expires + timedelta(days=90)
    edited = await writes.update_secret_properties(
        svc, "db-password", writes.SecretFields(enabled=False), first.version
    )
    assert edited.version == first.version and not edited.enabled
    current = await writes.update_secret_properties(
        svc, "db-password", writes.SecretFields(expires=later)
    )
    assert current.version == second.version and current.expires == later
    got = await sdk.secrets.get_secret("db-password")
    assert got.value == VALUE + "-2" and got.properties.expires_on == later
    versions = {
        p.version: p async for p in sdk.secrets.list_properties_of_secret_versions("db-password")
    }
    assert versions[first.version].enabled is False  # (reading a disabled version is a 403)

    deleted = await writes.delete_secret(svc, "db-password")
    assert deleted.item.name == "db-password" and deleted.recovery_id and deleted.purge_scheduled
    assert deleted.deleted and deleted.purge_scheduled > deleted.deleted
    listed = [s.name async for s in sdk.secrets.list_deleted_secrets()]
    assert listed == ["db-password"]

    recovered = await writes.recover_deleted_secret(svc, "db-password")
    assert recovered.name == "db-password"
    assert (await sdk.secrets.get_secret("db-password")).value == VALUE + "-2"

    backup = await sdk.secrets.backup_secret("db-password")
    await writes.delete_secret(svc, "db-password")
    await writes.purge_deleted_secret(svc, "db-password")
    assert [s.name async for s in sdk.secrets.list_deleted_secrets()] == []
    restored = await writes.restore_secret_backup(svc, backup)
    assert restored.name == "db-password"
    versions = [
        p.version async for p in sdk.secrets.list_properties_of_secret_versions("db-password")
    ]
    assert sorted(versions) == sorted([first.version, second.version])

    # The audit log: each write, its version, its outcome; never the value.
    lines = [r.getMessage() for r in caplog.records if r.name == "kvtui.audit"]
    actions = [line.split()[0] for line in lines]
    assert actions == [
        "set",
        "set",
        "update",
        "update",
        "delete",
        "recover",
        "delete",
        "purge",
        "restore",
    ]
    assert lines[0] == f"set secret 'db-password' version={first.version}: ok"
    assert not any(VALUE in r.getMessage() for r in caplog.records)


async def test_a_read_only_vault_sends_no_write(
    vault: Vault,
    svc: VaultService,
    sdk: Clients,
    admin: Admin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kvtui.audit")
    await sdk.secrets.set_secret("api-key", "before")
    backup = await sdk.secrets.backup_secret("api-key")
    await sdk.secrets.set_secret("gone", "x")
    await sdk.secrets.delete_secret("gone")
    _, seen = await admin.call("GET", f"/requests?vault={vault.name}", expect=200)

    svc.read_only_rule = "matches prod-*"
    attempts = [
        writes.set_secret(svc, "api-key", "after"),
        writes.set_secret(svc, "new-one", "x"),
        writes.update_secret_properties(svc, "api-key", writes.SecretFields(enabled=False)),
        writes.delete_secret(svc, "api-key"),
        writes.recover_deleted_secret(svc, "gone"),
        writes.purge_deleted_secret(svc, "gone"),
        writes.restore_secret_backup(svc, backup),
    ]
    for attempt in attempts:
        with pytest.raises(writes.ReadOnlyVault, match=r"read-only \(matches prod-\*\)") as err:
            await attempt
        assert err.value.rule == "matches prod-*"

    _, after = await admin.call(
        "GET", f"/requests?vault={vault.name}&since={seen['last']}", expect=200
    )
    assert after["value"] == []  # nothing was sent, not even a read
    assert (await sdk.secrets.get_secret("api-key")).value == "before"
    assert len([r for r in caplog.records if r.getMessage().startswith("refused")]) == 7


async def test_write_errors_name_what_is_missing(
    vault: Vault,
    svc: VaultService,
    sdk: Clients,
    admin: Admin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await sdk.secrets.set_secret("kept", VALUE)
    await sdk.secrets.delete_secret("kept")
    # The name of a deleted secret: 409, recover it or purge it first.
    with pytest.raises(Conflict, match="deleted"):
        await writes.set_secret(svc, "kept", VALUE)

    await admin.call(
        "PUT", f"/permissions/{vault.name}/*", {"secrets": ["get", "list"]}, expect=200
    )
    with pytest.raises(PermissionDenied, match="set") as err:
        await writes.set_secret(svc, "another", VALUE)
    assert str(err.value).startswith("Set secret another: ")
    failed = [r.getMessage() for r in caplog.records if r.name == "kvtui.audit"]
    assert failed[-1] == "failed set secret 'another': PermissionDenied (403)"
    assert not any(VALUE in r.getMessage() for r in caplog.records)

    await admin.call("PATCH", f"/vaults/{vault.name}", {"rbac": True}, expect=200)
    await admin.call(
        "PUT", f"/permissions/{vault.name}/*", {"secrets": ["get", "list"]}, expect=200
    )
    with pytest.raises(PermissionDenied, match="Key Vault Secrets Officer"):
        await writes.delete_secret(svc, "kept")


async def test_a_purge_under_purge_protection_says_why(
    vault: Vault, svc: VaultService, sdk: Clients, admin: Admin
) -> None:
    await admin.call("PATCH", f"/vaults/{vault.name}", {"purge_protection": True}, expect=200)
    await sdk.secrets.set_secret("kept", VALUE)
    deleted = await writes.delete_secret(svc, "kept")
    with pytest.raises(PermissionDenied) as err:
        await writes.purge_deleted_secret(svc, "kept")
    message = str(err.value)
    assert message.startswith("Purge secret kept: ")
    assert "purge protection is enabled for this vault" in message
    assert "role" not in message and "permission" not in message  # none would help
    still = await sdk.secrets.get_deleted_secret("kept")
    assert still.recovery_id == deleted.recovery_id
    assert still.properties.recovery_level == "Recoverable"


async def test_deleted_items_of_each_kind_are_listed_even_read_only(
    svc: VaultService, sdk: Clients
) -> None:
    await sdk.secrets.set_secret("old-secret", VALUE, tags={"team": "pay"})
    await sdk.keys.create_rsa_key("old-key")
    policy = CertificatePolicy.get_default()
    await sdk.certificates.create_certificate("old-cert", policy)
    await sdk.secrets.delete_secret("old-secret")
    await sdk.keys.delete_key("old-key")
    await sdk.certificates.delete_certificate("old-cert")

    svc.read_only_rule = "--read-only"  # listing what was deleted is a read
    # A certificate's key and secret went with it (managed by it), as in Azure.
    expected = {
        Kind.SECRETS: {"old-secret": False, "old-cert": True},
        Kind.KEYS: {"old-key": False, "old-cert": True},
        Kind.CERTIFICATES: {"old-cert": False},
    }
    for kind, names in expected.items():
        listed = [d for page in [p async for p in svc.list_deleted_pages(kind)] for d in page]
        assert {d.item.name: d.item.managed for d in listed} == names
        for gone in listed:
            assert gone.item.kind is kind
            suffix = f"/deleted{kind.value}/{gone.item.name}"
            assert gone.recovery_id and gone.recovery_id.endswith(suffix)
            assert gone.deleted and gone.purge_scheduled
            assert gone.purge_scheduled - gone.deleted == timedelta(days=90)
        if kind is Kind.SECRETS:
            mine = next(d for d in listed if d.item.name == "old-secret")
            assert mine.item.tags == {"team": "pay"}


@pytest.mark.parametrize("kind", [Kind.KEYS, Kind.CERTIFICATES])
async def test_keys_and_certificates_edit_delete_recover_backup_purge_restore(
    svc: VaultService, sdk: Clients, kind: Kind, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kvtui.audit")
    name = f"my-{kind.singular}"
    if kind is Kind.KEYS:
        await sdk.keys.create_ec_key(name)
    else:
        await sdk.certificates.create_certificate(name, CertificatePolicy.get_default())

    async def props() -> object:
        if kind is Kind.KEYS:
            return (await sdk.keys.get_key(name)).properties
        return (await sdk.certificates.get_certificate(name)).properties

    fields = writes.SecretFields(enabled=False, tags={"owner": "team-a"})
    edited = await writes.update_properties(svc, kind, name, fields)
    assert edited.kind is kind and not edited.enabled and edited.tags == {"owner": "team-a"}
    got: Any = await props()
    assert got.enabled is False and got.tags == {"owner": "team-a"}

    gone = await writes.delete_item(svc, kind, name)
    assert gone.item.name == name and gone.item.deleted and gone.recovery_id
    back = await writes.recover_item(svc, kind, name)
    assert back.name == name and back.deleted is None
    assert (await props()).tags == {"owner": "team-a"}  # type: ignore[attr-defined]

    blob = await writes.backup_item(svc, kind, name)
    await writes.delete_item(svc, kind, name)
    await writes.purge_item(svc, kind, name)
    restored = await writes.restore_item(svc, kind, blob)
    assert restored.name == name and restored.kind is kind
    assert (await props()).tags == {"owner": "team-a"}  # type: ignore[attr-defined]
    actions = [r.getMessage().split()[0] for r in caplog.records if r.name == "kvtui.audit"]
    assert actions == ["update", "delete", "recover", "backup", "delete", "purge", "restore"]

    svc.read_only_rule = "--read-only"
    for attempt in (
        writes.update_properties(svc, kind, name, fields),
        writes.delete_item(svc, kind, name),
        writes.restore_item(svc, kind, blob),
    ):
        with pytest.raises(writes.ReadOnlyVault):
            await attempt
    assert await writes.backup_item(svc, kind, name)  # a read: allowed
