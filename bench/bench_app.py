"""End-to-end benchmark of kvtui against the bundled emulator: ``python -m bench.bench_app``.

One emulator (HTTPS, real msal tokens, the official SDK) runs in this process, with
latency injected on every vault request (``--latency-ms``, 20 by default), and vaults
of 5,000, 10,000 and 50,000 secrets (``--sizes``). Every time is measured **from the
spawn of a process**, in the same run, for:

* **a bare SDK script** (``python -c``): it imports ``azure.keyvault.secrets``, signs in
  silently with msal from the same token cache as kvtui (its path in an environment
  variable; no token on a command line), and lists the vault with the sync
  ``SecretClient.list_properties_of_secrets``. It prints timestamps: imports done,
  token had, first item, all items. This is the floor;
* **kvtui, cold** (``python -m kvtui --vault URL`` in a pseudo-terminal, 140x45,
  signed in silently from a copy of the token cache, no metadata cache yet), reading
  what it draws: the first frame (its first text), the first row (the early listing's,
  kvtui/core/lister.py, in the preview under "Signing in…"), and all rows (the
  status line says ``5,000 secrets``: no ``Loading…``). kvtui then writes its metadata cache
  (``<token cache folder>/metadata/``); the benchmark waits until the file holds the
  whole listing and has stopped changing, reads the process's peak RSS (``VmHWM``),
  and quits it (ctrl+q);
* **kvtui, warm**: a second start over the same folders: the first frame, the first
  row and the whole cached table (``Signing in… · 5,000 secrets cached just now``):
  the first paint of the cache before Textual loads (kvtui/ui/splash.py; the cold
  start kept its look), else the app's preview; the whole table from the cache on the
  vault screen
  (``Checking… 0 secrets so far; showing the 5,000 cached just now``), then the live
  listing reconciled (``5,000 secrets  unchanged since cached …``);
* **stalls**: both starts run with ``KVTUI_BENCH_STALLS`` set, which makes kvtui run
  a task waking every 5 ms and write, at exit, how late each wake-up was and the CPU
  time its event loop's thread used meanwhile (``kvtui/ui/benchhook.py``);
  the benchmark takes the worst of each inside a window of its own timeline: cold
  from the first row to all rows (loading), warm from the first frame to the whole
  table (the vault screen opening and showing the cache) and from there to
  reconciled. The lateness is what a user sees, on this machine at its load; the CPU
  time is the part the app itself blocks;
* **a filter typed one key at a time**, 100 ms apart, in a headless app (Pilot, in a
  child interpreter, its metadata cache off): ``ItemTable.set_filter`` per key, and
  key to frame (the key event posted as the terminal driver posts it, until the
  secrets table has drawn its lines for the new filter), and a key through Pilot,
  which waits for idle (an upper bound). Only the filter is timed there, so its rows
  arrive without the injected latency.

The starts run interleaved (SDK script, cold, warm; then again), three rounds at the
sizes up to 10,000 (the median is printed; a ratio is the median of each round's
ratio), one run above. Ratios are against the SDK script of the same round: kvtui's
first row / SDK first item, all rows / SDK all items, warm first row and warm whole
table / SDK first item, warm reconciled / SDK all items. The revision of kvtui
measured is printed (the working tree: uncommitted changes count), and the load
average: no verdict is drawn from an absolute time, and numbers from a busy machine
are not comparable. Before measuring, one SDK script and one kvtui start on a
100-secret vault write Python's bytecode caches (the child processes run without
``PYTHONDONTWRITEBYTECODE``), as an installed package has them.

Options: ``--sizes``, ``--latency-ms``, ``--runs`` (3), ``--quick`` (1,000 and 5,000
secrets, for a fast check), ``--filter-sizes``; for investigation of the headless
loading, ``--profile PATH`` (pyinstrument, not a dependency: install it yourself) and
``--slow-ms N`` (asyncio debug mode logs callbacks slower than N ms).
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from kvtui.core.auth import SignIn, open_token_cache
from kvtui.core.cache import vault_key
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread

SIZE = (140, 45)
VAULT_SCOPE = "https://vault.azure.net/.default"
QUERY = "secret-0042"
REPEAT_UP_TO = 10_000
"""Sizes up to this many secrets are measured ``--runs`` times; larger ones once."""

# -- set-up: emulator, vaults, a signed-in token cache ------------------------------------


def admin_session(info: EmulatorInfo) -> requests.Session:
    s = requests.Session()
    s.verify = info.ca_bundle
    s.trust_env = False
    return s


def sign_in_once(info: EmulatorInfo, cache_path: Path) -> str:
    """Device code through real msal, approved through the emulator's admin route, so
    every process under test starts silently from this cache (as a second start does).
    Returns the account's home_account_id."""

    async def run() -> str:
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
        account = await asyncio.wait_for(task, 30)
        return account.home_account_id

    with admin_session(info) as http:
        http.patch(
            f"{info.admin_url}/identity/settings",
            json={"interval": 0},
            headers=info.admin_headers(),
            timeout=10,
        ).raise_for_status()
    return asyncio.run(run())


