"""The emulator's one clock: every time the emulator states or checks comes from it.

Vault items' created, updated, deleted and scheduled-purge times, certificates'
validity, policies' times, device codes' creation, expiry and automatic approval, the
identity platform's tokens (issued, expiry, revocation) and its error timestamps all
read :class:`Clock`. Tests and tools set it and move it on, in-process
(``Emulator.clock``, ``EmulatorSettings.start_time``) or over the admin endpoint
(``POST /_emulator/clock``, docs/emulator-admin.md).

What is *not* on this clock, on purpose: the emulator's HTTPS certificate (clients check
it against the machine's time), injected latency and the device-code polling interval
(a client sleeps for them in real time). So a frozen clock never makes anything wait
forever: nothing in the emulator sleeps until the clock reaches a time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any


class Clock:
    """Unix time, real or set: ticking with the machine's time from an offset, or frozen.

    Thread-safe: the emulator's loop reads it while a test thread moves it."""

    def __init__(self, start: float | None = None) -> None:
        """``start`` (unix seconds): the clock reads ``start`` and stays there (frozen)
        until moved; seeds are then the same every run. None: the machine's time."""
        self._lock = threading.Lock()
        self.start = start
        """Where the clock was started (None: the machine's time); :meth:`reset` returns
        there."""
        self._offset = 0.0
        self._frozen_at: float | None = None
        self.reset()

    # -- reading -------------------------------------------------------------------------

    def time(self) -> float:
        """Unix seconds, with a fraction."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now(self) -> int:
        """Unix seconds, the service's time format."""
        return int(self.time())

    def datetime(self) -> dt.datetime:
        """The time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.time(), dt.timezone.utc)

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen_at is not None

    @property
    def fixed(self) -> bool:
        """Whether the clock was started at a given time: what a seed makes is then the
        same every run (version ids, keys and serials derived from names)."""
        return self.start is not None

    # -- moving it -----------------------------------------------------------------------

    def set(self, when: float) -> None:
        """Read ``when`` from now on (still frozen if it was, ticking on from there if not)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = float(when)
            else:
                self._offset = float(when) - time.time()

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (ValueError if negative)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward: advance_seconds must be 0 or more")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self) -> None:
        """Stop the clock where it is (it moves only when set or advanced)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time() + self._offset

    def resume(self) -> None:
        """Let a frozen clock tick again, from where it is."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def reset(self) -> None:
        """Back to how it started: the machine's time, or frozen at ``start``."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None if self.start is None else float(self.start)

    def to_json(self) -> dict[str, Any]:
        """What ``GET /_emulator/clock`` answers."""
        with self._lock:
            frozen = self._frozen_at is not None
            t = self._frozen_at if self._frozen_at is not None else time.time() + self._offset
            offset = t - time.time()
        when = dt.datetime.fromtimestamp(t, dt.timezone.utc)
        return {
            "now": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "time": round(t, 3),
            "frozen": frozen,
            "offset_seconds": round(offset, 3),
        }


def parse_time(text: str) -> float:
    """An ISO 8601 date or time (UTC unless it says otherwise) as unix seconds;
    ValueError (one line) if it is not one."""
    value = text.strip()
    if value.endswith(("Z", "z")):  # before Python 3.11, fromisoformat took no "Z"
        value = value[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time, e.g. 2026-01-15T09:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()
