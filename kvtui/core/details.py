"""Pure helpers for the detail pane and the exports: a secret value made readable, JWKs
and certificates decoded, policies put into words. No I/O, no SDK objects, no logging
of values."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import timezone
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from kvtui.core.models import CertificateDetail, Item

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

# cryptography is imported where a key or certificate is read, not with this module:
# the app draws its first frame without it (kvtui/ui/app.py).

# -- secret values --------------------------------------------------------------------------

ValueForm = Literal["empty", "json", "pem", "multiline", "text"]


@dataclass(frozen=True, slots=True)
class ValueView:
    """A secret value ready to be shown literally (plain text, never markup)."""

    text: str
    form: ValueForm
    note: str = ""
    """A short description for a status line: ``"JSON"``, ``"PEM: CERTIFICATE"``, ..."""
    lines: int = 1


_BIDI_AND_INVISIBLE = {
    0x061C,  # arabic letter mark
    0x180E,  # mongolian vowel separator
    0x200B,
    0x200C,
    0x200D,
    0x200E,
    0x200F,  # zero-width and direction marks
    0x2028,
    0x2029,  # line/paragraph separators
    0x202A,
    0x202B,
    0x202C,
    0x202D,
    0x202E,  # bidi embeddings and overrides
    0x2060,
    0x2066,
    0x2067,
    0x2068,
    0x2069,  # word joiner, bidi isolates
    0xFEFF,  # byte order mark / zero-width no-break space
}


def _visible_char(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x20:
        return chr(0x2400 + cp)  # control pictures: ␀ ␁ ... ␛ ...
    if cp == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= cp < 0xA0 or cp in _BIDI_AND_INVISIBLE:
        return f"<U+{cp:04X}>"
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn") and not ch.isprintable():
        return f"<U+{cp:04X}>"
    return ch


def make_visible(text: str, *, keep_newlines: bool = True, keep_tabs: bool = True) -> str:
    """Control, bidirectional and invisible characters replaced by visible stand-ins
    (control pictures such as ``␛``, or ``<U+202E>``), so a value can neither move the
    cursor, recolour the terminal nor hide part of itself. ``\\r\\n`` becomes ``\\n``."""
    if keep_newlines:
        text = text.replace("\r\n", "\n")
    out = []
    for ch in text:
        if (
            (ch == "\n" and keep_newlines)
            or (ch == "\t" and keep_tabs)
            or (ch.isprintable() and ord(ch) not in _BIDI_AND_INVISIBLE)
        ):
            out.append(ch)
        else:
            out.append(_visible_char(ch))
    return "".join(out)


class _Number(str):
    """A JSON number kept as written (no float rounding, no ``inf``)."""


class _Pairs(list[tuple[str, Any]]):
    """A JSON object kept in order, duplicate keys included."""


def _dump(value: Any, indent: int) -> str:
    pad = "  " * (indent + 1)
    end = "  " * indent
    if isinstance(value, _Pairs):
        if not value:
            return "{}"
        body = ",\n".join(
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dump(v, indent + 1)}" for k, v in value
        )
        return "{\n" + body + "\n" + end + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        body = ",\n".join(f"{pad}{_dump(v, indent + 1)}" for v in value)
        return "[\n" + body + "\n" + end + "]"
    if isinstance(value, _Number):
        return str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def pretty_json(text: str) -> str | None:
    """``text`` indented by two spaces when it is a JSON object or array, else None.
    Numbers stay as written and duplicate keys are kept: nothing in the value is lost."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        parsed = json.loads(
            stripped,
            object_pairs_hook=_Pairs,
            parse_float=_Number,
            parse_int=_Number,
            parse_constant=_Number,
        )
    except (ValueError, RecursionError):
        return None
    return _dump(parsed, 0)


_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")


