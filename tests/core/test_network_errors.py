"""Requests that get no answer: one message per cause (issue 7, section 5), over the real
SDK and aiohttp, no mocks. TLS trust names --ca-bundle; a vault name that does not exist
says "no vault named X in <cloud>"; refused, dropped and DNS-down connections point at
the network. Only those last say "Check the network or VPN"."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kvtui.core.arm import ArmClient
from kvtui.core.clouds import CLOUDS, Cloud
from kvtui.core.errors import InvalidInput, NetworkError, TrustFailure, UnknownVault
from kvtui.core.models import Kind
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo
from tests.emulator.admin_support import Admin
from tests.support import ClientSecretMsalCredential

#: RFC 6761: ``.invalid`` names never resolve. This machine's resolver answers NXDOMAIN
#: for them at once (measured: 0.3 s for a fresh lookup); a machine without any DNS
#: answers EAI_AGAIN instead, which the precondition below reports.
NO_SUCH_HOST = "kvtui-no-such-vault.invalid"

#: A cloud whose vaults live under ``.vault.invalid``: the "no vault named X" wording,
#: deterministically, without asking the real vault.azure.net.
TEST_CLOUD = Cloud(
    "test",
    "https://login.invalid",
    ".vault.invalid",
    "https://vault.invalid/.default",
    "https://management.invalid/",
    "https://management.invalid/.default",
    "Test cloud",
)


def other_ca(path: Path) -> str:
    """A CA of this test's own (the emulator's certificate is not signed by it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kvtui test: not the emulator")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def list_secrets(info: EmulatorInfo, url: str, **kw: object) -> BaseException:
    cred = ClientSecretMsalCredential(info)
    kw.setdefault("retry_total", 0)
    svc = VaultService(
        url,
        cred,  # type: ignore[arg-type]
        verify_challenge_resource=False,
        **kw,  # type: ignore[arg-type]
    )
    try:
        async for _ in svc.list_pages(Kind.SECRETS):
            pass
    except Exception as exc:
        return exc
    finally:
        await svc.close()
        await cred.close()
    raise AssertionError("listing succeeded")


def assert_one_cause(err: BaseException, kind: type, *needles: str) -> None:
    assert type(err) is kind, (type(err), err)
    for needle in needles:
        assert needle in str(err), str(err)


async def test_tls_trust_failure_names_ca_bundle(
    info: EmulatorInfo, vault_url: str, tmp_path: Path
) -> None:
    err = await list_secrets(info, vault_url, ca_bundle=other_ca(tmp_path / "other.pem"))
    assert_one_cause(err, TrustFailure, "Listing secrets: TLS trust failure", "--ca-bundle")
    assert "certificate verify failed" in str(err) or "not trusted" in str(err)
    assert "VPN" not in str(err)
    assert not err.retryable


async def test_system_trust_alone_does_not_trust_the_emulator(
    info: EmulatorInfo, vault_url: str
) -> None:
    err = await list_secrets(info, vault_url)  # no --ca-bundle: the system's CAs
    assert_one_cause(err, TrustFailure, "--ca-bundle")


def _resolver_says_no_such_name(host: str) -> None:
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as exc:
        assert exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)), (
            f"precondition: this machine's resolver does not answer for {host} ({exc}); "
            "the DNS tests need one that says NXDOMAIN"
        )
    else:
        raise AssertionError(f"{host} resolves here")


async def test_unknown_vault_name_says_no_vault_named_x_in_the_cloud(
    info: EmulatorInfo,
) -> None:
    url = TEST_CLOUD.vault_url("contoso")
    _resolver_says_no_such_name("contoso.vault.invalid")
    err = await list_secrets(info, url, cloud=TEST_CLOUD)
    assert_one_cause(
        err,
        UnknownVault,
        "Listing secrets: no vault named contoso in Test cloud "
        "(contoso.vault.invalid does not resolve)",
        "--cloud",
    )
    assert "VPN" not in str(err)


async def test_unknown_host_outside_any_cloud_says_it_does_not_resolve(
    info: EmulatorInfo,
) -> None:
    _resolver_says_no_such_name(NO_SUCH_HOST)
    err = await list_secrets(info, f"https://{NO_SUCH_HOST}/", cloud=CLOUDS["public"])
    assert_one_cause(err, UnknownVault, f"host {NO_SUCH_HOST} does not resolve")
    assert "VPN" not in str(err)


