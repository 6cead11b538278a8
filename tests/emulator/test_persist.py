"""--persist: a second start on other ports finds the same data, and every id in it
points at the vault's new address (kvtui demo restarts this way)."""

from __future__ import annotations

from pathlib import Path

from kvtui.emulator import EmulatorSettings, EmulatorThread
from tests.support import kv_clients


async def read_back(thread: EmulatorThread) -> tuple[str, str | None, str | None]:
    info = thread.info
    async with kv_clients(info, info.vaults["keep"]) as kv:
        value = (await kv.secrets.get_secret("db-password")).value or ""
        cert = await kv.certificates.get_certificate("www-example")
        backing = await kv.secrets.get_secret("www-example")
        return value, cert.key_id, backing.properties.key_id


async def test_data_survives_a_restart_on_other_ports(tmp_path: Path) -> None:
    settings = EmulatorSettings(vaults=["keep"], seed="demo", state_dir=tmp_path, persist=True)
    first = EmulatorThread(settings)
    first.start()
    try:
        async with kv_clients(first.info, first.info.vaults["keep"]) as kv:
            await kv.secrets.set_secret("db-password", "kept across restarts")
        first.state.vaults["keep"].purge_protection = True
        before = await read_back(first)
    finally:
        first.stop()
    second = EmulatorThread(
        EmulatorSettings(vaults=["keep"], seed="demo", state_dir=tmp_path, persist=True)
    )
    second.start()
    try:
        assert second.info.vaults["keep"] != first.info.vaults["keep"]
        value, cert_kid, secret_kid = await read_back(second)
        assert value == "kept across restarts" == before[0]
        assert cert_kid == secret_kid
        assert cert_kid is not None and cert_kid.startswith(second.info.vaults["keep"])
        # Purge protection, once on, stays on.
        assert second.state.vaults["keep"].purge_protection
        # The same signing key and tenant: tokens of the first run stay valid.
        assert second.info.tenant_id == first.info.tenant_id
    finally:
        second.stop()
