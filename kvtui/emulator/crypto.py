"""JSON Web Keys for the emulator: conversions between ``cryptography`` keys and the
JWK dicts a key version stores, and adding key versions to a vault.

A key version's ``data`` (``KeyData``) holds the private JWK (base64url fields); the
``kid`` is never stored (it is the version's URL). Shared by keys.py and the certificates
(certstore.py, certificates.py).
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from kvtui.emulator.common import b64url_decode, b64url_encode
from kvtui.emulator.lifecycle import add_version
from kvtui.emulator.store import Item, KeyData, Vault, Version

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
    "P-256K": ec.SECP256K1(),
}
CURVE_NAMES = {type(c).__name__: name for name, c in CURVES.items()}
RSA_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
EC_OPS = ["sign", "verify"]
PUBLIC_FIELDS = ("kty", "n", "e", "crv", "x", "y")


def _int_bytes(value: int, length: int | None = None) -> bytes:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(size, "big")


def _b64(value: int, length: int | None = None) -> str:
    return b64url_encode(_int_bytes(value, length))


def _int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def jwk_from_private_key(
    key: PrivateKey, key_ops: list[str] | None = None, hsm: bool = False
) -> dict[str, Any]:
    """A private JWK (kty RSA/EC, or RSA-HSM/EC-HSM when ``hsm``) with its key_ops."""
    if isinstance(key, rsa.RSAPrivateKey):
        priv = key.private_numbers()
        pub = priv.public_numbers
        jwk: dict[str, Any] = {
            "kty": "RSA-HSM" if hsm else "RSA",
            "key_ops": list(key_ops if key_ops is not None else RSA_OPS),
            "n": _b64(pub.n),
            "e": _b64(pub.e),
            "d": _b64(priv.d),
            "p": _b64(priv.p),
            "q": _b64(priv.q),
            "dp": _b64(priv.dmp1),
            "dq": _b64(priv.dmq1),
            "qi": _b64(priv.iqmp),
        }
        return jwk
    crv = CURVE_NAMES[type(key.curve).__name__]
    size = (key.curve.key_size + 7) // 8
    epriv = key.private_numbers()
    return {
        "kty": "EC-HSM" if hsm else "EC",
        "key_ops": list(key_ops if key_ops is not None else EC_OPS),
        "crv": crv,
        "x": _b64(epriv.public_numbers.x, size),
        "y": _b64(epriv.public_numbers.y, size),
        "d": _b64(epriv.private_value, size),
    }


def private_key_from_jwk(jwk: dict[str, Any]) -> PrivateKey:
    """The ``cryptography`` private key of a stored private JWK."""
    kty = str(jwk["kty"])
    if kty.startswith("RSA"):
        pub = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"]))
        return rsa.RSAPrivateNumbers(
            p=_int(jwk["p"]),
            q=_int(jwk["q"]),
            d=_int(jwk["d"]),
            dmp1=_int(jwk["dp"]),
            dmq1=_int(jwk["dq"]),
            iqmp=_int(jwk["qi"]),
            public_numbers=pub,
        ).private_key()
    curve = CURVES[jwk["crv"]]
    epub = ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), curve)
    return ec.EllipticCurvePrivateNumbers(_int(jwk["d"]), epub).private_key()


def public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """The public half of a stored JWK, as the service returns it in a KeyBundle's ``key``
    (without ``kid``, which the caller adds)."""
    out = {k: jwk[k] for k in PUBLIC_FIELDS if k in jwk}
    out["key_ops"] = list(jwk.get("key_ops", []))
    return out


def generate_private_key(kty: str, size: int | None = None, crv: str | None = None) -> PrivateKey:
    """A new RSA (default 2048 bits) or EC (default P-256) private key."""
    if kty.upper().startswith("RSA"):
        return rsa.generate_private_key(public_exponent=65537, key_size=size or 2048)
    return ec.generate_private_key(CURVES[crv or "P-256"])


def add_key_version(
    vault: Vault,
    name: str,
    jwk: dict[str, Any],
    *,
    tags: dict[str, str] | None = None,
    attributes: dict[str, Any] | None = None,
    managed: bool = False,
    version: str | None = None,
) -> tuple[Item[KeyData], Version[KeyData]]:
    """Add a new version of a key (creating the key if needed) holding the private JWK,
    created at the vault's time. The caller validated the name and the inputs."""
    return add_version(
        vault.keys,
        name,
        KeyData(jwk),
        tags=tags,
        attributes=attributes,
        managed=managed,
        version=version,
        now=vault.clock.now(),
    )


# -- cryptographic operations on a stored private JWK ---------------------------------------


class CryptoInputError(ValueError):
    """The request cannot be served with this key (wrong algorithm, digest or data):
    the caller answers 400 BadParameter with the message."""


