"""The presenter: every time, expiry mark and detail row, as text (no Textual)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kvtui.core.models import (
    CertificateDetail,
    CertificatePolicySummary,
    Item,
    KeyDetail,
    Kind,
    RotationPolicySummary,
    SecretDetail,
    Status,
)
from kvtui.core.present import (
    Row,
    Section,
    date_text,
    detail_sections,
    expires_cell,
    minute_text,
    relative_text,
    span_text,
    status_mark,
    when_text,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
CEST = timezone(timedelta(hours=2))


def item(**kw: object) -> Item:
    return Item(Kind.SECRETS, "db", "https://v/secrets/db", **kw)  # type: ignore[arg-type]


def test_times_are_shown_in_utc() -> None:
    local = datetime(2025, 6, 2, 1, 30, tzinfo=CEST)  # 2025-06-01 23:30 UTC
    assert date_text(local) == "2025-06-01"
    assert minute_text(local) == "2025-06-01 23:30"
    assert when_text(local, NOW) == "2025-06-01 23:30 UTC (in 11 hours)"
    assert date_text(None) == minute_text(None) == ""
    assert when_text(None, NOW) == "—"


@pytest.mark.parametrize(
    ("delta", "long", "short"),
    [
        (timedelta(days=12, hours=23), "12 days", "12d"),
        (timedelta(days=1), "1 day", "1d"),
        (timedelta(hours=5, minutes=59), "5 hours", "5h"),
        (timedelta(hours=1), "1 hour", "1h"),
        (timedelta(minutes=40), "40 minutes", "40m"),
        (timedelta(seconds=59), "under a minute", "<1m"),
    ],
)
def test_spans_round_down_to_their_largest_unit(delta: timedelta, long: str, short: str) -> None:
    assert span_text(delta.total_seconds()) == long
    assert span_text(-delta.total_seconds(), short=True) == short


def test_relative_times() -> None:
    assert relative_text(NOW + timedelta(days=3, hours=2), NOW) == "in 3 days"
    assert relative_text(NOW - timedelta(hours=2), NOW) == "2 hours ago"
    assert relative_text(NOW + timedelta(seconds=30), NOW) == "now"
    assert when_text(NOW - timedelta(days=400), NOW) == "2024-04-27 12:00 UTC (400 days ago)"


def test_one_wording_for_each_status_long_and_short() -> None:
    expired = status_mark(item(expires=NOW - timedelta(days=3)), NOW, 30)
    assert expired is not None and expired.status is Status.EXPIRED
    assert (expired.long, expired.short) == ("✖ expired 3 days ago", "✖ expired")

    expiring = status_mark(item(expires=NOW + timedelta(days=12, hours=1)), NOW, 30)
    assert expiring is not None and expiring.status is Status.EXPIRING
    assert (expiring.long, expiring.short) == ("⚠ expires in 12 days", "⚠ in 12d")
    hours = status_mark(item(expires=NOW + timedelta(hours=5)), NOW, 30)
    assert hours is not None and (hours.long, hours.short) == ("⚠ expires in 5 hours", "⚠ in 5h")

    later = status_mark(item(not_before=NOW + timedelta(days=2)), NOW, 30)
    assert later is not None and (later.long, later.short) == ("◷ not yet valid", "◷ not yet")
    off = status_mark(item(enabled=False), NOW, 30)
    assert off is not None and off.long == off.short == "⊘ disabled"

    assert status_mark(item(expires=NOW + timedelta(days=300)), NOW, 30) is None
    assert status_mark(item(), NOW, 30) is None


def test_the_short_mark_is_made_of_the_long_marks_words() -> None:
    for expires in (NOW - timedelta(days=1), NOW + timedelta(days=9), NOW + timedelta(hours=3)):
        mark = status_mark(item(expires=expires), NOW, 30)
        assert mark is not None
        symbol, *words = mark.short.split()
        assert mark.long.startswith(symbol)
        for word in words:  # "12d" stands for "12 days"
            assert word in mark.long or word.rstrip("dhm") in mark.long


def test_warn_days_decides_what_is_expiring() -> None:
    soon = item(expires=NOW + timedelta(days=12))
    assert status_mark(soon, NOW, 7) is None
    assert status_mark(soon, NOW, 30) is not None


def test_expires_cell() -> None:
    assert expires_cell(item(expires=NOW - timedelta(days=1)), NOW, 30) == "2025-05-31 ✖ expired"
    soon = item(expires=NOW + timedelta(days=12, hours=1))
    assert expires_cell(soon, NOW, 30) == "2025-06-13 ⚠ in 12d"
    assert expires_cell(soon, NOW, 30, with_time=True) == "2025-06-13 13:00 ⚠ in 12d"
    assert expires_cell(item(expires=NOW + timedelta(days=300)), NOW, 30) == "2026-03-28"
    # Disabled has a column of its own in a table: the expires cell stays as it is.
    assert expires_cell(item(enabled=False), NOW, 30) == ""
    assert expires_cell(item(not_before=NOW + timedelta(days=1)), NOW, 30) == "◷ not yet"


# -- detail rows -----------------------------------------------------------------------


def rows_of(sections: list[Section]) -> dict[str, dict[str, Row]]:
    return {s.title: {r.label: r for r in s.rows} for s in sections}


def test_a_secrets_rows_are_its_attributes() -> None:
    secret = item(
        version="v2",
        created=NOW - timedelta(days=10),
        expires=NOW + timedelta(days=5),
        tags={"env": "prod", "a": "line\nbreak"},
        content_type="application/json",
        recovery_level="Recoverable+Purgeable",
        recoverable_days=90,
    )
    sections = detail_sections(secret, None, NOW, 30)
    assert [s.title for s in sections] == ["Attributes"]
    rows = rows_of(sections)["Attributes"]
    assert list(rows) == [
        "Id", "Version", "Enabled", "Content type", "Created", "Updated", "Not before",
        "Expires", "Recovery", "Tags",
    ]  # fmt: skip
    assert rows["Created"].text == "2025-05-22 12:00 UTC (10 days ago)"
    assert rows["Updated"].text == rows["Not before"].text == "—"
    assert rows["Expires"].text == "2025-06-06 12:00 UTC  ⚠ expires in 5 days"
    assert rows["Expires"].tone == "expiring"
    assert rows["Recovery"].text == "Recoverable+Purgeable (90 days)"
    # One tag a line, sorted; a newline inside a tag stays inside its line.
    assert rows["Tags"].lines == ("a = line\nbreak", "env = prod")


def test_the_fetched_detail_is_fresher_than_the_listed_item() -> None:
    listed = item(version="v1")
    fetched = SecretDetail(item(version="v1", content_type="text/plain"), key_id="https://k")
    rows = rows_of(detail_sections(listed, fetched, NOW, 30))["Attributes"]
    assert rows["Content type"].text == "text/plain"
    assert rows["Certificate key"].text == "https://k"


def test_expired_rows_carry_the_long_mark_and_their_tone() -> None:
    rows = rows_of(detail_sections(item(expires=NOW - timedelta(hours=3)), None, NOW, 30))
    expires = rows["Attributes"]["Expires"]
    assert expires.text == "2025-06-01 09:00 UTC  ✖ expired 3 hours ago"
    assert expires.tone == "expired"
    fine = rows_of(detail_sections(item(expires=NOW + timedelta(days=90)), None, NOW, 30))
    assert fine["Attributes"]["Expires"].text == "2025-08-30 12:00 UTC (in 90 days)"
    assert fine["Attributes"]["Expires"].tone == ""


def key(**kw: object) -> KeyDetail:
    k = Item(Kind.KEYS, "signer", "https://v/keys/signer/v1", version="v1")
    return KeyDetail(k, **kw)  # type: ignore[arg-type]


def test_a_keys_sections_in_full_and_for_one_version() -> None:
    d = key(
        key_type="RSA",
        key_size=2048,
        key_ops=("sign", "verify"),
        public_jwk=(("n", "AQAB..."), ("e", "AQAB")),
        rotation_policy=RotationPolicySummary(actions=("Rotate 30 days before expiry",)),
    )
    full = detail_sections(d.item, d, NOW, 30)
    assert [s.title for s in full] == ["Key", "Public key (JWK)", "Rotation policy", "Attributes"]
    rows = rows_of(full)
    assert rows["Key"]["Size / curve"].text == "2048 bits"
    assert rows["Key"]["Operations"].text == "sign, verify"
    assert rows["Rotation policy"]["Actions"].lines == ("Rotate 30 days before expiry",)
    assert rows["Rotation policy"]["New versions expire"].text == "—"
    # One version: what belongs to the item (its policy, its public key) is left out.
    version = detail_sections(d.item, d, NOW, 30, full=False)
    assert [s.title for s in version] == ["Key", "Attributes"]

    unreadable = detail_sections(d.item, key(rotation_policy_error="403 [b]no[/b]"), NOW, 30)
    policy = next(s for s in unreadable if s.title == "Rotation policy")
    assert policy.rows == () and policy.note == "403 [b]no[/b]"
    ec = rows_of(detail_sections(d.item, key(key_type="EC", curve="P-256"), NOW, 30))
    assert ec["Key"]["Size / curve"].text == "P-256"


def test_a_certificates_sections() -> None:
    c = Item(Kind.CERTIFICATES, "www", "https://v/certificates/www/v1", version="v1")
    pending = detail_sections(c, CertificateDetail(c), NOW, 30)
    assert pending[0].title == "Certificate" and "pending" in pending[0].note
    d = CertificateDetail(
        c,
        subject="CN=www",
        sans=(("DNS", "www.example"), ("IP", "10.0.0.1")),
        issuer="CN=www",
        self_signed=True,
        not_after=NOW + timedelta(days=365),
        key_type="RSA",
        key_size=2048,
        policy=CertificatePolicySummary(validity_months=12, exportable=True),
        cer=b"\x30",
    )
    sections = detail_sections(c, d, NOW, 30)
    assert [s.title for s in sections] == ["Certificate", "Policy", "Attributes"]
    rows = rows_of(sections)
    assert rows["Certificate"]["SANs"].lines == ("DNS: www.example", "IP: 10.0.0.1")
    assert rows["Certificate"]["Issuer"].text == "CN=www  (self-signed)"
    assert rows["Certificate"]["Valid until"].text == "2026-06-01 12:00 UTC (in 365 days)"
    assert rows["Certificate"]["Key"].text == "RSA 2048 bits"
    assert rows["Policy"]["Validity"].text == "12 months"
    assert rows["Policy"]["Exportable"].text == "yes"
    assert rows["Policy"]["Reuse key"].text == "—"  # not set: neither yes nor no
    assert rows["Policy"]["Lifetime actions"].text == "none"
    assert [s.title for s in detail_sections(c, d, NOW, 30, full=False)] == [
        "Certificate",
        "Attributes",
    ]
