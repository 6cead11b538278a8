"""What ``kvtui search`` and ``kvtui expiring`` print: rows from crawled listings
(:mod:`kvtui.core.crawl`), written as a table, JSON or CSV. No Textual.

Search matches with the app's filter language (:mod:`kvtui.core.filtering`: words in the
name, ``tag:k=v``, ``tag:k``, ``type:json``, ``type:rsa``, ``status:expired``) and says
what matched each row. Expiry is the app's too (:meth:`Item.status
<kvtui.core.models.Item.status>`, the ``status:expired`` filter): an item with an expiry
date at or before now has expired, whether it is enabled or not, so disabled items are
listed (``enabled`` no).

Everything in a row came from a vault and is untrusted: the table and CSV show control,
bidirectional and invisible characters as visible stand-ins (``␛``, ``<U+202E>``), and
JSON escapes them (``\\u001b``), so printing a report cannot drive the terminal.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from kvtui.core.crawl import Target
from kvtui.core.details import make_visible
from kvtui.core.filtering import STATUS_WORDS, ItemIndex, Query, compile_query, order_by_rank
from kvtui.core.models import Item, Kind
from kvtui.core.present import expires_cell, minute_text

_DAY = 86_400.0


@dataclass(frozen=True)
class Row:
    """One item of one vault, and (for a search) what of it matched."""

    target: Target
    item: Item
    matched: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.item.kind.singular


# -- search ---------------------------------------------------------------------------


def search(
    found: Iterable[tuple[Target, Item]], query: Query, now: datetime, warn_days: int = 30
) -> list[Row]:
    """The items matching ``query``: name matches before fuzzy ones (the app's ranking),
    otherwise by vault, kind and name."""
    pairs = sorted(found, key=lambda p: (p[0].name.lower(), _KIND_ORDER[p[1].kind], p[1].name))
    items = [item for _, item in pairs]
    selected, ranks = compile_query(query, now, warn_days).select(
        ItemIndex(items), range(len(items))
    )
    return [
        Row(pairs[i][0], items[i], matched(query, items[i], now, warn_days))
        for i in order_by_rank(selected, ranks)
    ]


_KIND_ORDER = {Kind.SECRETS: 0, Kind.KEYS: 1, Kind.CERTIFICATES: 2}


def matched(query: Query, item: Item, now: datetime, warn_days: int = 30) -> tuple[str, ...]:
    """What of ``item`` matched each term of ``query``: ``name``, ``tag env=prod``,
    ``type application/json``, ``status expired`` (the item's own spelling)."""
    out: list[str] = []
    if query.text:
        out.append("name")
    for key, value in query.tags:
        for k, v in item.tags.items():
            key_ok = key is None or k.casefold() == key
            if key_ok and (value is None or value in v.casefold()):
                out.append(f"tag {k}={v}")
                break
    for wanted in query.types:
        what = next(
            (t for t in (item.content_type, _key_text(item)) if t and wanted in t.casefold()),
            wanted,
        )
        out.append(f"type {what}")
    applies = _status_words(item, now, warn_days)
    for accepted in query.statuses:
        word = next((w for w in STATUS_WORDS if w in accepted and w in applies), None)
        if word:
            out.append(f"status {word}")
    return tuple(dict.fromkeys(out))


def _status_words(item: Item, now: datetime, warn_days: int) -> set[str]:
    """The ``status:`` words that apply to ``item`` (as the filter decides them)."""
    words = {"enabled" if item.enabled else "disabled"}
    if item.expires is not None:
        if item.expires <= now:
            words.add("expired")
        elif item.expires <= now + timedelta(days=warn_days):
            words.add("expiring")
    return words


def _key_text(item: Item) -> str:
    parts = [item.key_type or "", str(item.key_size) if item.key_size else "", item.curve or ""]
    return " ".join(p for p in parts if p)


# -- expiry ---------------------------------------------------------------------------


def expiring(
    found: Iterable[tuple[Target, Item]],
    days: int,
    now: datetime,
    *,
    managed: bool = False,
) -> list[Row]:
    """Items expired, or expiring within ``days`` of ``now``, soonest first. The secret
    and key behind a certificate (``managed``) are left out unless asked for: they
    expire with their certificate, which is listed."""
    until = now + timedelta(days=days)
    rows = [
        (item.expires, Row(target, item))
        for target, item in found
        if item.expires is not None and item.expires <= until and (managed or not item.managed)
    ]
    rows.sort(key=lambda p: (p[0], p[1].target.name.lower(), p[1].item.name))
    return [row for _, row in rows]


def has_expired(row: Row, now: datetime) -> bool:
    return row.item.expires is not None and row.item.expires <= now


def days_left(item: Item, now: datetime) -> int | None:
    """Whole days until the expiry, rounded down: 0 within the day, -1 expired within the
    last day."""
    if item.expires is None:
        return None
    return math.floor((item.expires - now).total_seconds() / _DAY)


# -- writing --------------------------------------------------------------------------


def _cell(value: object) -> str:
    return make_visible(str(value), keep_newlines=False, keep_tabs=False)


def tags_text(tags: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell, two spaces apart; every cell made visible."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def to_json(objects: list[dict[str, Any]]) -> str:
    """JSON with every non-printable character (controls, bidi overrides, invisible
    marks) escaped as ``\\uXXXX``; the rest stays readable UTF-8."""
    text = json.dumps(objects, indent=2, ensure_ascii=False)
    return "".join(ch if ch.isprintable() or ch == "\n" else _json_escape(ch) for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # as a surrogate pair, as JSON spells it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _common(row: Row) -> dict[str, Any]:
    item = row.item
    return {
        "vault": row.target.name,
        "vault_url": row.target.url,
        "kind": row.kind,
        "name": item.name,
        "id": item.versionless_id,
        "enabled": item.enabled,
        "expires": _iso(item.expires),
    }


SEARCH_COLUMNS = ("VAULT", "KIND", "NAME", "MATCHED", "EXPIRES", "TAGS")


def search_table(rows: Sequence[Row], now: datetime, warn_days: int = 30) -> str:
    return table(
        SEARCH_COLUMNS,
        [
            (
                r.target.name,
                r.kind,
                r.item.name,
                "; ".join(r.matched),
                expires_cell(r.item, now, warn_days),
                tags_text(r.item.tags),
            )
            for r in rows
        ],
    )


def search_json(rows: Sequence[Row]) -> str:
    return to_json(
        [
            {
                **_common(r),
                "matched": list(r.matched),
                "content_type": r.item.content_type,
                "key_type": _key_text(r.item) or None,
                "tags": dict(r.item.tags),
            }
            for r in rows
        ]
    )


EXPIRING_COLUMNS = ("VAULT", "KIND", "NAME", "EXPIRES", "DAYS LEFT", "ENABLED", "TAGS")
CSV_COLUMNS = ("vault", "kind", "name", "expires", "days_left", "enabled", "tags", "vault_url")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def expiring_table(rows: Sequence[Row], now: datetime) -> str:
    return table(
        EXPIRING_COLUMNS,
        [
            (
                r.target.name,
                r.kind,
                r.item.name,
                f"{minute_text(r.item.expires)} UTC",
                days_left(r.item, now),
                _yes_no(r.item.enabled),
                tags_text(r.item.tags),
            )
            for r in rows
        ],
    )


def expiring_json(rows: Sequence[Row], now: datetime) -> str:
    return to_json(
        [
            {
                **_common(r),
                "days_left": days_left(r.item, now),
                "expired": has_expired(r, now),
                "tags": dict(r.item.tags),
            }
            for r in rows
        ]
    )


def expiring_csv(rows: Sequence[Row], now: datetime) -> str:
    """CSV (RFC 4180, ``\\r\\n`` line ends) with a header; tags as ``k=v; k2=v2``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                _cell(r.target.name),
                r.kind,
                _cell(r.item.name),
                _iso(r.item.expires),
                days_left(r.item, now),
                _yes_no(r.item.enabled),
                _cell("; ".join(f"{k}={v}" for k, v in sorted(r.item.tags.items()))),
                _cell(r.target.url),
            ]
        )
    return out.getvalue()
