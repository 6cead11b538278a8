"""`kvtui search` and `kvtui expiring`, run in this process through ``kvtui.cli.main``
against an emulator of each test's own (a fresh one starts in a tenth of a second), so
that "every vault the account can see" is exactly the test's vaults: three, in two
subscriptions, found through ARM. The account is signed in once per test (a device code
through real msal, as `kvtui` would) and the commands sign in silently from that token
cache, with the XDG folders in a temporary directory.

Checked with the emulator's request log: what the cache spares, what --refresh lists
again, a throttled listing retried after its Retry-After. Values never reach stdout,
stderr or the cache."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.certificates import CertificatePolicy
from azure.keyvault.certificates._shared import (  # the SDK's own, process-wide
    http_challenge_cache as certificates_challenges,
)
from azure.keyvault.keys._shared import http_challenge_cache as keys_challenges
from azure.keyvault.secrets._shared import http_challenge_cache as secrets_challenges

from kvtui import cli
from kvtui.core.crawl import Progress
from kvtui.crawl_cli import ProgressLine
from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread
from tests.support import (
    EmulatorClock,
    SignedInCache,
    identity_admin,
    kv_clients,
    requests_session,
)

#: Values seeded in the vaults: none may reach an output or the cache.
VALUES = ("db-password-value-Zq81", "alpha-value-Wk27", "soon-value-Pp55")

Run = Callable[..., subprocess.CompletedProcess[str]]


@dataclass
class World:
    emulator: EmulatorThread
    info: EmulatorInfo
    home: Path
    vaults: dict[str, str]
    """name -> URL: alpha, beta, gamma."""
    run: Run

    def admin(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        with requests_session(self.info.ca_bundle) as http:
            resp = http.request(
                method,
                f"{self.info.admin_url}{path}",
                json=body,
                headers=self.info.admin_headers(),
                timeout=10,
            )
        if expect is not None:
            assert resp.status_code == expect, (resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def last_request(self) -> int:
        return int(self.admin("GET", "/requests")["last"])

    def requests_since(self, seq: int) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"/requests?since={seq}")["value"])

    def lists_since(self, seq: int) -> list[tuple[str, str]]:
        """(vault, list operation) of the answered list requests after ``seq``."""
        return sorted(
            (e["vault"], e["operation"])
            for e in self.requests_since(seq)
            if e["status"] != 401 and str(e["operation"]).endswith("/list")
        )

    def cache_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in (self.home / "cache").rglob("*.sqlite"))


def in_process(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    options: list[str],
) -> Run:
    """``run(*args)``: ``kvtui.cli.main([*args, *options])`` in this process with ``env``
    (no KVTUI_* variable of the machine), as a CompletedProcess; the logging set-up the
    command does (a log file) is undone afterwards."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as m:
            for name in os.environ:
                if name.startswith("KVTUI_"):
                    m.delenv(name)
            for name, value in env.items():
                m.setenv(name, value)
            root = logging.getLogger()
            handlers, level = list(root.handlers), root.level
            try:
                code = cli.main([*args, *options])
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                for handler in list(root.handlers):
                    if handler not in handlers:
                        root.removeHandler(handler)
                        handler.close()
                for handler in handlers:
                    if handler not in root.handlers:
                        root.addHandler(handler)
                root.setLevel(level)
                logging.captureWarnings(False)
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    return run


def xdg(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home / "home"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
    }


def start_world(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    signed_in: bool = True,
) -> World:
    emulator = EmulatorThread(
        EmulatorSettings(vaults=["alpha"], approve="manual", state_dir=tmp_path / "emulator")
    )
    info = emulator.start()
    # A new kvtui process starts without the SDK's challenge cache (per host:port): an
    # earlier emulator of this process may have had these ports and another tenant.
    for challenges in (secrets_challenges, keys_challenges, certificates_challenges):
        challenges.clear()
    identity_admin(info, "PATCH", "/settings", {"interval": 0})
    for name in ("beta", "gamma"):  # round-robin over the home tenant's two subscriptions
        emulator.call(emulator.emulator.add_vault(name))
    if signed_in:  # where `kvtui` keeps its token cache by default
        target = tmp_path / "cache" / "kvtui" / "msal_token_cache.bin"
        SignedInCache(info, tmp_path / "signing-in").copy_file(target)
    options = [
        "--authority",
        info.authority,
        "--ca-bundle",
        info.ca_bundle,
        "--client-id",
        info.client_id,
        "--arm-url",
        info.arm_url,
    ]
    run = in_process(monkeypatch, capsys, xdg(tmp_path), options)
    return World(emulator, info, tmp_path, dict(info.vaults), run)


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[World]:
    w = start_world(tmp_path, monkeypatch, capsys)
    yield w
    w.emulator.stop()


