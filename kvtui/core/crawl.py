"""Crawling many vaults for their listings, through the metadata cache, without Textual:
what ``kvtui search`` and ``kvtui expiring`` read.

- **Which vaults**: :func:`discover` lists every vault the account can see through Azure
  Resource Manager (every tenant, every subscription, as the vault picker does), as a
  stream of :class:`Target`; or the caller names them.
- **Cache first**: a vault's listing of a kind that the cache holds and that is younger
  than ``max_age`` is used as it is; one that is missing or older (or every one, with
  ``refresh``) is listed again and stored (:meth:`MetadataCache.store`). A listing that
  fails falls back to the cached one, however old, and says so in its
  :class:`Problem`.
- **Gently**: ``concurrency`` vaults at a time (4), the three kinds of a vault together;
  a throttled request waits as ``Retry-After`` says (the SDK's retry policy does it, and
  the vault service reports each 429 to :attr:`Progress.throttled`). A vault that cannot
  be read (403, firewall, network, throttled past the retries) is a :class:`Problem`;
  the others are read all the same. Only a sign-in that has expired
  (:class:`~kvtui.core.errors.SessionExpired`) stops the crawl: every vault would fail
  the same way.
- **Key types** are not in a key listing: with ``key_facts`` (``type:`` searches), each
  key without them is read once (a GET), kept in the cache with :meth:`MetadataCache.put`
  and carried over to the next listing of the key while it is not updated.

Never a value: only listings (:class:`~kvtui.core.models.Item`) are read and cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kvtui.core.arm import ArmClient, Subscription, VaultRef
from kvtui.core.cache import Cached, MetadataCache, age_text, vault_key
from kvtui.core.errors import SessionExpired, Throttled, VaultError
from kvtui.core.kinds import carry_facts, copy_key_facts
from kvtui.core.models import Item, Kind
from kvtui.core.throttle import ThrottleCallback
from kvtui.core.vault import VaultService, key_detail

log = logging.getLogger(__name__)

#: A cached listing younger than this is used without asking the vault (seconds).
DEFAULT_MAX_AGE = 60 * 60
#: Vaults crawled at the same time.
DEFAULT_CONCURRENCY = 4
#: Key details read at the same time within one vault (``key_facts``).
FACTS_AT_ONCE = 4
#: ARM answering 429 for a subscription: tries again this many times, waiting as it
#: asks (at most :data:`ARM_WAIT_CAP` seconds).
ARM_RETRIES = 2
ARM_WAIT_CAP = 60.0

OpenService = Callable[[str, ThrottleCallback], VaultService]
"""``open_service(vault_url, on_throttle)``: the vault service of one vault."""


@dataclass(frozen=True)
class Target:
    """A vault to crawl: its URL (with a trailing slash), the name it is shown by, and
    the subscription ARM listed it in (empty when named by the user)."""

    url: str
    name: str
    subscription: str = ""

    @classmethod
    def of(cls, url: str, name: str = "", subscription: str = "") -> Target:
        url = url if url.endswith("/") else url + "/"
        return cls(url, name or name_of(url), subscription)

    @property
    def key(self) -> str:
        return vault_key(self.url)


def name_of(vault_url: str) -> str:
    """A vault's name from its URL: the first label of a ``*.vault.azure.net`` style host,
    else ``host:port`` (the emulator, a private endpoint by IP)."""
    parts = urlsplit(vault_url)
    host = parts.hostname or vault_url
    if parts.port is None and "." in host and not host.replace(".", "").isdigit():
        return host.split(".", 1)[0]
    return parts.netloc or host


@dataclass
class Problem:
    """What could not be read: a vault's kind (``target`` and ``kind``), a vault (no
    kind), or a subscription or tenant of ARM (no target: ``where`` names it)."""

    where: str
    error: VaultError
    target: Target | None = None
    kind: Kind | None = None
    cached_age: float | None = None
    """Seconds: the cached listing of this age was used instead."""
    what: str = ""
    """What failed, when it is not the listing (``key types of 3 keys``)."""

    def text(self) -> str:
        """One line: where, what, why, and the fallback."""
        what = self.what or (self.kind.value if self.kind is not None else "")
        head = f"{self.where}: {what}" if what else self.where
        line = f"{head}: {self.message}"
        if self.cached_age is not None:
            line += f" (using the listing cached {age_text(self.cached_age)})"
        return line

    @property
    def message(self) -> str:
        """The error's message, without the ``Listing secrets:`` the line says already."""
        text = str(self.error)
        for kind in Kind:
            text = text.removeprefix(f"Listing {kind.value}: ")
        return text


