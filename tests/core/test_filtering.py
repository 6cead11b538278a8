"""The filter language of the item tables: every query form, ranking, hostile input."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kvtui.core.filtering import (
    ItemIndex,
    Query,
    compile_query,
    filter_items,
    order_by_rank,
    parse_query,
)
from kvtui.core.models import Item, Kind

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


def secret(name: str, **kw: Any) -> Item:
    return Item(Kind.SECRETS, name, id=f"https://v.vault.azure.net/secrets/{name}", **kw)


def key(name: str, **kw: Any) -> Item:
    return Item(Kind.KEYS, name, id=f"https://v.vault.azure.net/keys/{name}", **kw)


ITEMS = [
    secret("db-password", tags={"env": "prod", "Team": "Data"}, content_type="text/plain"),
    secret("api-key", tags={"env": "dev"}, content_type="application/json"),
    secret("DB-Conn-String", tags={"env": "prod east"}, content_type="application/json"),
    secret("legacy", enabled=False, tags={"owner": "nobody"}),
    secret("old-cert-pass", expires=NOW - timedelta(days=2)),
    secret("soon-rotated", expires=NOW + timedelta(days=10)),
    secret("far-future", expires=NOW + timedelta(days=400)),
    secret("disabled-and-expired", enabled=False, expires=NOW - timedelta(days=1)),
]


def names(query: str, items: list[Item] = ITEMS, warn_days: int = 30) -> list[str]:
    return [i.name for i in filter_items(items, query, now=NOW, warn_days=warn_days)]


# -- parsing ---------------------------------------------------------------------------


def test_parse_forms() -> None:
    q = parse_query('DB tag:env=prod tag:team type:JSON status:exp "two words"')
    assert q.text == ("db", "two words")
    assert q.tags == (("env", "prod"), ("team", None))
    assert q.types == ("json",)
    assert q.statuses == (frozenset({"expired", "expiring"}),)
    assert not q.warnings


def test_parse_quoted_values_keep_spaces_and_separators() -> None:
    q = parse_query('tag:env="prod east" tag:\'a=b\'=c type:"application/json"')
    assert q.tags == (("env", "prod east"), ("a=b", "c"))
    assert q.types == ("application/json",)


def test_unknown_and_quoted_prefixes_are_text() -> None:
    q = parse_query('foo:bar "tag:env" https://x')
    assert q.text == ("foo:bar", "tag:env", "https://x")
    assert q.tags == ()


def test_incomplete_terms_match_everything() -> None:
    for query in ("", "   ", "tag:", "tag:=", "type:", "status:", '""'):
        assert parse_query(query).is_empty, query
        assert names(query) == [i.name for i in ITEMS], query


def test_unbalanced_quote_runs_to_the_end() -> None:
    q = parse_query('tag:env="prod east')
    assert q.tags == (("env", "prod east"),)
    assert parse_query('"db pass').text == ("db pass",)
    assert parse_query('"').is_empty


def test_unknown_status_is_a_warning_that_matches_nothing() -> None:
    q = parse_query("status:bogus")
    assert q.warnings and "bogus" in q.warnings[0]
    assert names("status:bogus") == []


def test_prefixes_are_case_insensitive() -> None:
    assert parse_query("TAG:Env=PROD").tags == (("env", "prod"),)
    assert parse_query("Type:RSA").types == ("rsa",)


# -- matching --------------------------------------------------------------------------


def test_word_is_case_insensitive_name_substring() -> None:
    # Substring matches first; "disabled-and-expired" matches d…b only as a subsequence.
    assert names("DB") == ["db-password", "DB-Conn-String", "disabled-and-expired"]
    assert names("conn-str") == ["DB-Conn-String"]
    assert names("password") == ["db-password"]


def test_fuzzy_subsequence_falls_back_after_substrings() -> None:
    # "dbp" is no substring; db-password (tight) ranks before disabled-and-expired.
    assert names("dbp") == ["db-password", "disabled-and-expired"]
    # Substring matches first (in the given order), then fuzzy ones by tightness.
    result = names("pass")
    assert result[:2] == ["db-password", "old-cert-pass"]
    assert names("zzz") == []


def test_ranking_prefers_tighter_fuzzy_matches() -> None:
    items = [secret("a-x-x-x-x-b-c"), secret("abc-exact"), secret("a-bc"), secret("xyz")]
    assert names("abc", items) == ["abc-exact", "a-bc", "a-x-x-x-x-b-c"]


def test_several_terms_and_together() -> None:
    assert names("db tag:env=prod") == ["db-password", "DB-Conn-String"]
    assert names("db tag:env=prod type:json") == ["DB-Conn-String"]
    assert names("db api") == ["disabled-and-expired"]  # d…b and a…p…i, fuzzily
    assert names("db zz") == []


def test_tag_has_key_and_value_substring() -> None:
    assert names("tag:team") == ["db-password"]  # tag keys compare case-insensitively
    assert names("tag:env=PROD") == ["db-password", "DB-Conn-String"]
    assert names('tag:env="prod east"') == ["DB-Conn-String"]
    assert names("tag:=nobody") == ["legacy"]
    assert names("tag:missing") == []


def test_type_matches_content_type_and_key_type() -> None:
    assert names("type:json") == ["api-key", "DB-Conn-String"]
    assert names("type:text/") == ["db-password"]
    keys = [
        key("rsa-key", key_type="RSA", key_size=2048),
        key("hsm-key", key_type="RSA-HSM", key_size=3072),
        key("ec-key", key_type="EC", curve="P-256"),
    ]
    assert names("type:rsa", keys) == ["rsa-key", "hsm-key"]
    assert names("type:hsm", keys) == ["hsm-key"]
    assert names("type:p-256", keys) == ["ec-key"]
    assert names("type:2048", keys) == ["rsa-key"]


def test_status_terms() -> None:
    assert names("status:expired") == ["old-cert-pass", "disabled-and-expired"]
    assert names("status:expiring") == ["soon-rotated"]
    assert names("status:expiring", warn_days=500) == ["soon-rotated", "far-future"]
    assert names("status:disabled") == ["legacy", "disabled-and-expired"]
    assert names("status:dis status:exp") == ["disabled-and-expired"]
    assert "legacy" not in names("status:enabled")
    assert len(names("status:enabled")) == 6


@pytest.mark.parametrize(
    "query",
    [
        ".*",
        "(",
        "[a-",
        "\\",
        "^$",
        "a|b",
        "+?",
        "(?P<x>",
        "tag:(=[",
        "type:*",
        "\x00\x1b[31m",
        "\u202e",
        "'\"'\"",
        'tag:"',
        "status:'",
    ],
)
def test_hostile_queries_never_raise_and_are_literal(query: str) -> None:
    items = [*ITEMS, secret(".*"), secret("a|b"), secret("[a-"), secret("x\\y")]
    result = names(query, items)
    # Regex metacharacters are literal: ".*" only matches names containing "." then "*".
    if query == ".*":
        assert result == [".*"]
    if query == "a|b":
        assert result[0] == "a|b"
    if query == "[a-":
        assert result == ["[a-"]


def test_unicode_names_casefold() -> None:
    items = [secret("STRASSE"), secret("straße"), secret("Ünïcode-名前")]
    assert names("straße", items) == ["STRASSE", "straße"]  # casefold: ß == ss
    assert names("ünï", items) == ["Ünïcode-名前"]
    assert names("名前", items) == ["Ünïcode-名前"]


def test_select_over_candidates_and_incremental_index() -> None:
    index = ItemIndex(ITEMS[:4])
    matcher = compile_query("db", NOW)
    selected, ranks = matcher.select(index, range(len(index)))
    assert selected == [0, 2] and ranks == {}
    index.extend(ITEMS[4:])
    # Only the new positions are looked at: a loader filters page by page.
    new = range(4, len(index))
    assert matcher.select(index, new) == ([7], {7: 4})  # "disab": d…b, 3 gaps
    assert matcher.match(index, 0) == 0
    assert matcher.match(index, 1) is None
    index.clear()
    assert len(index) == 0


def test_order_by_rank_is_stable() -> None:
    assert order_by_rank([5, 3, 9, 1], {3: 2, 1: 1}) == [5, 9, 1, 3]
    assert order_by_rank([2, 1], {}) == [2, 1]


def test_query_is_empty_flag() -> None:
    assert Query().is_empty
    assert not parse_query("x").is_empty
