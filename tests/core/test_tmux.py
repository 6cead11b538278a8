"""kvtui/core/tmux.py against a real tmux server of the test's own (its socket in
$TMUX, as a pane would have it): buffers found by size and digest, odd names, deletion,
and failures as TmuxError."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvtui.core.tmux import Tmux, TmuxError, digest, text_bytes

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

VALUE = "s3cret ✓\nline two\t[x]"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    socket = tmp_path / "tmux.sock"
    base = [shutil.which("tmux") or "tmux", "-S", str(socket), "-f", "/dev/null"]
    subprocess.run([*base, "new-session", "-d", "-s", "t", "sleep 600"], check=True, timeout=10)
    monkeypatch.setenv("TMUX", f"{socket},0,0")
    yield socket
    subprocess.run([*base, "kill-server"], timeout=10, check=False)


def load(socket: Path, name: str, data: bytes) -> None:
    subprocess.run(
        ["tmux", "-S", str(socket), "load-buffer", "-b", name, "-"],
        input=data,
        check=True,
        timeout=10,
    )


async def test_finds_and_deletes_the_buffers_holding_a_value(server: Path) -> None:
    data = text_bytes(VALUE)
    load(server, "buffer7", data)
    load(server, "a name\twith a tab", data)
    load(server, "same size", b"x" * len(data))  # read, digest differs
    load(server, "other", b"something else")  # not read: another size
    tmux = Tmux.from_env()
    assert tmux is not None
    buffers = await tmux.buffers()
    assert [b.name for b in buffers][:1] == ["other"]  # newest first
    holding = await tmux.holding(digest(data), len(data), buffers)
    assert sorted(b.name for b in holding) == ["a name\twith a tab", "buffer7"]
    for b in holding:
        await tmux.delete(b.name)
    assert sorted(b.name for b in await tmux.buffers()) == ["other", "same size"]
    assert await tmux.option("set-clipboard") in ("on", "external", "off")


async def test_failures_are_tmux_errors(
    server: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmux = Tmux.from_env()
    assert tmux is not None
    with pytest.raises(TmuxError, match="delete-buffer"):
        await tmux.delete("no-such-buffer")
    monkeypatch.setenv("TMUX", f"{tmp_path}/nothing-here,0,0")
    gone = Tmux.from_env()
    assert gone is not None
    with pytest.raises(TmuxError, match="list-buffers"):
        await gone.buffers()
    assert Tmux.from_env({}) is None  # not in tmux
    monkeypatch.setenv("PATH", "")
    with pytest.raises(TmuxError, match="not on PATH"):
        Tmux.from_env({"TMUX": "x,0,0"})