def seed(world: World) -> None:
    """beta: a JSON secret tagged env=prod; gamma: an RSA key of team payments; alpha: a
    secret of its own."""

    async def go() -> None:
        async with kv_clients(world.info, world.vaults["beta"]) as kv:
            await kv.secrets.set_secret(
                "db-password", VALUES[0], tags={"env": "prod"}, content_type="application/json"
            )
        async with kv_clients(world.info, world.vaults["gamma"]) as kv:
            await kv.keys.create_rsa_key("signing-key", tags={"team": "payments"})
        async with kv_clients(world.info, world.vaults["alpha"]) as kv:
            await kv.secrets.set_secret("alpha-note", VALUES[1])

    asyncio.run(go())


def assert_no_value(world: World, *results: subprocess.CompletedProcess[str]) -> None:
    cached = world.cache_bytes()
    assert cached  # something was cached
    for value in VALUES:
        for result in results:
            assert value not in result.stdout and value not in result.stderr
        assert value.encode() not in cached


# -- search -------------------------------------------------------------------------------


def test_search_finds_by_name_tag_and_type_in_other_vaults(world: World) -> None:
    seed(world)
    by_name = world.run("search", "db-pass", "--format", "json")
    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stderr == ""
    [row] = json.loads(by_name.stdout)
    assert row["vault"] == "beta" and row["vault_url"] == world.vaults["beta"]
    assert (row["kind"], row["name"], row["matched"]) == ("secret", "db-password", ["name"])
    assert row["tags"] == {"env": "prod"} and row["content_type"] == "application/json"

    by_tag = world.run("search", "tag:team=payments")
    assert by_tag.returncode == 0, by_tag.stderr
    header, line = by_tag.stdout.splitlines()
    assert header.split() == ["VAULT", "KIND", "NAME", "MATCHED", "EXPIRES", "TAGS"]
    assert line.split() == ["gamma", "key", "signing-key", "tag", "team=payments", "team=payments"]

    any_value = json.loads(world.run("search", "tag:env", "--format", "json").stdout)
    assert [(r["vault"], r["name"]) for r in any_value] == [("beta", "db-password")]
    typed = json.loads(world.run("search", "type:json", "--format", "json").stdout)
    assert [(r["name"], r["matched"]) for r in typed] == [
        ("db-password", ["type application/json"])
    ]
    by_key_type = json.loads(world.run("search", "type:rsa", "--format", "json").stdout)
    assert [(r["vault"], r["name"], r["key_type"]) for r in by_key_type] == [
        ("gamma", "signing-key", "RSA 2048")
    ]

    nothing = world.run("search", "no-such-thing-anywhere")
    assert (nothing.returncode, nothing.stdout) == (0, "No match in 3 vaults.\n")
    assert json.loads(world.run("search", "zzz-none", "--format", "json").stdout) == []
    assert_no_value(world, by_name, by_tag, nothing)


