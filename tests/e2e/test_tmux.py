"""`kvtui demo` in a real terminal (tmux): the login screen with a code, the vault after
the emulator approves it by itself (about 3 s), and a second start straight to the vault.
The one sign-in with a device code in a real terminal: the other tests in tests/e2e
start kvtui signed in (conftest.py). Filter, reveal and tabs are Pilot tests
(tests/ui/test_vault_screen.py); the literal reveal and the copy into tmux's paste
buffer are in test_clipboard.py.

Prints (does not assert) the time from start to the login screen and from approval to
the first row. Secret values are never printed: screens that may show one are redacted
in failure messages."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
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


#: A secret of the demo seed with a fixed value (kvtui/emulator/seed.py: "motd"): more
#: than one line, Unicode, and text that would be markup if it were interpreted.
MOTD = "motd"
MOTD_VALUE = "Bienvenue ✓ 日本語 — [not markup] \\[x]\nline two"


def without(env: Mapping[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


class Tmux:
    """A tmux server of our own (its own socket), one session (120x35 unless told)."""

    def __init__(self, socket: str, config: Path | None = None) -> None:
        self.socket = socket
        self.config = config
        self.redact: list[str] = []

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        config = ["-f", str(self.config)] if self.config else []
        return subprocess.run(
            ["tmux", "-u", "-L", self.socket, *config, *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=10,
            # kvtui at Textual's own frame rate (tests/conftest.py lowers it for the
            # headless apps of the test processes), and at the pane's size: pytest-xdist
            # sets COLUMNS=80 and LINES=24 in its workers, and Textual takes those over
            # the terminal's own size.
            env={**without(os.environ, "TEXTUAL_FPS", "COLUMNS", "LINES"), "LC_ALL": "C.UTF-8"},
        )

    def keys(self, *keys: str, literal: bool = False) -> None:
        flags = ["-l"] if literal else []
        result = self.run("send-keys", "-t", "kvtui", *flags, *keys)
        assert result.returncode == 0, result.stderr

    def start(self, command: str, size: tuple[int, int] = (120, 35)) -> None:
        width, height = (str(n) for n in size)
        result = self.run("new-session", "-d", "-s", "kvtui", "-x", width, "-y", height, command)
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
        screen = self.screen()
        for line in (text for value in self.redact for text in value.splitlines()):
            screen = screen.replace(line, "<redacted>")
        raise AssertionError(f"never saw {what}; the screen was:\n{screen}")


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


def _quit(tmux: Tmux) -> None:
    tmux.keys("q")
    deadline = time.monotonic() + 20
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmux.alive(), "kvtui did not quit on q"