def present_value(value: str, content_type: str | None = None) -> ValueView:
    """A secret value in its most readable literal form: JSON objects and arrays
    pretty-printed (whatever the content type says), PEM recognised, lines kept,
    control characters made visible."""
    if value == "":
        return ValueView("", "empty", "empty value", 0)
    pretty = pretty_json(value)
    if pretty is not None:
        text = make_visible(pretty)
        return ValueView(text, "json", "JSON", text.count("\n") + 1)
    text = make_visible(value)
    labels = list(dict.fromkeys(_PEM_BEGIN.findall(value)))
    if labels and "-----END " in value:
        return ValueView(text, "pem", "PEM: " + ", ".join(labels), text.count("\n") + 1)
    ct = (content_type or "").lower()
    if "\n" in text:
        return ValueView(
            text, "multiline", f"{text.count(chr(10)) + 1} lines", text.count("\n") + 1
        )
    note = "base64 (PKCS#12)" if ct == "application/x-pkcs12" else ""
    return ValueView(text, "text", note, 1)


# -- keys -------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@cache
def _jwk_curves() -> dict[str, ec.EllipticCurve]:
    from cryptography.hazmat.primitives.asymmetric import ec

    return {
        "P-256": ec.SECP256R1(),
        "P-384": ec.SECP384R1(),
        "P-521": ec.SECP521R1(),
        "P-256K": ec.SECP256K1(),
    }


@cache
def _curve_names() -> dict[str, str]:
    return {c.name: n for n, c in _jwk_curves().items()}


def jwk_public_key(kty: str, parts: dict[str, str]) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """The public key of a JWK given as base64url parts (``n``/``e`` or ``crv``/``x``/``y``)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    base = kty.upper().removesuffix("-HSM")
    if base == "RSA":
        n = int.from_bytes(b64url_decode(parts["n"]), "big")
        e = int.from_bytes(b64url_decode(parts["e"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if base == "EC":
        curve = _jwk_curves().get(parts.get("crv", ""))
        if curve is None:
            raise ValueError(f"unsupported curve {parts.get('crv')!r}")
        x = int.from_bytes(b64url_decode(parts["x"]), "big")
        y = int.from_bytes(b64url_decode(parts["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    raise ValueError(f"{kty} keys have no public part to export")


def jwk_public_pem(kty: str, parts: dict[str, str]) -> bytes:
    """``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo) of a JWK's public part."""
    from cryptography.hazmat.primitives import serialization

    return jwk_public_key(kty, parts).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def iso_duration_text(duration: str | None) -> str | None:
    """``"P90D"`` -> ``"90 days"``, ``"P1Y2M"`` -> ``"1 year 2 months"``; unknown forms as given."""
    if not duration:
        return None
    m = re.fullmatch(
        r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?",
        duration.strip().upper(),
    )
    if not m or not any(m.groups()):
        return duration
    units = ("year", "month", "week", "day", "hour", "minute", "second")
    words = [
        f"{int(n)} {unit}{'' if int(n) == 1 else 's'}"
        for n, unit in zip(m.groups(), units, strict=True)
        if n is not None
    ]
    return " ".join(words)


def rotation_action_text(
    action: str | None, time_after_create: str | None, time_before_expiry: str | None
) -> str:
    """``"Rotate 30 days before expiry"``, ``"Notify 7 days before expiry"``,
    ``"Rotate 90 days after creation"``."""
    verb = {"rotate": "Rotate", "notify": "Notify"}.get((action or "").lower(), action or "?")
    if time_after_create:
        return f"{verb} {iso_duration_text(time_after_create)} after creation"
    if time_before_expiry:
        return f"{verb} {iso_duration_text(time_before_expiry)} before expiry"
    return verb


# -- certificates -----------------------------------------------------------------------------