def test_a_second_search_uses_the_cache_and_refresh_lists_again(world: World) -> None:
    seed(world)
    every_list = sorted(
        (vault, f"{kind}/list")
        for vault in ("alpha", "beta", "gamma")
        for kind in ("secrets", "keys", "certificates")
    )

    before = world.last_request()
    first = world.run("search", "db")
    assert first.returncode == 0 and "db-password" in first.stdout
    assert world.lists_since(before) == every_list

    before = world.last_request()
    second = world.run("search", "db")
    assert second.stdout == first.stdout
    assert world.requests_since(before) == []  # no vault was asked anything

    before = world.last_request()
    assert world.run("search", "db", "--refresh").stdout == first.stdout
    assert world.lists_since(before) == every_list

    # Stale: --max-age 0 lists every vault again; only the named vault with --vault.
    before = world.last_request()
    assert world.run("search", "db", "--max-age", "0").returncode == 0
    assert world.lists_since(before) == every_list
    before = world.last_request()
    only = world.run("search", "db", "--vault", world.vaults["beta"], "--refresh")
    assert "db-password" in only.stdout
    assert {vault for vault, _ in world.lists_since(before)} == {"beta"}

    # --no-cache: every vault listed, and nothing kept.
    for path in (world.home / "cache").rglob("*.sqlite"):
        path.unlink()
    before = world.last_request()
    assert world.run("search", "db", "--no-cache").stdout == first.stdout
    assert world.lists_since(before) == every_list
    assert not list((world.home / "cache").rglob("*.sqlite"))


def test_vaults_that_cannot_be_read_are_reported_and_the_rest_searched(world: World) -> None:
    seed(world)
    # beta: the account may do nothing there; gamma: behind a firewall.
    world.admin("PUT", "/permissions/beta/*", {}, expect=200)
    world.admin("POST", "/faults", {"type": "firewall", "vault": "gamma"}, expect=201)
    result = world.run("search", "alpha")
    assert result.returncode == 3
    assert result.stdout.splitlines()[1].split()[:3] == ["alpha", "secret", "alpha-note"]
    lines = result.stderr.splitlines()
    assert len(lines) == 4, result.stderr  # beta: a line per kind; gamma: one
    assert all(line.startswith("kvtui search: vault ") for line in lines)
    beta = [line for line in lines if "vault beta:" in line]
    assert [line.split(":")[2].strip() for line in beta] == ["secrets", "keys", "certificates"]
    assert "secrets list permission" in beta[0]
    [gamma] = [line for line in lines if "vault gamma:" in line]
    assert "vault gamma: secrets, keys, certificates: the vault's firewall" in gamma

    # Once readable again, the cache has no listing of theirs to reuse: they are listed.
    world.admin("POST", "/reset", expect=204)
    ok = world.run("search", "signing")
    assert ok.returncode == 0 and ok.stderr == "" and "gamma" in ok.stdout

    # A subscription ARM cannot list is reported too; the other subscription's vaults
    # are searched.
    sub = world.emulator.state.vaults["beta"].subscription_id
    fault = {
        "type": "status",
        "service": "arm",
        "status": 500,
        "path": f"/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults$",
        "message": "ARM is having a bad day",
    }
    world.admin("POST", "/faults", fault, expect=201)
    partial = world.run("search", "n", "--format", "json")
    assert partial.returncode == 3
    assert {r["vault"] for r in json.loads(partial.stdout)} == {"alpha", "gamma"}
    assert "kvtui search: subscription " in partial.stderr
    assert "ARM is having a bad day" in partial.stderr


