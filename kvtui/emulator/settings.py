"""How an emulator run is configured (the `kvtui emulator` options, as a dataclass)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SEED_RE = re.compile(r"^(empty|demo|bulk:\d+)$")
VAULT_NAME_RE = re.compile(r"^(?!.*--)[a-zA-Z]([a-zA-Z0-9-]{0,22}[a-zA-Z0-9])?$")

#: The Azure CLI's well-known public client id: accepted so kvtui's default works.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def valid_vault_name(name: str) -> bool:
    """Azure's rule (letters, digits and hyphens, starting with a letter, not ending with a
    hyphen, no ``--``, at most 24), except that names shorter than 3 are accepted."""
    return bool(VAULT_NAME_RE.match(name))


@dataclass
class EmulatorSettings:
    """Options of one emulator run. Every field has a `kvtui emulator` flag."""

    vaults: list[str] = field(default_factory=lambda: ["demo"])
    """Names of the vaults to serve, each on its own port."""
    seed: str = "empty"
    """What the vaults start with: ``empty``, ``demo`` or ``bulk:N`` (N secrets)."""
    start_time: float | None = None
    """Where the emulator's clock starts (unix seconds; ``--seed-time``). Set, the clock
    is frozen there and moves only when told (``Emulator.clock``, ``POST
    /_emulator/clock``), and the demo seed is the same every run: dates relative to it,
    version ids, keys and certificates derived from the names (for snapshots and
    screenshots). None: the machine's time; fresh keys."""
    approve: str = "auto"
    """Device codes: ``auto`` approves by itself after ``approve_delay``; ``manual`` waits
    for a person on the verification page (or the admin endpoint)."""
    approve_delay: float = 3.0
    token_lifetime: int = 3600
    """Lifetime of the access tokens issued, in seconds."""
    latency_ms: int = 0
    """Latency added to every request, in milliseconds."""
    state_dir: Path | None = None
    """Where the CA, the signing key and (with ``persist``) the data live. None: a
    temporary folder removed when the emulator stops."""
    persist: bool = False
    """Save the vaults' data into ``state_dir`` when stopping and load it when starting."""
    host: str = "127.0.0.1"
    port: int = 0
    """Port of the identity platform and ARM; vaults take the following ports.
    0 picks free ports."""

    def __post_init__(self) -> None:
        if not SEED_RE.match(self.seed):
            raise ValueError(f"--seed must be empty, demo or bulk:N, not {self.seed!r}")
        if self.approve not in ("auto", "manual"):
            raise ValueError(f"--approve must be auto or manual, not {self.approve!r}")
        if not self.vaults:
            self.vaults = ["demo"]
