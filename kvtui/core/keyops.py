"""Cryptographic operations with a vault key, without Textual: encrypt, decrypt, sign,
verify, wrap and unwrap, over the SDK's ``CryptographyClient``.

- **Where each runs.** The private key never leaves the vault: decrypt, unwrap and sign
  are the vault's. Encrypt and wrap need only the public key: they run locally with it
  (as the SDK does) when the key can be read, and by the vault otherwise. Verify runs
  both ways, locally against the public key and by the vault, and says which agreed.
- **Signing** hashes the data locally (SHA-256/384/512, as the algorithm names) and
  sends only the digest.
- **Which operations a key allows** (:func:`refusal`): its ``key_ops``, its type (an EC
  key only signs and verifies), enabled. The dialog shows the others disabled, with
  this reason.

Decrypted and unwrapped bytes are treated as a secret value by the caller: masked
until revealed, never logged. Nothing here logs data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from azure.core.rest import HttpRequest
from azure.keyvault.keys import KeyVaultKey
from azure.keyvault.keys.crypto import EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient

from kvtui.core.errors import VaultError
from kvtui.core.models import KeyDetail
from kvtui.core.validation import InvalidValue

#: In the dialog's order.
OPERATIONS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
LABELS = {"encrypt": "encrypt", "decrypt": "decrypt", "sign": "sign", "verify": "verify",
          "wrapKey": "wrap", "unwrapKey": "unwrap"}  # fmt: skip
RSA_CIPHERS = ("RSA-OAEP-256", "RSA-OAEP", "RSA1_5")
RSA_SIGNATURES = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_SIGNATURES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "P-256K": "ES256K"}
#: What the operation turns into what: its input, and its result.
INPUTS = {"encrypt": "plaintext", "decrypt": "ciphertext", "sign": "data", "verify": "data",
          "wrapKey": "key to wrap", "unwrapKey": "wrapped key"}  # fmt: skip
RESULTS = {"encrypt": "ciphertext", "decrypt": "plaintext", "sign": "signature",
           "wrapKey": "wrapped key", "unwrapKey": "unwrapped key"}  # fmt: skip
#: Results that are secret: masked until revealed.
SECRET_RESULTS = frozenset({"decrypt", "unwrapKey"})

InputMode = Literal["text", "base64", "file"]


def is_ec(key_type: str | None) -> bool:
    return (key_type or "").upper().startswith("EC")


def algorithms(operation: str, key_type: str | None, curve: str | None) -> tuple[str, ...]:
    """The algorithms the operation can use with this key, the default first."""
    if is_ec(key_type):
        if operation not in ("sign", "verify"):
            return ()
        alg = EC_SIGNATURES.get(curve or "")
        return (alg,) if alg else tuple(EC_SIGNATURES.values())
    if operation in ("sign", "verify"):
        return RSA_SIGNATURES
    return RSA_CIPHERS


def default_operation(detail: KeyDetail) -> str:
    """Encrypt for an RSA key, sign for an EC key (when allowed; else the first that is)."""
    first = "sign" if is_ec(detail.key_type) else "encrypt"
    if refusal(first, detail) is None:
        return first
    return next((op for op in OPERATIONS if refusal(op, detail) is None), first)


def refusal(operation: str, detail: KeyDetail) -> str | None:
    """Why the key cannot do ``operation`` (None: it can)."""
    label = LABELS[operation]
    if is_ec(detail.key_type) and operation not in ("sign", "verify"):
        return f"an EC key cannot {label}: it signs and verifies only"
    if not detail.item.enabled:
        return "the key is disabled"
    if detail.key_ops and operation not in detail.key_ops:
        return f"the key's permitted operations do not include {operation}"
    return None


def parse_input(text: str, mode: InputMode, what: str = "The input") -> bytes:
    """The bytes typed: text (UTF-8), or base64 (standard or URL-safe, padding
    optional, whitespace ignored). A file's bytes are read by the caller."""
    if mode == "text":
        if not text:
            raise InvalidValue(f"{what} is empty: type some text.")
        return text.encode("utf-8")
    compact = "".join(text.split())
    if not compact:
        raise InvalidValue(f"{what} is empty: paste base64.")
    try:
        return base64.urlsafe_b64decode(
            compact.replace("+", "-").replace("/", "_") + "=" * (-len(compact) % 4)
        )
    except (binascii.Error, ValueError):
        raise InvalidValue(f"{what} is not base64.") from None


def b64url(data: bytes) -> str:
    """Key Vault's encoding of bytes: base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def as_text(data: bytes) -> str | None:
    """``data`` as text when it is printable UTF-8 (newlines and tabs allowed)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(ch.isprintable() or ch in "\n\r\t" for ch in text):
        return text
    return None


def digest(algorithm: str, data: bytes) -> bytes:
    """The hash a signature algorithm signs: SHA-256, -384 or -512."""
    bits = algorithm[-3:]
    hasher = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}.get(bits)
    if hasher is None:
        raise InvalidValue(f"No hash is known for {algorithm}.")
    return hasher(data).digest()