def test_throttling_is_honoured(world: World) -> None:
    seed(world)
    fault = {
        "type": "throttle",
        "vault": "beta",
        "operation": "secrets/list",
        "count": 1,
        "retry_after": 1,
    }
    world.admin("POST", "/faults", fault, expect=201)
    before = world.last_request()
    started = time.monotonic()
    result = world.run("search", "db", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 1.0  # the wait the vault asked for
    assert [r["name"] for r in json.loads(result.stdout)] == ["db-password"]
    answered = [
        e["status"]
        for e in world.requests_since(before)
        if (e["vault"], e["operation"]) == ("beta", "secrets/list") and e["status"] != 401
    ]
    assert answered == [429, 200]


# -- expiring -----------------------------------------------------------------------------


def seed_expiry(world: World) -> datetime:
    """Secrets and a key with expiry dates set with the SDK; two certificates issued
    with the emulator's clock set back (12 months from 400 and from 340 days ago: one
    expired 35 days ago, one expires in 25 days). Returns now."""
    now = datetime.now(timezone.utc)
    half = timedelta(hours=12)  # away from a day's edge, whenever the command runs

    async def values() -> None:
        async with kv_clients(world.info, world.vaults["beta"]) as kv:
            s = kv.secrets
            await s.set_secret("expired-secret", "v", expires_on=now - timedelta(days=2) + half)
            await s.set_secret(
                "disabled-expired", "v", expires_on=now - timedelta(days=1) + half, enabled=False
            )
            await s.set_secret("expiring-secret", "v", expires_on=now + timedelta(days=10) + half)
            await s.set_secret("later-secret", "v", expires_on=now + timedelta(days=60))
            await s.set_secret("no-expiry", "v")
            await kv.keys.create_rsa_key(
                "expiring-key", expires_on=now + timedelta(days=5) + half, tags={"team": "pay"}
            )
        async with kv_clients(world.info, world.vaults["alpha"]) as kv:
            await kv.secrets.set_secret(
                "alpha-soon", VALUES[2], expires_on=now + timedelta(days=20) + half
            )
            await kv.secrets.set_secret("alpha-later", "v", expires_on=now + timedelta(days=90))

    async def certificate(name: str) -> None:
        policy = CertificatePolicy(issuer_name="Self", subject=f"CN={name}", validity_in_months=12)
        async with kv_clients(world.info, world.vaults["gamma"]) as kv:
            await kv.certificates.create_certificate(name, policy)

    asyncio.run(values())
    clock = EmulatorClock(world.info)
    try:
        for name, days in (("expired-cert", 400), ("expiring-cert", 340)):
            clock.call({"now": (now - timedelta(days=days) + half).isoformat()})
            asyncio.run(certificate(name))
    finally:
        clock.reset()
    return now


EXPECTED = [  # (vault, kind, name, days left, enabled), soonest first
    ("gamma", "certificate", "expired-cert", -35, True),
    ("beta", "secret", "expired-secret", -2, True),
    ("beta", "secret", "disabled-expired", -1, False),
    ("beta", "key", "expiring-key", 5, True),
    ("beta", "secret", "expiring-secret", 10, True),
    ("alpha", "secret", "alpha-soon", 20, True),
    ("gamma", "certificate", "expiring-cert", 25, True),
]


def test_expiring_lists_exactly_the_expired_and_soon_expiring_items(world: World) -> None:
    seed_expiry(world)
    result = world.run("expiring", "--days", "30", "--format", "json")
    assert result.returncode == 1, result.stderr  # something has expired
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    got = [(r["vault"], r["kind"], r["name"], r["days_left"], r["enabled"]) for r in rows]
    # The certificates' own secrets and keys expire with them: listed once, as certificates.
    assert got == EXPECTED
    assert [r["expired"] for r in rows] == [True, True, True, False, False, False, False]
    assert [r["expires"] for r in rows] == sorted(r["expires"] for r in rows)
    assert rows[3]["tags"] == {"team": "pay"}
    assert rows[0]["id"].startswith(world.vaults["gamma"])

    as_csv = world.run("expiring", "--format", "csv")  # --days: expiry_warning_days, 30
    assert as_csv.returncode == 1
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["vault"], r["name"], r["days_left"], r["enabled"]) for r in parsed] == [
        (v, n, str(d), "yes" if e else "no") for v, _, n, d, e in EXPECTED
    ]

    table = world.run("expiring", "--days", "7").stdout.splitlines()
    assert table[0].split() == [
        *["VAULT", "KIND", "NAME", "EXPIRES", "DAYS", "LEFT", "ENABLED", "TAGS"]
    ]
    assert [line.split()[2] for line in table[1:]] == [n for _, _, n, d, _ in EXPECTED if d <= 7]

    # Nothing has expired in alpha: 0, its expiring secret listed all the same.
    alpha = world.run("expiring", "--vault", world.vaults["alpha"], "--format", "json")
    assert alpha.returncode == 0, alpha.stderr
    assert [r["name"] for r in json.loads(alpha.stdout)] == ["alpha-soon"]
    quiet = world.run("expiring", "--vault", world.vaults["alpha"], "--days", "1")
    assert quiet.returncode == 0
    assert quiet.stdout == "Nothing expired or expiring within 1 days in 1 vault.\n"
    assert_no_value(world, result, as_csv, alpha)


