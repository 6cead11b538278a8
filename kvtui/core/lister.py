"""The early listing: a vault's secrets listed by a child process from the moment kvtui
starts, while the app itself is still loading. No Textual here.

Why a process: before kvtui can list a vault it imports Textual, draws its first frame,
then imports msal, the async SDKs and aiohttp (more than half a second of Python, which
one interpreter runs on one core at a time). The child needs only msal and the sync
SDK over requests, and runs on another core: its first page comes about when a bare SDK
script's would, while the app is still drawing. It lists, never reads a value, and
sends each page to the app as a line of JSON on its standard output (the metadata
cache's encoding of an item: names, ids, dates, tags, content types).

- **Child** (``python -m kvtui.core.lister``): reads one :class:`ListerRequest` as a
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

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from kvtui.core.convert import item_from_row
from kvtui.core.models import Item, Kind

log = logging.getLogger(__name__)

#: Pages handed over at once to a reader that joins late, before it lets others run.
REPLAY_BATCH = 20
#: The child's connection timeout (the app's vault service has the same).
CONNECT_TIMEOUT = 20


class EarlyListingFailed(Exception):
    """The early listing ended without the whole listing (logged; never shown: the
    vault screen lists again and says what went wrong in its own words)."""


@dataclass(frozen=True)
class ListerRequest:
    """What the child needs to sign in and list, as the app would."""

    vault_url: str
    account_id: str
    """The home account id of the account used last, or "": the app signs in silently
    as that account if it is in the token cache, else as the only account there."""
    authority_host: str
    tenant: str
    client_id: str
    token_cache: str | None
    ca_bundle: str | None
    validate_authority: bool
    verify_challenge_resource: bool
    retry_total: int = 3


# -- the child -----------------------------------------------------------------------------


def _say(out: IO[str], line: str) -> None:
    out.write(line + "\n")
    out.flush()


def child_main(stdin: IO[str], stdout: IO[str]) -> int:
    """List the request's vault on ``stdout`` (see the module's doc)."""
    try:
        request = ListerRequest(**json.loads(stdin.readline()))
    except (ValueError, TypeError) as exc:
        _say(stdout, json.dumps({"error": f"bad request: {exc}"}))
        return 1
    try:
        from azure.core.pipeline.transport import RequestsTransport
        from azure.core.rest import HttpRequest
        from azure.keyvault.secrets import SecretClient

        from kvtui.core.accounts import cached_accounts
        from kvtui.core.auth import MsalCredential, SignIn
        from kvtui.core.convert import item_from_secret_json, item_to_json
        from kvtui.core.token_cache import open_token_cache

        cache = open_token_cache(Path(request.token_cache) if request.token_cache else None)
        accounts = cached_accounts(cache)
        account = next((a for a in accounts if a.home_account_id == request.account_id), None)
        if account is None and len(accounts) == 1:
            account = accounts[0]
        if account is None:
            _say(stdout, json.dumps({"error": "no account to sign in as silently"}))
            return 1
        sign_in = SignIn(
            authority_host=request.authority_host,
            tenant=request.tenant,
            client_id=request.client_id,
            cache=cache,
            ca_bundle=request.ca_bundle,
            validate_authority=request.validate_authority,
        )
        _say(stdout, json.dumps({"account": account.home_account_id}))
        transport = RequestsTransport(
            # Trust and proxies as the app's own client has them: the CA bundle alone
            # when one is given, no proxy from the environment.
            connection_verify=request.ca_bundle or True,
            connection_timeout=CONNECT_TIMEOUT,
            use_env_settings=False,
        )
        client = SecretClient(
            request.vault_url,
            MsalCredential(sign_in, account).blocking(),
            transport=transport,
            verify_challenge_resource=request.verify_challenge_resource,
            retry_total=request.retry_total,
        )
        with client:
            # The SDK's pipeline (challenge, token, retries) without its models: the
            # pages' JSON as the REST API sends it, a nextLink at a time.
            query = {"api-version": client.api_version, "maxresults": 25}
            page_request = HttpRequest("GET", "/secrets", params=query)
            while True:
                response = client.send_request(page_request)
                response.raise_for_status()
                body = response.json()
                items = ",".join(item_to_json(item_from_secret_json(x)) for x in body["value"])
                _say(stdout, '{"page":[' + items + "]}")
                if not body.get("nextLink"):
                    break
                page_request = HttpRequest("GET", body["nextLink"])
        _say(stdout, json.dumps({"done": True}))
        return 0
    except BrokenPipeError:  # the app has gone
        return 1
    except Exception as exc:
        with contextlib.suppress(BrokenPipeError):
            _say(stdout, json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1


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
        if self._reader is None:
            self._changed = asyncio.Event()
            self._reader = asyncio.get_running_loop().create_task(
                self._read(), name="early-listing"
            )

    async def _read(self) -> None:
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


def start(request: ListerRequest) -> EarlyListing | None:
    """The child, started with ``request`` on its standard input; None where it would
    not help (a single core: it would only slow the app's start) or cannot start."""
    if (os.cpu_count() or 1) < 2:
        return None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "kvtui.core.lister"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(asdict(request)).encode("utf-8") + b"\n")
        process.stdin.close()
    except OSError as exc:
        log.info("no early listing: %s", exc)
        return None
    return EarlyListing(request, process)


if __name__ == "__main__":
    sys.exit(child_main(sys.stdin, sys.stdout))
