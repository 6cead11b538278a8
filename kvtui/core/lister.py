"""The early listing: a vault's secrets listed by a child process from the moment kvtui
starts, while the app itself is still loading. No Textual here.

Why a process: before kvtui can list a vault it imports Textual, draws its first frame,
then imports msal, the async SDKs and aiohttp (more than half a second of Python, which
one interpreter runs on one core at a time). The child needs only msal and the sync
SDK over requests, and runs on another core: its first page comes about when a bare SDK
script's would, while the app is still drawing. It lists, never reads a value, and
sends each page to the app as a line of JSON on its standard output (the metadata
cache's encoding of an item: names, ids, dates, tags, content types).

- **Child** (``python -m kvtui.core.lister_child``): reads one :class:`ListerRequest` as a
  line of JSON on its standard input (nothing on its command line), signs in silently
  as the account used last (msal over the same token cache, which msal-extensions locks
  between processes), and writes ``{"account": id}``, then ``{"page": [...]}`` per page,
  then ``{"done": true}``; or ``{"error": "..."}`` and exit status 1.
- **App** (:class:`EarlyListing`): started by the CLI before Textual is imported
  (:func:`start`), followed on the app's event loop (:meth:`EarlyListing.follow`); its
  pages can be read from the start by more than one reader, one after the other
  (:meth:`EarlyListing.pages`): the preview under "Signing in…", then the vault screen.
  Whatever fails (the account, the network, a 403) ends it with
  :class:`EarlyListingFailed`: the vault screen then lists by itself and shows the
  error as it always does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import threading
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from kvtui.core.convert import item_from_row
from kvtui.core.lister_child import ListerRequest, spawn
from kvtui.core.models import Item, Kind

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)

#: Pages handed over at once to a reader that joins late, before it lets others run.
REPLAY_BATCH = 20


class EarlyListingFailed(Exception):
    """The early listing ended without the whole listing (logged; never shown: the
    vault screen lists again and says what went wrong in its own words)."""


# -- the app's side ------------------------------------------------------------------------


class EarlyListing:
    """The child process and the pages it has sent (see the module's doc)."""

    def __init__(self, request: ListerRequest, process: subprocess.Popen[bytes]) -> None:
        self.request = request
        self.process = process
        self.account_id: str | None = None
        """The account the child signed in as, once it has said."""
        self.pages: list[list[Item]] = []
        self.count = 0
        self.done = False
        self.error: str | None = None
        self._changed: asyncio.Event | None = None
        self._reader: asyncio.Task[None] | None = None
        self._transport: asyncio.ReadTransport | None = None
        """Owns the pipe's file once reading began: only it closes it (a second close
        of the descriptor would close whatever socket reuses its number)."""

    @property
    def vault_url(self) -> str:
        return self.request.vault_url

    @property
    def over(self) -> bool:
        return self.done or self.error is not None

    def follow(self) -> None:
        """Read the child's lines on the running event loop (once)."""
        import asyncio  # (here: the CLI starts the child before anything loads asyncio)

        if self._reader is None:
            self._changed = asyncio.Event()
            self._reader = asyncio.get_running_loop().create_task(
                self._read(), name="early-listing"
            )

    async def _read(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        stdout = self.process.stdout
        assert stdout is not None
        try:
            self._transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), stdout
            )
            while not self.over:
                line = await reader.readline()
                if not line:
                    self._fail("the listing process ended early")
                    break
                self._take(json.loads(line))
        except (OSError, ValueError, TypeError) as exc:
            self._fail(f"unreadable: {exc}")
        finally:
            self._notify()

    def _take(self, message: dict[str, Any]) -> None:
        if "page" in message:
            page = [item_from_row(Kind.SECRETS, row) for row in message["page"]]
            self.pages.append(page)
            self.count += len(page)
        elif "account" in message:
            self.account_id = str(message["account"])
        elif message.get("done"):
            self.done = True
            log.info("early listing of %s: %d secrets", self.vault_url, self.count)
        else:
            self._fail(str(message.get("error", "no reason given")))
        self._notify()

    def _fail(self, reason: str) -> None:
        if self.error is None and not self.done:
            self.error = reason
            log.info("early listing of %s failed: %s", self.vault_url, reason)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def pages_from(self, start: int = 0) -> AsyncIterator[list[Item]]:
        """Every page from the ``start``-th, those had so far at once (a batch at a
        time), then each as it comes; EarlyListingFailed if the listing fails."""
        import asyncio

        self.follow()
        assert self._changed is not None
        index = start
        while True:
            while index < len(self.pages):
                yield self.pages[index]
                index += 1
                if index % REPLAY_BATCH == 0:
                    await asyncio.sleep(0)
            if self.error is not None:
                raise EarlyListingFailed(self.error)
            if self.done:
                return
            self._changed.clear()
            await self._changed.wait()

    def stop(self) -> None:
        """End the child if it still runs (the app quits, or will not use it), and
        let its pages go (the table has them, or they were not wanted)."""
        self.pages = []
        if self._reader is not None:
            self._reader.cancel()
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        if self._transport is not None:
            self._transport.close()
        elif self._reader is None and self.process.stdout is not None:
            with contextlib.suppress(OSError):
                self.process.stdout.close()


def start(
    request: ListerRequest, process: subprocess.Popen[bytes] | None = None
) -> EarlyListing | None:
    """The child (``process``, started by :func:`~kvtui.core.lister_child.spawn`, else
    started now) given ``request`` on its standard input; None where it would not help
    (a single core) or cannot start."""
    if process is None:
        process = spawn()
    if process is None:
        return None
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps(asdict(request)).encode("utf-8") + b"\n")
        process.stdin.close()
    except OSError as exc:
        log.info("no early listing: %s", exc)
        discard(process)
        return None
    return EarlyListing(request, process)


def discard(process: subprocess.Popen[bytes]) -> None:
    """A child given no request (it was not needed): it ends as its input closes, once
    its imports are done; a thread waits for that (no caller blocks)."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()

    def reap() -> None:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()

    threading.Thread(target=reap, name="kvtui-lister-reap", daemon=True).start()