def lifetime_action_text(
    action: str | None, lifetime_percentage: int | None, days_before_expiry: int | None
) -> str:
    """``"Email contacts at 80 % of lifetime"``, ``"Auto-renew 30 days before expiry"``."""
    verb = {"emailcontacts": "Email contacts", "autorenew": "Auto-renew"}.get(
        (action or "").lower(), action or "?"
    )
    if lifetime_percentage is not None:
        return f"{verb} at {lifetime_percentage} % of lifetime"
    if days_before_expiry is not None:
        unit = "day" if days_before_expiry == 1 else "days"
        return f"{verb} {days_before_expiry} {unit} before expiry"
    return verb


def cer_to_pem(der: bytes) -> bytes:
    """The public certificate as ``-----BEGIN CERTIFICATE-----`` PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


@cache
def _signature_names() -> dict[Any, str]:
    from cryptography.x509.oid import SignatureAlgorithmOID

    return {
        oid: name.replace("_WITH_", " with ").replace("_", "-")
        for name, oid in vars(SignatureAlgorithmOID).items()
        if not name.startswith("_")
    }


#: The other-name type of a UPN SAN.
_UPN_OID = "1.3.6.1.4.1.311.20.2.3"


def _der_string(data: bytes) -> str | None:
    """A DER UTF8String/IA5String/PrintableString (UPN other names), else None."""
    if len(data) < 2 or data[0] not in (0x0C, 0x16, 0x13):
        return None
    length, offset = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[2 : 2 + count], "big")
        offset = 2 + count
    try:
        return data[offset : offset + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def name_text(name: x509.Name) -> str:
    """A distinguished name in the order it is written in the certificate (as the portal
    and ``openssl x509 -subject`` show it): ``CN=web.contoso.test, O=Contoso``."""
    return make_visible(", ".join(rdn.rfc4514_string() for rdn in name.rdns), keep_newlines=False)


def _sans(cert: x509.Certificate) -> tuple[tuple[str, str], ...]:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    out: list[tuple[str, str]] = []
    for name in ext.value:
        if isinstance(name, x509.DNSName):
            out.append(("DNS", name.value))
        elif isinstance(name, x509.RFC822Name):
            out.append(("email", name.value))
        elif isinstance(name, x509.IPAddress):
            out.append(("IP", str(name.value)))
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(("URI", name.value))
        elif isinstance(name, x509.OtherName) and name.type_id.dotted_string == _UPN_OID:
            upn = _der_string(name.value)
            out.append(("UPN", upn if upn is not None else name.value.hex()))
        elif isinstance(name, x509.DirectoryName):
            out.append(("DirName", name.value.rfc4514_string()))
    return tuple(out)


def _key_facts(cert: x509.Certificate) -> tuple[str | None, int | None, str | None]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    try:
        key = cert.public_key()
    except (ValueError, TypeError):  # unsupported algorithms
        return None, None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size, _curve_names().get(key.curve.name, key.curve.name)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "OKP", None, "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "OKP", None, "Ed448"
    return type(key).__name__, None, None


def describe_certificate(item: Item, der: bytes) -> CertificateDetail:
    """The facts of a DER certificate, for the detail pane (no policy: the service adds it)."""
    from cryptography import x509

    detail = CertificateDetail(item=item, cer=bytes(der))
    if not der:  # pending: no certificate issued yet
        return detail
    detail.sha1 = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    detail.sha256 = hashlib.sha256(der).hexdigest().upper()
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return detail
    detail.subject = name_text(cert.subject)
    detail.issuer = name_text(cert.issuer)
    detail.self_signed = cert.subject == cert.issuer
    detail.serial = f"{cert.serial_number:X}"
    if len(detail.serial) % 2:
        detail.serial = "0" + detail.serial
    detail.not_before = cert.not_valid_before_utc.astimezone(timezone.utc)
    detail.not_after = cert.not_valid_after_utc.astimezone(timezone.utc)
    detail.sans = tuple((t, make_visible(v, keep_newlines=False)) for t, v in _sans(cert))
    detail.key_type, detail.key_size, detail.curve = _key_facts(cert)
    oid = cert.signature_algorithm_oid
    detail.signature_algorithm = _signature_names().get(oid, oid.dotted_string)
    return detail
