"""The emulator's local certificate authority and its HTTPS server certificate (built
by x509build.py's ``sign_certificate``, the builder the certificates data plane uses).

Both live in the state folder (never in the repository). The CA is kept across runs so a
client that trusts it once keeps trusting it; the server certificate is re-issued when it
is missing, near expiry, or does not name the host the emulator serves on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kvtui.emulator.x509build import private_key_pem, sign_certificate

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _ensure_ca(state_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = state_dir / CA_CERT, state_dir / CA_KEY
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if isinstance(
            key, ec.EllipticCurvePrivateKey
        ) and cert.not_valid_after_utc > _now() + dt.timedelta(days=30):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kvtui emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "kvtui emulator local CA"),
        ]
    )
    now = _now()
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = sign_certificate(
        name,
        key,
        key,
        now - dt.timedelta(minutes=5),
        now + dt.timedelta(days=3650),
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (usage, True),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
        ],
    )
    _write_private(key_path, private_key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # A new CA invalidates any server certificate signed by the old one.
    (state_dir / SERVER_CERT).unlink(missing_ok=True)
    return cert, key


def _server_cert_ok(path: Path, ca: x509.Certificate, hosts: set[str]) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca.subject or cert.not_valid_after_utc < _now() + dt.timedelta(days=7):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    names = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    names |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    return hosts <= names


def ensure_tls(state_dir: Path, extra_hosts: tuple[str, ...] = ()) -> TlsFiles:
    """Create (or reuse) the CA and a server certificate for 127.0.0.1, localhost, ::1."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _ensure_ca(state_dir)
    hosts = {"127.0.0.1", "localhost", "::1", *extra_hosts}
    cert_path, key_path = state_dir / SERVER_CERT, state_dir / SERVER_KEY
    if not (_server_cert_ok(cert_path, ca_cert, hosts) and key_path.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for host in sorted(hosts):
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alt.append(x509.DNSName(host))
        now = _now()
        cert = sign_certificate(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
            key,
            ca_key,
            now - dt.timedelta(minutes=5),
            now + dt.timedelta(days=365),
            [
                (x509.SubjectAlternativeName(alt), False),
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
                (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
            ],
            issuer=ca_cert.subject,
        )
        _write_private(key_path, private_key_pem(key))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(ca_cert=state_dir / CA_CERT, server_cert=cert_path, server_key=key_path)


def server_ssl_context(files: TlsFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(files.server_cert), str(files.server_key))
    return ctx


def client_ssl_context(ca_bundle: str | Path) -> ssl.SSLContext:
    """An SSL context that trusts exactly the given CA bundle (not the environment's)."""
    return ssl.create_default_context(cafile=str(ca_bundle))
