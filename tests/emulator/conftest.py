"""Fixtures of the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kvtui.emulator import EmulatorInfo
from tests.support import EmulatorClock, emulator_clock


@pytest.fixture
def clock(info: EmulatorInfo) -> Iterator[EmulatorClock]:
    """The emulator's clock, to move instead of sleeping; reset afterwards."""
    with emulator_clock(info) as c:
        yield c
