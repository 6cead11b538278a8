"""How kvtui words what it knows about an item: one place for every date and time, the
expiry marks and the detail rows, used by the table, the detail pane and the versions
view (no Textual here: the widgets only draw what these functions return).

Times are shown in UTC::

    date_text(t)         "2025-06-01"                          a table cell
    minute_text(t)       "2025-06-01 12:00"
    when_text(t, now)    "2025-06-01 12:00 UTC (in 12 days)"   a detail row; "—" if unset

An item's status has one wording, in a long form and a short form (the table's
``expires`` column) made of the same words::

    ✖ expired 3 days ago     ✖ expired
    ⚠ expires in 12 days     ⚠ in 12d
    ◷ not yet valid          ◷ not yet
    ⊘ disabled               ⊘ disabled

An item's details are :class:`Section` s of :class:`Row` s (label, value lines), built
by :func:`detail_sections` for the detail pane (``full``) and for one version in the
versions view (without what belongs to the item rather than the version: its policies,
its public key).

Every string taken from a vault stays untrusted here: the widgets show it through
:mod:`kvtui.ui.text`, each value line as one line (a newline inside a value is shown as
an escape, never as a line of its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from kvtui.core.models import (
    CertificateDetail,
    Item,
    KeyDetail,
    Kind,
    SecretDetail,
    Status,
)

__all__ = [
    "UNSET",
    "Detail",
    "Mark",
    "Row",
    "Section",
    "Tone",
    "attribute_rows",
    "certificate_sections",
    "date_text",
    "detail_sections",
    "expires_cell",
    "key_sections",
    "minute_text",
    "relative_text",
    "span_text",
    "status_mark",
    "when_text",
    "yes_no",
]

Detail = SecretDetail | KeyDetail | CertificateDetail
Tone = Literal["", "expired", "expiring", "muted"]
"""How a row or a note stands out: "" plain, or a status colour, or muted (a hint)."""

UNSET = "—"
"""What a detail row shows for a fact that is not set."""

_MINUTE = 60.0
_HOUR = 3_600.0
_DAY = 86_400.0


# -- times ---------------------------------------------------------------------------


def date_text(value: datetime | None) -> str:
    """``2025-06-01`` (UTC); empty when unset."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d") if value else ""


