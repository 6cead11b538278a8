"""A local Azure Key Vault: data plane, identity platform and an ARM slice, over HTTPS.

Never imports Textual or the app (checked by import-linter).
"""

from kvtui.emulator.server import Emulator, EmulatorInfo, EmulatorThread
from kvtui.emulator.settings import EmulatorSettings

__all__ = ["Emulator", "EmulatorInfo", "EmulatorSettings", "EmulatorThread"]