def problem_lines(problems: Iterable[Problem]) -> list[str]:
    """One line per problem, by vault and kind (they come in as the vaults answer);
    those of one vault that say the same (a firewall denies every kind alike) as one
    line naming their kinds."""
    order = {kind: n for n, kind in enumerate(Kind)}

    def key(p: Problem) -> tuple[str, int, str]:
        return (p.where.lower(), -1 if p.kind is None else order[p.kind], p.what)

    groups: dict[tuple[str, str, str, float | None], list[Problem]] = {}
    for p in sorted(problems, key=key):
        groups.setdefault((p.where, p.what, p.message, p.cached_age), []).append(p)
    lines = []
    for (where, what, _, _), group in groups.items():
        first = group[0]
        kinds = [p.kind for p in group if p.kind is not None]
        if len(kinds) > 1 and not what:
            names = ", ".join(k.value for k in Kind if k in kinds)
            first = Problem(where, first.error, first.target, None, first.cached_age, names)
        lines.append(first.text())
    return lines


@dataclass
class Listing:
    target: Target
    kind: Kind
    items: list[Item]
    listed_at: float
    cached: bool
    """From the cache (fresh enough, or the fallback of a failed listing)."""


@dataclass
class Progress:
    """Where a crawl is, for a progress line: heard after each change."""

    found: int = 0
    """Vaults to crawl so far (ARM may still be listing)."""
    done: int = 0
    listing: list[str] = field(default_factory=list)
    """Names of the vaults being listed now."""
    crawled: int = 0
    """Listings (vault and kind) fetched from the vaults."""
    cached: int = 0
    """Listings taken from the cache."""
    throttled: tuple[str, float | None] | None = None
    """The last throttled vault and the wait it asked for (seconds)."""
    discovering: bool = True
    """Still finding vaults (ARM)."""


@dataclass
class CrawlResult:
    listings: list[Listing] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    vaults: int = 0
    """Vaults crawled (read or not)."""

    def items(self) -> Iterator[tuple[Target, Item]]:
        for listing in self.listings:
            for item in listing.items:
                yield listing.target, item

    @property
    def crawled(self) -> int:
        return sum(not listing.cached for listing in self.listings)

    @property
    def from_cache(self) -> int:
        return sum(listing.cached for listing in self.listings)


# -- discovery through ARM ----------------------------------------------------------------


async def discover(arm: ArmClient, problems: list[Problem]) -> AsyncIterator[Target]:
    """Every vault ARM lists for the account, as each subscription answers (the picker's
    listing). A subscription or tenant that cannot be listed goes into ``problems``; one
    that ARM throttles is tried again after the wait it asks for."""
    seen: set[str] = set()
    throttled: list[tuple[Subscription, Throttled]] = []

    def fresh(refs: Iterable[VaultRef]) -> list[Target]:
        out = []
        for ref in refs:
            if not ref.url:
                continue
            target = Target.of(ref.url, ref.name, ref.subscription_name or ref.subscription_id)
            if target.key not in seen:
                seen.add(target.key)
                out.append(target)
        return out

    async with contextlib.aclosing(arm.all_vaults()) as results:
        async for sub, result in results:
            if isinstance(result, Throttled) and sub is not None:
                throttled.append((sub, result))
            elif isinstance(result, VaultError):
                where = f"subscription {sub.name or sub.id}" if sub else "Azure Resource Manager"
                problems.append(Problem(where, result))
            else:
                for target in fresh(result):
                    yield target
    for sub, error in throttled:
        for attempt in range(ARM_RETRIES + 1):
            if attempt == ARM_RETRIES:
                problems.append(Problem(f"subscription {sub.name or sub.id}", error))
                break
            wait = 5.0 if error.retry_after is None else error.retry_after
            await asyncio.sleep(min(wait, ARM_WAIT_CAP))
            try:
                refs = await arm.vaults(sub)
            except Throttled as again:
                error = again
                continue
            except VaultError as exc:
                problems.append(Problem(f"subscription {sub.name or sub.id}", exc))
                break
            for target in fresh(refs):
                yield target
            break


# -- the crawl ----------------------------------------------------------------------------


