"""The emulator's one X.509 builder (x509build.py), used by the certificates data plane
and by the local CA (tls.py), and the module size the emulator keeps to. Pure: no
emulator is started."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import kvtui.emulator
from kvtui.emulator.seed import derived_ec_key
from kvtui.emulator.tls import ensure_tls
from kvtui.emulator.x509build import build_certificate, parse_dn, sign_certificate

MAX_LINES = 600
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def test_deterministic_ec_signing_gives_the_same_certificate_every_time() -> None:
    key = derived_ec_key("test/x509build", "P-256")
    props = {"subject": "CN=same.example", "validity_months": 12, "key_usage": []}
    one = build_certificate(key, props, 1_700_000_000, serial=7, deterministic=True)
    two = build_certificate(key, props, 1_700_000_000, serial=7, deterministic=True)
    assert _der(one) == _der(two)
    # Without it ECDSA signs with a random nonce: the bytes differ.
    three = build_certificate(key, props, 1_700_000_000, serial=7)
    assert _der(three) != _der(one)


def test_sign_certificate_self_signs_unless_given_an_issuer() -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = parse_dn("CN=test CA, O=kvtui")
    ca = sign_certificate(ca_name, ca_key, ca_key, T0, T0 + dt.timedelta(days=1), [])
    assert ca.issuer == ca.subject == ca_name
    ca.verify_directly_issued_by(ca)
    leaf = sign_certificate(
        parse_dn("CN=leaf"),
        leaf_key.public_key(),
        ca_key,
        T0,
        T0 + dt.timedelta(days=1),
        [(x509.BasicConstraints(ca=False, path_length=None), True)],
        issuer=ca.subject,
    )
    leaf.verify_directly_issued_by(ca)
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).critical


def test_the_https_certificate_is_issued_by_the_local_ca(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, ("10.1.2.3",))
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(a) for a in san.get_values_for_type(x509.IPAddress)} >= {"10.1.2.3", "127.0.0.1"}


def test_no_emulator_module_is_over_600_lines() -> None:
    folder = Path(kvtui.emulator.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in folder.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
