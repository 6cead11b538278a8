"""Hostile text from a vault and from the identity platform, in a real terminal (tmux):
escapes that would retitle the terminal (OSC 0), write the clipboard (OSC 52, which tmux
with ``set-clipboard on`` turns into a paste buffer) and clear the screen (CSI 2J),
markup and a right-to-left override, put in every error the emulator's faults can reach
and in the device code. After each, the pane title and the paste buffers are unchanged,
the screen was not cleared, and the text shows with visible stand-ins (``␛``).

kvtui runs as a user would start it (``kvtui --vault URL --authority ...``), signing in
with a device code, against this test process's emulator (a demo-seeded vault of its
own), whose admin endpoint injects the faults; the faults and identity settings are
undone afterwards (the ``admin`` and ``identity`` fixtures)."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from kvtui.emulator import EmulatorThread
from tests.e2e.test_tmux import REPO, Tmux
from tests.emulator.admin_support import Admin
from tests.ui.test_literal import HOSTILE, RAW, SHOWN

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

_n = itertools.count()
#: What HOSTILE's OSC 52 would put on the clipboard: base64 "SU5KRUNURUQ=".
INJECTED = "INJECTED"
#: The device code the identity platform hands out (it upper-cases it).
CODE = "K9\x1b]0;PWNED\x07\x1b]52;c;SU5KRUNURUQ=\x07\x1b[2J[B]X[/]\u202eZ"


@pytest.fixture
def emulator_process(
    emulator: EmulatorThread, identity: Callable[..., dict[str, Any]], admin: Admin
) -> dict[str, Any]:
    """The emulator's JSON line (as ``kvtui emulator`` prints it), its ``demo`` vault a
    new one seeded like the demo."""
    vault = emulator.call(emulator.emulator.add_vault(f"lit{os.getpid()}x{next(_n)}", seed="demo"))
    info = dict(json.loads(emulator.info.to_json()))
    info["vaults"] = {"demo": vault.url}
    return info


def admin(info: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    """``method /_emulator{path}``, trusting only the emulator's CA; with the admin token
    when the emulator has one."""
    headers = {}
    if info.get("admin_token"):
        headers["Authorization"] = f"Bearer {info['admin_token']}"
    with requests.Session() as http:
        http.trust_env = False
        resp = http.request(
            method,
            f"{info['admin_url']}{path}",
            json=body,
            headers=headers,
            verify=info["ca_bundle"],
            timeout=10,
        )
    assert resp.status_code < 300, (resp.status_code, resp.text)
    return resp.json() if resp.content else None


def fault(info: dict[str, Any], tag: str, **fields: Any) -> str:
    """A fault whose message is ``tag`` and the hostile text; its id."""
    body = {"type": "status", "status": 501, "message": f"{tag} {HOSTILE}", **fields}
    return str(admin(info, "POST", "/faults", body)["id"])


def kvtui_command(home: Path, info: dict[str, Any]) -> str:
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TERM": "xterm-256color",
    }
    args = [
        *("--vault", info["vaults"]["demo"]),
        *("--authority", info["authority"]),
        *("--ca-bundle", info["ca_bundle"]),
        *("--client-id", info["client_id"]),
        *("--arm-url", info["arm_url"]),
    ]
    assignments = [f"{k}={v}" for k, v in env.items()]
    command = shlex.join(["env", *assignments, sys.executable, "-m", "kvtui", *args])
    return f"cd {shlex.quote(str(REPO))} && {command}"


class Terminal:
    """What must not change: the pane's title and tmux's paste buffers."""

    def __init__(self, tmux: Tmux) -> None:
        self.tmux = tmux
        self.title = self.pane_title()

    def pane_title(self) -> str:
        return self.tmux.run("display", "-p", "-t", "kvtui", "#{pane_title}").stdout

    def buffers(self) -> list[str]:
        names = self.tmux.run("list-buffers", "-F", "#{buffer_name}").stdout.split()
        return [self.tmux.run("show-buffer", "-b", name).stdout for name in names]

    def shows(self, tag: str, chrome: str, *, upper: bool = False) -> str:
        """Wait for ``tag`` and every hostile part as its stand-in; then check that the
        screen still has ``chrome`` (not cleared), the title and the buffers."""

        def shown(screen: str) -> bool:
            text = screen.upper() if upper else screen
            parts = [p.upper() for p in SHOWN] if upper else SHOWN
            return tag in screen and all(p in text for p in parts)

        try:
            screen = self.tmux.wait(shown, f"{tag} with the stand-ins", timeout=30)
        except AssertionError as exc:
            raise AssertionError(f"{self.damage()}\n{exc}") from None
        assert not any(ch in screen for ch in RAW)
        assert chrome in screen, f"the screen was cleared? no {chrome!r} in:\n{screen}"
        assert not self.damage(), self.damage()
        return screen

    def damage(self) -> str:
        """What the escapes did to the terminal, if anything."""
        done = []
        title = self.pane_title()
        if title != self.title:
            done.append(f"the pane title changed to {title!r}")
        if any(INJECTED in b for b in self.buffers()):
            done.append(f"a paste buffer holds {INJECTED!r} (OSC 52)")
        return "; ".join(done)


def test_hostile_error_text_leaves_the_terminal_alone(
    tmp_path: Path, emulator_process: dict[str, Any]
) -> None:
    info = emulator_process
    config = tmp_path / "tmux.conf"
    config.write_text("set-option -g set-clipboard on\n", encoding="utf-8")
    tmux = Tmux(f"kvtui-literal-{os.getpid()}-{tmp_path.name}", config)
    # Sign-in: a hostile code and address; kvtui polls five times a second.
    admin(
        info,
        "PATCH",
        "/identity/settings",
        {"approve": "manual", "interval": 0.2, "user_code": CODE, "verification_uri": HOSTILE},
    )
    # The vault: every certificate listing fails (its tab's error panel), and every key's
    # details (read in the background as the keys are listed; then the detail pane).
    fault(info, "TAGLIST", operation="certificates/list")
    detail = fault(info, "TAGDETAIL", operation="keys/get")
    try:
        # 160 columns: the detail pane beside the table, its error at the top, clear of
        # the notifications stacked at the bottom right (under the table, at 120, the
        # error was behind them until they timed out).
        tmux.start(kvtui_command(tmp_path, info), size=(160, 35))
        assert tmux.run("show-options", "-g", "-v", "set-clipboard").stdout.strip() == "on"
        term = Terminal(tmux)

        # The device code, its address and msal's message.
        started = time.monotonic()
        term.shows("Open this address", "Sign in to Azure", upper=True)
        print(f"\nlogin screen after {time.monotonic() - started:.1f} s")
        # c copies the code: the notification names it (the copy itself is the code).
        tmux.keys("c")
        term.shows("Copied the code", "Sign in to Azure", upper=True)
        # An error while polling for the token.
        admin(
            info,
            "POST",
            "/faults",
            {
                "type": "status",
                "service": "identity",
                "status": 400,
                "path": "/token$",
                "code": "invalid_grant",
                "message": f"TAGTOKEN {HOSTILE}",
                "count": 1,
            },
        )
        term.shows("TAGTOKEN", "Sign-in did not complete")

        # r: a new, ordinary code, approved at once: the vault.
        admin(
            info,
            "PATCH",
            "/identity/settings",
            {"approve": "auto", "approve_delay": 0, "user_code": "", "verification_uri": ""},
        )
        tmux.keys("r")
        tmux.wait(lambda s: "api-gateway" in s, "the vault's secrets", timeout=30)
        footer = "^p palette"  # on every vault screen (under a modal too), at any size

        # Reveal (r) and copy (c) of the highlighted secret.
        secret = "^/secrets/api-gateway/?$"
        reveal = fault(info, "TAGREVEAL", path=secret)
        tmux.keys("r")
        term.shows("TAGREVEAL", footer)
        admin(info, "DELETE", f"/faults/{reveal}")
        fault(info, "TAGCOPY", path=secret)
        tmux.keys("c")
        assert "Cannot copy" in term.shows("TAGCOPY", footer)

        # Keys: the highlighted key's detail, then s (save) and v (versions).
        tmux.keys("2")
        term.shows("TAGDETAIL", footer)
        admin(info, "DELETE", f"/faults/{detail}")
        fault(info, "TAGSAVE", operation="keys/get")
        tmux.keys("s")
        assert "Cannot save" in term.shows("TAGSAVE", footer)
        fault(info, "TAGVERSIONS", path="/versions$")
        tmux.keys("v")
        term.shows("TAGVERSIONS", footer)
        tmux.keys("Escape")
        tmux.wait(lambda s: "Versions of key" not in s, "the versions closed")

        # Certificates: the listing's error panel.
        tmux.keys("3")
        term.shows("TAGLIST", footer)

        # o: the vault picker, with ARM failing.
        admin(
            info,
            "POST",
            "/faults",
            {
                "type": "status",
                "service": "arm",
                "status": 500,
                "path": "^/subscriptions$",
                "message": f"TAGARM {HOSTILE}",
            },
        )
        tmux.keys("o")
        term.shows("TAGARM", "Open a vault")
        tmux.keys("C-q")
        print(f"all paths checked after {time.monotonic() - started:.1f} s")
    finally:
        tmux.run("kill-server")