def test_expiring_with_an_unreadable_vault_is_status_3_unless_something_expired(
    world: World,
) -> None:
    seed_expiry(world)
    world.admin("POST", "/faults", {"type": "firewall", "vault": "gamma"}, expect=201)
    alpha_and_gamma = ["--vault", world.vaults["alpha"], "--vault", world.vaults["gamma"]]
    partial = world.run("expiring", *alpha_and_gamma, "--format", "json")
    assert partial.returncode == 3
    assert [r["name"] for r in json.loads(partial.stdout)] == ["alpha-soon"]
    assert "firewall" in partial.stderr
    # beta has expired items: 1 says more than 3.
    everything = world.run("expiring", "--format", "json")
    assert everything.returncode == 1
    assert "gamma" in everything.stderr


# -- sign-in and options --------------------------------------------------------------------


def test_without_a_usable_sign_in_it_says_to_run_kvtui(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = start_world(tmp_path, monkeypatch, capsys, signed_in=False)
    try:
        for command in (["search", "db"], ["expiring"]):
            result = world.run(*command)
            assert result.returncode == 2
            assert result.stdout == ""
            assert result.stderr == (
                f"kvtui {command[0]}: no account is signed in: run `kvtui` once to sign in "
                "(device code), then again\n"
            )
    finally:
        world.emulator.stop()


def test_a_sign_in_revoked_midway_says_to_sign_in_again(world: World) -> None:
    seed(world)
    assert world.run("search", "db").returncode == 0
    # Continuous access evaluation: the vaults and ARM refuse the cached token, and the
    # refresh token is dead too.
    identity_admin(world.info, "POST", "/sessions/revoke", {"refresh_tokens": True})
    for args in (["--vault", world.vaults["beta"]], []):  # a vault says so, or ARM does
        result = world.run("search", "db", "--refresh", *args)
        assert result.returncode == 2, result
        assert result.stdout == ""
        last = result.stderr.splitlines()[-1]
        assert last.startswith("kvtui search: ") and last.endswith("run `kvtui` to sign in again")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["expiring", "--days", "-1"], "--days must be 0-3650"),
        (["expiring", "--days", "soon"], "--days must be a whole number"),
        (["expiring", "--format", "xml"], "invalid choice"),
        (["search", "db", "--format", "csv"], "invalid choice"),
        (["search", "db", "--max-age", "-5"], "--max-age must be"),
        (["search"], "QUERY"),
        (["search", "  "], "nothing to search for"),
        (["search", "status:bogus"], "unknown status 'bogus'"),
        (["expiring", "--vault", "http://contoso.vault.azure.net/"], "https://"),
        (["expiring", "--vault", "my vault"], "not a vault name"),
        (["search", "x", "--client-id", "nope"], "GUID"),
    ],
)
def test_a_bad_option_is_one_line_and_status_2(
    args: list[str],
    needle: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = in_process(monkeypatch, capsys, xdg(tmp_path), [])
    result = run(*args)
    assert result.returncode == 2, result
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert needle in line, line


def test_the_progress_line_is_rewritten_and_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    stream = io.StringIO()
    line = ProgressLine(stream, "search")
    line.update(Progress(found=3, done=1, listing=["beta"], cached=2, throttled=("beta", 2.0)))
    assert stream.getvalue() == (
        "\r\x1b[Kkvtui search: 1/3+ vaults, 2 listings from the cache; beta throttled, "
        "waiting 2 s; reading beta"
    )
    line.clear()
    assert stream.getvalue().endswith("\r\x1b[K")
    monkeypatch.setenv("COLUMNS", "40")  # never wider than the terminal (no wrapping)
    line.update(Progress(found=3, done=1, listing=["a-long-vault-name", "another"]))
    assert stream.getvalue().endswith("\r\x1b[Kkvtui search: 1/3+ vaults; reading…")