def minute_text(value: datetime | None) -> str:
    """``2025-06-01 12:00`` (UTC); empty when unset."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if value else ""


def span_text(seconds: float, *, short: bool = False) -> str:
    """A length of time, rounded down to its largest unit: ``12 days``, ``1 hour``,
    ``40 minutes``, ``under a minute``; short: ``12d``, ``1h``, ``40m``, ``<1m``."""
    seconds = abs(seconds)
    for size, unit, letter in ((_DAY, "day", "d"), (_HOUR, "hour", "h"), (_MINUTE, "minute", "m")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n}{letter}" if short else f"{n} {unit}{'' if n == 1 else 's'}"
    return "<1m" if short else "under a minute"


def relative_text(value: datetime, now: datetime) -> str:
    """``in 12 days``, ``3 hours ago``, ``now`` (under a minute either way)."""
    seconds = (value - now).total_seconds()
    if abs(seconds) < _MINUTE:
        return "now"
    span = span_text(seconds)
    return f"in {span}" if seconds > 0 else f"{span} ago"


def when_text(value: datetime | None, now: datetime) -> str:
    """``2025-06-01 12:00 UTC (in 12 days)``; ``—`` when unset."""
    if value is None:
        return UNSET
    return f"{minute_text(value)} UTC ({relative_text(value, now)})"


# -- status marks ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    """How an item's status is marked: ``long`` in a detail view, ``short`` in a table
    cell (the same words, shortened)."""

    status: Status
    long: str
    short: str


def status_mark(item: Item, now: datetime, warn_days: int) -> Mark | None:
    """The mark of ``item``'s status at ``now``; None when all is well. Expired and
    expiring outrank disabled (:meth:`~kvtui.core.models.Item.status`)."""
    status = item.status(now, warn_days)
    if status is Status.EXPIRED and item.expires is not None:
        ago = relative_text(item.expires, now)
        return Mark(status, "✖ expired " + ("just now" if ago == "now" else ago), "✖ expired")
    if status is Status.EXPIRING and item.expires is not None:
        left = (item.expires - now).total_seconds()
        return Mark(
            status, f"⚠ expires in {span_text(left)}", f"⚠ in {span_text(left, short=True)}"
        )
    if status is Status.NOT_YET_VALID:
        return Mark(status, "◷ not yet valid", "◷ not yet")
    if status is Status.DISABLED:
        return Mark(status, "⊘ disabled", "⊘ disabled")
    return None


def expires_cell(item: Item, now: datetime, warn_days: int, *, with_time: bool = False) -> str:
    """An ``expires`` cell: the date (``with_time``: and the minute) and the short mark
    when the item is expired, expiring or not yet valid (a table shows disabled items
    in a column of their own): ``2025-06-01 ⚠ in 12d``."""
    date = minute_text(item.expires) if with_time else date_text(item.expires)
    mark = status_mark(item, now, warn_days)
    if mark is None or mark.status is Status.DISABLED:
        return date
    return f"{date} {mark.short}" if date else mark.short


# -- detail rows -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One ``label  value`` row: the value as lines (a tag, a SAN, an action a line),
    each untrusted."""

    label: str
    lines: tuple[str, ...]
    tone: Tone = ""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of rows; ``note`` (untrusted, may span lines) stands in for rows
    that cannot be shown: ``none``, ``No certificate issued yet (pending).``, or why a
    policy could not be read."""

    title: str
    rows: tuple[Row, ...] = ()
    note: str = ""
    note_tone: Tone = "muted"


def yes_no(value: bool | None) -> str:
    return UNSET if value is None else ("yes" if value else "no")


def _row(label: str, value: str | Iterable[str] | None, tone: Tone = "") -> Row:
    """``value`` unset or empty shows as ``—``."""
    lines = (value,) if isinstance(value, str) else tuple(value or ())
    return Row(label, lines if any(lines) else (UNSET,), tone)


def _key_text(key_type: str | None, key_size: int | None, curve: str | None) -> str:
    return " ".join(p for p in (key_type, f"{key_size} bits" if key_size else "", curve) if p)


def _expires_row(item: Item, now: datetime, warn_days: int) -> Row:
    """``2025-06-01 12:00 UTC (in 200 days)``, or with the status mark in place of the
    relative time when the item is expired or expiring."""
    mark = status_mark(item, now, warn_days)
    if item.expires is not None and mark is not None:
        if mark.status is Status.EXPIRED:
            return Row("Expires", (f"{minute_text(item.expires)} UTC  {mark.long}",), "expired")
        if mark.status is Status.EXPIRING:
            return Row("Expires", (f"{minute_text(item.expires)} UTC  {mark.long}",), "expiring")
    return Row("Expires", (when_text(item.expires, now),))


def attribute_rows(
    item: Item, now: datetime, warn_days: int, *, key_id: str | None = None
) -> tuple[Row, ...]:
    """What every item has: id, version, dates, recovery, tags (``key_id``: the key of
    the certificate a secret belongs to)."""
    rows = [_row("Id", item.id)]
    if item.version:
        rows.append(_row("Version", item.version))
    rows.append(_row("Enabled", yes_no(item.enabled)))
    if item.kind is Kind.SECRETS:
        rows.append(_row("Content type", item.content_type))
    if key_id:
        rows.append(_row("Certificate key", key_id))
    rows.append(_row("Created", when_text(item.created, now)))
    rows.append(_row("Updated", when_text(item.updated, now)))
    rows.append(_row("Not before", when_text(item.not_before, now)))
    rows.append(_expires_row(item, now, warn_days))
    recovery = item.recovery_level or UNSET
    if item.recoverable_days:
        recovery += f" ({item.recoverable_days} days)"
    rows.append(_row("Recovery", recovery))
    if item.managed:
        rows.append(_row("Managed", "yes: belongs to a certificate"))
    rows.append(_row("Tags", (f"{k} = {v}" for k, v in sorted(item.tags.items()))))
    return tuple(rows)


def key_sections(d: KeyDetail, *, full: bool = True) -> list[Section]:
    """A key's type, size, operations; ``full``: its public key and rotation policy."""
    rows = (
        _row("Type", d.key_type),
        _row("Size / curve", f"{d.key_size} bits" if d.key_size else d.curve),
        _row("Operations", ", ".join(d.key_ops)),
        _row("HSM", yes_no(d.hsm)),
        _row("Exportable", yes_no(d.exportable)),
        _row("Release policy", yes_no(d.release_policy)),
    )
    sections = [Section("Key", rows)]
    if not full:
        return sections
    if d.public_jwk:
        sections.append(Section("Public key (JWK)", tuple(_row(k, v) for k, v in d.public_jwk)))
    p = d.rotation_policy
    if p is not None:
        policy = (
            _row("Actions", p.actions or ("none",)),
            _row("New versions expire", p.expires_after),
        )
        sections.append(Section("Rotation policy", policy))
    else:
        sections.append(Section("Rotation policy", note=d.rotation_policy_error or "none"))
    return sections


