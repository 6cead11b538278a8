"""Permissions and injected faults (403s, firewall, throttling, 5xx, latency, drops).

STUB: the interface the data plane calls; the rules and the admin endpoint that sets
them are filled in by the faults work.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from kvtui.emulator.store import Vault


class Faults:
    def __init__(self, latency_ms: int = 0) -> None:
        self.latency_ms = latency_ms

    async def delay(self, vault_name: str) -> None:
        """Sleep for the configured latency before a vault request is answered."""
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)

    async def check(
        self,
        request: web.Request,
        vault: Vault,
        op: tuple[str, str] | None,
        claims: dict[str, Any],
    ) -> web.StreamResponse | None:
        """A response that replaces the real one (403, 429, 5xx...), or None to go on."""
        return None