async def test_refused_connection_points_at_the_network(info: EmulatorInfo) -> None:
    port = closed_port()
    err = await list_secrets(info, f"https://127.0.0.1:{port}/", ca_bundle=info.ca_bundle)
    assert_one_cause(
        err, NetworkError, f"at 127.0.0.1:{port} refused the connection", "VPN or firewall"
    )
    assert err.retryable


async def test_dropped_connection_says_it_was_cut(
    info: EmulatorInfo, vault_url: str, admin: Admin
) -> None:
    await admin.call(
        "POST", "/faults", {"type": "drop", "vault": admin.vault_name(vault_url)}, expect=201
    )
    err = await list_secrets(info, vault_url, ca_bundle=info.ca_bundle)
    assert_one_cause(err, NetworkError, "was cut", "VPN")


async def test_plain_http_is_refused_by_the_sdk_with_its_own_message(info: EmulatorInfo) -> None:
    """kvtui refuses http:// when parsing options; should one get through anyway (a vault
    URL from somewhere else), the SDK's refusal is not blamed on the network."""
    err = await list_secrets(info, f"http://127.0.0.1:{closed_port()}/")
    assert_one_cause(err, InvalidInput, "must start with https://")
    assert "VPN" not in str(err)


async def test_arm_trust_failure_names_ca_bundle(info: EmulatorInfo, tmp_path: Path) -> None:
    cred = ClientSecretMsalCredential(info)
    arm = ArmClient(
        info.arm_url,
        cred,  # type: ignore[arg-type]
        "https://management.azure.com/.default",
        ca_bundle=other_ca(tmp_path / "other.pem"),
        home_tenant=info.tenant_id,
    )
    try:
        with pytest.raises(TrustFailure, match=r"Azure Resource Manager.*--ca-bundle"):
            await arm.subscriptions(info.tenant_id)
    finally:
        await arm.close()
        await cred.close()


async def test_arm_refused_connection_points_at_the_network(info: EmulatorInfo) -> None:
    cred = ClientSecretMsalCredential(info)
    port = closed_port()
    arm = ArmClient(
        f"https://127.0.0.1:{port}/",
        cred,  # type: ignore[arg-type]
        "https://management.azure.com/.default",
        ca_bundle=info.ca_bundle,
        home_tenant=info.tenant_id,
    )
    try:
        with pytest.raises(NetworkError, match=f"127.0.0.1:{port} refused the connection"):
            await arm.subscriptions(info.tenant_id)
    finally:
        await arm.close()
        await cred.close()


async def test_errors_retrying_cannot_cure_come_at_once(
    info: EmulatorInfo, vault_url: str, tmp_path: Path
) -> None:
    """With the app's 3 retries, an untrusted certificate or a name that does not exist
    answered after about 5 s of backoff (measured 4.8 s); they are not retried now. A
    refused connection still is (the vault may come back)."""
    _resolver_says_no_such_name(NO_SUCH_HOST)
    loop = asyncio.get_running_loop()
    for url, kw, kind in (
        (vault_url, {"ca_bundle": other_ca(tmp_path / "other.pem")}, TrustFailure),
        (f"https://{NO_SUCH_HOST}/", {}, UnknownVault),
    ):
        start = loop.time()
        err = await list_secrets(info, url, retry_total=3, **kw)
        assert type(err) is kind, err
        assert loop.time() - start < 2.0, (kind, loop.time() - start)


async def test_a_vault_that_never_answers_times_out_with_its_own_message(
    info: EmulatorInfo,
) -> None:
    """A port that takes the connection but never speaks TLS (a black hole behind a
    firewall or a dead VPN looks the same): a timeout, not 300 s of "Loading…"."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted, never answered
        port = silent.getsockname()[1]
        err = await list_secrets(
            info, f"https://127.0.0.1:{port}/", ca_bundle=info.ca_bundle, connect_timeout=0.5
        )
    assert_one_cause(err, NetworkError, f"at 127.0.0.1:{port} did not answer in time", "VPN")
    assert err.retryable