def child_env() -> dict[str, str]:
    """The environment of every process under test: this one's, with Python's bytecode
    caches written (the warm-up writes them once, as an installed package has them)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# -- the bare SDK script ----------------------------------------------------------------------

SDK_SCRIPT = r"""
import os, time
def mark(what, *more):
    print(what, f"{time.monotonic():.6f}", *more, flush=True)
import msal, requests
from msal_extensions import FilePersistence, PersistedTokenCache
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.keyvault.secrets import SecretClient
mark("imported")
env = os.environ
http = requests.Session()
http.verify, http.trust_env = env["BENCH_CA"], False  # trust: the emulator's CA alone
cache = PersistedTokenCache(FilePersistence(env["BENCH_TOKEN_CACHE"]))
apps = {}
def app(tenant):
    if tenant not in apps:
        apps[tenant] = msal.PublicClientApplication(
            env["BENCH_CLIENT_ID"], authority=env["BENCH_AUTHORITY_HOST"] + "/" + tenant,
            token_cache=cache, http_client=http, instance_discovery=False,
            validate_authority=False)
    return apps[tenant]
[account] = app("organizations").get_accounts()
class Credential:
    def get_token(self, *scopes, tenant_id=None, **kwargs):
        a = app(tenant_id or account["realm"])
        [me] = [x for x in a.get_accounts()
                if x["home_account_id"] == account["home_account_id"]]
        token = a.acquire_token_silent(list(scopes), me)
        mark("token")
        return AccessToken(token["access_token"], int(time.time()) + token["expires_in"])
client = SecretClient(
    env["BENCH_VAULT"], Credential(), verify_challenge_resource=False,
    transport=RequestsTransport(use_env_settings=False, connection_verify=env["BENCH_CA"]))
n = 0
for _ in client.list_properties_of_secrets():
    n += 1
    if n == 1:
        mark("first")