class Crawler:
    """Reads the listings of many vaults, through the cache (see the module's doc)."""

    def __init__(
        self,
        open_service: OpenService,
        cache: MetadataCache | None,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        refresh: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        kinds: Iterable[Kind] = tuple(Kind),
        key_facts: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.open_service = open_service
        self.cache = cache
        self.max_age = max_age
        self.refresh = refresh
        self.concurrency = max(1, concurrency)
        self.kinds = tuple(kinds)
        self.key_facts = key_facts
        self.on_progress = on_progress
        self.clock = clock
        self.progress = Progress()
        self.result = CrawlResult()

    async def crawl(self, targets: Iterable[Target] | AsyncIterable[Target]) -> CrawlResult:
        """Crawl ``targets`` (an async stream is crawled as it comes: vaults of the first
        subscriptions while ARM lists the others). Raises SessionExpired (and nothing
        else a vault answers) when the sign-in has expired."""
        queue: asyncio.Queue[Target | None] = asyncio.Queue()
        seen: set[str] = set()

        async def feed() -> None:
            try:
                if isinstance(targets, AsyncIterable):
                    async for target in targets:
                        await put(target)
                else:
                    for target in targets:
                        await put(target)
            finally:
                self.progress.discovering = False
                self._report()
                for _ in range(self.concurrency):
                    await queue.put(None)

        async def put(target: Target) -> None:
            if target.key in seen:
                return
            seen.add(target.key)
            self.progress.found += 1
            self._report()
            await queue.put(target)

        async def work() -> None:
            while (target := await queue.get()) is not None:
                await self._vault(target)

        await together(feed(), *(work() for _ in range(self.concurrency)))
        return self.result

    def _report(self) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(self.progress)
            except Exception:  # a broken progress line must not stop the crawl
                log.exception("progress callback failed")

    async def _vault(self, target: Target) -> None:
        """One vault: its kinds from the cache or listed, then the key facts wanted."""
        self.result.vaults += 1
        now = self.clock()
        wanted: list[tuple[Kind, float | None, list[Item] | None]] = []
        for kind in self.kinds:
            cached = await asyncio.to_thread(self._load, target.url, kind)
            if cached is not None and not self.refresh and now - cached.listed_at <= self.max_age:
                self._add(Listing(target, kind, cached.items, cached.listed_at, cached=True))
                self.progress.cached += 1
            else:
                wanted.append(
                    (kind, cached.listed_at if cached else None, cached.items if cached else None)
                )
        keys = self._listing(target, Kind.KEYS)
        facts_wanted = self.key_facts and Kind.KEYS in self.kinds
        if not wanted and not (facts_wanted and keys and any(map(_missing, keys.items))):
            self._done(target)
            return
        self.progress.listing.append(target.name)
        self._report()

        def throttled(wait: float | None, url: str) -> None:
            self.progress.throttled = (target.name, wait)
            self._report()

        service = self.open_service(target.url, throttled)
        try:
            await together(
                *(self._list(service, target, kind, at, old) for kind, at, old in wanted)
            )
            if facts_wanted:
                await self._key_facts(service, target)
        finally:
            await service.close()
            with contextlib.suppress(ValueError):
                self.progress.listing.remove(target.name)
            if self.progress.throttled and self.progress.throttled[0] == target.name:
                self.progress.throttled = None
            self._done(target)

    def _load(self, url: str, kind: Kind) -> Cached | None:
        return self.cache.load(url, kind) if self.cache is not None else None

    def _listing(self, target: Target, kind: Kind) -> Listing | None:
        return next(
            (x for x in self.result.listings if x.kind is kind and x.target.key == target.key),
            None,
        )

    def _done(self, target: Target) -> None:
        self.progress.done += 1
        self._report()

    def _add(self, listing: Listing) -> None:
        self.result.listings.append(listing)

    async def _list(
        self,
        service: VaultService,
        target: Target,
        kind: Kind,
        cached_at: float | None,
        cached: list[Item] | None,
    ) -> None:
        started = self.clock()
        try:
            items = [item async for page in service.list_pages(kind) for item in page]
        except SessionExpired:
            raise
        except VaultError as exc:
            log.info("crawl: %s %s: %s", target.url, kind.value, exc)
            age = None if cached_at is None else max(0.0, started - cached_at)
            self.result.problems.append(
                Problem(f"vault {target.name}", exc, target=target, kind=kind, cached_age=age)
            )
            if cached is not None and cached_at is not None:
                self._add(Listing(target, kind, cached, cached_at, cached=True))
            return
        if kind is Kind.KEYS and cached:
            carry_facts(cached, items)
        if self.cache is not None:
            await asyncio.to_thread(self.cache.store, target.url, kind, items, started)
        self._add(Listing(target, kind, items, started, cached=False))
        self.progress.crawled += 1
        self._report()

    async def _key_facts(self, service: VaultService, target: Target) -> None:
        """Type, size and curve of the keys that lack them (one GET each), kept in the
        cache. The first failure is the vault's Problem (with how many keys it left
        without); SessionExpired stops the crawl."""
        keys = self._listing(target, Kind.KEYS)
        if keys is None:
            return
        missing = [i for i in keys.items if _missing(i)]
        if not missing:
            return
        limit = asyncio.Semaphore(FACTS_AT_ONCE)
        failed: list[VaultError] = []
        filled: list[Item] = []

        async def one(item: Item) -> None:
            async with limit:
                try:
                    key = await service.keys.get_key(item.name)
                except Exception as exc:
                    error = service.classify(exc, what=f"Reading key {item.name}")
                    if isinstance(error, SessionExpired):
                        raise error from exc
                    failed.append(error)
                    return
                copy_key_facts(item, key_detail(key, with_version=False))
                filled.append(item)

        await together(*(one(i) for i in missing))
        if filled and self.cache is not None:
            await asyncio.to_thread(self.cache.put, target.url, Kind.KEYS, filled)
        if failed:
            n = len(failed)
            self.result.problems.append(
                Problem(
                    f"vault {target.name}",
                    failed[0],
                    target=target,
                    kind=Kind.KEYS,
                    what=f"key type of {n} key{'' if n == 1 else 's'}",
                )
            )


def _missing(item: Item) -> bool:
    return not item.key_type


async def together(*coros: Awaitable[object]) -> None:
    """Await every coroutine concurrently; when one fails, the others are cancelled
    (``asyncio.gather`` would leave them running) and its error is raised."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
