"""An opt-in event-loop stall monitor, for ``bench/bench_app.py`` only.

With ``KVTUI_BENCH_STALLS=<path>`` in the environment, :meth:`KvtuiApp.on_mount
<kvtui.ui.app.KvtuiApp.on_mount>` calls :func:`start`: a worker of the app sleeps 5 ms
in a loop and records how late each wake-up is, and the CPU time the event loop's
thread used meanwhile (a stall the app causes, told from one where the machine was
busy); at the interpreter's exit one line per wake-up is appended to ``<path>``:
``<time.monotonic() at the wake-up> <lateness in s> <thread CPU time in s>``
(``time.monotonic`` is the system-wide CLOCK_MONOTONIC on Linux, so the benchmark
places the samples on its own timeline). Unset (always, outside the benchmark), this
module is not even imported.
"""

from __future__ import annotations

import asyncio
import atexit
import time
from typing import Any

from textual.app import App

PERIOD = 0.005


def start(app: App[Any], path: str) -> None:
    """Start the monitor as a worker of ``app``; the samples go to ``path`` at exit."""
    samples: list[tuple[float, float, float]] = []

    async def watch() -> None:
        while True:
            before, cpu = time.monotonic(), time.thread_time()
            await asyncio.sleep(PERIOD)
            now = time.monotonic()
            samples.append((now, now - before - PERIOD, time.thread_time() - cpu))

    def write() -> None:
        with open(path, "a", encoding="ascii") as out:
            out.writelines(f"{t:.6f} {late:.6f} {cpu:.6f}\n" for t, late, cpu in samples)

    atexit.register(write)
    app.run_worker(watch(), name="bench-stalls", group="bench", exit_on_error=False)
