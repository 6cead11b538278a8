"""``kvtui emulator``: run until SIGINT/SIGTERM, printing one JSON line when ready.

The options are checked before the server is imported (aiohttp, cryptography: most of a
second of CPU), so a bad one is refused at once; only light modules load at the top.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from kvtui.emulator.clock import parse_time
from kvtui.emulator.settings import EmulatorSettings, valid_vault_name


def parse_seed_time(text: str | None) -> int | None:
    """``--seed-time`` (where the emulator's clock starts, frozen): an ISO 8601 date or
    time (UTC unless it says otherwise) as unix seconds; ValueError (one line, for the
    user) if it is not one."""
    if not text:
        return None
    try:
        return int(parse_time(text))
    except ValueError:
        raise ValueError(
            f"--seed-time {text!r}: give an ISO 8601 time, e.g. 2026-01-15T09:00:00Z"
        ) from None


def exposure_warning(host: str) -> str | None:
    """The warning for a ``--host`` that is not a loopback address, or None."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return None
    try:
        if ipaddress.ip_address(name).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve to anything
    return (
        f"kvtui emulator: warning: --host {host} is not a loopback address: the admin "
        "endpoint (its token is in the JSON line), the demo identities and their device "
        "code approval page are reachable from the network. Use it only on a network "
        "you trust."
    )


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    """The settings the options ask for; ValueError (one line, for the user) if invalid."""
    vaults: list[str] = args.vaults or ["demo"]
    for name in vaults:
        if not valid_vault_name(name):
            raise ValueError(
                f"--vault {name!r}: a vault name is 1-24 letters, digits and hyphens, "
                "starting with a letter"
            )
    if len({n.lower() for n in vaults}) != len(vaults):
        raise ValueError("--vault: vault names are case-insensitive and must be unique")
    checks = [
        (0 <= args.port <= 65535 - len(vaults), "--port must be a free TCP port or 0"),
        (args.token_lifetime > 0, "--token-lifetime must be positive"),
        (args.latency_ms >= 0, "--latency-ms must be 0 or more"),
        (args.approve_delay >= 0, "--approve-delay must be 0 or more"),
        (
            args.state_dir is None or not args.state_dir.exists() or args.state_dir.is_dir(),
            f"--state-dir {args.state_dir} is not a directory",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    return EmulatorSettings(
        vaults=vaults,
        seed=args.seed,
        start_time=parse_seed_time(getattr(args, "seed_time", None)),
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
    import asyncio
    import signal

    from kvtui.emulator.server import Emulator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Before starting, so an early Ctrl+C / SIGTERM also ends in a clean stop.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    emulator = Emulator(settings)
    try:
        info = await emulator.start()
    except BaseException:
        # Release what was bound and the temporary folder, but never overwrite saved
        # data with a half-started emulator's.
        settings.persist = False
        await emulator.stop()
        raise
    print(info.to_json(), flush=True)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def run_emulator(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        print(f"kvtui emulator: {exc}", file=sys.stderr)
        return 2
    import asyncio
    import logging

    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    warning = exposure_warning(settings.host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    try:
        asyncio.run(_serve(settings))
    except OSError as exc:
        print(f"kvtui emulator: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0
