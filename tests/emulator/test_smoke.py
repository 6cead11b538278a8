"""The official clients get through the challenge to the emulator over HTTPS."""

from __future__ import annotations

from tests.support import Clients


async def test_set_then_get_secret(kv: Clients) -> None:
    created = await kv.secrets.set_secret("db-password", "s3cret", content_type="text/plain")
    got = await kv.secrets.get_secret("db-password")
    assert got.value == "s3cret"
    assert got.properties.content_type == "text/plain"
    assert got.properties.version == created.properties.version
    assert got.id == f"{kv.vault_url}secrets/db-password/{created.properties.version}"
