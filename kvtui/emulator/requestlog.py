"""The vaults' request log: every request a vault listener answered, newest last, for
the admin endpoint's ``GET /_emulator/requests`` (admin.py). A test checks with it
which operations reached a vault: a write that kvtui refuses in read-only mode must
show none.

An entry holds the method, the path, the operation (``secrets/set``: the kind and the
permission it needs, as faults and permissions name it) and the status answered. Never
a body, a query string or a header: no value or token is kept. The log holds the
newest :data:`LIMIT` entries, in memory only.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

#: Entries kept (the oldest go first).
LIMIT = 10_000


@dataclass(frozen=True)
class LoggedRequest:
    seq: int
    """1 for the emulator's first request, then one more each."""
    vault: str
    method: str
    path: str
    operation: str | None
    """``kind/permission`` (``secrets/set``); None for a path no route serves."""
    status: int
    """What was answered; 0 when nothing was (a dropped connection)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self, limit: int = LIMIT) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=limit)
        self._seq = itertools.count(1)

    def add(self, vault: str, method: str, path: str, operation: str | None, status: int) -> None:
        self._entries.append(LoggedRequest(next(self._seq), vault, method, path, operation, status))

    def since(self, seq: int = 0, vault: str | None = None) -> Iterator[LoggedRequest]:
        """The entries after ``seq`` (all: 0), of ``vault`` only if given (its name, in
        any case)."""
        wanted = vault.lower() if vault is not None else None
        for entry in self._entries:
            if entry.seq > seq and (wanted is None or entry.vault.lower() == wanted):
                yield entry

    @property
    def last(self) -> int:
        """The newest entry's ``seq`` (0: none yet)."""
        return self._entries[-1].seq if self._entries else 0
