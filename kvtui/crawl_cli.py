"""``kvtui search`` and ``kvtui expiring``: every vault the signed-in account can see (or
the ones named), through the metadata cache (:mod:`kvtui.core.crawl`), reported as a
table, JSON or CSV (:mod:`kvtui.core.reports`). No Textual; the SDK is imported only
when a command runs.

Sign-in is silent, from the app's token cache: the only account in it, or the one used
last. When there is none, or its refresh token no longer works, the command says to run
``kvtui`` (which signs in with a device code) and ends with status 2: a command run from
cron must never wait for a person.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from kvtui.core.auth import Account
    from kvtui.core.config import Settings
    from kvtui.core.crawl import CrawlResult, Progress, Target
    from kvtui.core.filtering import Query
    from kvtui.ui.launch import AppContext

#: Exit statuses (also in each command's --help and the README).
OK, EXPIRED, USAGE, PARTIAL = 0, 1, 2, 3
SIGN_IN_AGAIN = "run `kvtui` to sign in again"
#: A cached listing younger than this many minutes is used without asking the vault.
DEFAULT_MAX_AGE_MINUTES = 60

_SEARCH_EPILOG = f"""\
query terms (all must match, as the app's / filter):
  word              in the name (substring, else fuzzy: kvp finds key-vault-password)
  tag:env=prod      a tag env whose value contains prod; tag:env for any value
  type:json         content type, or key type, size and curve (type:rsa, type:p-256)
  status:expired    expired, expiring (within expiry_warning_days), disabled, enabled

exit status:
  {OK}  the search ran (with or without a match)
  {USAGE}  a bad option, or no usable sign-in (run kvtui to sign in)
  {PARTIAL}  some vaults or subscriptions could not be read (they are named on stderr;
     the rest were searched and printed)
"""

_EXPIRING_EPILOG = f"""\
An item has expired when its expiry date is past, enabled or not (the app's
status:expired); disabled items are listed with enabled no. The secret and key behind
a certificate are not listed: the certificate is.

exit status:
  {OK}  nothing has expired (items may be expiring)
  {EXPIRED}  something has expired
  {USAGE}  a bad option, or no usable sign-in (run kvtui to sign in)
  {PARTIAL}  nothing read has expired, but some vaults could not be read (named on stderr)
"""


def _whole(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} must be a whole number, not {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low}-{high}, not {value}")
        return value

    return parse


def _crawl_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("which vaults, and the metadata cache")
    # conflict_handler="resolve": this --vault (many) replaces the app's (the vault to open).
    g.add_argument(
        "--vault",
        dest="vaults",
        action="append",
        default=None,
        metavar="NAME|URL",
        help="only this vault (repeatable); default: every vault of every subscription "
        "the account can see (Azure Resource Manager, as the vault picker lists them)",
    )
    g.add_argument(
        "--max-age",
        type=_whole(0, 10**6, "--max-age"),
        default=DEFAULT_MAX_AGE_MINUTES,
        metavar="MINUTES",
        help="a vault listed longer ago than this is listed again; the others come from "
        f"the metadata cache (default: {DEFAULT_MAX_AGE_MINUTES})",
    )
    g.add_argument(
        "--refresh",
        action="store_true",
        default=False,
        help="list every vault again, whatever the cache holds",
    )


def add_parsers(
    sub: argparse._SubParsersAction[Any],
    add_app_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """The ``search`` and ``expiring`` commands, with the app's sign-in options."""
    search = sub.add_parser(
        "search",
        help="search names, tags and types across every vault you can see",
        description=textwrap.dedent("""\
            Search the secrets, keys and certificates of every vault the signed-in account
            can see (or those named with --vault): names, tags, content types and key
            types. Values are never read. Vaults are read 4 at a time (a throttled one
            waits as it asks), and their listings are kept in the metadata cache for the
            next search. Results go to stdout; problems to stderr, and progress too when
            it is a terminal."""),
        epilog=_SEARCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
        conflict_handler="resolve",
    )
    add_app_options(search)
    search.add_argument(
        "query",
        nargs="+",
        metavar="QUERY",
        help="terms, as the app's filter: words, tag:k=v, tag:k, type:x, status:x",
    )
    search.add_argument(
        "--format", choices=("table", "json"), default="table", help="default: table"
    )
    _crawl_options(search)

    expiring = sub.add_parser(
        "expiring",
        help="expired and expiring secrets, keys and certificates across vaults",
        description=textwrap.dedent("""\
            List the secrets, keys and certificates that have expired or expire within
            --days, across every vault the signed-in account can see (or those named with
            --vault), soonest first, through the same metadata cache as search. Meant for
            cron and CI too: the exit status says whether anything has expired."""),
        epilog=_EXPIRING_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
        conflict_handler="resolve",
    )
    add_app_options(expiring)
    expiring.add_argument(
        "--days",
        type=_whole(0, 3650, "--days"),
        default=None,
        metavar="N",
        help="expiring within N days (default: expiry_warning_days, 30)",
    )
    expiring.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="default: table"
    )
    _crawl_options(expiring)