ENCRYPTION_ALGORITHMS = ("RSA1_5", "RSA-OAEP", "RSA-OAEP-256")
SIGN_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
    "PS256": hashes.SHA256,
    "PS384": hashes.SHA384,
    "PS512": hashes.SHA512,
    "ES256": hashes.SHA256,
    "ES384": hashes.SHA384,
    "ES512": hashes.SHA512,
    "ES256K": hashes.SHA256,
}
EC_ALGORITHM_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "ES256K": "P-256K"}


def is_rsa(jwk: dict[str, Any]) -> bool:
    return str(jwk.get("kty", "")).startswith("RSA")


def key_size(jwk: dict[str, Any]) -> int:
    """An RSA key's modulus size in bits, or an EC key's curve size."""
    if is_rsa(jwk):
        return _int(jwk["n"]).bit_length()
    return CURVES[jwk["crv"]].key_size


def rsa_public_exponent(jwk: dict[str, Any]) -> int:
    return _int(jwk["e"])


def _rsa_padding(alg: str) -> padding.AsymmetricPadding:
    if alg == "RSA1_5":
        return padding.PKCS1v15()
    algo: hashes.HashAlgorithm = hashes.SHA1() if alg == "RSA-OAEP" else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(algo), algorithm=algo, label=None)


def _rsa_key(jwk: dict[str, Any], alg: str) -> rsa.RSAPrivateKey:
    if alg not in ENCRYPTION_ALGORITHMS:
        raise CryptoInputError(
            f"Invalid algorithm: {alg}. Supported values are {', '.join(ENCRYPTION_ALGORITHMS)}."
        )
    key = private_key_from_jwk(jwk)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoInputError(f"The algorithm {alg} is not supported by a {jwk['kty']} key.")
    return key


def encrypt(jwk: dict[str, Any], alg: str, plaintext: bytes) -> bytes:
    """RSA1_5, RSA-OAEP (SHA-1) or RSA-OAEP-256 with the key's public half."""
    key = _rsa_key(jwk, alg)
    try:
        return key.public_key().encrypt(plaintext, _rsa_padding(alg))
    except ValueError as exc:
        raise CryptoInputError(
            f"The value is too long to encrypt with {alg} and this key."
        ) from exc


def decrypt(jwk: dict[str, Any], alg: str, ciphertext: bytes) -> bytes:
    key = _rsa_key(jwk, alg)
    if len(ciphertext) != (key.key_size + 7) // 8:
        raise CryptoInputError("The ciphertext length does not match the key size.")
    try:
        return key.decrypt(ciphertext, _rsa_padding(alg))
    except ValueError as exc:
        raise CryptoInputError("The value could not be decrypted with this key.") from exc


def _sign_setup(
    jwk: dict[str, Any], alg: str, digest: bytes
) -> tuple[PrivateKey, hashes.HashAlgorithm]:
    hash_cls = SIGN_HASHES.get(alg)
    if hash_cls is None:
        raise CryptoInputError(f"Invalid algorithm: {alg}.")
    key = private_key_from_jwk(jwk)
    if alg.startswith("ES") != isinstance(key, ec.EllipticCurvePrivateKey):
        raise CryptoInputError(f"The algorithm {alg} is not supported by a {jwk['kty']} key.")
    if alg.startswith("ES") and EC_ALGORITHM_CURVES[alg] != jwk.get("crv"):
        raise CryptoInputError(
            f"The algorithm {alg} requires a key on curve {EC_ALGORITHM_CURVES[alg]}, "
            f"not {jwk.get('crv')}."
        )
    hash_algo = hash_cls()
    if len(digest) != hash_algo.digest_size:
        raise CryptoInputError(
            f"Invalid digest length for {alg}: {len(digest)} bytes, "
            f"expected {hash_algo.digest_size}."
        )
    return key, hash_algo


def _rsa_sign_padding(alg: str, hash_algo: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    if alg.startswith("PS"):
        return padding.PSS(mgf=padding.MGF1(hash_algo), salt_length=hash_algo.digest_size)
    return padding.PKCS1v15()


def sign_digest(jwk: dict[str, Any], alg: str, digest: bytes) -> bytes:
    """Sign an already computed digest; EC signatures are raw ``r || s`` (JWS), not DER."""
    key, hash_algo = _sign_setup(jwk, alg, digest)
    prehashed = Prehashed(hash_algo)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(digest, _rsa_sign_padding(alg, hash_algo), prehashed)
    r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(prehashed)))
    size = (key.curve.key_size + 7) // 8
    return _int_bytes(r, size) + _int_bytes(s, size)


def verify_digest(jwk: dict[str, Any], alg: str, digest: bytes, signature: bytes) -> bool:
    key, hash_algo = _sign_setup(jwk, alg, digest)
    prehashed = Prehashed(hash_algo)
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            key.public_key().verify(signature, digest, _rsa_sign_padding(alg, hash_algo), prehashed)
            return True
        size = (key.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            return False
        der = encode_dss_signature(
            int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        )
        key.public_key().verify(der, digest, ec.ECDSA(prehashed))
        return True
    except InvalidSignature:
        return False
