"""Benchmark of the vault item table (issue 4), headless: ``python -m bench.bench_table``.

For 10,000 and 50,000 secrets appended in pages of 25 (as the vault loader does):

* the worst event-loop stall while loading, with the vault screen's garbage
  collection policy (``keep_out_of_gc`` after each page): a monitor task sleeps 5 ms
  in a loop and records how late it wakes up (target: no stall over 50 ms);
* a filter keystroke (target: under 50 ms at 10,000): ``set_filter`` alone (the
  synchronous work that blocks the loop), ``set_filter`` plus rendering every
  visible line from a cold line cache (what the next frame costs on top), and the
  wall time until ``await pilot.pause()`` returns (an upper bound: Pilot's idle
  detection sleeps at least 20 ms);
* a sort by another column, and memory (tracemalloc) at 10,000.

On a busy machine the wall-clock figures measure the other processes too; the
``CPU`` line measures only this one: the loading's CPU time, and the event loop's
longest busy spell while loading (CPU time of its thread between two wake-ups of the
monitor), which is the stall that the table itself causes.

Options: ``--sizes 10000,50000``, ``--page 25``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from textual.app import App, ComposeResult
from textual.geometry import Region

from kvtui.core.models import Item, Kind
from kvtui.ui.gcpolicy import keep_out_of_gc
from kvtui.ui.widgets.item_table import ItemTable

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
WORDS = ("app", "db", "prod", "stage", "api", "key", "password", "conn", "string",
         "storage", "cert", "token", "svc", "east", "west", "payments", "orders")  # fmt: skip
QUERIES = ("d", "db", "db-", "db-p", "db-pa", "dbpw", "tag:env=prod", "type:json", "status:exp")
SIZE = (140, 45)


def make_items(n: int, seed: int = 4) -> list[Item]:
    rnd = random.Random(seed)
    names = sorted(
        f"{rnd.choice(WORDS)}-{rnd.choice(WORDS)}-{rnd.choice(WORDS)}-{i:05d}" for i in range(n)
    )
    items = []
    for name in names:
        expires = NOW + timedelta(days=rnd.randint(-60, 700)) if rnd.random() < 0.6 else None
        items.append(
            Item(
                Kind.SECRETS,
                name,
                id=f"https://bench.vault.azure.net/secrets/{name}",
                enabled=rnd.random() > 0.05,
                updated=NOW - timedelta(minutes=rnd.randint(0, 500_000)),
                expires=expires,
                tags={"env": rnd.choice(("prod", "dev", "test")), "team": rnd.choice(WORDS)},
                content_type=rnd.choice((None, "application/json", "text/plain", "pem")),
            )
        )
    return items


def pages(items: list[Item], size: int) -> Iterator[list[Item]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class BenchApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ItemTable(Kind.SECRETS, now=lambda: NOW)


async def _monitor(stop: asyncio.Event, lateness: list[float], busy: list[float]) -> None:
    while not stop.is_set():
        start, cpu = time.perf_counter(), time.thread_time()
        await asyncio.sleep(0.005)
        lateness.append(time.perf_counter() - start - 0.005)
        busy.append(time.thread_time() - cpu)


async def bench(n: int, page: int) -> dict[str, float]:
    items = make_items(n)
    result: dict[str, float] = {"n": n}
    app = BenchApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ItemTable)
        table.focus()
        await pilot.pause()
        stop = asyncio.Event()
        lateness: list[float] = []
        busy: list[float] = []
        monitor = asyncio.create_task(_monitor(stop, lateness, busy))
        start, cpu = time.perf_counter(), time.thread_time()
        for chunk in pages(items, page):
            table.append_items(chunk)
            keep_out_of_gc()  # as the vault screen's loader does after each page
            # A loader awaits the next page from the network here.
            await asyncio.sleep(0)
        result["load_s"] = time.perf_counter() - start
        result["load_cpu_s"] = time.thread_time() - cpu
        await pilot.pause()
        # Moving around while loaded must still be smooth.
        for key in ("pagedown", "pagedown", "end", "home"):
            await pilot.press(key)
        stop.set()
        await monitor
        result["stall_max_ms"] = max(lateness) * 1000
        p99 = statistics.quantiles(lateness, n=100, method="inclusive")[98]
        result["stall_p99_ms"] = p99 * 1000
        result["busy_max_ms"] = max(busy) * 1000
        result["busy_p99_ms"] = statistics.quantiles(busy, n=100, method="inclusive")[98] * 1000
        assert table.row_count == n

        region = Region(0, 0, table.size.width, table.size.height)
        sync_ms: list[float] = []
        frame_ms: list[float] = []
        pause_ms: list[float] = []
        for query in QUERIES:
            t0 = time.perf_counter()
            table.set_filter(query)
            t1 = time.perf_counter()
            table.notify_style_update()  # cold line cache: every visible line is rebuilt
            table.render_lines(region)
            t2 = time.perf_counter()
            await pilot.pause()
            t3 = time.perf_counter()
            sync_ms.append((t1 - t0) * 1000)
            frame_ms.append((t2 - t0) * 1000)
            pause_ms.append((t3 - t0) * 1000)
        table.set_filter("")
        result["filter_sync_max_ms"] = max(sync_ms)
        result["filter_frame_max_ms"] = max(frame_ms)
        result["filter_pause_max_ms"] = max(pause_ms)

        t0 = time.perf_counter()
        table.sort_by("expires")
        result["sort_ms"] = (time.perf_counter() - t0) * 1000
        table.sort_by("name")
    return result


def memory(n: int, page: int) -> tuple[float, float]:
    """(MiB held by the table beyond the items, MiB of the items) at ``n`` items."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    items = make_items(n)
    with_items = tracemalloc.get_traced_memory()[0]
    held = 0.0

    async def fill() -> None:
        nonlocal held
        app = BenchApp()
        async with app.run_test(size=SIZE) as pilot:
            t = app.query_one(ItemTable)
            before = tracemalloc.get_traced_memory()[0]
            for chunk in pages(items, page):
                t.append_items(chunk)
            await pilot.pause()
            held = (tracemalloc.get_traced_memory()[0] - before) / 2**20

    asyncio.run(fill())
    tracemalloc.stop()
    return held, (with_items - base) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--page", type=int, default=25)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child run, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(bench(args.one, args.page))))
        return
    # Each size in a fresh interpreter: garbage collection state does not carry over.
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        child = [sys.executable, "-m", "bench.bench_table", "--one", str(n), "--page"]
        out = subprocess.run([*child, str(args.page)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    table_mib, items_mib = memory(10_000, args.page)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    cols = [
        ("n", "items", "{:.0f}"),
        ("load_s", "load s", "{:.2f}"),
        ("stall_max_ms", "max stall ms", "{:.1f}"),
        ("stall_p99_ms", "p99 stall ms", "{:.1f}"),
        ("filter_sync_max_ms", "filter ms", "{:.1f}"),
        ("filter_frame_max_ms", "filter+frame ms", "{:.1f}"),
        ("filter_pause_max_ms", "filter+pause ms", "{:.1f}"),
        ("sort_ms", "sort ms", "{:.1f}"),
    ]
    print(f"ItemTable, pages of {args.page}, {SIZE[0]}x{SIZE[1]} headless")
    print(" | ".join(title for _, title, _ in cols))
    for row in rows:
        print(" | ".join(fmt.format(row[key]).rjust(len(title)) for key, title, fmt in cols))
    for row in rows:
        print(
            f"CPU {row['n']:.0f}: load {row['load_cpu_s']:.2f} s, loop busy max"
            f" {row['busy_max_ms']:.1f} ms, p99 {row['busy_p99_ms']:.1f} ms"
        )
    print(f"filter queries (worst shown): {', '.join(QUERIES)}")
    print(f"memory at 10,000: table {table_mib:.1f} MiB on top of the items ({items_mib:.1f} MiB)")
    print(f"peak RSS of the memory run (10,000 items, app included): {rss:.0f} MiB")
    print("targets: max stall < 50 ms while loading; filter keystroke < 50 ms at 10,000")


if __name__ == "__main__":
    main()