mark("all", n)
"""


def sdk_script(info: EmulatorInfo, cache: Path, url: str) -> dict[str, float]:
    """The bare SDK script: seconds from its spawn to imports done, token, first and
    all items."""
    env = {
        **child_env(),
        "BENCH_VAULT": url,
        "BENCH_TOKEN_CACHE": str(cache),
        "BENCH_CA": info.ca_bundle,
        "BENCH_AUTHORITY_HOST": info.authority.rsplit("/", 1)[0],
        "BENCH_CLIENT_ID": info.client_id,
    }
    spawned = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode != 0:
        print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"the SDK script failed on {url}")
    marks: dict[str, float] = {}
    for line in out.stdout.splitlines():
        what, at, *more = line.split()
        marks.setdefault(f"sdk_{what}", float(at) - spawned)
        if what == "all":
            marks["sdk_n"] = float(more[0])
    return marks


# -- kvtui in a pseudo-terminal ---------------------------------------------------------------

ESCAPE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|P[^\x1b]*\x1b\\"
    r"|[()#][0-9A-Za-z]|[@-Z\\-_=>78])"
)
ALT_SCREEN = "\x1b[?1049h"


class Terminal:
    """A process in a pseudo-terminal; what it draws, as text without escapes, is
    matched against named patterns, each remembered with when it was first seen
    (``time.monotonic``, the clock kvtui's stall monitor writes too)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.spawned = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the process under test
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        """An escape sequence cut short at the end of the last read."""
        self.alt = False
        """The app has switched to the alternate screen: its drawing has begun."""
        self.text = ""
        """The tail of what was drawn, escapes removed (marks spanning two reads)."""
        self.marks: dict[str, re.Pattern[str]] = {}
        self.seen: dict[str, float] = {}
        self.ended = False

    def at(self, name: str) -> float:
        """Seconds from the spawn to the first sight of ``name`` (NaN: never seen)."""
        return self.seen[name] - self.spawned if name in self.seen else float("nan")

    def _feed(self, chunk: bytes, now: float) -> None:
        raw = self.pending + self.decoder.decode(chunk)
        self.pending = ""
        if not self.alt:
            if ALT_SCREEN not in raw:
                return
            self.alt = True
            raw = raw.split(ALT_SCREEN, 1)[1]
        cut = raw.rfind("\x1b")
        if cut != -1 and len(raw) - cut < 256 and not ESCAPE.match(raw, cut):
            raw, self.pending = raw[:cut], raw[cut:]
        self.text = (self.text[-2000:] + ESCAPE.sub("", raw))[-6000:]
        for name, pattern in self.marks.items():
            if name not in self.seen and pattern.search(self.text):
                self.seen[name] = now

    def pump(self, seconds: float, until: str | None = None) -> bool:
        """Read what the process draws for ``seconds``, or until the mark ``until``
        has been seen (then True) or the process has ended."""
        deadline = time.monotonic() + seconds
        while not self.ended and (until is None or until not in self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.ended = True
                break
            self._feed(chunk, time.monotonic())
        return until is not None and until in self.seen

    def peak_rss_mib(self) -> float:
        """The process's peak resident set (VmHWM) so far, in MiB."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def quit(self) -> None:
        """ctrl+q, then read until the process has ended (SIGKILL after 10 s)."""
        with contextlib.suppress(OSError):
            os.write(self.fd, b"\x11")
        self.pump(10)
        for _ in range(50):
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@dataclass
class Run:
    """Where one pair of starts (cold, then warm) keeps its files."""

    folder: Path
    token_cache: Path = field(init=False)

    def __post_init__(self) -> None:
        self.token_cache = self.folder / "cache" / "tokens.bin"


def spawn_kvtui(info: EmulatorInfo, run: Run, url: str, stalls: Path) -> Terminal:
    home = run.folder / "home"
    env = {
        **child_env(),
        "TERM": "xterm-256color",
        "COLUMNS": str(SIZE[0]),
        "LINES": str(SIZE[1]),
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "KVTUI_TOKEN_CACHE": str(run.token_cache),
        "KVTUI_BENCH_STALLS": str(stalls),
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
    return Terminal(argv, env)


def cached_count(folder: Path, url: str) -> tuple[int, tuple[Any, ...]]:
    """How many secrets of ``url`` the metadata cache in ``folder`` holds as a complete
    listing (read only: the app may be writing), and the files' sizes and times."""
    files = sorted(folder.glob("*")) if folder.is_dir() else []
    state = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    for path in files:
        if path.suffix != ".sqlite":
            continue
        with contextlib.suppress(sqlite3.Error):
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            try:
                args = (vault_key(url), "secrets")
                listed = db.execute(
                    "SELECT 1 FROM listing WHERE vault = ? AND kind = ?", args
                ).fetchone()
                if listed:
                    [(count,)] = db.execute(
                        "SELECT COUNT(*) FROM item WHERE vault = ? AND kind = ?", args
                    ).fetchall()
                    return int(count), state
            finally:
                db.close()
    return 0, state


def cache_written(term: Terminal, folder: Path, url: str, n: int, timeout: float) -> float:
    """Until the metadata cache holds all ``n`` secrets and its files have not changed
    for half a second (reading the terminal meanwhile); seconds from the spawn."""
    deadline = time.monotonic() + timeout
    last: tuple[Any, ...] = ()
    steady_since = 0.0
    written = float("nan")
    while time.monotonic() < deadline and not term.ended:
        term.pump(0.1)
        count, state = cached_count(folder, url)
        if count != n or any(name.endswith("-journal") for name, *_ in state):
            last = ()
            continue
        if written != written:
            written = time.monotonic() - term.spawned
        if state != last:
            last, steady_since = state, time.monotonic()
        elif time.monotonic() - steady_since >= 0.5:
            return written
    return float("nan")


def stall_window(path: Path, start: float, end: float) -> tuple[float, float, float]:
    """kvtui's stall monitor between ``start`` and ``end`` (monotonic): the worst
    lateness of a wake-up (ms), the most CPU time the event loop's thread used between
    two wake-ups (ms: the stall the app itself causes, whatever the machine's load),
    and how many wake-ups were over 50 ms late."""
    late: list[float] = []
    cpu: list[float] = []
    with contextlib.suppress(OSError):
        for line in path.read_text(encoding="ascii").splitlines():
            t, lateness, used = (float(x) for x in line.split())
            if start <= t <= end:
                late.append(lateness * 1000)
                cpu.append(used * 1000)
    if not late:
        return float("nan"), float("nan"), float("nan")
    return max(late), max(cpu), float(sum(x > 50 for x in late))


def kvtui_starts(
    info: EmulatorInfo, master_cache: Path, run: Run, url: str, n: int
) -> dict[str, float]:
    """A cold start (no metadata cache), then a warm one, of kvtui on ``url``."""
    run.token_cache.parent.mkdir(parents=True, mode=0o700)
    shutil.copy2(master_cache, run.token_cache)
    metadata = run.token_cache.parent / "metadata"
    count = re.escape(f"{n:,}")
    frame = re.compile(r"\S")  # the first text drawn ("Signing in…", or a preview)
    first_row = re.compile("bulk-secret-0")
    timeout = 120 + n / 100  # 50,000 secrets: 620 s
    result: dict[str, float] = {}

    stalls = run.folder / "stalls-cold.txt"
    term = spawn_kvtui(info, run, url, stalls)
    term.marks = {
        "frame": frame,
        "first_row": first_row,
        "all_rows": re.compile(rf"(?<!Loading… ){count} secrets(?! so far)"),
    }
    if not term.pump(timeout, until="all_rows"):
        term.quit()
        raise SystemExit(f"cold start at {n:,}: never saw all rows; seen: {term.seen}")
    result["cache_written"] = cache_written(term, metadata, url, n, timeout=120)
    result["cold_rss_mib"] = term.peak_rss_mib()
    term.quit()
    result["cold_frame"] = term.at("frame")
    result["cold_first_row"] = term.at("first_row")
    result["cold_all_rows"] = term.at("all_rows")
    (
        result["cold_stall_ms"],
        result["cold_stall_cpu_ms"],
        result["cold_stalls_over_50"],
    ) = stall_window(stalls, term.seen["first_row"], term.seen["all_rows"])

    stalls = run.folder / "stalls-warm.txt"
    term = spawn_kvtui(info, run, url, stalls)
    term.marks = {
        "frame": frame,
        "first_row": first_row,
        # The app's preview under "Signing in…": the first rows of the cache, its count.
        "preview": re.compile(rf"Signing in… · {count} secrets cached"),
        # The vault screen's status with every cached row in its table.
        "whole_table": re.compile(
            rf"showing the {count} cached|{count} secrets cached[^·\n]*; checking"
        ),
        "reconciled": re.compile(rf"(?<!Loading… ){count} secrets +(?:unchanged )?since"),
    }
    if not term.pump(timeout, until="reconciled"):
        term.quit()
        raise SystemExit(f"warm start at {n:,}: never reconciled; seen: {term.seen}")
    term.pump(0.3)
    result["warm_rss_mib"] = term.peak_rss_mib()
    term.quit()
    result["warm_frame"] = term.at("frame")
    result["warm_first_row"] = term.at("first_row")
    result["warm_preview"] = term.at("preview")
    result["warm_whole_table"] = term.at("whole_table")
    result["warm_reconciled"] = term.at("reconciled")
    shown = term.seen.get("whole_table", term.seen["reconciled"])
    result["warm_show_stall_ms"], result["warm_show_stall_cpu_ms"], _ = stall_window(
        stalls, term.seen["frame"], shown
    )
    (
        result["warm_stall_ms"],
        result["warm_stall_cpu_ms"],
        result["warm_stalls_over_50"],
    ) = stall_window(stalls, shown, term.seen["reconciled"])
    return result


# -- the filter, headless, in a child interpreter ---------------------------------------------


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
        metadata_cache=False,
    )
    context = build_context(settings, state_path=Path(cfg["state"]))
    app = KvtuiApp(context)
    result: dict[str, float] = {"n": n}

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
        deadline = start + 900
        table = None
        while (table := secrets_table()) is None or not table.is_mounted:
            if time.perf_counter() > deadline:
                raise SystemExit("the vault screen never opened")
            await asyncio.sleep(0.002)
        if profiler is not None:
            profiler.start()
        while table.total_count < n:
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {table.total_count} of {n} rows arrived")
            await asyncio.sleep(0.005)
        if profiler is not None:
            profiler.stop()
            Path(cfg["profile"]).write_text(
                profiler.output_text(
                    unicode=True, show_all=True, processor_options={"filter_threshold": 0.005}
                )
            )
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


def headless_filter(
    info: EmulatorInfo, cache: Path, url: str, n: int, state: Path, args: argparse.Namespace
) -> dict[str, float]:
    cfg = {
        "n": n,
        "url": url,
        "authority": info.authority,
        "ca_bundle": info.ca_bundle,
        "client_id": info.client_id,
        "arm_url": info.arm_url,
        "cache": str(cache),
        "state": str(state),
        "profile": f"{args.profile}.{n}.txt" if args.profile else "",
        "slow_ms": args.slow_ms or 0,
    }
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_app", "--child", json.dumps(cfg)],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    if out.returncode != 0:
        print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"the headless filter run at {n:,} failed")
    if args.slow_ms:
        print(out.stderr, file=sys.stderr)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- main ------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def revision() -> str:
    """The commit of kvtui measured, and whether kvtui/ had uncommitted changes."""
    here = Path(__file__).resolve().parent.parent
    try:
        git = ["git", "-C", str(here)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "kvtui"], capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (" with uncommitted changes in kvtui/" if dirty.stdout else "")


