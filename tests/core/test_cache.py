"""The metadata cache (kvtui/core/cache.py): a listing kept and read back whole, with
its age; writes followed; a vault or an account forgotten; a 0600 file in a 0700
folder; never a value (a listing of seeded secrets, then the file's bytes searched)."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from datetime import datetime, timezone
from pathlib import Path

from kvtui.core import cache
from kvtui.core.models import Item, Kind
from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.support import kv_clients, open_service

URL = "https://Vault-One.vault.azure.net"


def item(name: str, **kw: object) -> Item:
    return Item(Kind.SECRETS, name, f"{URL}/secrets/{name}", **kw)  # type: ignore[arg-type]


def test_a_listing_comes_back_whole_with_its_age(tmp_path: Path) -> None:
    c = cache.MetadataCache(tmp_path / "metadata", "home-1")
    assert c.load(URL, Kind.SECRETS) is None
    when = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    items = [
        item("b", enabled=False, expires=when, tags={"env": "prod", "é": "ü"}, version="v2"),
        item("a", content_type="text/plain", created=when, updated=when, managed=True),
    ]
    c.store(URL, Kind.SECRETS, items, listed_at=1000.0)
    got = c.load(URL.lower() + "/", Kind.SECRETS)
    assert got is not None and got.listed_at == 1000.0
    assert [i.name for i in got.items] == ["a", "b"]
    assert got.items[1] == items[0] and got.items[0] == items[1]
    assert got.age_text(now=1000.0 + 3 * 3600) == "cached 3 h ago"
    assert c.load(URL, Kind.KEYS) is None  # another kind: never listed

    folder = tmp_path / "metadata"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(c.path.stat().st_mode) == 0o600


def test_keys_and_certificates_come_back_with_their_own_fields(tmp_path: Path) -> None:
    c = cache.MetadataCache(tmp_path, "home-1")
    when = datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=timezone.utc)
    key = Item(
        Kind.KEYS,
        "k",
        f"{URL}/keys/k",
        not_before=when,
        key_type="EC-HSM",
        key_size=None,
        curve="P-384",
        key_ops=("sign", "verify"),
        recovery_level="Recoverable",
        recoverable_days=7,
    )
    plain_key = Item(Kind.KEYS, "p", f"{URL}/keys/p", key_type="RSA", key_size=2048)
    cert = Item(Kind.CERTIFICATES, "c", f"{URL}/certificates/c", subject="CN=x", thumbprint="AB12")
    c.store(URL, Kind.KEYS, [key, plain_key])
    c.store(URL, Kind.CERTIFICATES, [cert])
    keys = c.load(URL, Kind.KEYS)
    certs = c.load(URL, Kind.CERTIFICATES)
    assert keys is not None and keys.items == [key, plain_key]
    assert keys.items[1].key_ops == () and keys.items[1].tags == {}
    assert certs is not None and certs.items == [cert]


def test_an_older_kvtuis_file_is_emptied_not_misread(tmp_path: Path) -> None:
    """A file of another layout (an older kvtui: one JSON object a row) is a cold start."""
    c = cache.MetadataCache(tmp_path, "home-1")
    with sqlite3.connect(c.path) as db:
        db.execute("CREATE TABLE listing (vault TEXT, kind TEXT, listed_at REAL)")
        db.execute("CREATE TABLE item (vault TEXT, kind TEXT, name TEXT, data TEXT)")
        db.execute("INSERT INTO listing VALUES (?, 'secrets', 1000.0)", (URL.lower() + "/",))
        db.execute(
            "INSERT INTO item VALUES (?, 'secrets', 'a', ?)",
            (URL.lower() + "/", '{"name":"a","id":"x"}'),
        )
    db.close()
    assert c.load(URL, Kind.SECRETS) is None
    assert c.vaults() == {}
    c.store(URL, Kind.SECRETS, [item("a")])
    got = c.load(URL, Kind.SECRETS)
    assert got is not None and got.items == [item("a")]


def test_writers_starting_a_new_file_at_once_lose_nothing(tmp_path: Path) -> None:
    """`kvtui search` writes the listings of several vaults at once into a new file:
    the first open of a file marks its layout, and must not empty what another writer
    has just stored (it did: a second search listed the vaults again)."""
    urls = [f"https://v{n}.vault.azure.net/" for n in range(8)]
    start = threading.Barrier(len(urls))

    def store(url: str) -> None:
        start.wait()
        cache.MetadataCache(tmp_path, "home-1").store(url, Kind.SECRETS, [item("a")])

    threads = [threading.Thread(target=store, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(cache.MetadataCache(tmp_path, "home-1").vaults()) == urls


def test_a_read_ahead_is_shared_not_repeated(tmp_path: Path) -> None:
    """The app's preview reads a large listing in a thread; the vault screen, opening
    meanwhile, waits for that read and takes its result, once."""
    held: dict[tuple[str, str, Kind], cache.Held] = {}
    c = cache.MetadataCache(tmp_path, "home-1", held)
    c.store(URL, Kind.SECRETS, [item(f"s{n:03d}") for n in range(300)])
    future = c.read_ahead(URL, Kind.SECRETS)
    assert not future.cancel()  # a waiter giving up does not end it for the others
    second = cache.MetadataCache(tmp_path, "home-1", held)  # the vault screen's
    reading = second.reading(URL, Kind.SECRETS)
    got = future.result(timeout=30)
    assert got is not None and len(got.items) == 300
    assert reading is None or reading is future
    assert second.reading(URL, Kind.SECRETS) is None  # done
    taken = second.take_held(URL.lower(), Kind.SECRETS)
    assert taken is got
    assert second.take_held(URL, Kind.SECRETS) is None  # once


def test_writes_are_followed_and_vaults_and_accounts_forgotten(tmp_path: Path) -> None:
    folder = tmp_path / "metadata"
    c = cache.MetadataCache(folder, "home-1")
    c.put(URL, Kind.SECRETS, [item("early")])  # no listing cached: nothing to follow
    assert c.load(URL, Kind.SECRETS) is None
    c.store(URL, Kind.SECRETS, [item("a"), item("b")])
    c.put(URL, Kind.SECRETS, [item("c"), item("a", enabled=False)])
    c.remove(URL, Kind.SECRETS, ["b"])
    got = c.load(URL, Kind.SECRETS)
    assert got is not None
    assert [(i.name, i.enabled) for i in got.items] == [("a", False), ("c", True)]
    other = "https://two.vault.azure.net/"
    c.store(other, Kind.KEYS, [])
    assert set(c.vaults()) == {URL.lower() + "/", other}
    assert cache.clear_vault(folder, URL) == 1
    assert c.load(URL, Kind.SECRETS) is None and c.load(other, Kind.KEYS) is not None
    second = cache.MetadataCache(folder, "home-2")
    second.store(other, Kind.KEYS, [])
    assert cache.forget_account(folder, "home-1")
    assert not c.path.exists() and second.path.exists()
    assert cache.clear_all(folder) == 1 and not second.path.exists()


def test_a_corrupt_file_is_an_empty_cache(tmp_path: Path) -> None:
    c = cache.MetadataCache(tmp_path, "home-1")
    c.path.write_bytes(b"not a database at all" * 100)
    assert c.load(URL, Kind.SECRETS) is None
    assert c.vaults() == {}
    c.store(URL, Kind.SECRETS, [item("a")])  # logged, not raised


async def test_the_cache_holds_no_value(
    emulator: EmulatorThread, info: EmulatorInfo, tmp_path: Path
) -> None:
    vault = emulator.call(emulator.emulator.add_vault(f"cachevalues{os.getpid()}"))
    values = [f"value-{n}-never-cached-Zq8" for n in range(30)]
    async with kv_clients(info, vault.url) as sdk:
        for n, value in enumerate(values):
            await sdk.secrets.set_secret(f"s{n}", value, tags={"n": str(n)})
    c = cache.MetadataCache(tmp_path, "home-1")
    async with open_service(info, vault.url) as service:
        for kind in Kind:
            listed = [i async for page in service.list_pages(kind) for i in page]
            c.store(vault.url, kind, listed)
    data = c.path.read_bytes()
    assert b"s29" in data and b'"n":"29"' in data  # names and tags are there
    for value in values:
        assert value.encode() not in data
        assert value.encode("utf-16-le") not in data
