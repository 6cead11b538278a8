"""The end-to-end layer's kvtui: a process of its own in tmux, started as a user would
(``kvtui --vault URL --authority ...``) against this test process's emulator, already
signed in (a copy of the signed-in token cache): no emulator to start in the kvtui
process and no device code to wait for. tests/e2e/test_tmux.py keeps one ``kvtui
demo`` that signs in with a code."""

from __future__ import annotations

import itertools
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from kvtui.emulator import EmulatorThread
from tests.support import SignedInCache

REPO = Path(__file__).resolve().parents[2]
_vaults = itertools.count()


@dataclass
class Kvtui:
    home: Path
    vault_url: str
    token_cache: Path
    line: str
    """A shell line running kvtui with HOME and the XDG folders in ``home`` (its config
    file: ``home/config/kvtui/config.toml``)."""

    @property
    def command(self) -> str:
        """:attr:`line` from the repository's folder (for ``Tmux.start``)."""
        return f"cd {shlex.quote(str(REPO))} && {self.line}"

    @property
    def log(self) -> Path:
        return self.home / "state" / "kvtui" / "kvtui.log"

    @property
    def config(self) -> Path:
        return self.home / "config" / "kvtui" / "config.toml"


@pytest.fixture
def signed_in_kvtui(
    tmp_path: Path, emulator: EmulatorThread, signed_in_cache: SignedInCache
) -> Kvtui:
    """kvtui on a vault of its own seeded like the demo, signed in from the start."""
    info = emulator.info
    vault = emulator.call(
        emulator.emulator.add_vault(f"e2e{next(_vaults)}x{os.getpid()}", seed="demo")
    )
    cache = tmp_path / "data" / "kvtui" / "tokens.bin"
    signed_in_cache.copy_file(cache)
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
        "KVTUI_TOKEN_CACHE": str(cache),
    }
    args = [
        *("--vault", vault.url),
        *("--authority", info.authority),
        *("--ca-bundle", info.ca_bundle),
        *("--client-id", info.client_id),
        *("--arm-url", info.arm_url),
    ]
    assignments = [f"{k}={v}" for k, v in env.items()]
    line = shlex.join(["env", *assignments, sys.executable, "-m", "kvtui", *args])
    return Kvtui(tmp_path, vault.url, cache, line)
