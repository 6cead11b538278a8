"""The garbage collector's policy for long listings (process-wide, so in one place).

A listing keeps tens of thousands of items for as long as a vault is open; a full
collection walking them all blocked frames for 50-80 ms at 10,000 items and more at
50,000 (bench/bench_app.py). So whatever is alive after each page is moved out of the
collector's way (:func:`keep_out_of_gc`), and let go again (:func:`let_go`) when the
items go: a reload that replaced them, a vault that closed.
"""

from __future__ import annotations

import gc


def keep_out_of_gc() -> None:
    """Collect the garbage made since the last call, then move everything still alive
    out of the garbage collector's way (``gc.freeze``).

    Called after each page: the collection only walks what is not frozen yet (about a
    page's worth), and freezing after it leaves no garbage frozen (freezing without
    collecting held 200,000 dead objects at 10,000 items)."""
    gc.collect()
    gc.freeze()


def let_go() -> None:
    """Items kept out of the way can go now (``gc.unfreeze``): the next collection
    walks everything once (100-200 ms at 50,000 items)."""
    gc.unfreeze()
