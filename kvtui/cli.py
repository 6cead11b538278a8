"""The ``kvtui`` command line. Imports stay lazy so ``kvtui emulator`` never loads Textual."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _add_emulator_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "emulator",
        help="run the bundled Azure Key Vault emulator",
        description="Run a local Azure Key Vault (data plane), Microsoft identity platform and "
        "ARM slice over HTTPS. Prints one JSON line with its endpoints when ready, then serves "
        "until interrupted.",
    )
    p.add_argument(
        "--vault",
        dest="vaults",
        action="append",
        metavar="NAME",
        help="a vault to serve (repeatable; default: one vault named 'demo')",
    )
    p.add_argument(
        "--seed",
        default="empty",
        metavar="empty|demo|bulk:N",
        help="initial content of the vaults (default: empty)",
    )
    p.add_argument(
        "--approve",
        default="auto",
        choices=["auto", "manual"],
        help="approve device codes by themselves, or wait for the verification page",
    )
    p.add_argument(
        "--approve-delay",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="delay before --approve auto approves a device code (default: 3)",
    )
    p.add_argument(
        "--token-lifetime",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="lifetime of the access tokens issued (default: 3600)",
    )
    p.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        metavar="N",
        help="latency added to every vault request",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the CA, signing key and data here (default: a temporary folder)",
    )
    p.add_argument(
        "--persist",
        action="store_true",
        help="save the vaults' data into --state-dir on exit and load it on start",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="port of the identity platform and ARM; vaults take the next ports "
        "(default: free ports)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kvtui", description="A terminal UI for Azure Key Vault.")
    from kvtui import __version__

    parser.add_argument("--version", action="version", version=f"kvtui {__version__}")
    sub = parser.add_subparsers(dest="command")
    _add_emulator_parser(sub)
    sub.add_parser("demo", help="run kvtui against the bundled emulator (no Azure needed)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        from kvtui.emulator.cli import run_emulator

        return run_emulator(args)
    if args.command == "demo":
        from kvtui.emulator.cli import run_demo_placeholder

        return run_demo_placeholder()
    build_parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
