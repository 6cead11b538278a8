"""The ``kvtui`` command line. Imports stay lazy so ``kvtui emulator`` never loads Textual."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import subprocess

    from kvtui.core.accounts import Account
    from kvtui.core.config import Settings


def _add_emulator_parser(sub: argparse._SubParsersAction[Parser]) -> None:
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
        "--seed-time",
        default=None,
        metavar="ISO",
        help="start the emulator's clock there, frozen, e.g. 2026-01-15T09:00:00Z: the demo "
        "seed is then the same every run (dates, version ids, keys, certificates)",
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


def _add_app_options(p: argparse.ArgumentParser) -> None:
    """The sign-in and vault options (also ``KVTUI_*`` variables and the config file)."""
    g = p.add_argument_group("sign-in and vault (also KVTUI_* variables and the config file)")
    g.add_argument("--vault", metavar="NAME|URL", help="vault to open: a name or its URL")
    g.add_argument(
        "--tenant",
        metavar="TENANT",
        help="tenant to sign in to: GUID, domain, organizations (default) or common",
    )
    g.add_argument(
        "--client-id",
        metavar="ID",
        help="public client (native app) id; default: the Azure CLI's public client",
    )
    g.add_argument("--cloud", metavar="public|usgov|china", help="Azure cloud (default: public)")
    g.add_argument(
        "--authority",
        metavar="URL",
        help="identity endpoint https://host/tenant (the emulator, or a private endpoint)",
    )
    g.add_argument("--arm-url", metavar="URL", help="Azure Resource Manager endpoint")
    g.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="PEM file: the only CA trusted for sign-in, ARM and vaults",
    )
    g.add_argument(
        "--read-only", action="store_true", default=None, help="refuse every write action"
    )
    g.add_argument(
        "--no-cache",
        dest="metadata_cache",
        action="store_false",
        default=None,
        help="no metadata cache: list every vault afresh, keep nothing of it",
    )
    g.add_argument(
        "--config", type=Path, metavar="PATH", help="config file (default: XDG config dir)"
    )


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2, like every
    other refusal of kvtui's (argparse prints its usage first); ``--help`` unchanged."""

    def error(self, message: str) -> NoReturn:
        line = " ".join(message.split())
        self.exit(2, f"{self.prog}: {line} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kvtui",
        description="A terminal UI for Azure Key Vault. Without a command: sign in and open "
        "the vault.",
    )
    from kvtui import __version__

    parser.add_argument("--version", action="version", version=f"kvtui {__version__}")
    _add_app_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_emulator_parser(sub)
    demo = sub.add_parser(
        "demo",
        help="run kvtui against the bundled emulator (no Azure needed)",
        description="Start the bundled emulator (demo data, codes approve themselves after "
        "3 s) and kvtui against it. Its state lives in the user data directory, so the "
        "second start signs in silently.",
    )
    demo.add_argument(
        "--fresh", action="store_true", help="forget the demo's data and sign-in; start over"
    )
    # SUPPRESS: an option not given after the command keeps the value given before it
    # (`kvtui --client-id X accounts`); argparse would reset it to None otherwise.
    accounts = sub.add_parser(
        "accounts", help="list the accounts in the token cache", argument_default=argparse.SUPPRESS
    )
    _add_app_options(accounts)
    logout = sub.add_parser(
        "logout",
        help="remove an account (or --all) and its tokens from the token cache",
        argument_default=argparse.SUPPRESS,
    )
    _add_app_options(logout)
    who = logout.add_mutually_exclusive_group()
    who.add_argument("--all", action="store_true", default=False, help="remove every account")
    who.add_argument(
        "account",
        nargs="?",
        default=None,
        metavar="ACCOUNT",
        help="the account's id (as `kvtui accounts` lists it), or its user name if only "
        "one account has it",
    )
    cache = sub.add_parser(
        "cache",
        help="the metadata cache (what vaults listed: never values)",
        description="kvtui keeps what each vault listed (names, dates, tags, types: never "
        "values) beside the token cache, for an instant table at the next start.",
    )
    cache_sub = cache.add_subparsers(dest="cache_command", metavar="clear", required=True)
    clear = cache_sub.add_parser(
        "clear", help="forget a vault's cached listings, or (no vault) every one"
    )
    clear.add_argument("cache_vault", nargs="?", metavar="VAULT", help="a vault name or URL")
    _add_app_options(cache)
    from kvtui.crawl_cli import add_parsers  # search, expiring (light: no SDK import)

    add_parsers(sub, _add_app_options)
    return parser


FLAG_NAMES = (
    "vault",
    "tenant",
    "client_id",
    "cloud",
    "authority",
    "arm_url",
    "ca_bundle",
    "read_only",
    "metadata_cache",
)


