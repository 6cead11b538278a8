"""JSON Web Keys for the emulator: conversions between ``cryptography`` keys and the
JWK dicts a key version stores, and adding key versions to a vault.

A key Version's ``data`` holds ``{"jwk": <private JWK, base64url fields>}``; the
``kid`` is never stored (it is the version's URL). Shared by keys.py and certificates.py.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kvtui.emulator.common import b64url_decode, b64url_encode
from kvtui.emulator.store import Attributes, Item, Vault, Version, new_version, now

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


def jwk_from_private_key(key: PrivateKey, key_ops: list[str] | None = None,
                         hsm: bool = False) -> dict[str, Any]:
    """A private JWK (kty RSA/EC, or RSA-HSM/EC-HSM when ``hsm``) with its key_ops."""
    if isinstance(key, rsa.RSAPrivateKey):
        priv = key.private_numbers()
        pub = priv.public_numbers
        jwk: dict[str, Any] = {
            "kty": "RSA-HSM" if hsm else "RSA",
            "key_ops": list(key_ops if key_ops is not None else RSA_OPS),
            "n": _b64(pub.n), "e": _b64(pub.e), "d": _b64(priv.d),
            "p": _b64(priv.p), "q": _b64(priv.q), "dp": _b64(priv.dmp1),
            "dq": _b64(priv.dmq1), "qi": _b64(priv.iqmp),
        }
        return jwk
    crv = CURVE_NAMES[type(key.curve).__name__]
    size = (key.curve.key_size + 7) // 8
    epriv = key.private_numbers()
    return {
        "kty": "EC-HSM" if hsm else "EC",
        "key_ops": list(key_ops if key_ops is not None else EC_OPS),
        "crv": crv,
        "x": _b64(epriv.public_numbers.x, size), "y": _b64(epriv.public_numbers.y, size),
        "d": _b64(epriv.private_value, size),
    }


def private_key_from_jwk(jwk: dict[str, Any]) -> PrivateKey:
    """The ``cryptography`` private key of a stored private JWK."""
    kty = str(jwk["kty"])
    if kty.startswith("RSA"):
        pub = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"]))
        return rsa.RSAPrivateNumbers(
            p=_int(jwk["p"]), q=_int(jwk["q"]), d=_int(jwk["d"]), dmp1=_int(jwk["dp"]),
            dmq1=_int(jwk["dq"]), iqmp=_int(jwk["qi"]), public_numbers=pub,
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
    vault: Vault, name: str, jwk: dict[str, Any], *, tags: dict[str, str] | None = None,
    attributes: dict[str, Any] | None = None, managed: bool = False,
    version: str | None = None, when: int | None = None,
) -> tuple[Item, Version]:
    """Add a new version of a key (creating the key if needed) holding the private JWK.
    The caller validated the name and the inputs."""
    t = now() if when is None else when
    attrs = Attributes(created=t, updated=t)
    attrs.apply(attributes)
    v = Version(version or new_version(), attrs, tags, {"jwk": jwk})
    item = vault.keys.get(name)
    if item is None:
        item = Item(name=name)
        vault.keys.put(item)
    if managed:
        item.extra["managed"] = True
    item.versions.append(v)
    return item, v
