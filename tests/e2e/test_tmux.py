"""`kvtui demo` in a real terminal (tmux): the login screen with a code, the vault after
the emulator approves it by itself (about 3 s), and a second start straight to the vault.

Prints (does not assert) the time from start to the login screen and from approval to
the first row."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kvtui.demo import APPROVE_DELAY

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

REPO = Path(__file__).resolve().parents[2]
CODE = re.compile(r"enter the code ([A-Z0-9]{9})")
#: A secret of the demo seed (kvtui/emulator/seed.py), first in the list.
DEMO_SECRET = "api-gateway"


class Tmux:
    """A tmux server of our own (its own socket), one session at 120x35."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )

    def start(self, command: str) -> None:
        result = self.run("new-session", "-d", "-s", "kvtui", "-x", "120", "-y", "35", command)
        assert result.returncode == 0, result.stderr

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "kvtui").stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", "kvtui").returncode == 0

    def wait(self, predicate: Callable[[str], object], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.05)
        raise AssertionError(f"never saw {what}; the screen was:\n{self.screen()}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(f"kvtui-test-{os.getpid()}-{tmp_path.name}")
    yield t
    t.run("kill-server")


def demo_command(home: Path) -> str:
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TERM": "xterm-256color",
    }
    assignments = [f"{k}={v}" for k, v in env.items()]
    return shlex.join(["env", *assignments, sys.executable, "-m", "kvtui", "demo"])


def test_demo_signs_in_with_a_code_then_silently(tmux: Tmux, tmp_path: Path) -> None:
    command = f"cd {shlex.quote(str(REPO))} && {demo_command(tmp_path)}"

    started = time.monotonic()
    tmux.start(command)
    screen = tmux.wait(lambda s: CODE.search(s), "the device code")
    to_login = time.monotonic() - started
    assert "Open this address" in screen
    assert "/devicelogin" in screen

    tmux.wait(lambda s: DEMO_SECRET in s, "the vault's secrets")
    approved_to_row = time.monotonic() - started - to_login - APPROVE_DELAY
    screen = tmux.screen()
    assert "demo.user@kvtui-demo.example" in screen
    tmux.run("send-keys", "-t", "kvtui", "q")
    deadline = time.monotonic() + 20
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmux.alive(), "kvtui did not quit on q"

    # The second start: no login screen, straight to the vault.
    restarted = time.monotonic()
    tmux.start(command)
    seen: list[str] = []

    def vault_shown(s: str) -> bool:
        seen.append(s)
        return DEMO_SECRET in s

    tmux.wait(vault_shown, "the vault on the second start")
    second = time.monotonic() - restarted
    assert not any(CODE.search(s) or "Sign in to Azure" in s for s in seen)
    tmux.run("send-keys", "-t", "kvtui", "q")
    print(
        f"\nkvtui demo in tmux: start -> login screen {to_login:.2f} s; "
        f"approval -> first row {approved_to_row:.2f} s (approval at code + {APPROVE_DELAY} s); "
        f"second start -> first row {second:.2f} s"
    )
