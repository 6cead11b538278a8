"""A client for the emulator's admin endpoint, as a user would call it: plain HTTPS,
trusting only the emulator's CA and ignoring proxy/CA settings in the environment."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from kvtui.emulator import EmulatorInfo


class Admin:
    def __init__(self, info: EmulatorInfo, session: aiohttp.ClientSession) -> None:
        self.info = info
        self.session = session

    async def call(
        self, method: str, path: str, body: Any = None, expect: int | None = None
    ) -> tuple[int, Any]:
        """(status, parsed JSON or None) of ``method /_emulator{path}``."""
        url = f"{self.info.admin_url}{path}"
        headers = self.info.admin_headers()
        async with self.session.request(method, url, json=body, headers=headers) as resp:
            data = await resp.json() if resp.content_type == "application/json" else None
            if expect is not None:
                assert resp.status == expect, (resp.status, data)
            return resp.status, data

    def vault_name(self, vault_url: str) -> str:
        return next(n for n, u in self.info.vaults.items() if u == vault_url)

    async def app_oid(self) -> str:
        """The object id of the confidential client the `kv` fixture signs in with."""
        _, data = await self.call("GET", "/principals", expect=200)
        cid = self.info.confidential_client["client_id"]
        return str(next(p["oid"] for p in data["value"] if p.get("client_id") == cid))


@asynccontextmanager
async def admin_client(info: EmulatorInfo) -> AsyncIterator[Admin]:
    ctx = ssl.create_default_context(cafile=info.ca_bundle)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ctx), trust_env=False
    ) as session:
        yield Admin(info, session)
