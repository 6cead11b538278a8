"""The metadata cache: what a vault listed, kept for the next start, without Textual.

- **What**: per signed-in account, per vault and kind, each item's name, id, version,
  attributes, tags, content type, key type, size, curve and operations, subject and
  thumbprint: what :class:`~kvtui.core.models.Item` holds. **Never values, never key
  material** (an Item has none).
- **Where**: one sqlite3 file per account, ``<cache dir>/metadata/<account>.sqlite``,
  the file 0600 in a 0700 folder (``$XDG_CACHE_HOME/kvtui`` by default). The account's
  file name is a hash of its home account id.
- **Use**: :meth:`MetadataCache.load` gives the items and when they were listed;
  :meth:`MetadataCache.store` replaces a listing, :meth:`MetadataCache.put` and
  :meth:`MetadataCache.remove` follow writes. :func:`clear` removes a vault's rows or
  every file (``kvtui cache clear``); :func:`forget_account` removes an account's file
  (``kvtui logout``).

A cache that cannot be read or written (a disk full, a corrupt file) never stops the
app: it is logged and treated as empty.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import stat
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from kvtui.core.convert import ROW_FIELDS, item_to_json, items_from_json
from kvtui.core.models import Item, Kind

log = logging.getLogger(__name__)

#: The file's layout, in sqlite's ``user_version``: the tables' version and the row's
#: fields (kvtui.core.convert.ROW_FIELDS). A file of another layout (an older kvtui's)
#: is emptied on first use: a cold start, once.
SCHEMA = (2 << 24) | (zlib.crc32(",".join(ROW_FIELDS).encode("ascii")) & 0xFFFFFF)


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/kvtui/metadata`` (platformdirs' user cache folder)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kvtui")) / "metadata"


def account_key(home_account_id: str) -> str:
    return hashlib.sha256(home_account_id.encode("utf-8")).hexdigest()[:24]


def vault_key(vault_url: str) -> str:
    """A vault URL as the cache keys it: lower case, with a trailing slash."""
    url = vault_url.strip().lower()
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class Cached:
    """A vault's listing of one kind, as cached."""

    items: list[Item]
    listed_at: float
    """When it was listed (seconds since the epoch)."""
    total: int = -1
    """How many the listing holds (``items`` may be its first rows only: ``limit``)."""

    def __post_init__(self) -> None:
        if self.total < 0:
            object.__setattr__(self, "total", len(self.items))

    def age_text(self, now: float | None = None) -> str:
        """``cached 3 h ago`` and the like."""
        return f"cached {age_text((now or time.time()) - self.listed_at)}"


#: What an app's caches hold for one another: a listing read, or being read.
Held: TypeAlias = "Cached | Future[Cached | None]"


def age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (1.5 if unit != "min" else 1):
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


def _private_dir(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) != 0o700:
        folder.chmod(0o700)


