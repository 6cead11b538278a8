"""The garbage collector's policy for long listings (process-wide, so in one place).

A listing keeps tens of thousands of items for as long as a vault is open; a full
collection walking them all blocked frames for 50-80 ms at 10,000 items and more at
50,000 (bench/bench_app.py). So once a listing is long (:data:`LONG_LISTING`),
whatever is alive after each page is moved out of the collector's way
(:func:`page_loaded`), and let go again (:func:`let_go`, :func:`replaced`) when the
items go: a reload that replaced them, a vault that closed.

Short listings leave the collector alone: its own full collections walk a few
thousand items in a few milliseconds, while keeping them out of the way costs a walk
of the whole program when it starts and again when they go (100-250 ms in a test
process that has opened many vaults).
"""

from __future__ import annotations

import gc

#: Items in one listing from which it is kept out of the collector's way.
LONG_LISTING = 2_000

_kept = False  # whether anything is frozen
_started = False  # whether start-up's objects were frozen


def started() -> None:
    """What start-up made lives as long as the app: out of the collector's way, once a
    process. Without a collection: start-up leaves little garbage, and a full
    collection walks the whole program (it would stall the first frame)."""
    global _kept, _started
    if not _started:
        gc.freeze()
        _kept = _started = True


def keep_out_of_gc() -> None:
    """Collect the garbage made since the last call, then move everything still alive
    out of the garbage collector's way (``gc.freeze``).

    Called after each page of a long listing: the collection only walks what is not
    frozen yet (about a page's worth, after the first call), and freezing after it
    leaves no garbage frozen (freezing without collecting held 200,000 dead objects at
    10,000 items)."""
    global _kept
    gc.collect()
    gc.freeze()
    _kept = True


def page_loaded(count: int) -> None:
    """A page arrived; the listing holds ``count`` items so far."""
    if count >= LONG_LISTING:
        keep_out_of_gc()


def replaced(count: int) -> None:
    """A reload's ``count`` items replaced the ones held: those can go (this collection
    walks everything once), the new ones stay out of the way if there are many."""
    if _kept or count >= LONG_LISTING:
        gc.unfreeze()
        keep_out_of_gc()


def let_go() -> None:
    """Items kept out of the way can go now (``gc.unfreeze``): the next collection
    walks everything once (100-200 ms at 50,000 items). Nothing kept: nothing to do."""
    global _kept
    if _kept:
        gc.unfreeze()
        _kept = False