def certificate_sections(
    d: CertificateDetail, now: datetime, *, full: bool = True
) -> list[Section]:
    """A certificate's subject, SANs, issuer, fingerprints, validity and key; ``full``:
    its policy."""
    if not d.cer:
        return [Section("Certificate", note="No certificate issued yet (pending).")]
    issuer = (d.issuer or UNSET) + ("  (self-signed)" if d.self_signed else "")
    rows = (
        _row("Subject", d.subject),
        _row("SANs", (f"{t}: {v}" for t, v in d.sans)),
        _row("Issuer", issuer),
        _row("Serial", d.serial),
        _row("Thumbprint", d.sha1),
        _row("SHA-256", d.sha256),
        _row("Valid from", when_text(d.not_before, now)),
        _row("Valid until", when_text(d.not_after, now)),
        _row("Key", _key_text(d.key_type, d.key_size, d.curve)),
        _row("Signature", d.signature_algorithm),
    )
    sections = [Section("Certificate", rows)]
    if not full:
        return sections
    p = d.policy
    if p is None:
        sections.append(Section("Policy", note=d.policy_error or "none"))
        return sections
    policy = (
        _row("Issuer", p.issuer_name),
        _row("Subject", p.subject),
        _row("Key type", _key_text(p.key_type, p.key_size, p.curve)),
        _row("Exportable", yes_no(p.exportable)),
        _row("Reuse key", yes_no(p.reuse_key)),
        _row("Content type", p.content_type),
        _row("Validity", f"{p.validity_months} months" if p.validity_months else None),
        _row("Lifetime actions", p.lifetime_actions or ("none",)),
    )
    sections.append(Section("Policy", policy))
    return sections


def detail_sections(
    item: Item, detail: Detail | None, now: datetime, warn_days: int, *, full: bool = True
) -> list[Section]:
    """Everything known about ``item``: what its kind adds (from ``detail``, once
    fetched), then its attributes (the detail's item when there is one: it is fresher
    than the listed one). ``full`` is the item's view; without it, one version's."""
    sections: list[Section] = []
    if item.deleted is not None or item.recovery_id:
        sections.append(Section("Deleted", (
            _row("Deleted", when_text(item.deleted, now)),
            _row("Purge on", when_text(item.purge_scheduled, now)),
            _row("Recovery id", item.recovery_id),
        )))  # fmt: skip
    if isinstance(detail, KeyDetail):
        sections += key_sections(detail, full=full)
    elif isinstance(detail, CertificateDetail):
        sections += certificate_sections(detail, now, full=full)
    shown = detail.item if detail is not None else item
    key_id = detail.key_id if isinstance(detail, SecretDetail) else None
    sections.append(Section("Attributes", attribute_rows(shown, now, warn_days, key_id=key_id)))
    return sections
