"""The emulator's admin endpoint (``/_emulator/...``): what the real service does not have.
STUB: filled in by the faults and permissions work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from kvtui.emulator.server import Emulator


def setup(app: web.Application, emulator: Emulator) -> None:
    """Register the admin routes."""
