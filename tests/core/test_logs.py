"""The log file never holds raw escapes: a vault's error message logged by the app shows
as visible stand-ins when the file is read in a terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvtui.logs import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_log_lines_show_escapes_as_stand_ins(tmp_path: Path, restore_logging: None) -> None:
    path = setup_logging(tmp_path / "kvtui.log")
    log = logging.getLogger("kvtui.test")
    log.warning("listing failed: %s", "\x1b]0;PWNED\x07 \x1b[2J \u202eevil\ttab")
    try:
        raise ValueError("boom \x1b]52;c;SU5KRUNURUQ=\x07")
    except ValueError:
        log.exception("worker failed")
    text = path.read_text(encoding="utf-8")
    assert "listing failed: ␛]0;PWNED␇ ␛[2J <U+202E>evil\ttab" in text
    assert "ValueError: boom ␛]52;c;SU5KRUNURUQ=␇" in text
    assert "Traceback (most recent call last):\n" in text  # newlines kept
    assert not any(ch in text for ch in "\x1b\x07\u202e")
