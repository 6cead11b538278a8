"""One open vault for as long as it is open, without Textual: the vault service, signing
in again when the sign-in expires, retrying once after it, the listing that starts over
after a renewed sign-in, how long the vault's throttling still holds a request, and
"the vault answered" (what puts it among the recent vaults).

The UI gives the session a way to sign in again (``renew``, an async callback that shows
the login screen) and asks it for everything else::

    session = VaultSession(url, account, open_service, renew=show_login)
    value = await session.call(lambda s: s.get_secret_value(name))
    async for page in session.list_pages(Kind.SECRETS, restart=start_over):
        ...
    session.throttle_left()  # seconds, for a banner

A call that meets :class:`~kvtui.core.errors.SessionExpired` signs in again (one login
for every call that needs it at the same time: the first asks, the others wait and
retry on its answer) and is tried once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kvtui.core.accounts import Account
from kvtui.core.errors import SessionExpired
from kvtui.core.lister import EarlyListingFailed
from kvtui.core.models import Item, Kind

if TYPE_CHECKING:  # the SDKs load after the app's first frame
    from kvtui.core.lister import EarlyListing
    from kvtui.core.throttle import ThrottleCallback
    from kvtui.core.vault import VaultService

log = logging.getLogger("kvtui.session")

#: Pages read ahead of the screen while listing (each is at most 25 items).
PREFETCH = 4

T = TypeVar("T")

Renew = Callable[[SessionExpired], Awaitable[Account | None]]
"""Sign in again for this error (tenant, scopes, claims); the account, or None when the
person gave up."""


class OpenService(Protocol):
    """How a session opens the vault service for an account (``AppContext.vault_service``)."""

    def __call__(
        self,
        vault_url: str,
        account: Account,
        *,
        on_throttle: ThrottleCallback | None = None,
        on_answer: Callable[[], None] | None = None,
    ) -> VaultService: ...


class VaultSession:
    """One vault, one signed-in account at a time. ``await close()`` when leaving it."""

    def __init__(
        self,
        vault_url: str,
        account: Account,
        open_service: OpenService,
        *,
        renew: Renew | None = None,
        answered: Callable[[], None] | None = None,
        throttle_changed: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        read_only_rule: str | None = None,
        early: EarlyListing | None = None,
    ) -> None:
        """``read_only_rule``: why the vault is read-only (its services refuse every
        write), or None. ``answered()``: once, at the vault's first successful answer.
        ``throttle_changed()``: a 429 started a wait, or a wait is over (ask
        :meth:`throttle_left`). ``clock``: the monotonic clock of the waits."""
        self.vault_url = vault_url
        self.account = account
        self.read_only_rule = read_only_rule
        self.renew = renew
        self.throttle_changed = throttle_changed
        self._open = open_service
        self._answered_cb = answered
        self._answered = False
        self._clock = clock
        self._lock = asyncio.Lock()
        self.generation = 0
        """How many times the session signed in again (a call compares it with the
        value it started with: a sign-in that finished meanwhile counts)."""
        self.signed_in = True
        """False once a sign-in was given up: calls fail until the next one works."""
        self._throttled: dict[asyncio.Task[Any] | None, float] = {}
        self.early = early
        """The secrets listed since kvtui started (kvtui/core/lister.py), for the first
        listing of secrets to take over; None once taken."""
        self.service = self._new_service(account)

    def _new_service(self, account: Account) -> VaultService:
        service = self._open(
            self.vault_url, account, on_throttle=self._on_throttle, on_answer=self._on_answer
        )
        service.read_only_rule = self.read_only_rule
        return service

    async def close(self) -> None:
        if self.early is not None:
            self.early.stop()
        await self.service.close()

    # -- the vault answered ---------------------------------------------------------

    def _on_answer(self) -> None:
        if self._answered:
            return
        self._answered = True
        if self._answered_cb is not None:
            self._answered_cb()

    # -- signing in again ------------------------------------------------------------

    async def sign_in_again(self, expired: SessionExpired, generation: int) -> bool:
        """Sign in again, once for every call that needs it; True when signed in.
        ``generation`` is :attr:`generation` when the failed call started."""
        async with self._lock:
            if self.generation != generation:
                return self.signed_in
            if expired.after_sign_in:
                # Signed in with a device code a moment ago, and still no token: another
                # code would fail the same way, forever. The caller shows the error.
                log.warning("no token right after signing in: %s", expired.reason)
                return False
            if self.renew is None:
                return False
            log.info("sign-in required mid-session (tenant %s)", expired.tenant)
            account = await self.renew(expired)
            self.generation += 1
            self.signed_in = account is not None
            if account is None:
                return False
            if account != self.account:
                old = self.service
                self.account = account
                self.service = self._new_service(account)
                await old.close()
            return True

    async def call(self, fn: Callable[[VaultService], Awaitable[T]]) -> T:
        """``await fn(service)``; when the sign-in expired, sign in again and retry once."""
        generation = self.generation
        try:
            return await fn(self.service)
        except SessionExpired as exc:
            if not await self.sign_in_again(exc, generation):
                raise
        finally:
            self.throttle_over()
        try:
            return await fn(self.service)
        finally:
            self.throttle_over()

    async def list_pages(
        self, kind: Kind, *, restart: Callable[[], None] | None = None, deleted: bool = False
    ) -> AsyncIterator[list[Item]]:
        """The items of ``kind``, a page at a time (``deleted``: its deleted items, with
        ``Item.deleted``, ``purge_scheduled`` and ``recovery_id`` set). When the sign-in
        expires midway and is renewed, the listing starts over: ``restart()`` is called
        first (the pages had so far are from the listing that failed)."""
        early = None
        if kind is Kind.SECRETS and not deleted:
            early, self.early = self.early, None
        if early is not None:
            try:
                async for page in early.pages_from():
                    if early.account_id != self.account.home_account_id:
                        raise EarlyListingFailed(f"listed as another account ({early.account_id})")
                    self._on_answer()
                    yield page
                return
            except EarlyListingFailed:  # logged: the vault is asked again, below
                if restart is not None and early.count:
                    restart()
            finally:
                early.stop()
        while True:
            generation = self.generation
            try:
                async for page in self._pages(kind, deleted):
                    self.throttle_over()
                    yield page
            except SessionExpired as exc:
                self.throttle_over()
                if not await self.sign_in_again(exc, generation):
                    raise
                if restart is not None:
                    restart()
                continue
            except BaseException:
                self.throttle_over()
                raise
            return

    async def _pages(self, kind: Kind, deleted: bool) -> AsyncIterator[list[Item]]:
        """The pages, read ahead: the vault's paging is sequential (``nextLink``), so
        the next request goes out as soon as a page has come, while the screen is still
        taking in the one before (up to PREFETCH pages wait)."""
        queue: asyncio.Queue[list[Item] | BaseException | None] = asyncio.Queue(PREFETCH)

        async def produce() -> None:
            try:
                if deleted:
                    async for gone in self.service.list_deleted_pages(kind):
                        self.throttle_over()
                        await queue.put([d.item for d in gone])
                else:
                    async for page in self.service.list_pages(kind):
                        self.throttle_over()
                        await queue.put(page)
            except Exception as exc:  # the reader raises it, as if it had read the page
                self.throttle_over()
                await queue.put(exc)
                return
            await queue.put(None)

        reader = asyncio.create_task(produce(), name=f"list-{kind.value}")
        try:
            while True:
                got = await queue.get()
                if got is None:
                    return
                if isinstance(got, BaseException):
                    raise got
                yield got
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    # -- throttling ---------------------------------------------------------------------

    def _on_throttle(self, retry_after: float | None, url: str) -> None:
        """The vault service reports a 429 (on the event loop, in the task that made the
        request: the SDK's pipeline runs in its caller's task)."""
        wait = retry_after if retry_after is not None else 1.0
        task = asyncio.current_task()
        if task is not None and task not in self._throttled:
            # When the task ends, its request is over: no wait left to show.
            task.add_done_callback(self._task_done)
        self._throttled[task] = self._clock() + wait
        log.info("throttled: waiting %.1f s (%s)", wait, url)
        self._changed()

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if self._throttled.pop(task, None) is not None:
            self._changed()

    def throttle_over(self) -> None:
        """The current task's request is over (answered, or the SDK gave up on it): no
        wait of its own to count. A 429 is reported before the SDK decides whether to
        retry, so without this a banner counts a wait nobody is waiting for."""
        if self._throttled.pop(asyncio.current_task(), None) is not None:
            self._changed()

    def throttle_left(self) -> float:
        """Seconds until the last request held by the vault's throttling is tried
        again; 0 when none is."""
        now = self._clock()
        for task, until in list(self._throttled.items()):
            if until <= now or (task is not None and task.done()):
                del self._throttled[task]
        return max(self._throttled.values(), default=now) - now

    def _changed(self) -> None:
        if self.throttle_changed is not None:
            self.throttle_changed()
