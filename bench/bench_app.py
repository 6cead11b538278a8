"""End-to-end benchmark of kvtui against the bundled emulator: ``python -m bench.bench_app``.

Everything runs here, against one emulator (HTTPS, real msal tokens, the official SDK)
with latency injected on every vault request, for vaults of 10,000 and 50,000 secrets:

* a plain SDK listing loop (``SecretClient.list_properties_of_secrets``): time to the
  first item and to all of them; the floor any UI can reach on this emulator;
* the app (headless, ``KvtuiApp`` as the CLI builds it, signed in silently from a
  token cache), timed from the vault screen's start (its tables mounted, when it
  starts listing): time to the first row and to all rows in the secrets table, and
  their ratio to the SDK loop; the worst event-loop stall while loading (a task
  sleeping 5 ms and recording how late it wakes) and how many exceeded 50 ms;
  peak RSS;
* a filter typed one key at a time, 100 ms apart: ``ItemTable.set_filter`` per key,
  and key to frame (the key event posted to the app as the terminal driver posts it,
  until the secrets table has drawn its lines for the new filter); a key through
  Pilot as well, which waits for idle (an upper bound);
* process start to first frame and to the first row: ``python -m kvtui`` in a
  pseudo-terminal, reading what it draws (median of 3).

Each app measurement runs in a fresh interpreter. The load average is printed with
the results: numbers from a busy machine are not comparable. Options: ``--sizes``,
``--latency-ms`` (default 20), ``--quick`` (1,000 and 5,000 secrets); for
investigation, ``--profile PATH`` (a pyinstrument profile of the loading; pyinstrument
is not a dependency: install it yourself) and ``--slow-ms N`` (asyncio debug mode
logs callbacks slower than N ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import pty
import resource
import select
import signal
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

import aiohttp
import requests
from azure.core.pipeline.transport import AioHttpTransport
from azure.keyvault.secrets.aio import SecretClient

from kvtui.core.auth import SignIn, open_token_cache
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread

SIZE = (140, 45)
VAULT_SCOPE = "https://vault.azure.net/.default"
QUERY = "secret-0042"


# -- set-up: emulator, vaults, a signed-in token cache ------------------------------------


def admin_session(info: EmulatorInfo) -> requests.Session:
    s = requests.Session()
    s.verify = info.ca_bundle
    s.trust_env = False
    return s


def sign_in_once(info: EmulatorInfo, cache_path: Path) -> None:
    """Device code through real msal, approved through the emulator's admin route, so
    the app under test starts silently from this cache (as a second start does)."""

    async def run() -> None:
        sign_in = SignIn(
            authority_host=info.authority.rsplit("/", 1)[0],
            tenant="organizations",
            client_id=info.client_id,
            cache=open_token_cache(cache_path),
            ca_bundle=info.ca_bundle,
            validate_authority=False,
        )
        flow = await sign_in.start_device_flow([VAULT_SCOPE])
        task = asyncio.create_task(sign_in.complete_device_flow(flow))
        with admin_session(info) as http:
            url = f"{info.admin_url}/identity/device-codes/{flow.user_code}/approve"
            await asyncio.to_thread(http.post, url, headers=info.admin_headers(), timeout=10)
        await asyncio.wait_for(task, 30)

    with admin_session(info) as http:
        http.patch(
            f"{info.admin_url}/identity/settings",
            json={"interval": 0},
            headers=info.admin_headers(),
            timeout=10,
        ).raise_for_status()
    asyncio.run(run())


class Credential:
    """The signed-in user's credential over the same cache (kvtui's own)."""

    def __init__(self, info: EmulatorInfo, cache_path: Path) -> None:
        self.sign_in = SignIn(
            authority_host=info.authority.rsplit("/", 1)[0],
            tenant="organizations",
            client_id=info.client_id,
            cache=open_token_cache(cache_path),
            ca_bundle=info.ca_bundle,
            validate_authority=False,
        )

    async def get(self) -> Any:
        [account] = await self.sign_in.accounts()
        return self.sign_in.credential(account)


async def sdk_baseline(info: EmulatorInfo, cache_path: Path, url: str) -> dict[str, float]:
    cred = await Credential(info, cache_path).get()
    ctx = ssl.create_default_context(cafile=info.ca_bundle)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
        client = SecretClient(
            url,
            cred,
            verify_challenge_resource=False,
            transport=AioHttpTransport(session=session, session_owner=False),
        )
        async with client:
            start = time.perf_counter()
            first = 0.0
            n = 0
            async for _ in client.list_properties_of_secrets():
                n += 1
                if n == 1:
                    first = time.perf_counter() - start
            total = time.perf_counter() - start
    return {"sdk_first_s": first, "sdk_all_s": total, "sdk_n": n}


# -- the app, headless, in a child interpreter ----------------------------------------------


async def _monitor(stop: asyncio.Event, lateness: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.005)
        lateness.append(time.perf_counter() - start - 0.005)


async def app_run(cfg: dict[str, Any]) -> dict[str, float]:
    from kvtui.core.config import Settings
    from kvtui.core.models import Kind
    from kvtui.ui.app import KvtuiApp
    from kvtui.ui.launch import build_context
    from kvtui.ui.widgets.item_table import ItemTable

    n = int(cfg["n"])
    settings = Settings(
        authority=cfg["authority"],
        ca_bundle=cfg["ca_bundle"],
        client_id=cfg["client_id"],
        arm_url=cfg["arm_url"],
        vault=cfg["url"],
        token_cache=cfg["cache"],
    )
    context = build_context(settings, state_path=Path(cfg["state"]))
    app = KvtuiApp(context)
    result: dict[str, float] = {"n": n}
    lateness: list[float] = []
    stop = asyncio.Event()

    def secrets_table() -> ItemTable | None:
        for table in app.screen.query(ItemTable):
            if table.kind is Kind.SECRETS:
                return table
        return None

    profiler: Any = None
    if cfg.get("profile"):  # investigation only: pyinstrument is not a dependency
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001, async_mode="disabled")
    if cfg.get("slow_ms"):  # asyncio logs every callback that runs longer than this
        import logging

        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = float(cfg["slow_ms"]) / 1000

    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        monitor = asyncio.create_task(_monitor(stop, lateness))
        deadline = start + 900
        table = None
        while (table := secrets_table()) is None or not table.is_mounted:
            if time.perf_counter() > deadline:
                raise SystemExit("the vault screen never opened")
            await asyncio.sleep(0.002)
        # The vault screen starts listing as soon as its tables are mounted.
        listing = time.perf_counter()
        result["app_screen_s"] = listing - start
        while table.total_count == 0:
            if time.perf_counter() > deadline:
                raise SystemExit("the secrets table never showed a row")
            await asyncio.sleep(0.002)
        result["app_first_s"] = time.perf_counter() - listing
        # Stalls before the first row (start-up: CSS, compose, sign-in) are reported
        # apart from those while the rows stream in.
        result["startup_stall_ms"] = max(lateness, default=0.0) * 1000
        lateness.clear()
        if profiler is not None:
            profiler.start()
        while table.total_count < n:
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {table.total_count} of {n} rows arrived")
            await asyncio.sleep(0.005)
        result["app_all_s"] = time.perf_counter() - listing
        stop.set()
        await monitor
        if profiler is not None:
            profiler.stop()
            Path(cfg["profile"]).write_text(
                profiler.output_text(
                    unicode=True, show_all=True, processor_options={"filter_threshold": 0.005}
                )
            )
        result["stall_max_ms"] = max(lateness) * 1000
        result["stalls_over_50"] = sum(late > 0.05 for late in lateness)
        result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        await pilot.pause()
        result.update(await typing_filter(app, pilot, table))
        await pilot.press("ctrl+q")
    return result


async def typing_filter(app: Any, pilot: Any, table: Any) -> dict[str, float]:
    """A person typing a filter: "/" then the query, one key at a time, 100 ms apart.

    Each key is posted to the app as the terminal driver does (an ``events.Key`` in the
    app's queue); its latency runs to the moment the secrets table has drawn its lines
    for the new filter, in the next frame (what is left of that frame: compositing and
    writing to the terminal, about a millisecond). ``set_filter`` alone is timed too,
    and the whole key through Pilot, which waits for the app to be idle (at least
    20 ms more: an upper bound)."""
    from textual import events

    loop = asyncio.get_running_loop()
    filter_ms: list[float] = []
    set_filter = table.set_filter
    render_lines = table.render_lines
    waiting: list[tuple[str, asyncio.Future[float]]] = []

    def timed_set_filter(query: str) -> int:
        t0 = time.perf_counter()
        try:
            return int(set_filter(query))
        finally:
            filter_ms.append((time.perf_counter() - t0) * 1000)

    def timed_render_lines(crop: Any) -> Any:
        strips = render_lines(crop)
        if waiting and table.filter_text == waiting[0][0] and not waiting[0][1].done():
            waiting[0][1].set_result(time.perf_counter())
        return strips

    table.set_filter = timed_set_filter
    table.render_lines = timed_render_lines
    await pilot.press("slash")
    await pilot.pause()
    frame_ms: list[float] = []
    for i, ch in enumerate(QUERY):
        future: asyncio.Future[float] = loop.create_future()
        waiting[:] = [(QUERY[: i + 1], future)]
        t0 = time.perf_counter()
        app.post_message(events.Key("minus" if ch == "-" else ch, ch))
        frame_ms.append((await asyncio.wait_for(future, 10) - t0) * 1000)
        await asyncio.sleep(0.1)
    waiting.clear()
    pilot_ms: list[float] = []
    for _ in QUERY:  # the same again, backwards, through Pilot
        t0 = time.perf_counter()
        await pilot.press("backspace")
        pilot_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "filter_max_ms": max(filter_ms),
        "keystroke_frame_max_ms": max(frame_ms),
        "keystroke_frame_median_ms": statistics.median(frame_ms),
        "keystroke_pilot_max_ms": max(pilot_ms),
        "rows_after_filter": float(table.row_count),
    }


# -- process start to first frame, in a pseudo-terminal -------------------------------------


def startup(info: EmulatorInfo, cache: Path, home: Path, url: str, marker: str) -> dict[str, float]:
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": str(SIZE[0]),
        "LINES": str(SIZE[1]),
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "KVTUI_TOKEN_CACHE": str(cache),
    }
    argv = [
        sys.executable,
        "-m",
        "kvtui",
        "--authority",
        info.authority,
        "--ca-bundle",
        info.ca_bundle,
        "--client-id",
        info.client_id,
        "--arm-url",
        info.arm_url,
        "--vault",
        url,
    ]
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the app
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    seen = b""
    first_frame = first_row = float("nan")
    deadline = start + 60
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        now = time.perf_counter() - start
        # The first frame: Textual has drawn text after switching to the alternate screen.
        if (
            first_frame != first_frame
            and b"\x1b[?1049h" in seen
            and b"kvtui" in seen.split(b"\x1b[?1049h", 1)[1]
        ):
            first_frame = now
        if marker.encode() in seen:
            first_row = now
            break
    with contextlib.suppress(OSError):
        os.write(fd, b"\x11")  # ctrl+q
    for _ in range(50):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    return {"start_first_frame_s": first_frame, "start_first_row_s": first_row}


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 secrets")
    parser.add_argument("--profile", help="pyinstrument text profile of the loading (a path)")
    parser.add_argument("--slow-ms", type=float, help="log event-loop callbacks slower than this")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(app_run(json.loads(args.child)))))
        return
    sizes = [1000, 5000] if args.quick else [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kvtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        emulator = EmulatorThread(
            EmulatorSettings(
                vaults=["bench"],
                approve="manual",
                latency_ms=args.latency_ms,
                state_dir=tmp / "emulator",
            )
        )
        info = emulator.start()
        try:
            urls = {}
            for n in sizes:
                t0 = time.perf_counter()
                vault = emulator.call(
                    emulator.emulator.add_vault(f"bulk{n}", seed=f"bulk:{n}"), timeout=300
                )
                urls[n] = vault.url
                print(f"seeded {n:,} secrets in {time.perf_counter() - t0:.1f} s", flush=True)
            cache = tmp / "cache" / "tokens.bin"
            sign_in_once(info, cache)
            rows = []
            for n in sizes:
                row: dict[str, float] = {"n": n}
                row.update(asyncio.run(sdk_baseline(info, cache, urls[n])))
                cfg = {
                    "n": n,
                    "url": urls[n],
                    "authority": info.authority,
                    "ca_bundle": info.ca_bundle,
                    "client_id": info.client_id,
                    "arm_url": info.arm_url,
                    "cache": str(cache),
                    "state": str(tmp / f"state-{n}.json"),
                    "profile": f"{args.profile}.{n}.txt" if args.profile else "",
                    "slow_ms": args.slow_ms or 0,
                }
                out = subprocess.run(
                    [sys.executable, "-m", "bench.bench_app", "--child", json.dumps(cfg)],
                    capture_output=True,
                    text=True,
                )
                if out.returncode != 0:
                    print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                    raise SystemExit(f"the app run at {n:,} failed")
                if args.slow_ms:
                    print(out.stderr, file=sys.stderr)
                row.update(json.loads(out.stdout.strip().splitlines()[-1]))
                rows.append(row)
                print(f"measured {n:,}", flush=True)
            starts = [
                startup(info, cache, tmp / f"home{i}", urls[sizes[0]], "secret-000000")
                for i in range(3)
            ]
        finally:
            emulator.stop()
    load_after = os.getloadavg()

    print()
    print(
        f"kvtui against the emulator, {args.latency_ms} ms latency per vault request, "
        f"pages of 25, {SIZE[0]}x{SIZE[1]}, {os.cpu_count()} cores, load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    for row in rows:
        row["ratio"] = row["app_all_s"] / row["sdk_all_s"]
    cols = [
        ("n", "secrets", "{:,.0f}"),
        ("sdk_first_s", "SDK first s", "{:.2f}"),
        ("app_first_s", "app first row s", "{:.2f}"),
        ("sdk_all_s", "SDK all s", "{:.2f}"),
        ("app_all_s", "app all rows s", "{:.2f}"),
        ("ratio", "app/SDK", "{:.2f}"),
        ("stall_max_ms", "max stall loading ms", "{:.0f}"),
        ("stalls_over_50", "stalls > 50 ms", "{:.0f}"),
        ("filter_max_ms", "set_filter ms", "{:.1f}"),
        ("keystroke_frame_max_ms", "key→frame max ms", "{:.0f}"),
        ("keystroke_frame_median_ms", "key→frame median ms", "{:.0f}"),
        ("keystroke_pilot_max_ms", "Pilot key ms", "{:.0f}"),
        ("rss_mib", "peak RSS MiB", "{:.0f}"),
    ]
    print(" | ".join(title for _, title, _ in cols))
    for row in rows:
        print(" | ".join(fmt.format(row[key]).rjust(len(title)) for key, title, fmt in cols))
    first_frame = statistics.median(s["start_first_frame_s"] for s in starts)
    first_row = statistics.median(s["start_first_row_s"] for s in starts)
    stalls = ", ".join(f"{row['startup_stall_ms']:.0f}" for row in rows)
    print(
        f"process start to first frame: {first_frame:.2f} s; to the first row: "
        f"{first_row:.2f} s (median of 3, {sizes[0]:,} secrets, silent sign-in from the "
        f"token cache); worst stall before the first row (headless): {stalls} ms"
    )
    print(
        "app first row / all rows: from the vault screen's start (its tables mounted), "
        "as the SDK loop from its first call; set_filter ms: the table's work per "
        f"keystroke typing {QUERY!r}; key→frame: from the key event to the table "
        "drawn for the new filter; Pilot key: a backspace through Pilot, which waits "
        "for idle (an upper bound)"
    )
    print("targets: max stall < 50 ms while loading; filter keystroke < 50 ms at 10,000")


if __name__ == "__main__":
    main()
