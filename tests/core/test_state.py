"""The state file (recent and pinned vaults, the account used last): a small JSON file,
written atomically, that never stops the app when it is missing or damaged."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from kvtui.core.state import (
    MAX_RECENT,
    VaultHistory,
    default_state_path,
    last_account,
    normalize_url,
    remember_account,
)


def url(i: int) -> str:
    return f"https://vault{i}.vault.azure.net/"


def test_recent_keeps_the_last_ten_most_recent_first_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "state" / "vaults.json"
    history = VaultHistory(path)
    assert history.recent == [] and history.pinned == []
    for i in range(12):
        history.record_open(url(i), name=f"vault{i}")
    history.record_open("HTTPS://Vault5.Vault.Azure.NET")  # again, spelled differently

    again = VaultHistory(path)
    expected = [url(i) for i in (5, 11, 10, 9, 8, 7, 6, 4, 3, 2)]
    assert [r.url for r in again.recent] == expected
    assert len(again.recent) == MAX_RECENT
    assert again.recent[0].name == "vault5"  # the name given before is kept
    assert again.recent[0].opened.endswith("+00:00")
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["vaults.json"]  # no temporary left


def test_pinned_vaults_come_first_then_recent_then_the_rest(tmp_path: Path) -> None:
    history = VaultHistory(tmp_path / "vaults.json")
    history.record_open(url(1))
    history.record_open(url(2))
    history.pin(url(7), name="seven")
    history.pin(url(1))
    assert history.toggle_pin(url(3)) is True
    assert history.toggle_pin(url(3)) is False
    listed = [url(i) for i in range(9)]
    expected = [url(i) for i in (7, 1, 2, 0, 3, 4, 5, 6, 8)]
    assert history.order(listed) == expected
    reopened = VaultHistory(tmp_path / "vaults.json")
    assert [p.url for p in reopened.pinned] == [url(7), url(1)]
    assert reopened.is_pinned("https://VAULT7.vault.azure.net")
    reopened.forget(url(2))
    assert [r.url for r in VaultHistory(tmp_path / "vaults.json").recent] == [url(1)]


def test_two_windows_do_not_undo_each_other(tmp_path: Path) -> None:
    a = VaultHistory(tmp_path / "vaults.json")
    b = VaultHistory(tmp_path / "vaults.json")
    a.pin(url(1))
    b.pin(url(2))
    a.record_open(url(3))
    final = VaultHistory(tmp_path / "vaults.json")
    assert [p.url for p in final.pinned] == [url(1), url(2)]
    assert [r.url for r in final.recent] == [url(3)]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"recent": [{"name": "no url"}]}',
        '{"recent": "x"}',
        b"\xff\xfe\x00binary",
    ],
)
def test_a_damaged_file_means_an_empty_history_and_a_logged_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str | bytes
) -> None:
    path = tmp_path / "vaults.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="kvtui.core.state"):
        history = VaultHistory(path)
    assert history.recent == [] and history.pinned == []
    assert any(str(path) in r.getMessage() for r in caplog.records)
    history.record_open(url(1))  # and the next write replaces it with a good file
    assert json.loads(path.read_text())["recent"][0]["url"] == url(1)


def test_an_unwritable_state_dir_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    history = VaultHistory(blocker / "sub" / "vaults.json")  # a parent is a file
    with caplog.at_level(logging.WARNING, logger="kvtui.core.state"):
        history.record_open(url(1))
    assert history.recent[0].url == url(1)  # kept for this session
    assert any("cannot save" in r.getMessage() for r in caplog.records)


def test_urls_are_normalised_and_the_default_path_is_the_state_dir() -> None:
    assert normalize_url("contoso.vault.azure.net") == "https://contoso.vault.azure.net/"
    assert normalize_url("https://127.0.0.1:8443") == "https://127.0.0.1:8443/"
    assert normalize_url("https://X.vault.azure.net:443/") == "https://x.vault.azure.net/"
    path = default_state_path()
    assert path.name == "state.json" and "kvtui" in path.parts
    assert "config" not in str(path.parent).lower()


def test_the_account_used_last_shares_the_file_with_the_vaults(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert last_account(path) is None
    history = VaultHistory(path)
    history.pin(url(1))
    remember_account(path, "uid.tid")
    history.record_open(url(2))
    assert last_account(path) == "uid.tid"
    assert [p.url for p in VaultHistory(path).pinned] == [url(1)]
    remember_account(path, None)
    assert last_account(path) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("{damaged")
    assert last_account(path) is None


JUNK = ["file:///", "https:///", "http://vault1.vault.azure.net/", "https://a b/", "x"]


def test_only_https_vault_urls_are_recorded_or_pinned(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    history = VaultHistory(path)
    for junk in JUNK:
        history.record_open(junk)
        history.pin(junk)
    history.record_open(url(1))
    again = VaultHistory(path)
    assert [r.url for r in again.recent] == [url(1)]
    assert again.pinned == []


def test_junk_urls_already_in_the_file_are_dropped_when_read(tmp_path: Path) -> None:
    """A state.json written by an older kvtui may hold ``file:///`` or ``https:///``."""
    path = tmp_path / "state.json"
    entries = [{"url": u, "name": "junk"} for u in JUNK]
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "recent": [*entries, {"url": url(2), "name": "vault2"}],
                "pinned": [*entries, {"url": url(3)}],
            }
        )
    )
    history = VaultHistory(path)
    assert [r.url for r in history.recent] == [url(2)]
    assert [p.url for p in history.pinned] == [url(3)]
    history.record_open(url(4))  # the next write leaves them out of the file too
    saved = json.loads(path.read_text())
    assert [r["url"] for r in saved["recent"]] == [url(4), url(2)]
    assert [p["url"] for p in saved["pinned"]] == [url(3)]
