"""Seeds: what a vault starts with. STUB: only ``empty`` so far."""

from __future__ import annotations

from kvtui.emulator.store import Vault


def seed_vault(vault: Vault, seed: str) -> None:
    if seed == "empty":
        return
    raise NotImplementedError(seed)