@dataclass(frozen=True)
class Outcome:
    """What an operation gave."""

    operation: str
    algorithm: str
    key_id: str
    data: bytes = field(default=b"", repr=False)
    """Ciphertext, plaintext, signature, wrapped or unwrapped key; empty for verify."""
    where: str = ""
    """Who did it: "the vault", "locally with the public key", or both for verify."""
    valid: bool | None = None
    """Verify: whether the signature is valid."""
    disagreement: str = ""
    """Verify: set when the local check and the vault's disagree (said whole)."""

    @property
    def secret(self) -> bool:
        return self.operation in SECRET_RESULTS


async def run(
    service: Any,
    name: str,
    version: str | None,
    operation: str,
    algorithm: str,
    data: bytes,
    signature: bytes = b"",
) -> Outcome:
    """Run ``operation`` with key ``name`` (``version``: the current one if None).
    Errors come back typed and worded (:class:`~kvtui.core.errors.VaultError`)."""
    what = f"{LABELS[operation].capitalize()} with key {name}"
    try:
        return await _run(service, name, version, operation, algorithm, data, signature)
    except VaultError:
        raise
    except ValueError as exc:  # the SDK refusing locally: a size, an algorithm
        raise VaultError(f"{what}: {exc}") from exc
    except Exception as exc:
        raise service.classify(exc, what=what) from exc


async def _readable(service: Any, name: str, version: str | None) -> KeyVaultKey | None:
    """The key with its public material, or None when it cannot be read (403)."""
    try:
        key: KeyVaultKey = await service.keys.get_key(name, version)
    except Exception as exc:
        error = service.classify(exc, what=f"Reading key {name}")
        if error.status == 403:
            return None
        raise error from exc
    return key


async def _run(
    service: Any,
    name: str,
    version: str | None,
    operation: str,
    algorithm: str,
    data: bytes,
    signature: bytes,
) -> Outcome:
    key = await _readable(service, name, version)
    if key is not None:
        version = key.properties.version
    remote: CryptographyClient = service.keys.get_cryptography_client(name, key_version=version)
    local = CryptographyClient.from_jwk(key.key) if key is not None else None
    key_id = key.id if key is not None else f"{service.vault_url}keys/{name}/{version or ''}"
    vault, here = "the vault", "locally with the public key"

    if operation in ("encrypt", "wrapKey"):
        client = local or remote
        if operation == "encrypt":
            enc = await client.encrypt(EncryptionAlgorithm(algorithm), data)
            out = enc.ciphertext
        else:
            wrapped = await client.wrap_key(KeyWrapAlgorithm(algorithm), data)
            out = wrapped.encrypted_key
        return Outcome(operation, algorithm, key_id, out, here if local else vault)
    if operation == "decrypt":
        dec = await remote.decrypt(EncryptionAlgorithm(algorithm), data)
        return Outcome(operation, algorithm, key_id, dec.plaintext, vault)
    if operation == "unwrapKey":
        unwrapped = await remote.unwrap_key(KeyWrapAlgorithm(algorithm), data)
        return Outcome(operation, algorithm, key_id, unwrapped.key, vault)
    hashed = digest(algorithm, data)
    if operation == "sign":
        signed = await remote.sign(SignatureAlgorithm(algorithm), hashed)
        return Outcome(operation, algorithm, key_id, signed.signature, vault)
    if operation != "verify":
        raise InvalidValue(f"No such operation: {operation}.")
    if not signature:
        raise InvalidValue("Paste the signature to verify (base64).")
    by_vault = await _verify_remotely(service, name, version, algorithm, hashed, signature)
    if local is None:
        return Outcome(operation, algorithm, key_id, where=vault, valid=by_vault)
    checked = await local.verify(SignatureAlgorithm(algorithm), hashed, signature)
    by_key = bool(checked.is_valid)
    both = f"{here}, and by the vault"
    if by_key == by_vault:
        return Outcome(operation, algorithm, key_id, where=both, valid=by_key)
    said = (
        f"The local check says {'valid' if by_key else 'not valid'}; "
        f"the vault says {'valid' if by_vault else 'not valid'}."
    )
    return Outcome(operation, algorithm, key_id, where=both, valid=False, disagreement=said)


async def _verify_remotely(
    service: Any, name: str, version: str | None, algorithm: str, hashed: bytes, signature: bytes
) -> bool:
    """The vault's verify (the SDK's client verifies locally whenever it can read the
    key, so this sends the REST call through the key client's own pipeline)."""
    request = HttpRequest(
        "POST",
        f"/keys/{name}/{version or ''}/verify",
        json={"alg": algorithm, "digest": b64url(hashed), "value": b64url(signature)},
    )
    response = await service.keys.send_request(request)
    response.raise_for_status()
    body = response.json()
    return bool(body.get("value"))
