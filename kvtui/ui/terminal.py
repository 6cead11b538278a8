"""Ending kvtui with its terminal.

When the terminal goes away (an SSH session drops, a tmux server is killed, a terminal
window is closed), the kernel hangs the tty up: it sends SIGHUP to the session leader
only, and every later read of the tty returns EOF (or fails with EIO), every write
fails with EIO. A shell passes SIGHUP on to its jobs, but ``make demo``, ``nohup`` or
any launcher that is itself the session leader, or that ignores SIGHUP, does not: kvtui
would never hear of it. Textual's Linux driver then loops on the EOF in its input
thread at 80-100% CPU, for ever: a known upstream bug ("input thread busy-looping at
100% CPU when stdin reaches EOF"), still open for Textual 8.2.8. Its writer thread dies
on the first EIO, and the next 30 writes fill its queue and block the event loop.

``HangupDriver`` (passed as ``App(driver_class=...)``, the public way to pick a driver)
keeps Textual's input loop as it is and adds, around it:

- a SIGHUP handler (unless SIGHUP was ignored on purpose, as ``nohup`` does);
- a watcher thread that sleeps in ``poll()`` until the tty reports POLLHUP (Linux; a
  hung-up tty reports it at once, a live one never), so EOF is seen without reading;
- EIO (or ENXIO, EBADF) from the input thread's read, which Textual would turn into a
  traceback on a screen that is gone.

Each of them calls ``terminal_gone``, which asks the app to exit: its screens unmount,
so the vault sessions close (VaultScreen.on_unmount), the login screen cancels its
device flow, and the token cache stays as msal last wrote it. When the tty itself is
gone (not for a SIGHUP alone: the terminal may still be there and is then restored),
Textual's input loop is told to stop and writes are dropped. If all that has not ended
the process within HARD_EXIT_SECONDS (an msal call in a worker thread, say), the
process exits anyway.

The watcher thread and the SIGHUP handler are ours rather than a patched input loop:
the loop (``LinuxDriver.run_input_thread``) is Textual's to change, and only its
public ``exit_event`` is used to stop it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import logging
import os
import select
import signal
import sys
import threading
import time
from typing import Any, ClassVar

from textual.drivers.linux_driver import LinuxDriver

log = logging.getLogger("kvtui.ui.terminal")

#: Seconds from the terminal's end to the process's end at the latest.
HARD_EXIT_SECONDS = 2.0
#: The exit status of a process ended by its terminal: 128 + SIGHUP, as the shell says.
HANGUP_STATUS = 128 + signal.SIGHUP
#: Errors of a read from a terminal that has gone away.
GONE_ERRNOS = frozenset({errno.EIO, errno.ENXIO, errno.EBADF})


def _end_now() -> None:
    """At exit after a hangup: what kvtui had to do is done by then (the app has ended,
    its vault sessions are closed, msal wrote the token cache as it changed, the demo's
    emulator has saved its data); the interpreter's teardown that would follow took
    1-3 s here (measured on 2 busy cores), for a terminal that is gone."""
    logging.shutdown()
    os._exit(HANGUP_STATUS)


def _hard_exit(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))
    log.warning("kvtui did not end within %s s of its terminal: exiting now", HARD_EXIT_SECONDS)
    logging.shutdown()
    os._exit(HANGUP_STATUS)


class HangupDriver(LinuxDriver):
    """Textual's LinuxDriver that ends the app when its terminal goes away."""

    modes_before: ClassVar[list[Any] | None] = None
    """The terminal's modes before kvtui's first paint (kvtui/ui/splash.py) turned
    echo off: what Textual restores when the app ends or is suspended (it would
    restore the modes it found, those of the first paint)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._loop = asyncio.get_running_loop()  # the app builds its driver on its loop
        self._lock = threading.Lock()
        self.ending: str | None = None
        """Why the app is ending with its terminal (None until then)."""
        self.tty_gone = False
        """The tty itself is gone: nothing can be read from or written to it."""
        self._watch_stop: int | None = None  # the write end of the watcher's wake-up pipe
        self._watcher: threading.Thread | None = None
        self._sighup = False
        # SIG_IGN inherited (nohup): the person asked to outlive SIGHUP; the watcher
        # still ends kvtui once the tty itself is gone.
        if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:
            try:
                self._loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
                self._sighup = True
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                pass

    # -- the end ----------------------------------------------------------------------

    def _on_sighup(self) -> None:
        self.terminal_gone("SIGHUP", tty_gone=False)

    def terminal_gone(self, reason: str, *, tty_gone: bool = True) -> None:
        """Exit the app (from any thread; once). ``tty_gone``: stop reading and
        writing too (not for a SIGHUP alone: the terminal may still be there, and
        the app's exit restores it)."""
        if tty_gone and not self.tty_gone:
            self.tty_gone = True
            self.exit_event.set()  # Textual's input loop ends instead of spinning on EOF
        with self._lock:
            if self.ending is not None:
                return
            self.ending = reason
        log.warning("the terminal is gone (%s): exiting", reason)
        atexit.register(_end_now)
        deadline = time.monotonic() + HARD_EXIT_SECONDS
        threading.Thread(
            target=_hard_exit, args=(deadline,), name="kvtui-hard-exit", daemon=True
        ).start()
        with contextlib.suppress(RuntimeError):  # a closed loop: the app is ending already
            self._loop.call_soon_threadsafe(self._app.exit, None, HANGUP_STATUS)

    # -- the input thread: EIO is the end, not a traceback ----------------------------

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError as exc:
            if exc.errno not in GONE_ERRNOS:
                raise
            self.terminal_gone(f"reading the terminal: {exc.strerror}")

    # -- the watcher: POLLHUP on the tty ----------------------------------------------

    def start_application_mode(self) -> None:
        super().start_application_mode()  # type: ignore[no-untyped-call]
        if self.modes_before is not None and self.attrs_before is not None:
            self.attrs_before = self.modes_before
        # poll() on ttys is Linux's; macOS's poll() does not support devices (it would
        # report POLLNVAL at once): there SIGHUP and EIO remain.
        if sys.platform.startswith("linux") and self._watcher is None and not self.tty_gone:
            wake_r, wake_w = os.pipe()
            self._watch_stop = wake_w
            self._watcher = threading.Thread(
                target=self._watch, args=(self.fileno, wake_r), name="kvtui-hangup", daemon=True
            )
            self._watcher.start()

    def _watch(self, fileno: int, wake: int) -> None:
        try:
            poller = select.poll()
            poller.register(fileno, 0)  # POLLHUP, POLLERR and POLLNVAL come anyway
            poller.register(wake, select.POLLIN)
            while True:
                for fd, events in poller.poll():
                    if fd == wake:
                        return
                    if events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                        self.terminal_gone("hangup")
                        return
        except Exception:  # the watcher must never take the app down
            log.exception("the terminal watcher stopped")
        finally:
            os.close(wake)

    def _stop_watcher(self) -> None:
        if self._watch_stop is not None:
            with contextlib.suppress(OSError):  # EPIPE: the watcher has returned already
                os.write(self._watch_stop, b"x")
            os.close(self._watch_stop)
            self._watch_stop = None
        if self._watcher is not None:
            if self._watcher is not threading.current_thread():
                self._watcher.join(1)
            self._watcher = None

    def stop_application_mode(self) -> None:
        self._stop_watcher()  # suspend (ctrl+z) starts a new one on resume
        super().stop_application_mode()

    # -- writes to a terminal that is gone --------------------------------------------

    def write(self, data: str) -> None:
        # After the hangup every write fails: Textual's writer thread has died on the
        # first one, and its bounded queue would block the event loop.
        if not self.tty_gone:
            super().write(data)

    def close(self) -> None:
        self._stop_watcher()
        if self._sighup:
            self._sighup = False
            with contextlib.suppress(ValueError, RuntimeError):
                self._loop.remove_signal_handler(signal.SIGHUP)
        if not self.tty_gone:  # else the writer thread may be dead with a full queue
            super().close()
