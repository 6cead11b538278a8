"""The demo and bulk seeds, read back through the official clients."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from azure.keyvault.keys import KeyType

from kvtui.emulator import EmulatorThread
from tests.support import kv_clients


async def test_demo_seed_is_worth_a_screenshot(emulator: EmulatorThread) -> None:
    vault = emulator.call(emulator.emulator.add_vault(f"demo{time.time_ns()}", seed="demo"))
    async with kv_clients(emulator.info, vault.url) as kv:
        secrets = [s async for s in kv.secrets.list_properties_of_secrets()]
        now = datetime.now(timezone.utc)
        soon = now + timedelta(days=30)
        assert 50 <= len(secrets) <= 70
        assert any(not s.enabled for s in secrets)
        assert any(s.expires_on and s.expires_on < now for s in secrets)
        assert any(s.expires_on and now < s.expires_on < soon for s in secrets)
        assert len({s.content_type for s in secrets}) >= 3
        assert all(s.tags for s in secrets)
        multi = [s for s in secrets if not s.managed]
        counts = []
        for s in multi[:12]:
            pager = kv.secrets.list_properties_of_secret_versions(s.name)
            counts.append(len([v async for v in pager]))
        assert max(counts) > 1
        keys = [k async for k in kv.keys.list_properties_of_keys()]
        types = {(await kv.keys.get_key(k.name)).key_type for k in keys if k.enabled}
        assert {KeyType.rsa, KeyType.ec} <= types
        certs = [c async for c in kv.certificates.list_properties_of_certificates()]
        assert len(certs) >= 3
        expiries = [c.expires_on for c in certs if c.expires_on]
        assert any(e < now for e in expiries) and any(now < e < soon for e in expiries)
        assert [d async for d in kv.secrets.list_deleted_secrets()]
        assert [d async for d in kv.keys.list_deleted_keys()]


async def test_bulk_seed_makes_n_secrets(emulator: EmulatorThread) -> None:
    vault = emulator.call(emulator.emulator.add_vault(f"bulk{time.time_ns()}", seed="bulk:60"))
    async with kv_clients(emulator.info, vault.url) as kv:
        names = [s.name async for s in kv.secrets.list_properties_of_secrets()]
        assert len(names) == 60
        assert (await kv.secrets.get_secret(names[0])).value.startswith("value-")
