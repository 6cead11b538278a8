"""``kvtui emulator``: run until SIGINT/SIGTERM, printing one JSON line when ready."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from kvtui.emulator.server import Emulator
from kvtui.emulator.settings import EmulatorSettings


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    return EmulatorSettings(
        vaults=args.vaults or ["demo"],
        seed=args.seed,
        approve=args.approve,
        approve_delay=args.approve_delay,
        token_lifetime=args.token_lifetime,
        latency_ms=args.latency_ms,
        state_dir=args.state_dir,
        persist=args.persist,
        host=args.host,
        port=args.port,
    )


async def _serve(settings: EmulatorSettings) -> None:
    emulator = Emulator(settings)
    info = await emulator.start()
    print(info.to_json(), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def run_emulator(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        print(f"kvtui emulator: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(settings))
    except OSError as exc:
        print(f"kvtui emulator: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


def run_demo_placeholder() -> int:
    """Until the app exists (sign-in issue): run the demo emulator and say how to use it."""
    print(
        "kvtui demo: the app arrives with the sign-in issue; starting the demo emulator.\n"
        "Its JSON line below has the vault URL, authority, CA bundle and client ids.\n"
        "Press Ctrl+C to stop.",
        file=sys.stderr,
        flush=True,
    )
    args = argparse.Namespace(
        vaults=["demo"],
        seed="demo",
        approve="auto",
        approve_delay=3.0,
        token_lifetime=3600,
        latency_ms=0,
        state_dir=None,
        persist=False,
        host="127.0.0.1",
        port=0,
    )
    return run_emulator(args)
