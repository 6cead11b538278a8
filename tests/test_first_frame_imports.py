"""The first frame comes before the heavy imports: everything kvtui does from its
command line to ``App.run`` (settings, logging, the app's context and the app itself)
imports none of msal, the Azure SDKs, aiohttp, requests or cryptography. They load in
a thread once the first frame is drawn (kvtui/ui/app.py, ``heavy_imports``): together
they take longer to import than the app takes to draw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kvtui.cli
from kvtui.cli import plainly_the_app_with_a_vault

HEAVY = ("msal", "msal_extensions", "azure", "aiohttp", "requests", "cryptography")

CHILD = """
import json, sys
from kvtui.ui.app import KvtuiApp

def run(self, *args, **kwargs):
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
    print(json.dumps({"title": self.title, "heavy": heavy}))

KvtuiApp.run = run
from kvtui.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_nothing_heavy_is_imported_before_the_app_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    args = ["--vault", "https://first-frame.vault.azure.net/", "--tenant", "organizations"]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(HEAVY), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["title"] == "kvtui"  # the app was built, up to run()
    assert result["heavy"] == []


@pytest.mark.parametrize(
    ("argv", "early"),
    [
        (["--vault", "contoso"], True),
        (["--vault=https://contoso.vault.azure.net/", "--read-only"], True),
        (["--read-only"], False),  # the picker: no vault to list yet
        (["search", "db", "--vault", "contoso"], False),  # a subcommand's own --vault
        (["emulator", "--vault", "demo"], False),
        (["--vault", "search"], False),  # a vault named like a command: parsed first
    ],
)
def test_the_early_listing_starts_before_parsing_only_for_the_app(
    argv: list[str], early: bool
) -> None:
    """The child starts before the command line is parsed (the parser takes 20-30 ms to
    build) only when the command line plainly runs the app with a vault; otherwise it
    starts after parsing, if at all."""
    assert plainly_the_app_with_a_vault(argv) is early


def test_ctrl_c_before_the_app_runs_is_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ctrl+c while kvtui reads its settings (before Textual takes the keyboard): one
    line and the shell's status for it, not a traceback."""

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(kvtui.cli, "_settings", interrupted)
    assert kvtui.cli.main(["--read-only"]) == 130
    assert capsys.readouterr().err == "kvtui: interrupted\n"
