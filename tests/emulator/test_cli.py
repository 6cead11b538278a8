"""`kvtui emulator` as a real subprocess: its JSON line, TLS files, options and signals."""

from __future__ import annotations

import ipaddress
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509

from kvtui.emulator.cli import exposure_warning
from tests.support import requests_session

REPO = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = {
    "vaults",
    "authority",
    "tenant_id",
    "arm_url",
    "ca_bundle",
    "client_id",
    "confidential_client",
}
OPTIONAL_KEYS = {"other_tenant_id", "admin_url", "admin_token"}


class Running:
    def __init__(self, proc: subprocess.Popen[bytes], info: dict[str, Any], took: float) -> None:
        self.proc, self.info, self.took = proc, info, took
        self.more_stdout = b""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5) -> tuple[int, float, str]:
        """(exit code, seconds it took, stderr) after sending ``sig``."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.more_stdout, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError(f"still running {timeout} s after signal {sig}") from None
        return self.proc.returncode, time.monotonic() - started, err.decode()


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        line += chunk
    sel.close()
    return line


def _spawn(*args: str, cwd: Path = REPO) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.Popen(
        [sys.executable, "-m", "kvtui", "emulator", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


#: Seconds to wait for the JSON line before calling it a hang.
START_CAP = 30


@contextmanager
def emulator_process(*args: str, cwd: Path = REPO) -> Iterator[Running]:
    started = time.monotonic()
    proc = _spawn(*args, cwd=cwd)
    try:
        # A cap against a hang, not a speed target (about 1 s on a quiet machine; several
        # seconds while other test workers load both cores).
        line = _read_line(proc, timeout=START_CAP)
        took = time.monotonic() - started
        if not line:
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"no JSON line within {START_CAP} s; stderr: {err.decode()}")
        yield Running(proc, json.loads(line), took)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def test_json_line_arrives_quickly_with_the_documented_keys(tmp_path: Path) -> None:
    with emulator_process("--state-dir", str(tmp_path)) as emu:
        print(f"JSON line after {emu.took:.2f} s")
        keys = set(emu.info)
        assert REQUIRED_KEYS <= keys <= REQUIRED_KEYS | OPTIONAL_KEYS
        assert list(emu.info["vaults"]) == ["demo"]
        assert set(emu.info["confidential_client"]) == {"client_id", "client_secret"}
        assert emu.info["authority"].endswith("/" + emu.info["tenant_id"])
        code, _, err = emu.stop()
        assert emu.more_stdout == b""  # exactly one line on stdout
        assert code == 0, err


def test_real_https_with_the_ca_bundle(tmp_path: Path) -> None:
    with emulator_process("--state-dir", str(tmp_path)) as emu:
        http = requests_session(emu.info["ca_bundle"])
        oidc = http.get(f"{emu.info['authority']}/v2.0/.well-known/openid-configuration", timeout=5)
        assert oidc.status_code == 200
        assert oidc.json()["token_endpoint"].startswith(emu.info["authority"])
        vault = http.get(emu.info["vaults"]["demo"] + "secrets?api-version=7.5", timeout=5)
        assert vault.status_code == 401
        assert f'/{emu.info["tenant_id"]}"' in vault.headers["WWW-Authenticate"]
        if "admin_url" in emu.info:
            auth = {"Authorization": f"Bearer {emu.info['admin_token']}"}
            assert http.get(emu.info["admin_url"], headers=auth, timeout=5).json() == emu.info
            assert http.get(emu.info["admin_url"], timeout=5).status_code == 401
        http.close()
        assert emu.stop()[0] == 0


def test_tls_files_land_in_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with emulator_process("--state-dir", str(state)) as emu:
        assert Path(emu.info["ca_bundle"]) == state.resolve() / "ca.pem"
        server = x509.load_pem_x509_certificate((state / "server.pem").read_bytes())
        san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        ips = set(san.get_values_for_type(x509.IPAddress))
        assert ips == {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
        assert san.get_values_for_type(x509.DNSName) == ["localhost"]
        ca = x509.load_pem_x509_certificate((state / "ca.pem").read_bytes())
        assert server.issuer == ca.subject
        assert oct((state / "ca-key.pem").stat().st_mode & 0o777) == "0o600"
        assert emu.stop()[0] == 0
    # The state outlives the run, so clients keep trusting the same CA.
    assert (state / "ca.pem").exists()


def test_without_state_dir_nothing_lands_in_the_repo(tmp_path: Path) -> None:
    before = {p.name for p in REPO.iterdir()}
    with emulator_process(cwd=REPO) as emu:
        ca = Path(emu.info["ca_bundle"])
        assert ca.exists()
        assert REPO not in ca.parents
        assert emu.stop()[0] == 0
    assert not ca.parent.exists()  # the temporary state folder is removed on exit
    assert {p.name for p in REPO.iterdir()} == before


def test_two_vaults_on_two_ports(tmp_path: Path) -> None:
    with emulator_process("--state-dir", str(tmp_path), "--vault", "a", "--vault", "b") as emu:
        vaults = emu.info["vaults"]
        assert set(vaults) == {"a", "b"}
        ports = {_port(vaults["a"]), _port(vaults["b"]), _port(emu.info["arm_url"])}
        assert len(ports) == 3
        http = requests_session(emu.info["ca_bundle"])
        for url in vaults.values():
            assert http.get(url + "secrets", timeout=5).status_code == 401
        http.close()
        assert emu.stop()[0] == 0


def _free_port_pair() -> int:
    """A port P with P and P+1 free right now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as s1, socket.socket() as s2:
                s1.bind(("127.0.0.1", port))
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise AssertionError("no free pair of ports")


