"""Certificate files with their private key, without Textual: what a file to import
is (PFX/PKCS#12 or PEM), checked here before anything is sent, and a certificate's
private key read from the vault and written as PFX or PEM.

- **Import.** :func:`file_format` tells PEM (its ``-----BEGIN`` text) from PFX (DER, or
  its base64 text, as ``az keyvault secret download`` writes it).
  :func:`prepare_import` opens the file with the password typed and checks what the
  service would refuse (a wrong password, no private key, a key that matches no
  certificate, a key type Key Vault does not hold), each said as what to change
  (:class:`CertificateFileError`). A PFX is sent as it is, with its password; a PEM
  with an encrypted key is sent with the key decrypted (leaf first, then the chain).
- **Download.** A certificate's key pair lives in its backing secret (same name and
  version): base64 PFX (``application/x-pkcs12``) or PEM text. :func:`read_with_key`
  reads it (a read: allowed read-only; recorded in the audit log, never the value);
  a certificate whose key is not exportable has no key there (:class:`NoPrivateKey`).
  :func:`to_pfx` and :func:`to_pem` write it again, encrypted with a new password or
  not.

Neither the file's bytes nor a password is ever logged.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from kvtui.core.errors import InvalidInput, PermissionDenied, VaultError
from kvtui.core.validation import InvalidValue

if TYPE_CHECKING:
    from kvtui.core.vault import VaultService

audit = logging.getLogger("kvtui.audit")

#: The backing secret's content types (and what an import's policy says the file is).
PKCS12 = "application/x-pkcs12"
PEM = "application/x-pem-file"
#: A certificate file to import: no bigger than this (a PFX with a long chain is tens
#: of kilobytes).
MAX_FILE = 1024 * 1024

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_KEY_BLOCKS = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY")


class CertificateFileError(InvalidValue):
    """A file that cannot be imported or a key that cannot be written: one line that
    says what to change. ``password``: the password is what is wrong."""

    def __init__(self, message: str, *, password: bool = False) -> None:
        super().__init__(message)
        self.password = password


class NoPrivateKey(VaultError):
    """The certificate's secret holds no private key: its key is not exportable."""


# -- what a file is -------------------------------------------------------------------


def _pfx_text(data: bytes) -> bytes | None:
    """The PFX that ``data`` is the base64 text of, or None."""
    text = b"".join(data.split())
    if not text or len(text) % 4:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if raw[:1] == b"\x30" else None


def file_format(data: bytes) -> str | None:
    """:data:`PEM`, :data:`PKCS12`, or None when ``data`` is neither."""
    if data[:1] == b"\x30":  # a DER SEQUENCE: a PFX
        return PKCS12
    if b"-----BEGIN" in data:
        return PEM
    if _pfx_text(data) is not None:
        return PKCS12
    return None


def pem_key_encrypted(data: bytes) -> bool:
    """A PEM file whose private key needs a password (PKCS#8 or OpenSSL's own)."""
    for match in _BLOCK.finditer(data):
        kind = match.group(1)
        if kind == b"ENCRYPTED PRIVATE KEY":
            return True
        if kind in _KEY_BLOCKS and b"Proc-Type: 4,ENCRYPTED" in match.group(0):
            return True
    return False


def asks_password(data: bytes) -> bool:
    """Whether the import asks for a password: always for a PFX (it may be empty),
    for a PEM only when its key is encrypted."""
    fmt = file_format(data)
    return fmt == PKCS12 or (fmt == PEM and pem_key_encrypted(data))


# -- import ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportFile:
    """A checked file, ready to send: ``data`` and ``password`` as the service takes
    them, and what it holds (for a person: shown literally, it is the file's text)."""

    content_type: str
    data: bytes = field(repr=False)
    password: str | None = field(repr=False)
    subject: str
    key: str
    """``RSA 2048``, ``EC P-256``."""
    certificates: int
    not_after: datetime

    def summary(self) -> str:
        fmt = "PFX" if self.content_type == PKCS12 else "PEM"
        more = f", with {self.certificates - 1} more in its chain" if self.certificates > 1 else ""
        return f"{fmt}: {self.subject or '(no subject)'}, {self.key} key{more}."


