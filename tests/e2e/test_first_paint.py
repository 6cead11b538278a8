"""The first paint of a warm start (kvtui/ui/splash.py), as a terminal receives it.

kvtui runs in a pseudo-terminal of this test, twice on the same vault: the first start
lists the vault (its metadata cache written) and keeps the look of its preview; the
second paints the cached table before Textual has even started. Everything written
before Textual's own first sequence (it turns the mouse on) is that paint: the cached
names, the line under them, a vault's escape sequences shown as visible stand-ins,
never sent. When kvtui ends, the terminal has its echo and line editing back."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import subprocess
import termios
import time
from collections.abc import Callable

from kvtui.core.state import saved_look
from kvtui.emulator import EmulatorInfo
from tests.e2e.conftest import Kvtui
from tests.support import kv_clients

#: Textual's driver turns the mouse on first thing: what comes before it is the paint.
TEXTUAL_STARTS = b"\x1b[?1000h"
NASTY = "\x1b]52;c;cHduZWQ=\x07\x1b[2J"


class Pty:
    """kvtui in a pseudo-terminal of 100x30; its output, as bytes."""

    def __init__(self, command: str) -> None:
        master, slave = os.openpty()
        termios.tcsetattr(slave, termios.TCSANOW, termios.tcgetattr(slave))
        import fcntl
        import struct

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=env,
            # the terminal becomes the session's controlling terminal
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        self.master, self.slave = master, slave
        self.output = b""

    def wait(self, done: Callable[[bytes], bool], what: str, timeout: float = 60) -> bytes:
        """Read what kvtui writes until ``done(output)`` (a terminal must be read, or
        the program writing to it blocks)."""
        deadline = time.monotonic() + timeout
        while not done(self.output):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"never saw {what}; got {self.output[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the process has ended
                    raise AssertionError(f"ended before {what}") from None
        return self.output

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def end(self) -> int:
        self.type(b"\x11")  # ctrl+q
        deadline = time.monotonic() + 30
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(10)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def test_a_warm_start_paints_the_cache_before_textual_starts(
    signed_in_kvtui: Kvtui, info: EmulatorInfo
) -> None:
    async def add() -> None:
        async with kv_clients(info, signed_in_kvtui.vault_url) as sdk:
            await sdk.secrets.set_secret("aaa-first", "x", content_type=NASTY)

    asyncio.run(add())
    state = signed_in_kvtui.home / "state" / "kvtui" / "state.json"

    first = Pty(signed_in_kvtui.command)
    try:
        first.wait(lambda out: b"64 secrets" in out, "the first listing")
        first.wait(lambda _: saved_look(state) is not None, "the preview's look kept")
        assert first.end() == 0
    finally:
        first.close()

    second = Pty(signed_in_kvtui.command)
    modes = termios.tcgetattr(second.slave)
    try:
        second.wait(lambda out: "Signing in…".encode() in out, "the first paint")
        # ctrl+c over the paint, before the app runs, is a key kept for the app (it
        # says how to quit), not a signal that ends kvtui with the table on screen.
        second.type(b"\x03")
        output = second.wait(lambda out: TEXTUAL_STARTS in out, "Textual's start")
        paint = output.split(TEXTUAL_STARTS, 1)[0].decode("utf-8")
        shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", paint)
        assert "aaa-first" in shown and "billing-api-key" in shown
        assert f"Signing in… · 64 secrets cached just now · {signed_in_kvtui.vault_url}" in shown
        assert "␛]52;c;cHduZWQ=␇␛[2J" in shown  # the content type, literally
        assert "\x1b]52" not in paint and "\x07" not in paint and "\x1b[2J" not in paint
        # The secrets' values are never in the paint (there are none in the cache).
        assert "Bienvenue" not in shown
        second.wait(lambda out: b"unchanged since cached" in out, "the vault screen")
        assert second.process.poll() is None  # still running after that ctrl+c
        assert second.end() == 0
        after = termios.tcgetattr(second.slave)
        assert after[3] & (termios.ECHO | termios.ICANON) == termios.ECHO | termios.ICANON
        assert after[3] == modes[3]
    finally:
        second.close()
