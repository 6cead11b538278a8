"""What the write forms check before sending (kvtui/core/forms.py): names, dates typed
as ISO or ``+90d``, tags with the service's limits, a value's size and JSON, generated
values."""

from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone

import pytest

from kvtui.core import forms
from kvtui.core.validation import InvalidValue

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def test_names_are_letters_digits_and_dashes_up_to_127() -> None:
    assert forms.name_problem("db-password-2") is None
    assert forms.name_problem("a" * 127) is None
    assert forms.name_problem("") == "Type a name."
    assert "at most 127" in (forms.name_problem("a" * 128) or "")
    assert "not '_'" in (forms.name_problem("db_password") or "")
    assert "not ' '" in (forms.name_problem("db password") or "")
    # Not ASCII (a Cyrillic а looks like a Latin a): refused.
    assert forms.name_problem("d\u0430ta") is not None
    # A control character is shown as its visible stand-in.
    assert "␛" in (forms.name_problem("x\x1by") or "")
    with pytest.raises(InvalidValue):
        forms.check_name("x.y")


@pytest.mark.parametrize(
    ("typed", "when"),
    [
        ("", None),
        ("+90d", NOW + timedelta(days=90)),
        ("+ 12h", NOW + timedelta(hours=12)),
        ("+2W", NOW + timedelta(weeks=2)),
        ("+1y", NOW + timedelta(days=365)),
        ("2027-01-31", datetime(2027, 1, 31, tzinfo=timezone.utc)),
        ("2027-01-31T12:30", datetime(2027, 1, 31, 12, 30, tzinfo=timezone.utc)),
        ("2027-01-31T12:30:00Z", datetime(2027, 1, 31, 12, 30, tzinfo=timezone.utc)),
        ("2027-01-31T12:30+02:00", datetime(2027, 1, 31, 10, 30, tzinfo=timezone.utc)),
    ],
)
def test_dates_iso_or_relative(typed: str, when: datetime | None) -> None:
    assert forms.parse_when(typed, NOW, "Expires") == when
    if when is not None:  # what the form shows reads back the same
        assert forms.parse_when(forms.when_field(when), NOW, "Expires") == when


@pytest.mark.parametrize("typed", ["next week", "31/01/2027", "+90", "2027-13-01", "+d"])
def test_a_date_that_is_not_one_says_what_to_type(typed: str) -> None:
    with pytest.raises(InvalidValue, match=r"Expires: .* is not a date\. Type 2027-01-31"):
        forms.parse_when(typed, NOW, "Expires")


def test_tags_are_rows_within_the_service_limits() -> None:
    assert forms.parse_tags("env=prod\n\n owner = team-a \nempty=") == {
        "env": "prod",
        "owner": "team-a",
        "empty": "",
    }
    assert forms.parse_tags(forms.tags_field({"b": "2", "a": "x=y"})) == {"a": "x=y", "b": "2"}
    with pytest.raises(InvalidValue, match="line 2: write key=value"):
        forms.parse_tags("env=prod\nprod")
    with pytest.raises(InvalidValue, match="there twice"):
        forms.parse_tags("env=a\nenv=b")
    with pytest.raises(InvalidValue, match="At most 15 tags"):
        forms.parse_tags("\n".join(f"t{i}=v" for i in range(16)))
    assert len(forms.parse_tags("\n".join(f"t{i}=v" for i in range(15)))) == 15
    with pytest.raises(InvalidValue, match="at most 256"):
        forms.parse_tags("k=" + "v" * 257)
    with pytest.raises(InvalidValue, match="at most 512"):
        forms.parse_tags("k" * 513 + "=v")


def test_values_within_25_kib_and_json_when_the_type_says_so() -> None:
    assert forms.check_value("x" * forms.MAX_VALUE_BYTES, "text/plain")
    with pytest.raises(InvalidValue, match="at most 25,600"):
        forms.check_value("é" * (forms.MAX_VALUE_BYTES // 2 + 1), None)  # bytes, not chars
    assert forms.check_value('{"a": 1}', "application/json")
    with pytest.raises(InvalidValue, match="not JSON"):
        forms.check_value("{a: 1}", "application/json; charset=utf-8")
    assert forms.check_value("{a: 1}", "text/plain")  # not JSON, not said to be


def test_generated_values_have_each_class_asked_for() -> None:
    value = forms.generate_value(40, ("lower", "digits"))
    assert len(value) == 40 and set(value) <= set(string.ascii_lowercase + string.digits)
    assert any(c.isdigit() for c in value) and any(c.islower() for c in value)
    assert forms.generate_value() != forms.generate_value()
    assert len(forms.generate_value()) == 32
    with pytest.raises(InvalidValue):
        forms.generate_value(4)
    with pytest.raises(InvalidValue):
        forms.generate_value(16, ())
