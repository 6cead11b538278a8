"""The crawl of many vaults (kvtui/core/crawl.py) and what search and expiry make of it
(kvtui/core/reports.py), against the emulator with the real SDK: listings stored in the
metadata cache and read from it until stale (the emulator's request log shows which
vaults were asked), a vault that cannot be read reported while the others are read (its
cached listing used instead), throttling waited out as Retry-After says, a few vaults at
a time, key types read once and carried over, vaults found through ARM, and an expired
sign-in stopping the crawl. Then the rows and their table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kvtui.core import reports
from kvtui.core.arm import ArmClient
from kvtui.core.auth import Account
from kvtui.core.cache import MetadataCache
from kvtui.core.crawl import Crawler, Problem, Progress, Target, discover, name_of, problem_lines
from kvtui.core.errors import FirewallDenied, PermissionDenied, SessionExpired, Throttled
from kvtui.core.filtering import parse_query
from kvtui.core.models import Item, Kind
from kvtui.core.throttle import ThrottleCallback
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.core.conftest import make_sign_in
from tests.emulator.admin_support import Admin
from tests.support import ARM_SCOPE, ClientSecretMsalCredential, kv_clients

_names = itertools.count()


def new_vault(emulator: EmulatorThread, **kw: Any) -> Target:
    name = f"crawl{os.getpid()}x{next(_names)}"
    return Target.of(emulator.call(emulator.emulator.add_vault(name, **kw)).url, name)


@pytest.fixture
async def credential(info: EmulatorInfo) -> AsyncIterator[ClientSecretMsalCredential]:
    async with ClientSecretMsalCredential(info) as cred:
        yield cred


def opener(
    info: EmulatorInfo, credential: Any, retry_total: int = 0
) -> Callable[[str, ThrottleCallback], VaultService]:
    def open_service(url: str, on_throttle: ThrottleCallback) -> VaultService:
        return VaultService(
            url,
            credential,
            ca_bundle=info.ca_bundle,
            verify_challenge_resource=False,
            retry_total=retry_total,
            on_throttle=on_throttle,
        )

    return open_service


async def requests_since(admin: Admin, since: int, vault: str) -> list[dict[str, Any]]:
    _, data = await admin.call("GET", f"/requests?vault={vault}&since={since}", expect=200)
    return list(data["value"])


async def last_request(admin: Admin) -> int:
    _, data = await admin.call("GET", "/requests", expect=200)
    return int(data["last"])


def lists(entries: list[dict[str, Any]]) -> list[str]:
    """The list operations among logged requests (``secrets/list``...), 401s left out."""
    return sorted(
        e["operation"]
        for e in entries
        if e["status"] != 401 and str(e["operation"]).endswith("/list")
    )


ALL_LISTS = ["certificates/list", "keys/list", "secrets/list"]


async def test_listings_are_cached_and_read_again_only_when_stale_or_refreshed(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    admin: Admin,
    credential: Any,
    tmp_path: Path,
) -> None:
    a, b = new_vault(emulator), new_vault(emulator)
    async with kv_clients(info, a.url) as kv:
        await kv.secrets.set_secret("db-password", "never-in-the-cache-Qx7", tags={"env": "prod"})
    async with kv_clients(info, b.url) as kv:
        await kv.keys.create_rsa_key("signing", tags={"team": "payments"})
    cache = MetadataCache(tmp_path, "home-1")
    open_service = opener(info, credential)

    before = await last_request(admin)
    result = await Crawler(open_service, cache).crawl([a, b])
    assert result.vaults == 2 and result.crawled == 6 and result.from_cache == 0
    assert not result.problems
    assert sorted((t.name, i.name) for t, i in result.items()) == [
        (a.name, "db-password"),
        (b.name, "signing"),
    ]
    assert set(cache.vaults()) == {a.key, b.key}
    assert lists(await requests_since(admin, before, a.name)) == ALL_LISTS
    assert b"never-in-the-cache-Qx7" not in cache.path.read_bytes()

    # Fresh enough: nothing is asked of the vaults.
    before = await last_request(admin)
    again = await Crawler(open_service, cache).crawl([a, b])
    assert again.crawled == 0 and again.from_cache == 6
    assert sorted(i.name for _, i in again.items()) == ["db-password", "signing"]
    assert await requests_since(admin, before, a.name) == []
    assert await requests_since(admin, before, b.name) == []

    # Refreshed: listed again, every kind of every vault.
    before = await last_request(admin)
    refreshed = await Crawler(open_service, cache, refresh=True).crawl([a, b])
    assert refreshed.crawled == 6
    assert lists(await requests_since(admin, before, b.name)) == ALL_LISTS

    # Stale: listed more than max_age ago (a clock an hour and a minute on).
    before = await last_request(admin)
    later = Crawler(open_service, cache, clock=lambda: time.time() + 3660)
    assert (await later.crawl([a])).crawled == 3
    assert lists(await requests_since(admin, before, a.name)) == ALL_LISTS
    assert (
        await Crawler(open_service, cache, max_age=7200, clock=later.clock).crawl([a])
    ).crawled == 0


async def test_a_vault_that_cannot_be_read_is_reported_and_the_others_are_read(
    info: EmulatorInfo,
    emulator: EmulatorThread,
    admin: Admin,
    credential: Any,
    tmp_path: Path,
) -> None:
    a, b, c = new_vault(emulator), new_vault(emulator), new_vault(emulator)
    for target in (a, b, c):
        async with kv_clients(info, target.url) as kv:
            await kv.secrets.set_secret(f"in-{target.name}", "v")
    cache = MetadataCache(tmp_path, "home-1")
    open_service = opener(info, credential)
    await Crawler(open_service, cache).crawl([b])  # b's listing is cached

    # b: no permission at all (an access policy without list); c: behind a firewall.
    await admin.call("PUT", f"/permissions/{b.name}/*", {}, expect=200)
    await admin.call("POST", "/faults", {"type": "firewall", "vault": c.name}, expect=201)
    result = await Crawler(open_service, cache, refresh=True).crawl([a, b, c])

    assert result.vaults == 3
    by_vault = {(p.target.name if p.target else "", p.kind) for p in result.problems}
    assert by_vault == {(v.name, k) for v in (b, c) for k in Kind}
    assert all(isinstance(p.error, PermissionDenied) for p in result.problems if p.target == b)
    assert all(isinstance(p.error, FirewallDenied) for p in result.problems if p.target == c)
    # a was read; b's cached listing stands in (and says so); c had none.
    names = sorted(i.name for _, i in result.items())
    assert names == [f"in-{a.name}", f"in-{b.name}"]
    assert all(p.cached_age is not None for p in result.problems if p.target == b)
    lines = problem_lines(result.problems)
    assert len(lines) == 4  # b: one line per kind (each names its permission); c: one
    firewall = next(line for line in lines if line.startswith(f"vault {c.name}"))
    assert firewall.startswith(f"vault {c.name}: secrets, keys, certificates: ")
    assert "Client address is not authorized" in firewall
    secrets_line = next(line for line in lines if "secrets list permission" in line)
    assert secrets_line.startswith(f"vault {b.name}: secrets: the vault's access policy ")
    assert "(using the listing cached just now)" in secrets_line
    # What failed is not written over: b's cache still holds its last good listing.
    cached = cache.load(b.url, Kind.SECRETS)
    assert cached is not None and [i.name for i in cached.items] == [f"in-{b.name}"]


async def test_throttling_is_waited_out_as_retry_after_says(
    info: EmulatorInfo, emulator: EmulatorThread, admin: Admin, credential: Any
) -> None:
    a = new_vault(emulator)
    async with kv_clients(info, a.url) as kv:
        await kv.secrets.set_secret("db", "v")
    fault = {
        "type": "throttle",
        "vault": a.name,
        "operation": "secrets/list",
        "count": 1,
        "retry_after": 1,
    }
    await admin.call("POST", "/faults", fault, expect=201)
    heard: list[tuple[str, float | None]] = []

    def progress(p: Progress) -> None:
        if p.throttled and p.throttled not in heard:
            heard.append(p.throttled)

    before = await last_request(admin)
    started = time.monotonic()
    crawler = Crawler(opener(info, credential, retry_total=2), None, on_progress=progress)
    result = await crawler.crawl([a])
    waited = time.monotonic() - started
    assert not result.problems
    assert [i.name for _, i in result.items()] == ["db"]
    assert heard == [(a.name, 1.0)]
    assert waited >= 1.0  # the SDK waited as the vault asked
    logged = [
        e["status"]
        for e in await requests_since(admin, before, a.name)
        if e["operation"] == "secrets/list" and e["status"] != 401
    ]
    assert logged == [429, 200]
    assert crawler.progress.throttled is None  # over once the vault is done

    # Throttled past the retries: a problem of that vault, with the wait it asked for.
    await admin.call("POST", "/faults", {**fault, "count": 5, "retry_after": 7}, expect=201)
    result = await Crawler(opener(info, credential, retry_total=0), None).crawl([a])
    assert [(p.kind, type(p.error)) for p in result.problems] == [(Kind.SECRETS, Throttled)]
    assert "7 s" in result.problems[0].text()


async def test_a_few_vaults_at_a_time(
    info: EmulatorInfo, emulator: EmulatorThread, admin: Admin, credential: Any
) -> None:
    targets = [new_vault(emulator) for _ in range(5)]
    for t in targets:  # each listing held a moment, so that crawls overlap
        await admin.call(
            "POST", "/faults", {"type": "latency", "vault": t.name, "latency_ms": 150}, expect=201
        )
    busiest = 0
    done: list[int] = []

    def progress(p: Progress) -> None:
        nonlocal busiest
        busiest = max(busiest, len(p.listing))
        done.append(p.done)

    result = await Crawler(
        opener(info, credential), None, concurrency=2, on_progress=progress
    ).crawl(targets)
    assert result.vaults == 5 and not result.problems
    assert busiest == 2
    assert done[-1] == 5


async def test_key_types_are_read_once_and_carried_over(
    info: EmulatorInfo, emulator: EmulatorThread, admin: Admin, credential: Any, tmp_path: Path
) -> None:
    a = new_vault(emulator)
    async with kv_clients(info, a.url) as kv:
        await kv.keys.create_rsa_key("rsa-key", size=3072)
        await kv.keys.create_ec_key("ec-key", curve="P-256")
    cache = MetadataCache(tmp_path, "home-1")
    open_service = opener(info, credential)

    def gets(entries: list[dict[str, Any]]) -> list[str]:
        return [e["path"] for e in entries if e["operation"] == "keys/get" and e["status"] == 200]

    # Without key_facts (expiry), the listing alone: no key is read.
    before = await last_request(admin)
    await Crawler(open_service, cache).crawl([a])
    assert gets(await requests_since(admin, before, a.name)) == []

    before = await last_request(admin)
    result = await Crawler(open_service, cache, key_facts=True).crawl([a])
    keys = {i.name: i for _, i in result.items()}
    assert (keys["rsa-key"].key_type, keys["rsa-key"].key_size) == ("RSA", 3072)
    assert (keys["ec-key"].key_type, keys["ec-key"].curve) == ("EC", "P-256")
    assert len(gets(await requests_since(admin, before, a.name))) == 2
    cached = cache.load(a.url, Kind.KEYS)
    assert cached is not None and all(i.key_type for i in cached.items)

    # Listed again: the facts of keys not updated since are carried over; a new key is
    # the only one read.
    async with kv_clients(info, a.url) as kv:
        await kv.keys.create_rsa_key("new-key")
    before = await last_request(admin)
    result = await Crawler(open_service, cache, refresh=True, key_facts=True).crawl([a])
    assert all(i.key_type for _, i in result.items())
    assert gets(await requests_since(admin, before, a.name)) == ["/keys/new-key/"]

    # No get permission: the listing stands, the key types are a problem of their own.
    async with kv_clients(info, a.url) as kv:
        await kv.keys.create_rsa_key("unreadable")
    rule = {"keys": ["list"], "secrets": ["all"], "certificates": ["all"]}
    await admin.call("PUT", f"/permissions/{a.name}/*", rule, expect=200)
    result = await Crawler(open_service, cache, refresh=True, key_facts=True).crawl([a])
    assert "unreadable" in {i.name for _, i in result.items()}
    [problem] = result.problems
    assert problem.text().startswith(f"vault {a.name}: key type of 1 key: Reading key unreadable")
    assert "keys get permission" in problem.text()


async def test_vaults_are_found_through_arm(
    info: EmulatorInfo, emulator: EmulatorThread, admin: Admin, credential: Any
) -> None:
    a, b = new_vault(emulator), new_vault(emulator, tenant=info.other_tenant_id)
    arm = ArmClient(info.arm_url, credential, ARM_SCOPE, ca_bundle=info.ca_bundle)
    problems: list[Problem] = []
    try:
        # ARM throttles a subscription's vault listing once: it is asked again.
        await admin.call(
            "POST",
            "/faults",
            {
                "type": "throttle",
                "service": "arm",
                "path": "/providers/Microsoft.KeyVault/vaults$",
                "count": 1,
                "retry_after": 0,
            },
            expect=201,
        )
        found = {t.key: t async for t in discover(arm, problems)}
    finally:
        await arm.close()
    assert problems == []
    # The app registration sees its own tenant's subscriptions (b is in the other one).
    assert a.key in found and b.key not in found
    assert found[a.key].name == a.name
    assert found[a.key].subscription


async def test_an_expired_sign_in_stops_the_crawl(
    info: EmulatorInfo, emulator: EmulatorThread, tmp_path: Path
) -> None:
    targets = [new_vault(emulator) for _ in range(3)]
    sign_in = make_sign_in(info, tmp_path / "empty-cache.bin")
    nobody = Account("gone@example.com", f"nobody.{info.tenant_id}", info.tenant_id, "")

    def open_service(url: str, on_throttle: ThrottleCallback) -> VaultService:
        return VaultService(
            url,
            sign_in.credential(nobody),
            ca_bundle=info.ca_bundle,
            verify_challenge_resource=False,
            retry_total=0,
        )

    with pytest.raises(SessionExpired):
        await Crawler(open_service, None).crawl(targets)


def test_a_vaults_name_from_its_url() -> None:
    assert name_of("https://contoso-kv.vault.azure.net/") == "contoso-kv"
    assert name_of("https://127.0.0.1:8443/") == "127.0.0.1:8443"
    assert Target.of("https://X.vault.azure.net").url == "https://X.vault.azure.net/"
    assert Target.of("https://X.vault.azure.net").key == "https://x.vault.azure.net/"


# -- reports (pure) ---------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ONE = Target.of("https://one.vault.azure.net/")
TWO = Target.of("https://two.vault.azure.net/")


def item(kind: Kind, name: str, **kw: Any) -> Item:
    return Item(kind, name, f"{ONE.url}{kind.value}/{name}", **kw)


def test_search_rows_say_what_matched() -> None:
    found = [
        (TWO, item(Kind.SECRETS, "db-password", tags={"Env": "Prod-East"})),
        (ONE, item(Kind.SECRETS, "db-password", content_type="application/json")),
        (ONE, item(Kind.KEYS, "signing", key_type="RSA", key_size=2048, tags={"env": "dev"})),
        (ONE, item(Kind.CERTIFICATES, "www", expires=NOW - timedelta(days=1), enabled=False)),
    ]
    by_tag = reports.search(found, parse_query("tag:env=prod"), NOW)
    assert [(r.target.name, r.item.name, r.matched) for r in by_tag] == [
        ("two", "db-password", ("tag Env=Prod-East",))
    ]
    by_name = reports.search(found, parse_query("db tag:env"), NOW)
    assert [(r.target.name, r.matched) for r in by_name] == [("two", ("name", "tag Env=Prod-East"))]
    assert [r.matched for r in reports.search(found, parse_query("type:json"), NOW)] == [
        ("type application/json",)
    ]
    assert [r.matched for r in reports.search(found, parse_query("type:rsa"), NOW)] == [
        ("type RSA 2048",)
    ]
    expired = reports.search(found, parse_query("status:expired"), NOW)
    assert [(r.item.name, r.matched) for r in expired] == [("www", ("status expired",))]
    # Vault, then kind, then name; fuzzy matches after substring ones.
    rows = reports.search(found, parse_query("s"), NOW)
    assert [(r.target.name, r.item.name) for r in rows] == [
        ("one", "db-password"),
        ("one", "signing"),
        ("two", "db-password"),
    ]


def test_expiring_rows_are_expired_and_soon_expiring_ones_soonest_first() -> None:
    found = [
        (ONE, item(Kind.SECRETS, "later", expires=NOW + timedelta(days=31))),
        (ONE, item(Kind.SECRETS, "soon", expires=NOW + timedelta(days=10, hours=1))),
        (TWO, item(Kind.SECRETS, "gone", expires=NOW - timedelta(hours=1), enabled=False)),
        (ONE, item(Kind.KEYS, "never")),
        (ONE, item(Kind.KEYS, "cert-key", expires=NOW, managed=True)),
        (ONE, item(Kind.CERTIFICATES, "cert", expires=NOW)),
    ]
    rows = reports.expiring(found, 30, NOW)
    assert [(r.item.name, reports.days_left(r.item, NOW)) for r in rows] == [
        ("gone", -1),
        ("cert", 0),
        ("soon", 10),
    ]
    assert [reports.has_expired(r, NOW) for r in rows] == [True, True, False]
    assert [r.item.name for r in reports.expiring(found, 30, NOW, managed=True)][:3] == [
        "gone",
        "cert",
        "cert-key",
    ]
    data = json.loads(reports.expiring_json(rows, NOW))
    assert data[0] == {
        "vault": "two",
        "vault_url": "https://two.vault.azure.net/",
        "kind": "secret",
        "name": "gone",
        "id": "https://one.vault.azure.net/secrets/gone",
        "enabled": False,
        "expires": "2026-06-01T11:00:00Z",
        "days_left": -1,
        "expired": True,
        "tags": {},
    }
    parsed = list(csv.DictReader(io.StringIO(reports.expiring_csv(rows, NOW))))
    assert [(r["name"], r["days_left"], r["enabled"]) for r in parsed] == [
        ("gone", "-1", "no"),
        ("cert", "0", "yes"),
        ("soon", "10", "yes"),
    ]
    table = reports.expiring_table(rows, NOW).splitlines()
    assert table[0].split() == [
        "VAULT",
        "KIND",
        "NAME",
        "EXPIRES",
        "DAYS",
        "LEFT",
        "ENABLED",
        "TAGS",
    ]
    assert table[1].split()[:6] == ["two", "secret", "gone", "2026-06-01", "11:00", "UTC"]


def test_hostile_text_cannot_drive_the_terminal() -> None:
    evil = {"note": "\x1b]52;c;cHduZWQ=\x07\x1b[2J", "bidi": "x\u202egnp.exe"}
    rows = reports.search([(ONE, item(Kind.SECRETS, "s", tags=evil))], parse_query("s"), NOW)
    table = reports.search_table(rows, NOW)
    assert "\x1b" not in table and "\u202e" not in table and "\x07" not in table
    assert "␛]52;c;cHduZWQ=␇␛[2J" in table and "<U+202E>" in table
    text = reports.search_json(rows)
    assert all(ch.isprintable() or ch == "\n" for ch in text)
    assert json.loads(text)[0]["tags"] == evil  # escaped, not lost
    exp = reports.expiring([(ONE, item(Kind.SECRETS, "s", tags=evil, expires=NOW))], 1, NOW)
    assert "\x1b" not in reports.expiring_csv(exp, NOW)