def report(
    args: argparse.Namespace,
    sizes: list[int],
    runs: dict[int, list[dict[str, float]]],
    filters: list[dict[str, float]],
    loads: list[float],
    revisions: list[str],
) -> None:
    for rounds in runs.values():
        for r in rounds:
            r["r_first"] = r["cold_first_row"] / r["sdk_first"]
            r["r_all"] = r["cold_all_rows"] / r["sdk_all"]
            r["r_warm_first"] = r["warm_first_row"] / r["sdk_first"]
            r["r_warm_table"] = r["warm_whole_table"] / r["sdk_first"]
            r["r_warm_preview"] = r["warm_preview"] / r["sdk_first"]
            r["r_warm_reconciled"] = r["warm_reconciled"] / r["sdk_all"]
    rows = [{"n": float(n), "runs": float(len(runs[n]))} for n in sizes]
    for row, n in zip(rows, sizes, strict=True):
        for key in runs[n][0]:
            row[key] = median([r[key] for r in runs[n]])

    def table(title: str, cols: list[tuple[str, str, str]], data: list[dict[str, float]]) -> None:
        print(title)
        print(" | ".join(head for _, head, _ in cols))
        for row in data:
            cells = [fmt.format(row.get(key, float("nan"))) for key, _, fmt in cols]
            print(
                " | ".join(c.rjust(len(head)) for c, (_, head, _) in zip(cells, cols, strict=True))
            )
        print()

    print()
    print(
        f"kvtui against the emulator: {args.latency_ms} ms latency per vault request, pages "
        f"of 25, a {SIZE[0]}x{SIZE[1]} pseudo-terminal, {os.cpu_count()} cores; load "
        f"average (1 min) {loads[0]:.2f} before, {max(loads):.2f} at most, {loads[-1]:.2f} after"
    )
    first, last = revisions[0], revisions[-1]
    print(
        f"kvtui at {first}" if first == last else f"kvtui {first} at the start, {last} at the end"
    )
    print(
        f"seconds from process spawn; median of {args.runs} interleaved rounds (SDK script, "
        f"kvtui cold, kvtui warm) up to {REPEAT_UP_TO:,} secrets, one round above"
    )
    print()
    s = "{:.2f}"
    table(
        "ratios (median of each round's ratio)",
        [
            ("n", "secrets", "{:,.0f}"),
            ("r_first", "first row / SDK first", s),
            ("r_all", "all rows / SDK all", s),
            ("r_warm_first", "warm first row / SDK first", s),
            ("r_warm_preview", "warm whole preview / SDK first", s),
            ("r_warm_table", "warm whole table / SDK first", s),
            ("r_warm_reconciled", "warm reconciled / SDK all", s),
        ],
        rows,
    )
    table(
        "times from spawn, s",
        [
            ("n", "secrets", "{:,.0f}"),
            ("runs", "runs", "{:.0f}"),
            ("sdk_imported", "SDK imports", s),
            ("sdk_token", "SDK token", s),
            ("sdk_first", "SDK first", s),
            ("sdk_all", "SDK all", s),
            ("cold_frame", "cold frame", s),
            ("cold_first_row", "cold first row", s),
            ("cold_all_rows", "cold all rows", s),
            ("cache_written", "cache written", s),
            ("warm_frame", "warm frame", s),
            ("warm_first_row", "warm first row", s),
            ("warm_preview", "warm whole preview", s),
            ("warm_whole_table", "warm whole table", s),
            ("warm_reconciled", "warm reconciled", s),
        ],
        rows,
    )
    table(
        "kvtui's event loop (worst lateness of a 5 ms sleep, ms) and peak RSS (VmHWM, MiB)",
        [
            ("n", "secrets", "{:,.0f}"),
            ("cold_stall_ms", "cold loading", "{:.0f}"),
            ("cold_stall_cpu_ms", "CPU", "{:.0f}"),
            ("cold_stalls_over_50", "> 50 ms", "{:.0f}"),
            ("warm_show_stall_ms", "warm frame→table", "{:.0f}"),
            ("warm_show_stall_cpu_ms", "CPU", "{:.0f}"),
            ("warm_stall_ms", "warm reconciling", "{:.0f}"),
            ("warm_stall_cpu_ms", "CPU", "{:.0f}"),
            ("warm_stalls_over_50", "> 50 ms", "{:.0f}"),
            ("cold_rss_mib", "cold RSS", "{:.0f}"),
            ("warm_rss_mib", "warm RSS", "{:.0f}"),
        ],
        rows,
    )
    if filters:
        table(
            f"filter typed a key at a time ({QUERY!r}), headless, ms",
            [
                ("n", "secrets", "{:,.0f}"),
                ("filter_max_ms", "set_filter max", "{:.1f}"),
                ("keystroke_frame_max_ms", "key→frame max", "{:.0f}"),
                ("keystroke_frame_median_ms", "key→frame median", "{:.0f}"),
                ("keystroke_pilot_max_ms", "Pilot key max", "{:.0f}"),
            ],
            filters,
        )
    print(
        "SDK: the bare script (sync SecretClient, msal silent from the token cache): imports "
        "done, token had, first item, all items.\n"
        "cold: kvtui with no metadata cache: first frame, first row (the early listing's "
        "rows in the preview under 'Signing in…', or the vault screen's), all rows on the "
        "vault screen (status 'N secrets'), its metadata cache written in full and "
        "steady.\n"
        "warm: the second start: first frame, first row (kvtui's first paint of the cached "
        "rows before Textual loads, else its preview under 'Signing in…'), the whole cached "
        "table there ('Signing in… · N secrets cached'), then on the vault screen (status "
        "'showing the "
        "N cached'), the live listing reconciled ('N secrets  unchanged since …').\n"
        "loop: the worst lateness of kvtui's 5 ms monitor (KVTUI_BENCH_STALLS), cold from "
        "first row to all rows; warm from first frame to whole table (the vault screen's "
        "opening included), and from whole table to reconciled; CPU: the most CPU time "
        "its event loop's thread used between two wake-ups (what the app itself blocks, "
        "whatever the load); runs > 1: the median of each run's worst. RSS: cold after "
        "its cache is written, warm once reconciled.\n"
        "filter: set_filter is the table's work per key; key→frame runs from the key "
        "event to the table drawn for the new filter; a Pilot key waits for idle (an "
        "upper bound). Its rows were listed without the injected latency."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,10000,50000")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="rounds up to 10,000 secrets")
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 secrets")
    parser.add_argument("--filter-sizes", help="headless filter runs (default: 10k and 50k)")
    parser.add_argument("--profile", help="pyinstrument text profile of the loading (a path)")
    parser.add_argument("--slow-ms", type=float, help="log event-loop callbacks slower than this")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(app_run(json.loads(args.child)))))
        return
    sizes = [1000, 5000] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.filter_sizes is not None:
        filter_sizes = [int(s) for s in args.filter_sizes.split(",") if s]
    else:
        filter_sizes = [n for n in sizes if n >= 10_000] or sizes[-1:]
    loads = [os.getloadavg()[0]]
    revisions = [revision()]
    started = time.monotonic()
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
            for n in [100, *sizes, *filter_sizes]:
                if n in urls:
                    continue
                t0 = time.perf_counter()
                vault = emulator.call(
                    emulator.emulator.add_vault(f"bulk{n}", seed=f"bulk:{n}"), timeout=300
                )
                urls[n] = vault.url
                print(f"seeded {n:,} secrets in {time.perf_counter() - t0:.1f} s", flush=True)
            cache = tmp / "cache" / "tokens.bin"
            sign_in_once(info, cache)
            # Warm-up: Python's bytecode caches and the OS's file cache, not measured.
            sdk_script(info, cache, urls[100])
            kvtui_starts(info, cache, Run(tmp / "warmup"), urls[100], 100)
            runs: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
            for round_ in range(max(args.runs, 1)):
                for n in sizes:
                    if round_ and n > REPEAT_UP_TO:
                        continue
                    loads.append(os.getloadavg()[0])
                    row = sdk_script(info, cache, urls[n])
                    if row.get("sdk_n") != n:
                        raise SystemExit(f"the SDK script listed {row.get('sdk_n')} of {n}")
                    row.update(
                        kvtui_starts(info, cache, Run(tmp / f"run-{n}-{round_}"), urls[n], n)
                    )
                    runs[n].append(row)
                    print(
                        f"round {round_ + 1}, {n:,} secrets: SDK all {row['sdk_all']:.1f} s, "
                        f"kvtui all rows {row['cold_all_rows']:.1f} s, warm whole table "
                        f"{row['warm_whole_table']:.2f} s "
                        f"({time.monotonic() - started:.0f} s so far)",
                        flush=True,
                    )
            filters = []
            emulator.emulator.state.faults.latency_ms = 0  # only the filter is timed there
            for n in filter_sizes:
                loads.append(os.getloadavg()[0])
                filters.append(
                    headless_filter(info, cache, urls[n], n, tmp / f"state-{n}.json", args)
                )
                print(f"filter measured at {n:,} secrets", flush=True)
        finally:
            emulator.stop()
    loads.append(os.getloadavg()[0])
    revisions.append(revision())
    report(args, sizes, runs, filters, loads, revisions)
    print(f"(the whole benchmark took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