class MetadataCache:
    """One account's cache file (see the module's doc). Each call opens the file,
    does its work in one transaction and closes it: no connection is held."""

    def __init__(
        self,
        folder: Path,
        home_account_id: str,
        held: dict[tuple[str, str, Kind], Held] | None = None,
    ) -> None:
        """``held``: listings read already, shared by the caches of one app (see
        :meth:`hold`)."""
        self.folder = folder
        self.path = folder / f"{account_key(home_account_id)}.sqlite"
        self._held = held

    def hold(self, vault_url: str, kind: Kind, cached: Cached) -> None:
        """Keep a whole listing just read, for the next :meth:`load` of it to take
        instead of reading the file again (the app's preview, then its vault screen:
        50k rows take a second to read)."""
        if self._held is not None and cached.total == len(cached.items):
            self._held[(self.path.name, vault_key(vault_url), kind)] = cached

    @contextmanager
    def _db(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if write:
            _private_dir(self.folder)
            if not self.path.exists():
                # Created 0600 before sqlite writes a byte to it.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        db = sqlite3.connect(self.path, timeout=5)
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                _migrate(db)
            db.execute(
                "CREATE TABLE IF NOT EXISTS listing (vault TEXT, kind TEXT, listed_at REAL,"
                " PRIMARY KEY (vault, kind))"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS item (vault TEXT, kind TEXT, name TEXT, data TEXT,"
                " PRIMARY KEY (vault, kind, name))"
            )
            with db:
                yield db
        finally:
            db.close()

    def take_held(self, vault_url: str, kind: Kind) -> Cached | None:
        """The listing :meth:`hold` kept (or :meth:`read_ahead` has read), once (no
        file read: for the first frame)."""
        if self._held is None:
            return None
        key = (self.path.name, vault_key(vault_url), kind)
        held = self._held.get(key)
        if isinstance(held, Future):
            if not held.done():
                return None
            self._held.pop(key, None)
            cached = None if held.cancelled() or held.exception() else held.result()
            return cached if cached is not None and cached.total == len(cached.items) else None
        self._held.pop(key, None)
        return held

    def read_ahead(self, vault_url: str, kind: Kind) -> Future[Cached | None]:
        """Read the whole listing in a thread of its own; whoever wants it next (the
        app's preview, then its vault screen) waits for that read (:meth:`reading`)
        rather than read the file again (50k rows: a fifth of a second, holding the
        GIL in part)."""
        future: Future[Cached | None] = Future()
        future.set_running_or_notify_cancel()  # (a waiter that gives up cannot cancel it)

        def read() -> None:
            try:
                cached = self.load(vault_url, kind)
            except Exception as exc:  # (load logs and returns None itself)
                future.set_exception(exc)
            else:
                future.set_result(cached)

        if self._held is not None:
            self._held[(self.path.name, vault_key(vault_url), kind)] = future
        threading.Thread(target=read, name="kvtui-cache-read", daemon=True).start()
        return future

    def reading(self, vault_url: str, kind: Kind) -> Future[Cached | None] | None:
        """The read :meth:`read_ahead` started, if it is not done yet."""
        if self._held is None:
            return None
        held = self._held.get((self.path.name, vault_key(vault_url), kind))
        return held if isinstance(held, Future) and not held.done() else None

    def load(self, vault_url: str, kind: Kind, limit: int | None = None) -> Cached | None:
        """The cached listing (its first ``limit`` rows by name), or None (never
        listed, or the cache unreadable). A listing held (:meth:`hold`) is taken
        instead of the file; only its first rows (``limit``) leave it held."""
        vault = vault_key(vault_url)
        if limit is not None:
            key = (self.path.name, vault, kind)
            held = self._held.get(key) if self._held is not None else None
            if isinstance(held, Cached):
                return Cached(held.items[:limit], held.listed_at, held.total)
        held = self.take_held(vault_url, kind)
        if held is not None:
            return held
        try:
            with self._db(write=False) as db:
                row = db.execute(
                    "SELECT listed_at FROM listing WHERE vault = ? AND kind = ?",
                    (vault, kind.value),
                ).fetchone()
                if row is None:
                    return None
                rows = db.execute(
                    "SELECT data FROM item WHERE vault = ? AND kind = ? ORDER BY name LIMIT ?",
                    (vault, kind.value, -1 if limit is None else limit),
                ).fetchall()
                total = len(rows)
                if limit is not None and total == limit:
                    (total,) = db.execute(
                        "SELECT COUNT(*) FROM item WHERE vault = ? AND kind = ?",
                        (vault, kind.value),
                    ).fetchone()
            items = items_from_json(kind, [data for (data,) in rows])
            return Cached(items, float(row[0]), int(total))
        except FileNotFoundError:
            return None
        except (sqlite3.Error, OSError, ValueError, TypeError, LookupError) as exc:
            log.warning("metadata cache unreadable (%s): %s", self.path, exc)
            return None

    def names(self, vault_url: str, kind: Kind) -> list[str]:
        """Every cached name of the listing, in order ([] if none or unreadable)."""
        try:
            with self._db(write=False) as db:
                rows = db.execute(
                    "SELECT name FROM item WHERE vault = ? AND kind = ? ORDER BY name",
                    (vault_key(vault_url), kind.value),
                ).fetchall()
        except FileNotFoundError:
            return []
        except (sqlite3.Error, OSError) as exc:
            log.warning("metadata cache unreadable (%s): %s", self.path, exc)
            return []
        return [name for (name,) in rows]

    def store(
        self, vault_url: str, kind: Kind, items: Iterable[Item], listed_at: float | None = None
    ) -> None:
        """Replace the cached listing of ``kind`` with ``items``."""
        vault = vault_key(vault_url)
        rows = [(vault, kind.value, i.name, item_to_json(i)) for i in items]
        self._write(
            "store",
            ("DELETE FROM item WHERE vault = ? AND kind = ?", [(vault, kind.value)]),
            ("INSERT OR REPLACE INTO item VALUES (?, ?, ?, ?)", rows),
            (
                "INSERT OR REPLACE INTO listing VALUES (?, ?, ?)",
                [(vault, kind.value, time.time() if listed_at is None else listed_at)],
            ),
        )

    def put(self, vault_url: str, kind: Kind, items: Iterable[Item]) -> None:
        """Items written (created, changed, recovered): kept as they are now, if the
        kind's listing is cached at all."""
        vault = vault_key(vault_url)
        rows = [(vault, kind.value, i.name, item_to_json(i), vault, kind.value) for i in items]
        self._write(
            "put",
            (
                "INSERT OR REPLACE INTO item SELECT ?, ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM listing WHERE vault = ? AND kind = ?)",
                rows,
            ),
        )

    def remove(self, vault_url: str, kind: Kind, names: Iterable[str]) -> None:
        """Items deleted or purged."""
        vault = vault_key(vault_url)
        self._write(
            "remove",
            (
                "DELETE FROM item WHERE vault = ? AND kind = ? AND name = ?",
                [(vault, kind.value, n) for n in names],
            ),
        )

    def clear(self, vault_url: str | None = None) -> int:
        """Forget a vault (every kind), or everything in this account's file; returns
        how many listings went."""
        if vault_url is None:
            try:
                with self._db(write=False) as db:
                    count = int(db.execute("SELECT COUNT(*) FROM listing").fetchone()[0])
            except (FileNotFoundError, sqlite3.Error):
                count = 0
            self.path.unlink(missing_ok=True)
            return count
        vault = vault_key(vault_url)
        try:
            with self._db(write=False) as db:
                gone = db.execute("DELETE FROM listing WHERE vault = ?", (vault,)).rowcount
                db.execute("DELETE FROM item WHERE vault = ?", (vault,))
            return int(gone)
        except FileNotFoundError:
            return 0

    def vaults(self) -> dict[str, dict[Kind, float]]:
        """Every cached vault: when each kind was listed."""
        out: dict[str, dict[Kind, float]] = {}
        try:
            with self._db(write=False) as db:
                for vault, kind, listed_at in db.execute("SELECT * FROM listing"):
                    out.setdefault(vault, {})[Kind(kind)] = float(listed_at)
        except FileNotFoundError:
            pass
        except (sqlite3.Error, ValueError) as exc:
            log.warning("metadata cache unreadable (%s): %s", self.path, exc)
        return out

    def _write(self, what: str, *steps: tuple[str, list[tuple[Any, ...]]]) -> None:
        try:
            with self._db(write=True) as db:
                for sql, rows in steps:
                    db.executemany(sql, rows)
        except (sqlite3.Error, OSError) as exc:
            log.warning("metadata cache %s failed (%s): %s", what, self.path, exc)


def _migrate(db: sqlite3.Connection) -> None:
    """A new file, or an older kvtui's: emptied and marked with :data:`SCHEMA`. Under
    the file's write lock, and checked again there: two processes (or threads) opening
    a new file at once must not empty what the first has just written."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
            db.execute("DROP TABLE IF EXISTS listing")
            db.execute("DROP TABLE IF EXISTS item")
            db.execute(f"PRAGMA user_version = {SCHEMA:d}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def clear_all(folder: Path) -> int:
    """Remove every account's cache file; returns how many went."""
    gone = 0
    for path in folder.glob("*.sqlite"):
        path.unlink(missing_ok=True)
        gone += 1
    return gone


def clear_vault(folder: Path, vault_url: str) -> int:
    """Forget one vault in every account's file; returns how many listings went."""
    gone = 0
    for path in folder.glob("*.sqlite"):
        cache = MetadataCache(folder, "")
        cache.path = path
        gone += cache.clear(vault_url)
    return gone


def forget_account(folder: Path, home_account_id: str) -> bool:
    """Remove an account's cache file (``kvtui logout``); True if there was one."""
    path = MetadataCache(folder, home_account_id).path
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def folder_for(token_cache: str | None) -> Path:
    """The metadata cache's folder: ``metadata/`` beside the token cache (so a token
    cache of one's own, as the demo and the tests have, keeps its listings apart)."""
    from kvtui.core.token_cache import default_cache_path

    token = Path(token_cache).expanduser() if token_cache else default_cache_path()
    return token.parent / "metadata"
