"""The filter language of the item tables: parse a query once, match many items fast.

A query is a list of whitespace-separated terms; all of them must match (AND):

``word``
    Case-insensitive substring of the name; when it is not a substring, a fuzzy
    subsequence match (``kvp`` matches ``key-vault-password``). Substring matches rank
    before fuzzy ones; fuzzy ones rank by how tight the match is.
``tag:key``
    The item has a tag ``key`` (key compared case-insensitively).
``tag:key=value``
    The item has a tag ``key`` whose value contains ``value`` (case-insensitive).
    ``tag:=value`` matches any tag value.
``type:text``
    The content type (secrets, certificates) or key type, size and curve (keys)
    contains ``text``: ``type:json``, ``type:rsa``, ``type:p-256``.
``status:name``
    ``expired``, ``expiring`` (within ``warn_days``), ``disabled`` or ``enabled``;
    a prefix is enough (``status:exp`` = expired or expiring).

Values may be quoted with ``"`` or ``'`` (``tag:env="prod east"``, ``"two words"``);
an unbalanced quote runs to the end of the query. A prefix that is not one of the
above (``foo:bar``), or a quoted one (``"tag:x"``), is plain text. A term whose value
is still empty (``tag:``, ``type:`` while typing) matches everything. Parsing never
fails: an unknown ``status:`` value is reported in :attr:`Query.warnings` and matches
nothing.

Matching works on an :class:`ItemIndex` (lower-cased fields computed once per item,
kept in columns), so a pass over 50,000 items costs a few milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from kvtui.core.models import Item

__all__ = [
    "STATUS_WORDS",
    "ItemIndex",
    "Matcher",
    "Query",
    "compile_query",
    "filter_items",
    "order_by_rank",
    "parse_query",
]

STATUS_WORDS: tuple[str, ...] = ("expired", "expiring", "disabled", "enabled")

_QUOTES = "\"'"


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. Every field holds lower-cased (casefolded) values."""

    text: tuple[str, ...] = ()
    #: (key, value): key None = any key; value None = only "has the tag".
    tags: tuple[tuple[str | None, str | None], ...] = ()
    types: tuple[str, ...] = ()
    #: Each entry is the set of status words one ``status:`` term accepts.
    statuses: tuple[frozenset[str], ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_empty(self) -> bool:
        return not (self.text or self.tags or self.types or self.statuses)


def folded(text: str) -> str:
    """``text.casefold()``, or ``text`` itself when that is the same (no copy)."""
    low = text.casefold()
    return text if low == text else low


class ItemIndex:
    """What matching needs of each item, lower-cased once, in columns (fast to scan).

    Items are addressed by their position: the n-th appended item is index n.
    """

    __slots__ = ("enabled", "expires", "names", "tag_values", "tags", "types")

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self.names: list[str] = []
        self.types: list[str] = []
        self.tags: list[dict[str, str]] = []
        self.tag_values: list[tuple[str, ...]] = []
        self.enabled: list[bool] = []
        self.expires: list[float | None] = []  # unix seconds
        self.extend(items)

    def __len__(self) -> int:
        return len(self.names)

    def extend(self, items: Iterable[Item]) -> None:
        """Index ``items`` after those already indexed (cost: O(len(items))). Strings
        and tags already in lower case are the item's own, not copies (at 10k items,
        a copy of each took a third of the index's memory)."""
        for item in items:
            type_parts = [item.content_type, item.key_type]
            if item.key_size:
                type_parts.append(str(item.key_size))
            type_parts.append(item.curve)
            tags = item.tags
            if any(k != k.casefold() or v != v.casefold() for k, v in tags.items()):
                tags = {k.casefold(): v.casefold() for k, v in tags.items()}
            self.names.append(folded(item.name))
            self.types.append(" ".join(p for p in type_parts if p).casefold())
            self.tags.append(tags)
            self.tag_values.append(tuple(tags.values()))
            self.enabled.append(item.enabled)
            self.expires.append(item.expires.timestamp() if item.expires is not None else None)

    def clear(self) -> None:
        for column in (
            self.names,
            self.types,
            self.tags,
            self.tag_values,
            self.enabled,
            self.expires,
        ):
            column.clear()


# -- parsing -------------------------------------------------------------------------


def _tokens(query: str) -> list[str]:
    """Split on whitespace outside quotes; quotes stay in the raw tokens."""
    tokens: list[str] = []
    current: list[str] = []
    quote: str | None = None
    started = False
    for ch in query:
        if quote is not None:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in _QUOTES:
            quote = ch
            current.append(ch)
            started = True
        elif ch.isspace():
            if started:
                tokens.append("".join(current))
                current = []
                started = False
        else:
            current.append(ch)
            started = True
    if started:
        tokens.append("".join(current))
    return tokens


def _unquote(raw: str) -> str:
    """Drop the quote characters that delimit quoted runs ("a b" -> a b, it's -> its)."""
    out: list[str] = []
    quote: str | None = None
    for ch in raw:
        if quote is not None:
            if ch == quote:
                quote = None
            else:
                out.append(ch)
        elif ch in _QUOTES:
            quote = ch
        else:
            out.append(ch)
    return "".join(out)


def _split_unquoted(raw: str, sep: str) -> tuple[str, str | None]:
    """Split ``raw`` at the first ``sep`` that is not inside quotes."""
    quote: str | None = None
    for i, ch in enumerate(raw):
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in _QUOTES:
            quote = ch
        elif ch == sep:
            return raw[:i], raw[i + 1 :]
    return raw, None


def parse_query(query: str) -> Query:
    """Parse ``query`` (see the module docstring). Never raises."""
    text: list[str] = []
    tags: list[tuple[str | None, str | None]] = []
    types: list[str] = []
    statuses: list[frozenset[str]] = []
    warnings: list[str] = []
    for raw in _tokens(query):
        prefix, rest = _split_unquoted(raw, ":")
        prefix_l = prefix.lower()
        if rest is None or prefix_l not in ("tag", "type", "status"):
            word = _unquote(raw).casefold()
            if word:
                text.append(word)
            continue
        if prefix_l == "tag":
            raw_key, raw_value = _split_unquoted(rest, "=")
            key = _unquote(raw_key).casefold()
            value = None if raw_value is None else _unquote(raw_value).casefold()
            if not key and not value:
                continue  # "tag:" or "tag:=" while typing
            tags.append((key or None, value))
        elif prefix_l == "type":
            value = _unquote(rest).casefold()
            if value:
                types.append(value)
        else:
            value = _unquote(rest).casefold().strip()
            if not value:
                continue
            accepted = frozenset(w for w in STATUS_WORDS if w.startswith(value))
            if not accepted:
                warnings.append(
                    f"unknown status {_unquote(rest)!r}: use one of {', '.join(STATUS_WORDS)}"
                )
            statuses.append(accepted)
    return Query(
        text=tuple(text),
        tags=tuple(tags),
        types=tuple(types),
        statuses=tuple(statuses),
        warnings=tuple(warnings),
    )


# -- matching ------------------------------------------------------------------------


def _fuzzy_pattern(word: str) -> re.Pattern[str]:
    """``abc`` -> ``a[^b]*b[^c]*c``: a subsequence, without catastrophic backtracking."""
    parts = [re.escape(word[0])]
    for ch in word[1:]:
        esc = re.escape(ch)
        parts.append(f"[^{esc}]*{esc}")
    return re.compile("".join(parts))


class Matcher:
    """A compiled query: selects and ranks positions of an :class:`ItemIndex`.

    Rank 0 = every word is a substring of the name (or the query has no words);
    a larger rank = a looser fuzzy match (the gaps between matched characters).
    """

    def __init__(self, query: Query, now: datetime, warn_days: int) -> None:
        self.query = query
        self._now = now.timestamp()
        self._warn = (now + timedelta(days=warn_days)).timestamp()
        self._words = tuple((w, len(w), _fuzzy_pattern(w).search) for w in query.text)

    @property
    def is_empty(self) -> bool:
        return self.query.is_empty

    @property
    def ranked(self) -> bool:
        """Whether ranks can differ (the query has words to fuzzy-match)."""
        return bool(self._words)

    def select(
        self, index: ItemIndex, candidates: Sequence[int]
    ) -> tuple[list[int], dict[int, int]]:
        """The candidates that match, in candidate order, and the nonzero ranks.

        The rank of a selected position missing from the dict is 0.
        """
        q = self.query
        cand: Sequence[int] = candidates
        if q.is_empty:
            return list(cand), {}
        names = index.names
        for tkey, tvalue in q.tags:
            tags = index.tags
            if tkey is None:
                wanted = tvalue or ""
                values = index.tag_values
                cand = [i for i in cand if any(wanted in v for v in values[i])]
            elif tvalue is None:
                cand = [i for i in cand if tkey in tags[i]]
            else:
                cand = [i for i in cand if tvalue in tags[i].get(tkey, "\0")]
        for ty in q.types:
            types = index.types
            cand = [i for i in cand if ty in types[i]]
        for accepted in q.statuses:
            cand = self._select_status(index, cand, accepted)
        ranks: dict[int, int] = {}
        for word, n, search in self._words:
            kept: list[int] = []
            add = kept.append
            for i in cand:
                name = names[i]
                if word in name:
                    add(i)
                else:
                    m = search(name)
                    if m is not None:
                        add(i)
                        ranks[i] = ranks.get(i, 0) + m.end() - m.start() - n + 1
            cand = kept
        selected = list(cand)
        if ranks and len(ranks) > len(selected) // 2:
            keep = set(selected)
            ranks = {i: r for i, r in ranks.items() if i in keep}
        elif ranks:
            ranks = {i: ranks[i] for i in selected if i in ranks}
        return selected, ranks

    def _select_status(
        self, index: ItemIndex, cand: Sequence[int], accepted: frozenset[str]
    ) -> list[int]:
        if not accepted:
            return []
        now, warn = self._now, self._warn
        en, ex = index.enabled, index.expires
        want_en = "enabled" in accepted
        want_dis = "disabled" in accepted
        want_exp = "expired" in accepted
        want_soon = "expiring" in accepted

        def ok(i: int) -> bool:
            if (want_en and en[i]) or (want_dis and not en[i]):
                return True
            e = ex[i]
            if e is None:
                return False
            return (want_exp and e <= now) or (want_soon and now < e <= warn)

        if accepted == {"disabled"}:
            return [i for i in cand if not en[i]]
        if accepted == {"enabled"}:
            return [i for i in cand if en[i]]
        return [i for i in cand if ok(i)]

    def match(self, index: ItemIndex, position: int) -> int | None:
        """The rank of one indexed item, or None when it does not match."""
        selected, ranks = self.select(index, (position,))
        return ranks.get(position, 0) if selected else None


def compile_query(query: Query | str, now: datetime | None = None, warn_days: int = 30) -> Matcher:
    """Compile ``query`` for matching; ``now`` and ``warn_days`` decide ``status:``."""
    q = parse_query(query) if isinstance(query, str) else query
    return Matcher(q, now or datetime.now(timezone.utc), warn_days)


def order_by_rank(selected: list[int], ranks: dict[int, int]) -> list[int]:
    """Best rank first; equal ranks keep their order in ``selected`` (a stable sort)."""
    if not ranks:
        return selected
    exact = [i for i in selected if i not in ranks]
    fuzzy = [i for i in selected if i in ranks]
    fuzzy.sort(key=ranks.__getitem__)
    return exact + fuzzy


def filter_items(
    items: Iterable[Item],
    query: str,
    now: datetime | None = None,
    warn_days: int = 30,
) -> list[Item]:
    """The items matching ``query``, best rank first, otherwise in the given order."""
    items = list(items)
    index = ItemIndex(items)
    selected, ranks = compile_query(query, now, warn_days).select(index, range(len(items)))
    return [items[i] for i in order_by_rank(selected, ranks)]
