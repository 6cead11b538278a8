"""Creating keys and certificates, and a key's cryptographic operations
(kvtui/core/writes.py, kvtui/core/keyops.py), over the real SDK against the emulator;
each result is checked with the official client."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest
from azure.keyvault.keys.crypto import EncryptionAlgorithm, SignatureAlgorithm

from kvtui.core import keyops, writes
from kvtui.core.errors import VaultError
from kvtui.core.models import Item, KeyDetail, Kind
from kvtui.core.validation import InvalidValue
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo
from kvtui.emulator.store import Vault
from tests.support import Clients, open_service


@pytest.fixture
async def svc(info: EmulatorInfo, vault: Vault) -> AsyncIterator[VaultService]:
    async with open_service(info, vault.url) as service:
        yield service


async def test_a_new_key_is_rsa_2048_with_every_operation_by_default(
    svc: VaultService, sdk: Clients
) -> None:
    made = await writes.create_key(svc, "signing")
    key = await sdk.keys.get_key("signing")
    assert key.properties.version == made.version
    assert str(key.key_type) in ("RSA", "KeyType.rsa") or key.key_type == "RSA"
    assert int.from_bytes(key.key.n, "big").bit_length() == 2048
    assert set(key.key_operations or []) == set(writes.RSA_OPERATIONS)


async def test_a_new_ec_key_with_dates_tags_and_fewer_operations(
    svc: VaultService, sdk: Clients
) -> None:
    fields = writes.SecretFields(tags={"team": "payments"}, enabled=False)
    new = writes.NewKey("EC P-384", operations=("sign",), fields=fields)
    await writes.create_key(svc, "ec-key", new)
    key = await sdk.keys.get_key("ec-key")
    assert key.key.crv == "P-384"
    assert list(key.key_operations or []) == ["sign"]
    assert key.properties.tags == {"team": "payments"}
    assert key.properties.enabled is False


async def test_an_exportable_key_needs_a_release_policy(svc: VaultService) -> None:
    with pytest.raises(VaultError, match="release policy"):
        await writes.create_key(svc, "exp", writes.NewKey(exportable=True))


def _detail(item: Item, kty: str, ops: tuple[str, ...], curve: str | None = None) -> KeyDetail:
    item.key_type = kty
    return KeyDetail(item=item, key_type=kty, key_ops=ops, curve=curve)


async def test_encrypt_here_decrypt_there_and_back(svc: VaultService, sdk: Clients) -> None:
    made = await writes.create_key(svc, "enc")
    text = b"hello from kvtui"
    enc = await keyops.run(svc, "enc", None, "encrypt", "RSA-OAEP-256", text)
    assert enc.where == "locally with the public key"
    assert enc.key_id.endswith(f"/keys/enc/{made.version}")
    crypto = sdk.keys.get_cryptography_client("enc")
    back = await crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc.data)
    assert back.plaintext == text
    dec = await keyops.run(svc, "enc", made.version, "decrypt", "RSA-OAEP-256", enc.data)
    assert dec.data == text and dec.secret and dec.where == "the vault"


async def test_wrap_and_unwrap(svc: VaultService) -> None:
    await writes.create_key(svc, "wrap")
    cek = os.urandom(32)
    wrapped = await keyops.run(svc, "wrap", None, "wrapKey", "RSA-OAEP", cek)
    unwrapped = await keyops.run(svc, "wrap", None, "unwrapKey", "RSA-OAEP", wrapped.data)
    assert unwrapped.data == cek and wrapped.data != cek


@pytest.mark.parametrize(("shape", "alg"), [("EC P-256", "ES256"), ("RSA 2048", "PS384")])
async def test_sign_hashes_locally_and_verify_checks_both_ways(
    svc: VaultService, sdk: Clients, shape: str, alg: str
) -> None:
    await writes.create_key(svc, "sig", writes.NewKey(shape))
    data = b"release-1.2.3.tar.gz contents"
    signed = await keyops.run(svc, "sig", None, "sign", alg, data)
    crypto = sdk.keys.get_cryptography_client("sig")
    checked = await crypto.verify(SignatureAlgorithm(alg), keyops.digest(alg, data), signed.data)
    assert checked.is_valid
    ok = await keyops.run(svc, "sig", None, "verify", alg, data, signed.data)
    assert ok.valid is True and ok.where == "locally with the public key, and by the vault"
    bad = await keyops.run(svc, "sig", None, "verify", alg, data + b"!", signed.data)
    assert bad.valid is False and not bad.disagreement


def test_which_operations_and_algorithms_a_key_offers() -> None:
    item = Item(Kind.KEYS, "k", "https://v/keys/k")
    ec = _detail(item, "EC", ("sign", "verify"), "P-256")
    assert keyops.default_operation(ec) == "sign"
    assert keyops.algorithms("sign", "EC", "P-256") == ("ES256",)
    assert "EC key cannot encrypt" in (keyops.refusal("encrypt", ec) or "")
    rsa = _detail(Item(Kind.KEYS, "r", "https://v/keys/r"), "RSA", ("encrypt", "sign"))
    assert keyops.default_operation(rsa) == "encrypt"
    assert keyops.algorithms("encrypt", "RSA", None)[0] == "RSA-OAEP-256"
    assert keyops.refusal("decrypt", rsa) == "the key's permitted operations do not include decrypt"
    off = _detail(Item(Kind.KEYS, "o", "https://v/keys/o", enabled=False), "RSA", ())
    assert keyops.refusal("sign", off) == "the key is disabled"


def test_input_is_text_or_base64_either_alphabet() -> None:
    assert keyops.parse_input("héllo", "text") == "héllo".encode()
    raw = bytes(range(250, 256)) * 3
    assert keyops.parse_input(keyops.b64url(raw), "base64") == raw
    import base64

    assert keyops.parse_input(base64.b64encode(raw).decode() + "\n", "base64") == raw
    with pytest.raises(InvalidValue, match="not base64"):
        keyops.parse_input("not*base64", "base64")
    assert keyops.as_text(b"plain text\n") == "plain text\n"
    assert keyops.as_text(b"\x1b[31mred") is None and keyops.as_text(b"\xff") is None
    assert keyops.digest("ES384", b"x") == hashlib.sha384(b"x").digest()


async def test_a_self_signed_certificate_with_its_subject_and_sans(
    svc: VaultService, sdk: Clients
) -> None:
    new = writes.NewCertificate(
        subject="CN=api.example.com",
        dns_names=("api.example.com", "www.example.com"),
        validity_months=6,
        shape="EC P-256",
        content_type="application/x-pem-file",
        action="EmailContacts",
        percentage=None,
        days_before=30,
        tags={"owner": "web"},
    )
    created = await writes.create_certificate(svc, "api-cert", new)
    assert created.status == "completed" and created.item is not None
    cert = await sdk.certificates.get_certificate("api-cert")
    assert cert.policy is not None
    assert cert.policy.subject == "CN=api.example.com"
    assert cert.policy.san_dns_names == ["api.example.com", "www.example.com"]
    assert cert.policy.validity_in_months == 6
    assert cert.policy.key_curve_name == "P-256"
    assert cert.policy.content_type == "application/x-pem-file"
    action = cert.policy.lifetime_actions[0]
    assert (str(action.action.value), action.days_before_expiry) == ("EmailContacts", 30)
    assert cert.properties.tags == {"owner": "web"}


async def test_an_unknown_issuer_leaves_a_csr_pending_and_it_can_be_cancelled(
    svc: VaultService, sdk: Clients
) -> None:
    new = writes.NewCertificate(subject="CN=pending.example.com", issuer="Unknown")
    created = await writes.create_certificate(svc, "pend", new)
    assert created.item is None and created.status == "inProgress"
    assert created.csr  # the request to have signed
    assert await writes.cancel_certificate_operation(svc, "pend")
    op = await sdk.certificates.get_certificate_operation("pend")
    assert op.cancellation_requested
    await writes.delete_certificate_operation(svc, "pend")
    with pytest.raises(Exception, match=r"(?i)not found|pending"):
        await sdk.certificates.get_certificate_operation("pend")
