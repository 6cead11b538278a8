"""Secrets through the official async SecretClient, over HTTPS, against the emulator."""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.support import Clients, ClientSecretMsalCredential, EmulatorClock, kv_clients


async def collect(pager) -> list:  # type: ignore[no-untyped-def]
    return [x async for x in pager]


async def test_versions_have_their_own_values_and_timestamps(
    kv: Clients, clock: EmulatorClock
) -> None:
    first = await kv.secrets.set_secret("api-key", "one")
    clock.advance(90)
    second = await kv.secrets.set_secret("api-key", "two", tags={"env": "prod"})
    assert (await kv.secrets.get_secret("api-key")).value == "two"
    assert (await kv.secrets.get_secret("api-key", first.properties.version)).value == "one"
    versions = await collect(kv.secrets.list_properties_of_secret_versions("api-key"))
    assert {v.version for v in versions} == {first.properties.version, second.properties.version}
    by_version = {v.version: v for v in versions}
    assert by_version[second.properties.version].tags == {"env": "prod"}
    first_created = by_version[first.properties.version].created_on
    assert first_created == first.properties.created_on
    second_created = by_version[second.properties.version].created_on
    assert first_created and second_created
    assert 90 <= (second_created - first_created).total_seconds() < 120


async def test_list_pages_past_25(kv: Clients) -> None:
    names = [f"s-{i:02d}" for i in range(32)]
    await asyncio.gather(*(kv.secrets.set_secret(n, "v") for n in names))
    pager = kv.secrets.list_properties_of_secrets(max_page_size=25).by_page()
    pages = [[p.name async for p in page] async for page in pager]
    assert [len(p) for p in pages] == [25, 7]
    assert sorted(n for p in pages for n in p) == names
    for n in range(27):
        await kv.secrets.set_secret("rotating", f"v{n}")
    versions = await collect(kv.secrets.list_properties_of_secret_versions("rotating"))
    assert len(versions) == 27


async def test_list_items_carry_no_value_but_content_type_and_tags(kv: Clients) -> None:
    await kv.secrets.set_secret("conn", "Server=x", content_type="text/plain", tags={"a": "b"})
    [item] = await collect(kv.secrets.list_properties_of_secrets())
    assert item.name == "conn"
    assert item.content_type == "text/plain"
    assert item.tags == {"a": "b"}
    assert item.version is None  # list ids are versionless


async def test_update_attributes_and_read_disabled_is_forbidden(kv: Clients) -> None:
    await kv.secrets.set_secret("legacy", "old-value")
    exp = datetime.now(timezone.utc) + timedelta(days=10)
    props = await kv.secrets.update_secret_properties(
        "legacy", enabled=False, expires_on=exp, content_type="note", tags={"owner": "ops"}
    )
    assert props.enabled is False
    assert props.content_type == "note"
    assert props.tags == {"owner": "ops"}
    assert int(props.expires_on.timestamp()) == int(exp.timestamp())
    with pytest.raises(HttpResponseError) as err:
        await kv.secrets.get_secret("legacy")
    assert err.value.status_code == 403
    assert "disabled" in err.value.message
    await kv.secrets.update_secret_properties("legacy", enabled=True)
    assert (await kv.secrets.get_secret("legacy")).value == "old-value"


async def test_missing_secret_is_404_secret_not_found(kv: Clients) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        await kv.secrets.get_secret("nope")
    assert err.value.error is not None and err.value.error.code == "SecretNotFound"
    await kv.secrets.set_secret("there", "x")
    with pytest.raises(ResourceNotFoundError):
        await kv.secrets.get_secret("there", "0" * 32)


@pytest.mark.parametrize("name", ["has_underscore", "a" * 128, "spaces here"])
async def test_invalid_name_is_bad_parameter(kv: Clients, name: str) -> None:
    with pytest.raises(HttpResponseError) as err:
        await kv.secrets.set_secret(name, "x")
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == "BadParameter"


async def test_value_over_25kb_is_refused_and_at_the_limit_accepted(kv: Clients) -> None:
    ok = "x" * (25 * 1024)
    assert (await kv.secrets.set_secret("big", ok)).value == ok
    with pytest.raises(HttpResponseError) as err:
        await kv.secrets.set_secret("bigger", ok + "y")
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == "BadParameter"


async def test_delete_recover_purge_and_reuse_conflict(kv: Clients) -> None:
    await kv.secrets.set_secret("temp", "v1")
    deleted = await kv.secrets.delete_secret("temp")
    assert deleted.recovery_id == f"{kv.vault_url}deletedsecrets/temp"
    assert deleted.scheduled_purge_date is not None and deleted.deleted_date is not None
    days = (deleted.scheduled_purge_date - deleted.deleted_date).days
    assert days == 90
    with pytest.raises(ResourceNotFoundError):
        await kv.secrets.get_secret("temp")
    listed = await collect(kv.secrets.list_deleted_secrets())
    assert [d.name for d in listed] == ["temp"]
    assert (await kv.secrets.get_deleted_secret("temp")).name == "temp"

    with pytest.raises(ResourceExistsError) as err:
        await kv.secrets.set_secret("temp", "v2")
    assert err.value.status_code == 409
    assert "ObjectIsDeletedButRecoverable" in str(err.value)

    recovered = await kv.secrets.recover_deleted_secret("temp")
    assert recovered.name == "temp"
    assert (await kv.secrets.get_secret("temp")).value == "v1"

    await kv.secrets.delete_secret("temp")
    await kv.secrets.purge_deleted_secret("temp")
    assert await collect(kv.secrets.list_deleted_secrets()) == []
    assert (await kv.secrets.set_secret("temp", "fresh")).value == "fresh"


