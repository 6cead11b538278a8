"""Keys and certificates in a real terminal (tmux at 80x24, ``set-clipboard on``), each
step checked with the official SDK: on the keys tab ``n``, a name and ``ctrl+s`` make
an RSA key, ``u`` then ``y`` give it a second version; ``C``, some text and ``ctrl+s``
encrypt it, and ``ctrl+y`` copies a ciphertext (tmux keeps it as a paste buffer) that
the vault decrypts back to the text; on the certificates tab ``n``, a name, ``tab``,
``CN=…`` and ``ctrl+s`` make a self-signed certificate with that subject."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.keyvault.keys.crypto import EncryptionAlgorithm

from kvtui.core import keyops
from kvtui.emulator import EmulatorThread
from tests.e2e.conftest import Kvtui
from tests.e2e.test_tmux import Tmux
from tests.support import Clients, kv_clients

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

KEY = "tmux-kek"
CERT = "tmux-web"
SUBJECT = "CN=tmux.example.com"
TEXT = "meet at the usual place"


@pytest.fixture
def tmux80(tmp_path: Path) -> Iterator[Tmux]:
    config = tmp_path / "tmux.conf"
    config.write_text("set-option -g set-clipboard on\n", encoding="utf-8")
    t = Tmux(f"kvtui-test-{os.getpid()}-{tmp_path.name}-keys", config)
    yield t
    t.run("kill-server")


def buffers(tmux: Tmux) -> list[str]:
    names = tmux.run("list-buffers", "-F", "#{buffer_name}").stdout.split()
    return [tmux.run("save-buffer", "-b", name, "-").stdout for name in names]


def subject_row(tmux: Tmux) -> str:
    """The subject row as the terminal draws it, colours included."""
    lines = tmux.run("capture-pane", "-p", "-e", "-t", "kvtui").stdout.splitlines()
    return next(line for line in lines if "Subject" in line)


def test_make_rotate_and_use_a_key_then_make_a_certificate(
    tmux80: Tmux, signed_in_kvtui: Kvtui, emulator: EmulatorThread
) -> None:
    loop = asyncio.new_event_loop()
    clients = kv_clients(emulator.info, signed_in_kvtui.vault_url)
    sdk = loop.run_until_complete(clients.__aenter__())
    try:
        _steps(tmux80, signed_in_kvtui, sdk, loop)
    finally:
        loop.run_until_complete(clients.__aexit__(None, None, None))
        loop.close()


def _steps(tmux: Tmux, kvtui: Kvtui, sdk: Clients, loop: asyncio.AbstractEventLoop) -> None:
    run = loop.run_until_complete
    tmux.start(kvtui.command, size=(80, 24))
    tmux.wait(lambda s: "63 secrets" in s, "the secrets listed")

    # The keys tab: n, a name, ctrl+s.
    tmux.keys("2")
    tmux.wait(lambda s: "10 keys" in s, "the keys tab")
    tmux.keys("n")
    tmux.wait(lambda s: "New key" in s and "RSA 2048" in s, "the form")
    tmux.keys(KEY, literal=True)
    tmux.wait(lambda s: KEY in s, "the name typed")
    tmux.keys("C-s")
    tmux.wait(lambda s: f"Made key {KEY}: RSA 2048" in s, "made")
    key = run(sdk.keys.get_key(KEY))
    assert key.key_type == "RSA" and int.from_bytes(key.key.n, "big").bit_length() == 2048  # type: ignore[attr-defined]

    # u, then y: a second version.
    tmux.keys("u")
    tmux.wait(lambda s: f"Rotate {KEY}?" in s, "asked")
    tmux.keys("y")
    tmux.wait(lambda s: f"Rotated {KEY}" in s, "rotated")

    async def versions() -> int:
        return len([v async for v in sdk.keys.list_properties_of_key_versions(KEY)])

    assert run(versions()) == 2

    # C: the focus is in the input; some text, ctrl+s, then ctrl+y.
    tmux.keys("C")
    tmux.wait(lambda s: f"Key operations: {KEY}" in s and "RSA-OAEP-256" in s, "the dialog")
    tmux.keys(TEXT, literal=True)
    tmux.wait(lambda s: TEXT in s, "the text typed")
    tmux.keys("C-s")
    tmux.wait(lambda s: "Ciphertext (base64url, 342 characters)" in s, "encrypted")
    before = set(buffers(tmux))
    tmux.keys("C-y")
    tmux.wait(lambda s: f"ciphertext of {KEY}" in s, "copied")
    new = [b for b in buffers(tmux) if b not in before]
    assert len(new) == 1, "tmux keeps the copied ciphertext as one buffer"
    ciphertext = keyops.parse_input(new[0], "base64")
    crypto = sdk.keys.get_cryptography_client(KEY)
    back = run(crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ciphertext))
    assert back.plaintext == TEXT.encode()
    tmux.keys("Escape")
    tmux.wait(lambda s: "Key operations" not in s, "closed")

    # The certificates tab: n, a name, tab, CN=..., ctrl+s.
    tmux.keys("3")
    tmux.wait(lambda s: "4 certificates" in s, "the certificates tab")
    tmux.keys("n")
    tmux.wait(lambda s: "New certificate" in s and "Self-signed" in s, "the form")
    tmux.keys(CERT, literal=True)
    tmux.wait(lambda s: CERT in s, "the name typed")
    # The focus moving to the subject shows only in colours: the row's escapes change.
    unfocused = subject_row(tmux)
    tmux.keys("Tab")
    deadline = time.monotonic() + 30
    while subject_row(tmux) == unfocused:
        assert time.monotonic() < deadline, "the focus never reached the subject"
        time.sleep(0.05)
    tmux.keys(SUBJECT, literal=True)
    tmux.wait(lambda s: SUBJECT in s, "the subject typed")
    tmux.keys("C-s")
    tmux.wait(lambda s: f"Made certificate {CERT}" in s, "made")
    cert = run(sdk.certificates.get_certificate(CERT))
    assert cert.policy is not None and cert.policy.subject == SUBJECT
    assert cert.policy.issuer_name == "Self"