# -- running a command --------------------------------------------------------------------


class NotSignedIn(Exception):
    """No account to continue as silently: the message says to run kvtui."""


def run(args: argparse.Namespace) -> int:
    """``kvtui search`` or ``kvtui expiring``. A bad value raises ConfigError (main()
    prints it, status 2) before any sign-in."""
    from kvtui.cli import _settings, _usable
    from kvtui.core.config import ConfigError
    from kvtui.core.filtering import parse_query

    settings = _settings(args)
    command = args.command
    query: Query | None = None
    if command == "search":
        query = parse_query(" ".join(args.query))
        if query.warnings:
            raise ConfigError(f"search: {query.warnings[0]}")
        if query.is_empty:
            raise ConfigError("search: nothing to search for (a name, tag:k=v, type:x...)")
    days = args.days if getattr(args, "days", None) is not None else settings.expiry_warning_days

    from kvtui.logs import setup_logging
    from kvtui.ui.launch import build_context

    with _usable("log_file", settings.log_file):
        setup_logging(Path(settings.log_file) if settings.log_file else None)
    with _usable("token_cache", settings.token_cache):
        ctx = build_context(settings)
    named: list[Target] | None = None
    if args.vaults:
        from kvtui.core.crawl import Target
        from kvtui.core.validation import shown

        named = []
        for given in args.vaults:
            try:
                url = ctx.vault_url(given)
            except ValueError as exc:
                raise ConfigError(f"--vault {shown(given)}: {exc}") from None
            named.append(Target.of(url, "" if "://" in given else given))
    import asyncio  # (here: the app's own start has no use for it before Textual)

    return asyncio.run(_run(command, args, settings, ctx, named, query, days))


async def _run(
    command: str,
    args: argparse.Namespace,
    settings: Settings,
    ctx: AppContext,
    named: list[Target] | None,
    query: Query | None,
    days: int,
) -> int:
    from kvtui.core import reports
    from kvtui.core.arm import ArmClient
    from kvtui.core.crawl import Crawler, discover, problem_lines
    from kvtui.core.errors import AuthenticationFailed, SessionExpired

    err = sys.stderr
    try:
        account = await signed_in(ctx)
    except NotSignedIn as exc:
        _say(err, command, str(exc))
        return USAGE
    line = ProgressLine(err, command) if err.isatty() else None
    crawler = Crawler(
        lambda url, on_throttle: ctx.vault_service(url, account, on_throttle=on_throttle),
        ctx.metadata_cache(account),  # the app's; None with --no-cache
        max_age=args.max_age * 60,
        refresh=args.refresh,
        key_facts=bool(query and query.types),
        on_progress=line.update if line else None,
    )
    try:
        if named is not None:
            result = await crawler.crawl(named)
        else:
            arm = ArmClient(
                ctx.arm_url,
                ctx.credential(account),
                ctx.arm_scope,
                ca_bundle=ctx.ca_bundle,
                home_tenant=account.tenant_id or None,
            )
            try:
                result = await crawler.crawl(discover(arm, crawler.result.problems))
            finally:
                await arm.close()
    except SessionExpired as exc:
        if line:
            line.clear()
        _say(err, command, f"the sign-in is no longer valid: {exc.reason or exc}; {SIGN_IN_AGAIN}")
        return USAGE
    if line:
        line.clear()
    for problem in problem_lines(result.problems):
        _say(err, command, problem)
    refused = [isinstance(p.error, AuthenticationFailed) for p in result.problems]
    if named is None and not result.vaults and refused and all(refused):
        # ARM refused every token (revoked, or a tenant asking for MFA): the same as a
        # vault's expired sign-in, which ARM's client does not tell apart.
        _say(err, command, SIGN_IN_AGAIN)
        return USAGE

    now = datetime.now(timezone.utc)
    if command == "search":
        assert query is not None
        rows = reports.search(result.items(), query, now, settings.expiry_warning_days)
        if args.format == "json":
            _emit(reports.search_json(rows) + "\n")
        elif rows:
            _emit(reports.search_table(rows, now, settings.expiry_warning_days) + "\n")
        else:
            _emit(f"No match in {_vaults(result.vaults)}.\n")
        if err.isatty():
            _say(err, command, f"{len(rows)} found; {_summary(result)}")
        return PARTIAL if result.problems else OK

    rows = reports.expiring(result.items(), days, now)
    if args.format == "json":
        _emit(reports.expiring_json(rows, now) + "\n")
    elif args.format == "csv":
        _emit(reports.expiring_csv(rows, now))
    elif rows:
        _emit(reports.expiring_table(rows, now) + "\n")
    else:
        _emit(f"Nothing expired or expiring within {days} days in {_vaults(result.vaults)}.\n")
    expired = sum(reports.has_expired(r, now) for r in rows)
    if err.isatty():
        _say(err, command, f"{expired} expired, {len(rows) - expired} expiring; {_summary(result)}")
    if expired:
        return EXPIRED
    return PARTIAL if result.problems else OK