async def test_names_are_case_insensitive(kv: Clients) -> None:
    await kv.secrets.set_secret("MixedCase", "v")
    assert (await kv.secrets.get_secret("mixedcase")).value == "v"


async def test_backup_restores_into_another_vault_with_all_versions(
    kv: Clients, emulator: EmulatorThread
) -> None:
    await kv.secrets.set_secret("portable", "a")
    await kv.secrets.set_secret("portable", "b")
    blob = await kv.secrets.backup_secret("portable")
    with pytest.raises(ResourceExistsError):
        await kv.secrets.restore_secret_backup(blob)
    other = emulator.call(emulator.emulator.add_vault(f"restore{time.time_ns()}"))
    async with kv_clients(emulator.info, other.url) as target:
        restored = await target.secrets.restore_secret_backup(blob)
        assert restored.name == "portable"
        assert (await target.secrets.get_secret("portable")).value == "b"
        assert (
            len(await collect(target.secrets.list_properties_of_secret_versions("portable"))) == 2
        )
        with pytest.raises(HttpResponseError) as err:
            await target.secrets.restore_secret_backup(b"not a backup")
        assert err.value.status_code == 400


async def test_unicode_and_hostile_values_round_trip(kv: Clients) -> None:
    value = "[bold]x[/] \x1b[31mred\x1b[0m ✓ 日本語 \n second line"
    await kv.secrets.set_secret("hostile", value, content_type="[red]ct")
    got = await kv.secrets.get_secret("hostile")
    assert got.value == value
    assert got.properties.content_type == "[red]ct"


LONE_SURROGATE_BODIES = [
    ("PUT", "secrets/sur", b'{"value": "\\ud800"}'),
    ("PUT", "secrets/sur", b'{"value": "ok \\udfff"}'),
    ("PUT", "secrets/sur", b'{"value": "ok", "contentType": "\\udc00"}'),
    ("PUT", "secrets/sur", b'{"value": "ok", "tags": {"\\ud800": "v"}}'),
    ("PUT", "secrets/sur", b'{"value": "ok", "tags": {"k": ["\\ud800"]}}'),
    ("PUT", "secrets/sur", b'{"value": "\\ud83d half an emoji"}'),
    ("PUT", "secrets/sur", b'{"value": "raw \xed\xa0\x80 bytes"}'),
    ("POST", "keys/sur/create", b'{"kty": "RSA", "tags": {"k": "\\ud800"}}'),
]


@pytest.mark.parametrize(("method", "path", "raw"), LONE_SURROGATE_BODIES)
async def test_a_lone_surrogate_is_bad_parameter_not_500(
    info: EmulatorInfo, vault_url: str, method: str, path: str, raw: bytes
) -> None:
    """Valid JSON, invalid Unicode: refused when the body is parsed (it used to pass and
    fail later, 500, when the value was encoded). Raw bytes over HTTPS with a real token."""
    async with ClientSecretMsalCredential(info) as cred:
        token = (await cred.get_token("https://vault.azure.net/.default")).token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    ctx = ssl.create_default_context(cafile=info.ca_bundle)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ctx), trust_env=False
    ) as http:
        url = f"{vault_url}{path}?api-version=7.5"
        async with http.request(method, url, data=raw, headers=headers) as resp:
            assert resp.status == 400, await resp.text()
            error = (await resp.json())["error"]
            assert error["code"] == "BadParameter"
            assert "surrogate" in error["message"]
        for kind in ("secrets", "keys"):  # nothing was stored
            async with http.get(f"{vault_url}{kind}/sur?api-version=7.5", headers=headers) as resp:
                assert resp.status == 404


async def test_a_lone_surrogate_through_the_sdk_is_a_400(kv: Clients) -> None:
    with pytest.raises(HttpResponseError) as err:
        await kv.secrets.set_secret("sur", "\ud800")
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == "BadParameter"


async def test_not_before_and_expiry_are_stored(kv: Clients) -> None:
    nbf = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    exp = nbf + timedelta(days=30)
    s = await kv.secrets.set_secret("scheduled", "v", not_before=nbf, expires_on=exp)
    assert s.properties.not_before == nbf
    assert s.properties.expires_on == exp
    assert s.properties.recovery_level == "Recoverable+Purgeable"
    assert s.properties.recoverable_days == 90
