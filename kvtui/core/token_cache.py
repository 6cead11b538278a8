"""msal's token cache, persisted by msal-extensions: the platform's encrypted store if it
has one that works, else a private file, with one lock for this process's threads."""

from __future__ import annotations

import errno
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # msal is imported after the app's first frame (kvtui.ui.app)
    import msal

log = logging.getLogger("kvtui.auth")


def default_cache_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kvtui")) / "msal_token_cache.bin"


def _thread_safe_cache(persistence: Any) -> msal.SerializableTokenCache:
    """msal-extensions' PersistedTokenCache with one lock for this process's threads.

    Its file lock keeps other processes out of a write, but not a reader in another
    thread: a search() that reloads while a write has just truncated the file reads it
    empty, makes that the cache, and the next write saves it so. Measured: the account
    a device code had just signed in was lost while a vault listing got a token in
    another thread. Every search and modify (msal's add goes through modify) holds the
    lock here."""
    from msal_extensions import PersistedTokenCache

    class ThreadSafeCache(PersistedTokenCache):  # type: ignore[misc]
        def __init__(self, persistence: Any) -> None:
            super().__init__(persistence)
            self._threads = threading.RLock()

        def modify(self, *args: Any, **kwargs: Any) -> Any:
            with self._threads:
                return super().modify(*args, **kwargs)

        def search(self, *args: Any, **kwargs: Any) -> Any:
            with self._threads:
                return super().search(*args, **kwargs)

    cache: msal.SerializableTokenCache = ThreadSafeCache(persistence)
    return cache


def open_token_cache(path: Path | None = None) -> msal.SerializableTokenCache:
    """msal's token cache persisted by msal-extensions: the platform's encrypted store if
    it has one that works, else a file of mode 0600 in a 0700 folder."""
    from msal_extensions import FilePersistence, build_encrypted_persistence

    own_folder = path is None or not path.parent.exists()
    path = path or default_cache_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if own_folder:  # never chmod a folder the user named (token_cache = "/tmp/x.bin")
        os.chmod(path.parent, 0o700)
    if path.exists() and not path.is_file():
        raise IsADirectoryError(errno.EISDIR, "not a file", str(path))
    persistence: Any
    try:
        persistence = build_encrypted_persistence(str(path))
        persistence.save(persistence.load() if path.exists() else "{}")
    except Exception as exc:  # no keyring, no libsecret/D-Bus on a headless box
        log.info("encrypted token cache unavailable (%s); using a 0600 file", exc)
        persistence = FilePersistence(str(path))
    cache = _thread_safe_cache(persistence)
    if path.exists():
        os.chmod(path, 0o600)
    return cache