def describe_key(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    return f"EC {_CURVES.get(key.curve.name, key.curve.name)}"


_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521", "secp256k1": "P-256K"}


def _spki(public: Any) -> bytes:
    return bytes(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _usable_key(key: object, what: str) -> PrivateKey:
    """``key`` if Key Vault can hold it; ``what``: "PFX file", "PEM file"."""
    if key is None:
        raise CertificateFileError(
            f"The {what} holds no private key: Key Vault imports a certificate with its "
            "key. Export it again with the private key."
        )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        kind = type(key).__name__.lstrip("_").removesuffix("PrivateKey") or "of another type"
        raise CertificateFileError(
            f"The {what}'s private key is {kind}: Key Vault holds RSA and EC keys only."
        )
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in _CURVES:
        raise CertificateFileError(
            f"The {what}'s EC key is on curve {key.curve.name}: Key Vault holds P-256, "
            "P-384, P-521 and P-256K only."
        )
    return key


def _leaf_first(
    key: PrivateKey, certs: list[x509.Certificate], what: str
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The certificate of ``key``, and the others in the file's order."""
    if not certs:
        raise CertificateFileError(
            f"The {what} holds no certificate: it needs the certificate with its key."
        )
    public = _spki(key.public_key())
    leaf = next((c for c in certs if _spki(c.public_key()) == public), None)
    if leaf is None:
        raise CertificateFileError(
            f"The {what}'s private key belongs to none of its {len(certs)} "
            f"certificate{'s' if len(certs) != 1 else ''}: a key and a certificate from "
            "different pairs."
        )
    return leaf, [c for c in certs if c is not leaf]


def _open_pfx(raw: bytes, password: str | None) -> tuple[Any, list[x509.Certificate]]:
    secret = password.encode("utf-8") if password else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(raw, secret)
    except ValueError:
        if password:
            said = "the password is wrong, or the file is damaged. Type the password again."
        else:
            said = "it has a password (or is damaged). Type its password."
        raise CertificateFileError(f"Cannot open the PFX file: {said}", password=True) from None
    return key, ([cert] if cert is not None else []) + list(extra)


def _open_pem(raw: bytes, password: str | None) -> tuple[Any, list[x509.Certificate]]:
    blocks = [(m.group(1), m.group(0)) for m in _BLOCK.finditer(raw)]
    keys = [block for kind, block in blocks if kind in _KEY_BLOCKS]
    if not keys:
        raise CertificateFileError(
            "The PEM file holds no private key (no BEGIN PRIVATE KEY block): Key Vault "
            "imports a certificate with its key. Put the key and the certificates in one file."
        )
    if len(keys) > 1:
        raise CertificateFileError(
            f"The PEM file holds {len(keys)} private keys: keep only the certificate's."
        )
    certs_pem = b"\n".join(block for kind, block in blocks if kind == b"CERTIFICATE")
    try:
        certs = x509.load_pem_x509_certificates(certs_pem) if certs_pem else []
    except ValueError:
        raise CertificateFileError("A certificate in the PEM file cannot be read.") from None
    encrypted = pem_key_encrypted(keys[0])
    if encrypted and not password:
        raise CertificateFileError(
            "The PEM file's private key is encrypted: type its password.", password=True
        )
    try:
        key = serialization.load_pem_private_key(
            keys[0], password.encode("utf-8") if encrypted and password else None
        )
    except ValueError:
        if encrypted:
            raise CertificateFileError(
                "Cannot decrypt the PEM file's private key: the password is wrong. Type it again.",
                password=True,
            ) from None
        raise CertificateFileError("The PEM file's private key cannot be read.") from None
    except TypeError:  # cryptography: encrypted, or not, against what was given
        raise CertificateFileError(
            "The PEM file's private key cannot be read with this password.", password=True
        ) from None
    return key, certs


def prepare_import(raw: bytes, password: str | None = None) -> ImportFile:
    """``raw`` (a file's bytes) checked and ready to send (see the module's doc)."""
    fmt = file_format(raw)
    if fmt is None:
        raise CertificateFileError(
            "This is neither a PFX (PKCS#12) nor a PEM file: choose the file that holds the "
            "certificate and its private key."
        )
    if fmt == PKCS12:
        data = raw if raw[:1] == b"\x30" else (_pfx_text(raw) or raw)
        loaded, certs = _open_pfx(data, password)
        key = _usable_key(loaded, "PFX file")
        leaf, chain = _leaf_first(key, certs, "PFX file")
        send_password = password or None
    else:
        loaded, certs = _open_pem(raw, password)
        key = _usable_key(loaded, "PEM file")
        leaf, chain = _leaf_first(key, certs, "PEM file")
        data = pem_bytes(key, leaf, chain)
        send_password = None
    return ImportFile(
        fmt,
        data,
        send_password,
        subject=leaf.subject.rfc4514_string(),
        key=describe_key(key),
        certificates=1 + len(chain),
        not_after=leaf.not_valid_after_utc,
    )


# -- download ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyBundle:
    """A certificate with its private key, and the rest of its chain."""

    key: PrivateKey = field(repr=False)
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    content_type: str = PKCS12
    """How the vault keeps it (the format offered first)."""


def bundle_from_secret(name: str, value: str, content_type: str | None) -> KeyBundle:
    """The key and certificates in a certificate's secret value (base64 PFX or PEM);
    :class:`NoPrivateKey` when the value holds certificates only."""
    raw = value.encode("utf-8")
    fmt = content_type if content_type in (PKCS12, PEM) else file_format(raw)
    key: object
    if fmt == PEM:
        blocks = [(m.group(1), m.group(0)) for m in _BLOCK.finditer(raw)]
        key_blocks = [block for kind, block in blocks if kind in _KEY_BLOCKS]
        certs_pem = b"\n".join(block for kind, block in blocks if kind == b"CERTIFICATE")
        try:
            certs = x509.load_pem_x509_certificates(certs_pem) if certs_pem else []
            key = serialization.load_pem_private_key(key_blocks[0], None) if key_blocks else None
        except (ValueError, TypeError):
            raise InvalidInput(
                f"Certificate {name}: its secret's PEM cannot be read, so there is no key to "
                "download."
            ) from None
    else:
        try:
            pfx = base64.b64decode("".join(value.split()), validate=True)
            key, cert, extra = pkcs12.load_key_and_certificates(pfx, None)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                f"Certificate {name}: its secret is not a PFX (content type "
                f"{content_type or 'none'}), so there is no key to download."
            ) from None
        certs = ([cert] if cert is not None else []) + list(extra)
    if key is None:
        raise NoPrivateKey(
            f"Certificate {name} has no private key to download: its key is not exportable "
            "(the vault's copy holds the certificate only). Its public certificate can be "
            "saved."
        )
    usable = _usable_key(key, "certificate's secret")
    leaf, chain = _leaf_first(usable, certs, "certificate's secret")
    return KeyBundle(usable, leaf, tuple(chain), PEM if fmt == PEM else PKCS12)


async def read_with_key(service: VaultService, name: str, version: str | None = None) -> KeyBundle:
    """The certificate ``name`` with its private key, from its backing secret (the
    current version unless ``version``). A read, allowed read-only; the audit log says
    who took the key out of the vault, never the key."""
    what = f"Reading the private key of certificate {name}"
    try:
        secret = await service.secrets.get_secret(name, version)
    except Exception as exc:
        error = service.classify(exc, what=what)
        audit.warning("failed export certificate %r with its private key: %s (%s)", name,
                      type(error).__name__, error.status or "no answer")  # fmt: skip
        if isinstance(error, PermissionDenied) and "secret" not in str(error).lower():
            raise PermissionDenied(
                f"{error} A certificate's private key is read as its secret: that needs "
                "permission to get secrets; a key that is not exportable is never given out.",
                status=error.status,
                code=error.code,
            ) from exc
        if isinstance(error, InvalidInput):
            raise NoPrivateKey(
                f"{error} A certificate whose key is not exportable never gives it out.",
                status=error.status,
                code=error.code,
            ) from exc
        raise error from exc
    try:
        bundle = bundle_from_secret(name, secret.value or "", secret.properties.content_type)
    except CertificateFileError as exc:
        raise InvalidInput(f"Certificate {name}: {exc}") from None
    except NoPrivateKey:
        audit.warning("failed export certificate %r with its private key: not exportable", name)
        raise
    finally:
        del secret
    audit.info("export certificate %r with its private key: ok", name)
    return bundle


def _encryption(password: str | None) -> serialization.KeySerializationEncryption:
    if password:
        return serialization.BestAvailableEncryption(password.encode("utf-8"))
    return serialization.NoEncryption()


def to_pfx(bundle: KeyBundle, password: str | None, friendly_name: str = "") -> bytes:
    """A PFX (PKCS#12) of the key, its certificate and the chain; encrypted with
    ``password`` (AES-256, PBKDF2) unless it is empty."""
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode("utf-8") or None,
        bundle.key,
        bundle.certificate,
        list(bundle.chain) or None,
        _encryption(password),
    )


def pem_bytes(
    key: PrivateKey,
    certificate: x509.Certificate,
    chain: list[x509.Certificate] | tuple[x509.Certificate, ...] = (),
    password: str | None = None,
) -> bytes:
    """The key (PKCS#8; encrypted when ``password``), then the certificate, then the chain."""
    out = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(password)
    )
    for cert in (certificate, *chain):
        out += cert.public_bytes(serialization.Encoding.PEM)
    return out


def to_pem(bundle: KeyBundle, password: str | None) -> bytes:
    """A PEM file: the key (encrypted with ``password`` unless it is empty), the
    certificate, the chain."""
    return pem_bytes(bundle.key, bundle.certificate, bundle.chain, password)


def key_matches(key: Any, certificate: x509.Certificate) -> bool:
    """Whether ``key`` is the private key of ``certificate``."""
    return _spki(key.public_key()) == _spki(certificate.public_key())