def _settings(args: argparse.Namespace) -> Settings:
    from kvtui.core.config import load_settings

    flags = {name: getattr(args, name, None) for name in FLAG_NAMES}
    return load_settings(getattr(args, "config", None), flags=flags)


def _account_line(acc: Account) -> str:
    """One account as `kvtui accounts` lists it; its id is what `kvtui logout` takes."""
    from kvtui.ui.text import visible

    fields = (acc.username, f"tenant {acc.tenant_id}", acc.environment, f"id {acc.home_account_id}")
    return "\t".join(visible(f, multiline=False) for f in fields)


def _accounts(args: argparse.Namespace) -> int:
    from kvtui.core.accounts import cached_accounts, forget_accounts
    from kvtui.core.token_cache import open_token_cache

    settings = _settings(args)

    with _usable("token_cache", settings.token_cache):
        cache = open_token_cache(Path(settings.token_cache) if settings.token_cache else None)
    known = cached_accounts(cache)
    if args.command == "accounts":
        if not known:
            print("No accounts signed in.")
        for acc in known:
            print(_account_line(acc))
        return 0
    if args.all:
        chosen = known
    elif args.account:
        wanted = args.account.strip().lower()
        # By id first: two accounts can share a user name (the same UPN in two tenants,
        # or a deleted and re-created user), an id names one.
        chosen = [a for a in known if a.home_account_id.lower() == wanted]
        chosen = chosen or [a for a in known if a.username.lower() == wanted]
        if not chosen:
            print(f"kvtui logout: no account {args.account!r} in the cache", file=sys.stderr)
            return 1
        if len(chosen) > 1:
            print(
                f"kvtui logout: {len(chosen)} accounts have the user name {args.account!r}; "
                "name one by its id (or pass --all):",
                file=sys.stderr,
            )
            for acc in chosen:
                print(f"  {_account_line(acc)}", file=sys.stderr)
            return 2
    elif len(known) == 1:
        chosen = known
    elif not known:
        print("No accounts signed in.")
        return 0
    else:
        print(
            "kvtui logout: several accounts are signed in; name one or pass --all",
            file=sys.stderr,
        )
        return 2
    forget_accounts(cache, chosen)
    from kvtui.core.cache import folder_for, forget_account

    folder = folder_for(settings.token_cache)
    for acc in chosen:
        forget_account(folder, acc.home_account_id)  # its vaults' listings too
        print(f"Signed out {acc.username}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    """``kvtui cache clear [VAULT]``."""
    from kvtui.core.cache import clear_all, clear_vault, folder_for
    from kvtui.core.clouds import get_cloud

    settings = _settings(args)
    folder = folder_for(settings.token_cache)
    vault = getattr(args, "cache_vault", None)
    if vault:
        url = get_cloud(settings.cloud).vault_url(vault)
        gone = clear_vault(folder, url)
        print(f"Forgot {gone} cached listing{'s' if gone != 1 else ''} of {url}.")
    else:
        gone = clear_all(folder)
        print(f"Removed the metadata cache ({gone} account file{'s' if gone != 1 else ''}).")
    return 0


def _run_app(args: argparse.Namespace, spare: subprocess.Popen[bytes] | None) -> int:
    """The app; ``spare``: with --vault, the early listing's child, started first of all
    (it imports msal and the SDK while this process reads its settings:
    kvtui/core/lister_child.py)."""
    settings = _settings(args)
    from kvtui.logs import setup_logging

    with _usable("log_file", settings.log_file):
        setup_logging(Path(settings.log_file) if settings.log_file else None)
    from kvtui.ui.launch import build_context

    _check_keymap(args, settings)
    with _usable("token_cache", settings.token_cache):
        context = build_context(settings)
    context.spare_lister = spare
    # The vault's listing starts in that child, then the app loads (Textual). With the
    # vault's listing cached, the cached table is painted on the terminal first, before
    # Textual is even imported (kvtui/ui/splash.py); if it cannot be, the listing waits
    # for the app's first frame (on 2 cores it would take a core from it).
    splash = early = None
    cached = context.has_cached_listing()
    if cached:
        splash = context.first_paint()
        context.painted = splash is not None
    if cached and not context.painted:
        context.early_listing_later = True  # after the app's first frame
    else:
        early = context.start_early_listing()
    app_ran = False
    try:
        from kvtui.ui.app import KvtuiApp, heavy_imports

        if splash is not None:
            # The cached table is on screen: msal, the SDKs and aiohttp load now, before
            # the app runs, rather than in a thread beside its event loop (their C
            # parts hold the GIL for up to 35 ms at a time: stalls of 50-120 ms at 50k).
            heavy_imports()

        app = KvtuiApp(context)
        if splash is not None:
            from kvtui.ui.terminal import HangupDriver

            HangupDriver.modes_before = splash.modes
        app_ran = True
        app.run()
    finally:
        if splash is not None:
            splash.restore(app_ran=app_ran)
        for running in (early, context.early_listing):
            if running is not None:
                running.stop()
        context.discard_spare_lister()
    return 0


@contextlib.contextmanager
def _usable(name: str, path: str | None) -> Iterator[None]:
    """A file kvtui writes (log, token cache) that cannot be created: one line, exit 2."""
    try:
        yield
    except OSError as exc:
        from kvtui.core.config import ConfigError
        from kvtui.core.validation import shown

        where = shown(path) if path else "(the default location)"
        reason = exc.strerror or type(exc).__name__
        culprit = f" {shown(exc.filename)}" if exc.filename and exc.filename != path else ""
        raise ConfigError(f"{name} {where} cannot be used: {reason}{culprit}") from None


def _check_keymap(args: argparse.Namespace, settings: Settings) -> None:
    """A ``[keymap]`` id no binding has is refused (Textual would skip it silently)."""
    if not settings.keymap:
        return
    from kvtui.core.config import ConfigError, default_config_path
    from kvtui.core.validation import shown
    from kvtui.ui.keymap import clashes, unknown_ids

    path = getattr(args, "config", None) or default_config_path()
    unknown = unknown_ids(settings.keymap)
    if unknown:
        name, close = unknown[0]
        hint = f" (did you mean {shown(close)}?)" if close else " (press ? in kvtui for the ids)"
        raise ConfigError(f"{path}: keymap: no binding has the id {shown(name)}{hint}")
    clash = clashes(settings.keymap)
    if clash:
        from textual.binding import Binding

        from kvtui.ui.keys import key_text

        key, first, second = clash[0]
        shown_key = shown(key_text(Binding(key, "")))
        raise ConfigError(
            f"{path}: keymap: {shown(first)} and {shown(second)} are both on the key "
            f"{shown_key}: give one of them another key"
        )


#: The subcommands: a command line naming one is not the app's (see _early_lister).
COMMANDS = frozenset({"emulator", "demo", "accounts", "logout", "cache", "search", "expiring"})


def _early_lister(argv: Sequence[str]) -> subprocess.Popen[bytes] | None:
    """The early listing's child, started before the command line is even parsed (the
    parser takes 20-30 ms to build) when it plainly runs the app with --vault; None
    otherwise (_run_app then starts it after parsing, if it is wanted after all)."""
    if not plainly_the_app_with_a_vault(argv):
        return None
    from kvtui.core.lister_child import spawn

    return spawn()


def plainly_the_app_with_a_vault(argv: Sequence[str]) -> bool:
    """The command line runs the app with --vault, as far as can be told unparsed (a
    word that names a subcommand anywhere, even as a value: not plainly)."""
    if any(arg in COMMANDS for arg in argv):
        return False
    return any(arg == "--vault" or arg.startswith("--vault=") for arg in argv)


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    spares = [p for p in (_early_lister(given),) if p is not None]
    try:
        return _main(given, spares)
    except KeyboardInterrupt:  # ctrl+c before the app runs, or in a command: no traceback
        print("kvtui: interrupted", file=sys.stderr)
        return 130
    finally:
        for spare in spares:
            if spare.stdin is not None and not spare.stdin.closed:
                from kvtui.core.lister import discard

                discard(spare)  # never given a vault to list (--help, bad settings, say)


def _main(argv: list[str], spares: list[subprocess.Popen[bytes]]) -> int:
    """``main``; ``spares``: the early listing's child, if started (main ends it if it
    is never given a vault)."""
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        from kvtui.emulator.cli import run_emulator

        return run_emulator(args)
    from kvtui.core.config import ConfigError

    try:
        if args.command == "demo":
            from kvtui.demo import run_demo

            given = [n for n in (*FLAG_NAMES, "config") if getattr(args, n, None) is not None]
            if given:
                flags = ", ".join(f"--{n.replace('_', '-')}" for n in given)
                raise ConfigError(f"kvtui demo runs against its own emulator: {flags} not used")

            return run_demo(fresh=args.fresh)
        if args.command in ("accounts", "logout"):
            return _accounts(args)
        if args.command == "cache":
            return _cache(args)
        if args.command in ("search", "expiring"):
            from kvtui.crawl_cli import run

            return run(args)
        if not spares and getattr(args, "vault", None):  # (one _early_lister missed)
            from kvtui.core.lister_child import spawn

            spares.extend(p for p in (spawn(),) if p is not None)
        return _run_app(args, spares[0] if spares else None)
    except ConfigError as exc:
        print(f"kvtui: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