def _emit(text: str) -> None:
    """``text`` on stdout. A reader that went away (``| head``) ends the output quietly:
    the exit status still says what was found."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull first (its docs' way).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _vaults(n: int) -> str:
    return f"{n} vault{'' if n == 1 else 's'}"


def _summary(result: CrawlResult) -> str:
    return (
        f"{_vaults(result.vaults)}, {result.crawled} listings read now, "
        f"{result.from_cache} from the cache"
    )


def _say(stream: TextIO, command: str, text: str) -> None:
    from kvtui.core.details import make_visible

    stream.write(f"kvtui {command}: {make_visible(text, keep_newlines=False)}\n")
    stream.flush()


async def signed_in(ctx: AppContext) -> Account:
    """The account to continue as, silently (as the app starts): the only one in the
    token cache, or the one used last, with a token for the vaults. NotSignedIn when
    there is none, or its token cannot be had without a person."""
    from azure.core.exceptions import ClientAuthenticationError

    from kvtui.core.aad_errors import AuthError

    try:
        accounts = await ctx.sign_in.accounts()
    except AuthError as exc:
        raise NotSignedIn(f"cannot sign in: {exc}") from exc
    if not accounts:
        raise NotSignedIn(
            "no account is signed in: run `kvtui` once to sign in (device code), then again"
        )
    last = ctx.last_account_id()
    candidate = accounts[0] if len(accounts) == 1 else None
    candidate = next((a for a in accounts if a.home_account_id == last), candidate)
    if candidate is None:
        raise NotSignedIn(
            f"{len(accounts)} accounts are signed in and none was used last: run `kvtui` "
            "and choose one (`kvtui accounts` lists them)"
        )
    try:
        await ctx.credential(candidate).get_token_info(ctx.vault_scope)
    except (AuthError, ClientAuthenticationError) as exc:
        reason = getattr(exc, "reason", "") or getattr(exc, "message", "") or str(exc)
        raise NotSignedIn(f"no token for {candidate.username} ({reason}): {SIGN_IN_AGAIN}") from exc
    return candidate


class ProgressLine:
    """One line on a terminal's stderr, rewritten as the crawl goes, cleared at the end."""

    def __init__(self, stream: TextIO, command: str) -> None:
        self.stream = stream
        self.command = command
        self.shown = False

    def update(self, p: Progress) -> None:
        from kvtui.core.details import make_visible

        found = f"{p.found}{'+' if p.discovering else ''}"
        text = f"kvtui {self.command}: {p.done}/{found} vaults"
        if p.cached:
            text += f", {p.cached} listings from the cache"
        if p.throttled and p.throttled[0] in p.listing:  # first: it explains a pause
            name, wait = p.throttled
            text += f"; {name} throttled" + (f", waiting {wait:.0f} s" if wait else "")
        if p.listing:
            more = len(p.listing) - 3
            text += f"; reading {', '.join(p.listing[:3])}{f' +{more}' if more > 0 else ''}"
        width = shutil.get_terminal_size().columns - 1
        text = textwrap.shorten(make_visible(text, keep_newlines=False), width, placeholder="…")
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
