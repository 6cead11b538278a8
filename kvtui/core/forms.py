"""What the write forms check before anything is sent, without Textual: object names,
dates (``2027-01-31``, ``+90d``), tags (``key=value`` rows, with the service's limits),
a value's size and JSON, and generated values.

Each check returns the value to send or raises
:class:`~kvtui.core.validation.InvalidValue`, whose message says what to change. The
limits are the service's (Key Vault's "About keys, secrets and certificates" and its
REST reference): a request that breaks one would only come back as a 400.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from datetime import datetime, time, timedelta, timezone

from kvtui.core.validation import InvalidValue, shown

#: Secret, key and certificate names: 1-127 letters, digits and dashes.
OBJECT_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
MAX_NAME = 127
#: The service's limits on tags.
MAX_TAGS = 15
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256
#: A secret value's limit, in bytes (UTF-8).
MAX_VALUE_BYTES = 25 * 1024
#: The content types the form suggests.
CONTENT_TYPES = ("text/plain", "application/json", "application/x-pem-file")

_RELATIVE = re.compile(r"^\+\s*(\d{1,5})\s*([hdwy])$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
          "y": timedelta(days=365)}  # fmt: skip


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a secret's, key's or certificate's name (None: it can)."""
    if not name:
        return "Type a name."
    if len(name) > MAX_NAME:
        return f"A name is at most {MAX_NAME} characters ({len(name)} typed)."
    if not OBJECT_NAME.match(name):
        bad = next(ch for ch in name if not (ch.isascii() and (ch.isalnum() or ch == "-")))
        return f"A name is letters, digits and dashes only, not {shown(bad)}."
    return None


def check_name(name: str) -> str:
    problem = name_problem(name)
    if problem is not None:
        raise InvalidValue(problem)
    return name


def parse_when(text: str, now: datetime, what: str) -> datetime | None:
    """A date typed in a form: empty (None), ``+90d`` (h, d, w, y from now), a date
    (``2027-01-31``: midnight UTC) or an ISO date and time (UTC unless it says)."""
    text = text.strip()
    if not text:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        return now + int(relative.group(1)) * _UNITS[relative.group(2).lower()]
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day, time(), tzinfo=timezone.utc)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(
            f"{what}: {shown(text)} is not a date. Type 2027-01-31, 2027-01-31T12:00, "
            "or +90d (h, d, w, y from now); empty for none."
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def when_field(value: datetime | None) -> str:
    """A date as the form shows it (what :func:`parse_when` reads back)."""
    if value is None:
        return ""
    value = value.astimezone(timezone.utc)
    if value.time() == time():
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_tags(text: str) -> dict[str, str]:
    """``key=value`` rows (one a line; blank lines skipped) with the service's limits."""
    tags: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise InvalidValue(f"Tags, line {n}: write key=value, not {shown(line)}.")
        if len(key) > MAX_TAG_NAME:
            raise InvalidValue(f"Tags, line {n}: a tag name is at most {MAX_TAG_NAME} characters.")
        if len(value) > MAX_TAG_VALUE:
            raise InvalidValue(
                f"Tags, line {n}: a tag value is at most {MAX_TAG_VALUE} characters "
                f"({len(value)} typed)."
            )
        if key in tags:
            raise InvalidValue(f"Tags, line {n}: {shown(key)} is there twice.")
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise InvalidValue(f"At most {MAX_TAGS} tags ({len(tags)} typed).")
    return tags


def tags_field(tags: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(tags.items()))


def check_value(value: str, content_type: str | None) -> str:
    """A secret's value: within the size limit, and JSON when the type says JSON."""
    size = len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise InvalidValue(
            f"The value is {size:,} bytes: a secret holds at most {MAX_VALUE_BYTES:,}."
        )
    if content_type and "json" in content_type.lower():
        try:
            json.loads(value)
        except ValueError as exc:
            raise InvalidValue(
                f"The content type says JSON, but the value is not JSON: {exc}. "
                "Fix it, or change the content type."
            ) from None
    return value


#: Character classes for generated values.
CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
    "symbols": "!#$%&()*+,-./:;<=>?@[]^_{|}~",
}


def generate_value(length: int = 32, classes: tuple[str, ...] = tuple(CLASSES)) -> str:
    """A random value from the system's CSPRNG, with at least one of each class."""
    if not 8 <= length <= 1024:
        raise InvalidValue("A generated value is 8 to 1024 characters long.")
    pools = [CLASSES[c] for c in classes if c in CLASSES]
    if not pools:
        raise InvalidValue("Choose at least one character class.")
    alphabet = "".join(pools)
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(ch in pool for ch in value) for pool in pools):
            return value