def test_port_is_honoured(tmp_path: Path) -> None:
    port = _free_port_pair()
    with emulator_process("--state-dir", str(tmp_path), "--port", str(port)) as emu:
        assert _port(emu.info["arm_url"]) == port
        assert _port(emu.info["authority"]) == port
        assert _port(emu.info["vaults"]["demo"]) == port + 1
        assert emu.stop()[0] == 0


def test_port_in_use_is_a_clean_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = _spawn("--state-dir", str(tmp_path), "--port", str(busy.getsockname()[1]))
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1
    assert out == b""
    assert "Traceback" not in err.decode()
    assert err.decode().startswith("kvtui emulator: cannot start:")


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", "nonsense"],
        ["--seed", "bulk:many"],
        ["--port", "70000"],
        ["--token-lifetime", "0"],
        ["--latency-ms", "-5"],
        ["--vault", "bad_name!"],
        ["--vault", "x", "--vault", "X"],
        ["--seed-time", "yesterday"],
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str]) -> None:
    proc = _spawn("--state-dir", str(tmp_path), *args)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("kvtui emulator: ")


def test_argparse_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    proc = _spawn("--port", "not-a-number")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert out == b""
    assert "Traceback" not in err.decode()
    assert "--port" in err.decode().splitlines()[-1]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_it_promptly_with_exit_0(tmp_path: Path, sig: int) -> None:
    with emulator_process("--state-dir", str(tmp_path)) as emu:
        code, _took, err = emu.stop(sig, timeout=10)  # raises if still running then
        assert code == 0, err
        assert "Traceback" not in err
        url = emu.info["vaults"]["demo"]
    # And it no longer listens.
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(1)
        s.connect(("127.0.0.1", _port(url)))


def test_latency_option_slows_vault_requests(tmp_path: Path) -> None:
    with emulator_process("--state-dir", str(tmp_path), "--latency-ms", "500") as emu:
        http = requests_session(emu.info["ca_bundle"])
        http.get(emu.info["arm_url"], timeout=5)  # connect and warm up
        started = time.monotonic()
        http.get(emu.info["authority"] + "/v2.0/.well-known/openid-configuration", timeout=5)
        fast = time.monotonic() - started
        vault = emu.info["vaults"]["demo"] + "secrets"
        http.get(vault, timeout=5)  # connect
        started = time.monotonic()
        assert http.get(vault, timeout=5).status_code == 401
        slow = time.monotonic() - started
        http.close()
        assert slow >= 0.5
        assert fast < 0.4
        assert emu.stop()[0] == 0


def test_non_loopback_host_warns_on_stderr(tmp_path: Path) -> None:
    """Bound to every address, the admin endpoint and the demo identities are on the
    network: the emulator says so (it only binds here; no traffic leaves loopback)."""
    with emulator_process("--state-dir", str(tmp_path), "--host", "0.0.0.0") as emu:
        code, _, err = emu.stop()
    assert code == 0, err
    assert "warning: --host 0.0.0.0 is not a loopback address" in err
    assert "admin endpoint" in err
    assert "Traceback" not in err


def test_loopback_host_is_quiet_and_the_admin_token_is_new_each_run(tmp_path: Path) -> None:
    tokens = []
    for _ in range(2):
        with emulator_process("--state-dir", str(tmp_path), "--persist") as emu:
            tokens.append(emu.info["admin_token"])
            code, _, err = emu.stop()
        assert code == 0, err
        assert "warning" not in err
    assert tokens[0] != tokens[1]
    assert all(len(t) >= 40 for t in tokens)


@pytest.mark.parametrize(
    ("host", "warns"),
    [
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.10", True),
        ("emulator.example", True),
    ],
)
def test_exposure_warning_for_each_kind_of_host(host: str, warns: bool) -> None:
    assert (exposure_warning(host) is not None) == warns
