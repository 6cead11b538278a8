"""tmux's paste buffers, for clearing a copied secret (no Textual here).

With ``set-clipboard on``, tmux turns every OSC 52 write of an app into a paste buffer
(``tmux list-buffers``) and keeps it until ``buffer-limit`` pushes it out: clearing the
clipboard by another OSC 52 write leaves the secret in those buffers. This module finds
the buffers holding a value by size and sha256 digest, and deletes them.

The value itself is never needed here, only its digest and size: it is never on a
command line. Every tmux command runs as an asyncio subprocess (off the event loop's
work), with a timeout; every failure is a TmuxError with a short reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import time
from dataclasses import dataclass

#: Seconds one tmux command may take (it answers in milliseconds).
TIMEOUT = 3.0


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def text_bytes(text: str) -> bytes:
    """The bytes an OSC 52 write of ``text`` puts in a tmux buffer."""
    return text.encode("utf-8", "surrogatepass")


class TmuxError(Exception):
    """A tmux command failed, timed out or could not start."""


@dataclass(frozen=True)
class Buffer:
    name: str
    size: int
    created: int
    """Unix seconds."""


class Tmux:
    """The tmux server this process runs in (found by tmux itself through ``$TMUX``)."""

    def __init__(self, executable: str, timeout: float = TIMEOUT) -> None:
        self.executable = executable
        self.timeout = timeout

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Tmux | None:
        """The tmux we run in, or None outside tmux. Raises TmuxError when ``$TMUX``
        is set but no tmux command is found."""
        env = os.environ if environ is None else environ
        if not env.get("TMUX"):
            return None
        executable = shutil.which("tmux")
        if executable is None:
            raise TmuxError("$TMUX is set but the tmux command is not on PATH")
        return cls(executable)

    async def run(self, *args: str) -> bytes:
        """Run ``tmux ARGS`` and return its stdout."""
        try:
            proc = await asyncio.create_subprocess_exec(
                self.executable,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise TmuxError(f"cannot run tmux: {exc.strerror or exc}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except BaseException as exc:  # the timeout, or the app exiting: no stray tmux left
            if proc.returncode is None:
                proc.kill()
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(proc.wait(), 1)
            if isinstance(exc, asyncio.TimeoutError):
                raise TmuxError(f"tmux {args[0]} took more than {self.timeout:g} s") from None
            raise
        if proc.returncode != 0:
            reason = err.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
            raise TmuxError(f"tmux {args[0]}: {reason}")
        return out

    async def option(self, name: str) -> str:
        """A global option's value (``set-clipboard``: on, external or off)."""
        return (await self.run("show-options", "-gv", name)).decode("utf-8", "replace").strip()

    async def buffers(self) -> list[Buffer]:
        """The paste buffers, newest first."""
        out = await self.run(
            "list-buffers", "-F", "#{buffer_size}\t#{buffer_created}\t#{buffer_name}"
        )
        found = []
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            size, created, name = ([*line.split("\t", 2), "", ""])[:3]
            if size.isdigit() and created.isdigit() and name:
                found.append(Buffer(name, int(size), int(created)))
        return found

    async def buffer_digest(self, name: str) -> bytes:
        """The sha256 of a buffer's contents (read on tmux's stdout, kept nowhere)."""
        return digest(await self.run("save-buffer", "-b", name, "-"))

    async def delete(self, name: str) -> None:
        await self.run("delete-buffer", "-b", name)

    async def holding(self, value_digest: bytes, size: int, buffers: list[Buffer]) -> list[Buffer]:
        """The buffers whose contents have this digest (only those of the same size
        are read)."""
        return [
            b
            for b in buffers
            if b.size == size and await self.buffer_digest(b.name) == value_digest
        ]

    async def delete_new(
        self, value_digest: bytes, size: int, since: float, wait: float = 2.0
    ) -> int:
        """Wait up to ``wait`` s for buffers created at or after ``since`` with this
        digest (an OSC 52 write reaches tmux a moment after the app wrote it), and
        delete them. Returns how many."""
        deadline = time.monotonic() + wait
        while True:
            fresh = [b for b in await self.buffers() if b.created >= int(since)]
            found = await self.holding(value_digest, size, fresh)
            for b in found:
                await self.delete(b.name)
            if found or time.monotonic() >= deadline:
                return len(found)
            await asyncio.sleep(0.05)
