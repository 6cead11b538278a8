"""Copying a secret's value, and clearing it again after ``clipboard_clear_seconds``.

Clearing writes a blank (one space) over the clipboard with OSC 52: an empty OSC 52
payload is ignored by tmux and by several terminals. Inside tmux (``$TMUX``), tmux with
``set-clipboard on`` has also kept the value as a paste buffer: the buffers holding
exactly the value (same size and sha256) are deleted, and so is the blank's own buffer.

Only a digest and the size of the value are kept until then, never the value. When
something else was copied since (by kvtui, or a newer tmux buffer), the clipboard is
left alone; the tmux buffers holding the value are deleted all the same.

The notification says what was done, and what kvtui cannot do: it cannot see or clear
a terminal's or a clipboard manager's history.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial

from textual.app import App

from kvtui.core.tmux import Tmux, TmuxError, digest, text_bytes
from kvtui.ui.text import literal

log = logging.getLogger("kvtui.ui.clipboard")

#: What the clipboard holds once cleared: not empty, which tmux and terminals ignore.
BLANK = " "


@dataclass(frozen=True)
class Copied:
    """A copied secret, without its value."""

    name: str
    """The item's name, for the message (shown literally)."""
    digest: bytes
    size: int
    at: float
    """time.time() of the copy."""


@dataclass
class Cleared:
    """What a clear did; ``message()`` says it."""

    name: str
    clipboard: bool = False
    """The blank was written over the clipboard."""
    something_else: bool = False
    """Something else was copied since: the clipboard was left alone."""
    in_tmux: bool = False
    buffers: int = 0
    """tmux buffers deleted that held the value."""
    tmux_error: str = ""
    set_clipboard: str = ""
    """tmux's set-clipboard option: only "on" lets an app's copy into tmux."""

    def message(self) -> str | None:
        n = self.buffers
        bufs = f"{n} tmux buffer" + ("" if n == 1 else "s")
        if self.tmux_error:
            head = "Cleared the clipboard" if self.clipboard else "Left the clipboard alone"
            text = (
                f"{head}, but tmux's buffers may still hold the value of {self.name} "
                f"(check tmux list-buffers): {self.tmux_error}"
            )
        elif self.clipboard and self.in_tmux and not n and self.set_clipboard not in ("", "on"):
            text = (
                f"Cleared the clipboard. tmux's set-clipboard is {self.set_clipboard}: "
                "the value had not reached tmux or your terminal."
            )
        elif self.clipboard and self.in_tmux:
            text = f"Cleared the clipboard and {bufs}." if n else "Cleared the clipboard."
        elif self.clipboard:
            text = "Cleared the clipboard. Your terminal may keep a copy: kvtui cannot clear it."
        elif n:
            text = (
                f"Removed the value of {self.name} from {bufs}; something else was "
                "copied since, so the clipboard was left alone."
            )
        else:
            return None  # something else is on the clipboard, and nothing held the value
        return text


class SecretClipboard:
    """Copies secret values for one app and clears them later."""

    def __init__(self, app: App[object]) -> None:
        self.app = app

    def copy(self, name: str, value: str, delay: float) -> str:
        """Copy ``value``; clear it after ``delay`` s (never when 0). Returns the
        notification to show."""
        data = text_bytes(value)
        self.app.copy_to_clipboard(value)
        shown = literal(name, multiline=False).plain
        if delay <= 0:
            return f"Copied the value of {shown}. It stays on the clipboard (clearing is off)."
        copied = Copied(shown, digest(data), len(data), time.time())
        del data
        self.app.set_timer(delay, partial(self._start_clear, copied), name="clear-clipboard")
        return f"Copied the value of {shown}. The clipboard will be cleared in {delay:g} s."

    def _start_clear(self, copied: Copied) -> None:
        self.app.run_worker(
            self.clear(copied), name="clear-clipboard", group="clear-clipboard", exit_on_error=False
        )

    async def clear(self, copied: Copied) -> Cleared:
        """Clear ``copied`` now, and notify what was done."""
        done = Cleared(copied.name)
        try:
            await self._clear(copied, done)
        except Exception as exc:  # never a traceback: say it, log it (no value in it)
            log.exception("clearing the clipboard failed")
            done.tmux_error = done.tmux_error or f"{type(exc).__name__}: {exc}"
        message = done.message()
        if message is not None:
            self.app.notify(
                literal(message).plain,
                severity="warning" if done.tmux_error else "information",
                markup=False,
                timeout=8 if done.tmux_error else 5,
            )
        return done

    async def _clear(self, copied: Copied, done: Cleared) -> None:
        # kvtui's own last copy: Textual remembers it (app.clipboard).
        ours = digest(text_bytes(self.app.clipboard)) == copied.digest
        try:
            tmux = Tmux.from_env()
        except TmuxError as exc:
            done.in_tmux, done.tmux_error, tmux = True, str(exc), None
        writes_buffers = False
        if tmux is not None:
            done.in_tmux = True
            try:
                done.set_clipboard = await tmux.option("set-clipboard")
                writes_buffers = done.set_clipboard == "on"
                buffers = await tmux.buffers()
                holding = await tmux.holding(copied.digest, copied.size, buffers)
                # A newer buffer with something else: the person copied it since (tmux
                # passes it on to the terminal's clipboard too): keep it there.
                if any(b.created >= int(copied.at) and b not in holding for b in buffers):
                    ours = False
                for buffer in holding:
                    await tmux.delete(buffer.name)
                    done.buffers += 1
            except TmuxError as exc:
                done.tmux_error = str(exc)
        if not ours:
            done.something_else = True
            return
        written_at = time.time()
        self.app.copy_to_clipboard(BLANK)
        done.clipboard = True
        if tmux is not None and writes_buffers and not done.tmux_error:
            # The blank became a buffer of its own: not worth keeping either.
            blank = text_bytes(BLANK)
            try:
                await tmux.delete_new(digest(blank), len(blank), since=written_at)
            except TmuxError as exc:
                log.info("the blank's tmux buffer stays: %s", exc)
