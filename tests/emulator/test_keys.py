"""Keys data plane through the official async KeyClient and CryptographyClient, with
signatures and ciphertexts checked locally with ``cryptography``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.transport import AioHttpTransport
from azure.keyvault.keys import (
    JsonWebKey,
    KeyRotationLifetimeAction,
    KeyRotationPolicy,
    KeyRotationPolicyAction,
    KeyVaultKey,
)
from azure.keyvault.keys.crypto import EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from kvtui.emulator import EmulatorInfo, EmulatorThread
from kvtui.emulator.crypto import add_key_version, generate_private_key, jwk_from_private_key
from tests.support import Clients, ClientSecretMsalCredential, kv_clients

CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


@asynccontextmanager
async def crypto_client(
    info: EmulatorInfo, key: KeyVaultKey | str
) -> AsyncIterator[CryptographyClient]:
    """A CryptographyClient built like tests.support builds the other clients."""
    ctx = ssl.create_default_context(cafile=info.ca_bundle)
    connector = aiohttp.TCPConnector(ssl=ctx)
    async with (
        aiohttp.ClientSession(connector=connector, trust_env=False) as session,
        ClientSecretMsalCredential(info) as cred,
    ):
        transport = AioHttpTransport(session=session, session_owner=False)
        client = CryptographyClient(
            key, cred, transport=transport, verify_challenge_resource=False, retry_total=0
        )
        async with client:
            yield client


def remote_only(key: KeyVaultKey) -> KeyVaultKey:
    """The key with its public material but no key_ops locally, so that the
    CryptographyClient sends encrypt/verify/wrap to the vault instead of doing them."""
    jwk = {f: getattr(key.key, f) for f in ("kid", "kty", "n", "e", "crv", "x", "y")}
    return KeyVaultKey(key.id, jwk={**jwk, "key_ops": []})


def rsa_public(key: KeyVaultKey) -> rsa.RSAPublicKey:
    n = int.from_bytes(key.key.n, "big")
    e = int.from_bytes(key.key.e, "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def ec_public(key: KeyVaultKey) -> ec.EllipticCurvePublicKey:
    x, y = (int.from_bytes(v, "big") for v in (key.key.x, key.key.y))
    return ec.EllipticCurvePublicNumbers(x, y, CURVES[key.key.crv]).public_key()


# -- create, get, list ----------------------------------------------------------------------


async def test_create_rsa_and_ec_keys(kv: Clients) -> None:
    rsa_key = await kv.keys.create_rsa_key("rsa", size=3072, tags={"env": "test"})
    assert rsa_key.key_type == "RSA"
    assert rsa_public(rsa_key).key_size == 3072
    assert rsa_key.key.e == b"\x01\x00\x01"
    assert sorted(rsa_key.key_operations) == sorted(
        ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
    )
    assert rsa_key.properties.tags == {"env": "test"}
    assert rsa_key.properties.exportable is False
    assert rsa_key.id == f"{kv.vault_url}keys/rsa/{rsa_key.properties.version}"

    ec_key = await kv.keys.create_ec_key("ec", curve="P-384", key_operations=["sign"])
    assert (ec_key.key_type, ec_key.key.crv, ec_key.key_operations) == ("EC", "P-384", ["sign"])
    assert ec_public(ec_key).curve.name == "secp384r1"

    hsm = await kv.keys.create_rsa_key("hsm", hardware_protected=True)
    assert hsm.key_type == "RSA-HSM"
    assert rsa_public(hsm).key_size == 2048

    latest = await kv.keys.get_key("rsa")  # GET /keys/rsa/ (trailing slash)
    assert latest.id == rsa_key.id and latest.key.n == rsa_key.key.n
    by_version = await kv.keys.get_key("ec", ec_key.properties.version)
    assert by_version.key.x == ec_key.key.x


async def test_create_refuses_what_a_vault_refuses(kv: Clients) -> None:
    with pytest.raises(HttpResponseError) as oct_err:
        await kv.keys.create_oct_key("sym")
    assert oct_err.value.status_code == 400
    assert oct_err.value.error.code == "BadParameter"
    assert "Invalid kty value: oct" in oct_err.value.message
    with pytest.raises(HttpResponseError) as size_err:
        await kv.keys.create_rsa_key("small", size=1024)
    assert size_err.value.status_code == 400
    with pytest.raises(HttpResponseError) as ops_err:
        await kv.keys.create_ec_key("ec", key_operations=["sign", "encrypt"])
    assert ops_err.value.status_code == 400 and '"encrypt"' in ops_err.value.message
    with pytest.raises(HttpResponseError) as name_err:
        await kv.keys.create_rsa_key("bad_name")
    assert name_err.value.status_code == 400
    assert name_err.value.error.code == "BadParameter"


async def test_missing_key_is_404_key_not_found(kv: Clients) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        await kv.keys.get_key("nope")
    assert err.value.status_code == 404
    assert err.value.error.code == "KeyNotFound"
    assert "A key with (name/id) nope was not found in this key vault" in err.value.message
    with pytest.raises(ResourceNotFoundError) as deleted:
        await kv.keys.get_deleted_key("nope")
    assert deleted.value.error.code == "KeyNotFound"


async def test_list_keys_and_versions_page_past_25(kv: Clients) -> None:
    await asyncio.gather(*(kv.keys.create_ec_key(f"k{i:02d}") for i in range(30)))
    items = [p async for p in kv.keys.list_properties_of_keys()]
    assert [p.name for p in items] == [f"k{i:02d}" for i in range(30)]
    assert items[0].id == f"{kv.vault_url}keys/k00"  # a KeyItem's kid has no version
    assert items[0].version is None and items[0].managed is None

    made = {(await kv.keys.create_ec_key("many")).properties.version for _ in range(27)}
    versions = [p async for p in kv.keys.list_properties_of_key_versions("many")]
    assert {p.version for p in versions} == made
    assert len(versions) == 27


async def test_import_jwk(kv: Clients, info: EmulatorInfo) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    nums = private.private_numbers()
    jwk = JsonWebKey(
        kty="EC",
        crv="P-256",
        key_ops=["sign", "verify"],
        x=nums.public_numbers.x.to_bytes(32, "big"),
        y=nums.public_numbers.y.to_bytes(32, "big"),
        d=nums.private_value.to_bytes(32, "big"),
    )
    imported = await kv.keys.import_key("imported", jwk, hardware_protected=True, tags={"a": "b"})
    assert imported.key_type == "EC-HSM"
    assert imported.key.d is None  # the private half never comes back
    assert ec_public(imported).public_numbers() == private.public_key().public_numbers()
    assert imported.properties.tags == {"a": "b"}

    digest = hashlib.sha256(b"imported").digest()
    async with crypto_client(info, imported) as client:
        result = await client.sign(SignatureAlgorithm.es256, digest)
    size = 32
    der = encode_dss_signature(
        int.from_bytes(result.signature[:size], "big"),
        int.from_bytes(result.signature[size:], "big"),
    )
    private.public_key().verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))


async def test_update_key_properties(kv: Clients) -> None:
    key = await kv.keys.create_rsa_key("upd")
    updated = await kv.keys.update_key_properties(
        "upd", key_operations=["sign", "verify"], enabled=False, tags={"t": "1"}
    )
    assert updated.key_operations == ["sign", "verify"]
    assert updated.properties.enabled is False
    assert updated.properties.tags == {"t": "1"}
    again = await kv.keys.get_key("upd", key.properties.version)
    assert again.properties.enabled is False and again.key_operations == ["sign", "verify"]
    with pytest.raises(ResourceNotFoundError):
        await kv.keys.update_key_properties("upd", "0" * 32, enabled=True)


# -- soft delete ----------------------------------------------------------------------------


async def test_delete_conflict_recover_purge(kv: Clients) -> None:
    key = await kv.keys.create_rsa_key("gone", tags={"x": "y"})
    deleted = await kv.keys.delete_key("gone")
    assert deleted.recovery_id == f"{kv.vault_url}deletedkeys/gone"
    assert deleted.key.n == key.key.n and deleted.scheduled_purge_date is not None

    with pytest.raises(ResourceExistsError) as conflict:
        await kv.keys.create_rsa_key("gone")
    assert conflict.value.status_code == 409
    assert conflict.value.error.innererror["code"] == "ObjectIsDeletedButRecoverable"

    listed = [d async for d in kv.keys.list_deleted_keys()]
    assert [d.name for d in listed] == ["gone"]
    recovered = await kv.keys.recover_deleted_key("gone")
    assert recovered.id == key.id
    assert (await kv.keys.get_key("gone")).properties.tags == {"x": "y"}

    await kv.keys.delete_key("gone")
    await kv.keys.purge_deleted_key("gone")
    with pytest.raises(ResourceNotFoundError):
        await kv.keys.get_deleted_key("gone")
    fresh = await kv.keys.create_rsa_key("gone")
    assert fresh.properties.version != key.properties.version


# -- rotation, backup -----------------------------------------------------------------------


async def test_rotate_keeps_type_size_and_curve(kv: Clients) -> None:
    rsa_key = await kv.keys.create_rsa_key("rot-rsa", size=3072, key_operations=["sign", "verify"])
    rotated = await kv.keys.rotate_key("rot-rsa")
    assert rotated.properties.version != rsa_key.properties.version
    assert rotated.key.n != rsa_key.key.n
    assert rsa_public(rotated).key_size == 3072
    assert rotated.key_operations == ["sign", "verify"]
    assert (await kv.keys.get_key("rot-rsa")).properties.version == rotated.properties.version

    ec_key = await kv.keys.create_ec_key("rot-ec", curve="P-521", hardware_protected=True)
    ec_rotated = await kv.keys.rotate_key("rot-ec")
    assert (ec_rotated.key_type, ec_rotated.key.crv) == (ec_key.key_type, "P-521")


async def test_rotation_policy_round_trip(kv: Clients) -> None:
    await kv.keys.create_ec_key("pol")
    default = await kv.keys.get_key_rotation_policy("pol")
    assert default.id == f"{kv.vault_url}keys/pol/rotationpolicy"
    assert [(a.action, a.time_before_expiry) for a in default.lifetime_actions] == [
        (KeyRotationPolicyAction.notify, "P30D")
    ]
    assert default.created_on is None and default.expires_in is None

    policy = KeyRotationPolicy(
        expires_in="P90D",
        lifetime_actions=[
            KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P60D"),
            KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P10D"),
        ],
    )
    saved = await kv.keys.update_key_rotation_policy("pol", policy)
    got = await kv.keys.get_key_rotation_policy("pol")
    for p in (saved, got):
        assert p.expires_in == "P90D"
        assert [
            (a.action, a.time_after_create, a.time_before_expiry) for a in p.lifetime_actions
        ] == [
            (KeyRotationPolicyAction.rotate, "P60D", None),
            (KeyRotationPolicyAction.notify, None, "P10D"),
        ]
        assert p.created_on is not None
    rotated = await kv.keys.rotate_key("pol")
    assert rotated.properties.expires_on is not None  # expiryTime applied to the new version

    with pytest.raises(HttpResponseError) as err:
        await kv.keys.update_key_rotation_policy("pol", KeyRotationPolicy(expires_in="P2D"))
    assert err.value.status_code == 400


async def test_backup_restore_into_another_vault(
    kv: Clients, info: EmulatorInfo, emulator: EmulatorThread
) -> None:
    key = await kv.keys.create_rsa_key("moving")
    await kv.keys.rotate_key("moving")
    blob = await kv.keys.backup_key("moving")
    other = emulator.call(emulator.emulator.add_vault(f"keys-restore-{os.getpid()}-{id(blob)}"))
    async with kv_clients(info, other.url) as kv2:
        restored = await kv2.keys.restore_key_backup(blob)
        assert restored.name == "moving"
        assert restored.id.startswith(other.url)
        versions = [v.version async for v in kv2.keys.list_properties_of_key_versions("moving")]
        assert key.properties.version in versions and len(versions) == 2
        old = await kv2.keys.get_key("moving", key.properties.version)
        assert old.key.n == key.key.n
    with pytest.raises(ResourceExistsError):
        await kv.keys.restore_key_backup(blob)


# -- cryptography ---------------------------------------------------------------------------


async def test_encrypt_decrypt_round_trips(kv: Clients, info: EmulatorInfo) -> None:
    key = await kv.keys.create_rsa_key("enc")
    plaintext = b"attack at dawn"
    async with crypto_client(info, remote_only(key)) as remote:
        for alg in (
            EncryptionAlgorithm.rsa1_5,
            EncryptionAlgorithm.rsa_oaep,
            EncryptionAlgorithm.rsa_oaep_256,
        ):
            encrypted = await remote.encrypt(alg, plaintext)  # done by the vault
            assert len(encrypted.ciphertext) == 256
            decrypted = await remote.decrypt(alg, encrypted.ciphertext)
            assert decrypted.plaintext == plaintext

    local = rsa_public(key).encrypt(
        b"from outside",
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    async with crypto_client(info, key.id) as client:
        result = await client.decrypt(EncryptionAlgorithm.rsa_oaep_256, local)
        assert result.plaintext == b"from outside"
        assert result.key_id == key.id


async def test_wrap_unwrap_round_trip(kv: Clients, info: EmulatorInfo) -> None:
    key = await kv.keys.create_rsa_key("wrap", key_operations=["wrapKey", "unwrapKey"])
    cek = os.urandom(32)
    async with crypto_client(info, remote_only(key)) as client:
        wrapped = await client.wrap_key(KeyWrapAlgorithm.rsa_oaep, cek)
        assert wrapped.encrypted_key != cek
        unwrapped = await client.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key)
        assert unwrapped.key == cek
        with pytest.raises(HttpResponseError) as err:
            await client.decrypt(EncryptionAlgorithm.rsa_oaep, wrapped.encrypted_key)
        assert err.value.status_code == 403
        assert err.value.error.innererror["code"] == "KeyOperationForbidden"


RSA_SIGNATURES = [
    (SignatureAlgorithm.rs256, hashes.SHA256, False),
    (SignatureAlgorithm.rs384, hashes.SHA384, False),
    (SignatureAlgorithm.rs512, hashes.SHA512, False),
    (SignatureAlgorithm.ps256, hashes.SHA256, True),
    (SignatureAlgorithm.ps384, hashes.SHA384, True),
    (SignatureAlgorithm.ps512, hashes.SHA512, True),
]


async def test_rsa_signatures_verify_locally(kv: Clients, info: EmulatorInfo) -> None:
    key = await kv.keys.create_rsa_key("signer")
    public = rsa_public(key)
    async with crypto_client(info, remote_only(key)) as client:
        for alg, hash_cls, pss in RSA_SIGNATURES:
            digest = hashlib.new(hash_cls.name, b"message").digest()
            result = await client.sign(alg, digest)
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=len(digest))
                if pss
                else padding.PKCS1v15()
            )
            public.verify(result.signature, digest, pad, Prehashed(hash_cls()))
            assert (await client.verify(alg, digest, result.signature)).is_valid
            tampered = bytes([result.signature[0] ^ 1]) + result.signature[1:]
            assert not (await client.verify(alg, digest, tampered)).is_valid
            with pytest.raises(InvalidSignature):
                public.verify(tampered, digest, pad, Prehashed(hash_cls()))


@pytest.mark.parametrize(
    ("curve", "alg", "hash_cls"),
    [
        ("P-256", SignatureAlgorithm.es256, hashes.SHA256),
        ("P-384", SignatureAlgorithm.es384, hashes.SHA384),
        ("P-521", SignatureAlgorithm.es512, hashes.SHA512),
    ],
)
async def test_ec_signatures_are_raw_r_s_and_verify_locally(
    kv: Clients,
    info: EmulatorInfo,
    curve: str,
    alg: SignatureAlgorithm,
    hash_cls: type[hashes.HashAlgorithm],
) -> None:
    key = await kv.keys.create_ec_key("ecsign", curve=curve)
    digest = hashlib.new(hash_cls.name, b"payload").digest()
    size = (CURVES[curve].key_size + 7) // 8
    async with crypto_client(info, remote_only(key)) as client:
        result = await client.sign(alg, digest)
        assert len(result.signature) == 2 * size
        r = int.from_bytes(result.signature[:size], "big")
        s = int.from_bytes(result.signature[size:], "big")
        der = encode_dss_signature(r, s)
        ec_public(key).verify(der, digest, ec.ECDSA(Prehashed(hash_cls())))
        assert (await client.verify(alg, digest, result.signature)).is_valid
        assert not (await client.verify(alg, digest[::-1], result.signature)).is_valid


async def test_es256k_and_wrong_digest_length(kv: Clients, info: EmulatorInfo) -> None:
    key = await kv.keys.create_ec_key("k1", curve="P-256K")
    async with crypto_client(info, key.id) as client:
        digest = hashlib.sha256(b"btc").digest()
        result = await client.sign(SignatureAlgorithm.es256_k, digest)
        assert len(result.signature) == 64
        with pytest.raises(HttpResponseError) as err:
            await client.sign(SignatureAlgorithm.es256_k, digest[:20])
        assert err.value.status_code == 400
        with pytest.raises(HttpResponseError) as wrong_alg:
            await client.sign(SignatureAlgorithm.es384, hashlib.sha384(b"x").digest())
        assert wrong_alg.value.status_code == 400


async def test_disabled_key_refuses_sign_but_still_verifies(
    kv: Clients, info: EmulatorInfo
) -> None:
    key = await kv.keys.create_rsa_key("off")
    digest = hashlib.sha256(b"x").digest()
    async with crypto_client(info, remote_only(key)) as client:
        signature = (await client.sign(SignatureAlgorithm.rs256, digest)).signature
        await kv.keys.update_key_properties("off", enabled=False)
        with pytest.raises(HttpResponseError) as err:
            await client.sign(SignatureAlgorithm.rs256, digest)
        assert err.value.status_code == 403
        assert err.value.error.code == "Forbidden"
        assert err.value.error.innererror["code"] == "KeyDisabled"
        assert "Operation sign is not allowed on a disabled key." in err.value.message
        assert (await client.verify(SignatureAlgorithm.rs256, digest, signature)).is_valid


async def test_random_bytes(kv: Clients) -> None:
    first = await kv.keys.get_random_bytes(32)
    second = await kv.keys.get_random_bytes(128)
    assert len(first) == 32 and len(second) == 128 and first != second[:32]
    with pytest.raises(HttpResponseError) as err:
        await kv.keys.get_random_bytes(129)
    assert err.value.status_code == 400


async def test_release_and_attestation_are_refused_as_a_vault_refuses_them(kv: Clients) -> None:
    await kv.keys.create_rsa_key("plain")
    with pytest.raises(HttpResponseError) as release:
        await kv.keys.release_key("plain", "eyJ0eXAiOiJKV1QifQ.e30.sig")
    assert release.value.status_code == 403
    with pytest.raises(HttpResponseError) as attestation:
        await kv.keys.get_key_attestation("plain")
    assert attestation.value.status_code == 400
    with pytest.raises(HttpResponseError) as exportable:
        await kv.keys.create_rsa_key("exp", hardware_protected=True, exportable=True)
    assert "Exportable keys must have release policy" in exportable.value.message


async def test_managed_key_cannot_be_deleted_or_updated(
    kv: Clients, emulator: EmulatorThread, vault_url: str
) -> None:
    vault = next(v for v in emulator.state.vaults.values() if v.url == vault_url)

    async def add_managed() -> None:
        jwk = jwk_from_private_key(generate_private_key("RSA"))
        add_key_version(vault, "cert-key", jwk, managed=True)

    emulator.call(add_managed())
    key = await kv.keys.get_key("cert-key")
    assert key.properties.managed is True
    listed = [p async for p in kv.keys.list_properties_of_keys()]
    assert [(p.name, p.managed) for p in listed] == [("cert-key", True)]
    with pytest.raises(HttpResponseError) as deleting:
        await kv.keys.delete_key("cert-key")
    assert deleting.value.status_code == 403
    with pytest.raises(HttpResponseError) as updating:
        await kv.keys.update_key_properties("cert-key", enabled=False)
    assert updating.value.status_code == 403
    assert (await kv.keys.get_key("cert-key")).properties.enabled is True
