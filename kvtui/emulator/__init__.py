"""A local Azure Key Vault: data plane, identity platform and an ARM slice, over HTTPS.

Never imports Textual or the app (checked by import-linter).

The server's names load on first use (PEP 562): importing a light module of the package
(``kvtui.emulator.cli``, ``settings``, ``clock``) does not load aiohttp and
cryptography, so ``kvtui emulator`` refuses a bad option at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvtui.emulator.settings import EmulatorSettings

if TYPE_CHECKING:
    from kvtui.emulator.server import Emulator, EmulatorThread
    from kvtui.emulator.state import EmulatorInfo
else:
    # Only at run time: mypy sees the imports above, so a misspelt name stays an error.

    def __getattr__(name: str) -> object:
        if name in ("Emulator", "EmulatorThread"):
            from kvtui.emulator import server

            value = getattr(server, name)
        elif name == "EmulatorInfo":
            from kvtui.emulator.state import EmulatorInfo as value
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value  # once: later lookups do not come here
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})


__all__ = ["Emulator", "EmulatorInfo", "EmulatorSettings", "EmulatorThread"]
