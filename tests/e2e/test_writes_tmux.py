"""Writing in a real terminal (tmux, 80x24), each step checked with the official SDK:
``n`` with a name (an invalid one flagged while typing), ``tab``, a value and ``ctrl+s``
creates the secret; ``u`` makes a new version; ``d`` then ``y`` soft-deletes; ``D``
lists the deleted secret and ``R`` then ``y`` recovers it; ``P`` then ``y`` purges
nothing, ``P`` with the name typed purges.

kvtui runs as a user starts it, signed in (tests/e2e/conftest.py), on a demo vault of
its own. Values typed are test values, redacted from any screen a failure prints."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError

from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.e2e.conftest import Kvtui
from tests.e2e.test_tmux import Tmux
from tests.support import kv_clients

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

NAME = "oncall-token"
FIRST = "first-value-7Q2x"
SECOND = "second-value-9Kp4"


class Vault:
    """The official SDK on the vault kvtui has open, one call at a time, on an event loop
    of the test's own (one sign-in, one connection for every check)."""

    def __init__(self, info: EmulatorInfo, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.clients = kv_clients(info, url)
        self.c = self.loop.run_until_complete(self.clients.__aenter__())

    def close(self) -> None:
        self.loop.run_until_complete(self.clients.__aexit__(None, None, None))
        self.loop.close()

    def value(self, name: str) -> str | None:
        async def read() -> str | None:
            try:
                return (await self.c.secrets.get_secret(name)).value
            except ResourceNotFoundError:
                return None

        return self.loop.run_until_complete(read())

    def versions(self, name: str) -> int:
        async def count() -> int:
            return len([p async for p in self.c.secrets.list_properties_of_secret_versions(name)])

        return self.loop.run_until_complete(count())

    def deleted(self) -> list[str]:
        async def names() -> list[str]:
            return sorted([d.name async for d in self.c.secrets.list_deleted_secrets() if d.name])

        return self.loop.run_until_complete(names())


@pytest.fixture
def sdk(emulator: EmulatorThread, signed_in_kvtui: Kvtui) -> Iterator[Vault]:
    vault = Vault(emulator.info, signed_in_kvtui.vault_url)
    yield vault
    vault.close()


@pytest.fixture
def tmux80(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(f"kvtui-test-writes-{tmp_path.name}")
    t.redact += [FIRST, SECOND]
    yield t
    t.run("kill-server")


def test_create_version_delete_recover_purge_in_a_terminal(
    tmux80: Tmux, signed_in_kvtui: Kvtui, sdk: Vault
) -> None:
    tmux = tmux80
    tmux.start(signed_in_kvtui.command, size=(80, 24))
    tmux.wait(lambda s: "63 secrets" in s, "the secrets listed")

    # n: an invalid name is flagged while typing; then the name, tab, a value, ctrl+s.
    tmux.keys("n")
    tmux.wait(lambda s: "New secret" in s and "enter next field" in s, "the form")
    tmux.keys("oncall_token", literal=True)
    tmux.wait(lambda s: "letters, digits and dashes only, not '_'" in s, "the name flagged")
    # Each key's effect is waited for before the next: Textual runs a key's binding
    # (ctrl+u, tab) after the printable keys that came in the same read from the
    # terminal, so a burst would type the name before the line is cleared.
    tmux.keys("C-u")  # (the line, back to its start)
    tmux.wait(lambda s: "Name          letters, digits and dashes" in s, "the name cleared")
    tmux.keys(NAME, literal=True)
    tmux.wait(lambda s: NAME in s and "not '_'" not in s, "the name accepted")
    tmux.keys("Tab")
    tmux.wait(lambda s: "enter new line" in s, "the value editor")  # the focus moved
    tmux.keys(FIRST, literal=True)
    tmux.wait(lambda s: FIRST in s, "the value typed")
    tmux.keys("C-s")
    tmux.wait(lambda s: f"Saved secret {NAME}" in s, "saved")
    assert sdk.value(NAME) == FIRST

    # Only this secret on show from now on (the filter stays in the deleted view).
    tmux.keys("/")
    tmux.wait(lambda s: "filter: name, tag:key=value" in s, "the filter box")
    tmux.keys(NAME, literal=True)
    tmux.wait(lambda s: "1 of 64 secrets match" in s, "filtered")
    tmux.wait(lambda s: f"▊{NAME}" in s.replace(" ", ""), "the name in the filter box")
    tmux.keys("Enter")  # the box closes (its tall border goes), the filter stays
    tmux.wait(lambda s: "▊" not in s and "1 of 64 secrets match" in s, "the filter kept")

    # u: a new version (the value empty; the focus in it).
    tmux.keys("u")
    tmux.wait(lambda s: f"New version of {NAME}" in s and "enter new line" in s, "the form")
    tmux.keys(SECOND, literal=True)
    tmux.wait(lambda s: SECOND in s, "the value typed")
    tmux.keys("C-s")
    tmux.wait(lambda s: f"New version of {NAME}:" in s, "saved")
    assert sdk.value(NAME) == SECOND and sdk.versions(NAME) == 2

    # d, y: soft-deleted.
    tmux.keys("d")
    tmux.wait(lambda s: f"Delete {NAME}?" in s and "Recoverable for 90 days" in s, "asked")
    tmux.keys("y")
    tmux.wait(lambda s: f"Deleted {NAME}." in s and "0 of 63 secrets match" in s, "deleted")
    assert NAME in sdk.deleted() and sdk.value(NAME) is None

    # D lists it; R, y recovers it.
    tmux.keys("D")
    tmux.wait(lambda s: "1 of 3 deleted secrets match" in s and "recovery id" in s, "listed")
    tmux.keys("R")
    tmux.wait(lambda s: f"Recover {NAME}?" in s, "asked")
    tmux.keys("y")
    tmux.wait(lambda s: f"Recovered {NAME}" in s, "recovered")
    assert NAME not in sdk.deleted() and sdk.value(NAME) == SECOND

    # Deleted again; P, y: nothing; P with the name typed: purged.
    tmux.keys("D")
    tmux.wait(lambda s: "1 of 64 secrets match" in s, "back to the list")
    tmux.keys("d")
    tmux.wait(lambda s: f"Delete {NAME}?" in s, "asked")
    tmux.keys("y")
    tmux.wait(lambda s: "0 of 63 secrets match" in s, "deleted again")
    tmux.keys("D")
    tmux.wait(lambda s: "1 of 3 deleted secrets match" in s, "listed again")
    tmux.keys("P")
    tmux.wait(lambda s: "Type the name" in s, "asked for the name")
    tmux.keys("y")
    tmux.wait(lambda s: "│ y " in s, "y typed")
    tmux.keys("Enter")
    # (The notifications of the steps before cover the dialog's right half.)
    tmux.wait(lambda s: "That is not the name" in s, "refused")
    assert NAME in sdk.deleted()
    tmux.keys("C-u")
    tmux.wait(lambda s: "│ y " not in s, "the box cleared")
    tmux.keys(NAME, literal=True)
    tmux.keys("Enter")
    tmux.wait(lambda s: f"Purged {NAME}" in s, "purged")
    assert NAME not in sdk.deleted() and sdk.value(NAME) is None
