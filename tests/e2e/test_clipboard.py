"""Clearing a copied secret in a real tmux with ``set-clipboard on``: tmux keeps every
OSC 52 write as a paste buffer and ignores an empty one, so kvtui deletes the buffers
holding the value (kvtui/ui/clipboard.py). kvtui (signed in, tests/e2e/conftest.py)
reads ``clipboard_clear_seconds`` from the isolated config file. First, r shows the
value literally in the real terminal (brackets and a backslash as they are), and c puts
exactly the value in tmux's paste buffer (Textual writes OSC 52; tmux with
set-clipboard on makes a buffer of it).

Secret values are never printed: buffers are compared apart from the assertion text."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Kvtui
from tests.e2e.test_tmux import DEMO_SECRET, MOTD, MOTD_VALUE, Tmux

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

#: Long enough for the test to act between the copy and the clearing on a loaded machine:
#: it sees the value's buffer (and adds its own) within 0.4 s of pressing c, measured at
#: a load average of 10 on 2 cores. Each of the three clearings waits this long; the
#: setting is whole seconds (kvtui/core/config.py), so 1 would be the only shorter value.
CLEAR_SECONDS = 2


def toasts(screen: str) -> str:
    """The text of the notifications on screen (right of their "▌" edge), one line."""
    parts = [line.rsplit("▌", 1)[1] for line in screen.splitlines() if "▌" in line]
    return re.sub(r"\s+", " ", " ".join(parts).replace("▔", " "))


def buffers(tmux: Tmux) -> dict[str, str]:
    """tmux's paste buffers: name -> contents."""
    names = tmux.run("list-buffers", "-F", "#{buffer_name}").stdout.split()
    return {name: tmux.run("save-buffer", "-b", name, "-").stdout for name in names}


def holding_value(tmux: Tmux) -> int:
    return sum(1 for text in buffers(tmux).values() if text == MOTD_VALUE)


def wait_for(predicate: object, what: str, timeout: float = 30) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


@pytest.fixture
def clip_tmux(tmp_path: Path) -> Iterator[Tmux]:
    config = tmp_path / "tmux.conf"
    config.write_text("set-option -g set-clipboard on\n", encoding="utf-8")
    tmux = Tmux(f"kvtui-test-{os.getpid()}-{tmp_path.name}-clear", config)
    tmux.redact.append(MOTD_VALUE)
    yield tmux
    tmux.run("kill-server")


def test_clearing_deletes_the_tmux_buffers_holding_the_value(
    clip_tmux: Tmux, signed_in_kvtui: Kvtui
) -> None:
    tmux = clip_tmux
    config = signed_in_kvtui.config
    config.parent.mkdir(parents=True)
    config.write_text(f"clipboard_clear_seconds = {CLEAR_SECONDS}\n", encoding="utf-8")
    tmux.start(signed_in_kvtui.command)
    assert tmux.run("show-options", "-g", "-v", "set-clipboard").stdout.strip() == "on"
    tmux.wait(lambda s: DEMO_SECRET in s, "the vault's secrets")
    tmux.keys("/")
    tmux.wait(lambda s: "filter: name, tag:key=value" in s, "the filter box")
    tmux.keys(MOTD, literal=True)
    tmux.wait(lambda s: "1 of 63 secrets match" in s, "the table narrowed")
    tmux.keys("Enter")
    # The table's keys in the footer: the table has the focus again (not the filter box).
    tmux.wait(
        lambda s: f"filter: {MOTD}" in s and "c Copy" in s and f"secret {MOTD}" in s,
        "motd selected, the table focused",
    )
    assert buffers(tmux) == {}

    # r: the value appears, literally (brackets and backslash as they are).
    tmux.keys("r")
    screen = tmux.wait(lambda s: "[not markup] \\[x]" in s, "the revealed value")
    assert "line two" in screen

    # c: tmux keeps exactly the value as a buffer; after the delay the buffer is gone (and the
    # blank written over the clipboard left no buffer either), and the message says so.
    tmux.keys("c")
    tmux.wait(
        lambda s: f"cleared in {CLEAR_SECONDS} s" in toasts(s), "the copy message with the delay"
    )
    wait_for(lambda: holding_value(tmux) == 1, "the value in a tmux buffer")
    tmux.wait(
        lambda s: "Cleared the clipboard and 1 tmux buffer." in toasts(s), "the clearing message"
    )
    left = buffers(tmux)
    assert not any(text == MOTD_VALUE for text in left.values()), "a buffer holds the value"
    assert left == {}, f"buffers left: {sorted(left)}"

    # c again, then the person copies something else: that buffer (and the clipboard)
    # stay; the buffer with the value goes.
    tmux.keys("c")
    wait_for(lambda: holding_value(tmux) == 1, "the value in a tmux buffer again")
    assert tmux.run("set-buffer", "-b", "mine", "--", "copied by the user").returncode == 0
    tmux.wait(
        lambda s: f"Removed the value of {MOTD} from 1 tmux buffer" in toasts(s),
        "the second clearing message",
    )
    assert "clipboard was left alone" in toasts(tmux.screen())
    assert buffers(tmux) == {"mine": "copied by the user"}  # no value, no blank

    # tmux's default, set-clipboard external: tmux ignores an app's OSC 52, so the value
    # never reached tmux or the terminal, and the clearing says so.
    assert tmux.run("set-option", "-g", "set-clipboard", "external").returncode == 0
    tmux.keys("c")
    tmux.wait(lambda s: "set-clipboard is external" in toasts(s), "the clearing message (external)")
    assert "the value had not reached tmux or your terminal" in toasts(tmux.screen())
    assert buffers(tmux) == {"mine": "copied by the user"}
