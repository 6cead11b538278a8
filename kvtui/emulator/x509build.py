"""X.509 for the emulator, in one place: the certificate builder (``sign_certificate``)
used by the certificates data plane and by the local CA and HTTPS certificate (tls.py);
X.500 names, subject alternative names and key usages from a Key Vault policy's
``x509_props``, CSRs, and the PFX/PEM forms of a certificate's backing secret.

Pure: no vault state, no routes (certpolicy.py, certstore.py and certificates.py build
on it).
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from kvtui.emulator.common import b64url_encode, bad_parameter

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
"""The key types a certificate can have here (crypto.py's ``PrivateKey``)."""
PKCS12 = "application/x-pkcs12"
PEM = "application/x-pem-file"
UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")

KEY_USAGES = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)

KU_ARGS = {
    "digitalSignature": "digital_signature",
    "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
    "encipherOnly": "encipher_only",
    "decipherOnly": "decipher_only",
}

DN_OIDS: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "STREET": NameOID.STREET_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "T": NameOID.TITLE,
    "G": NameOID.GIVEN_NAME,
    "SN": NameOID.SURNAME,
    "POSTALCODE": NameOID.POSTAL_CODE,
}

DN_SHORT = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "S",
    NameOID.COUNTRY_NAME: "C",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.TITLE: "T",
    NameOID.GIVEN_NAME: "G",
    NameOID.SURNAME: "SN",
    NameOID.POSTAL_CODE: "PostalCode",
}


def parse_dn(text: str) -> x509.Name:
    """``CN=a, O=b`` (X.500 order, as Key Vault policies write it) to an x509.Name."""
    parts = [p.strip() for p in re.split(r"(?<!\\)[,;]", text) if p.strip()]
    attrs = []
    for part in parts:
        key, sep, value = part.partition("=")
        oid = DN_OIDS.get(key.strip().upper())
        value = value.strip().strip('"').replace("\\,", ",")
        if not sep or oid is None or not value:
            raise bad_parameter(f"The subject name {text!r} is not a valid X.500 name.")
        attrs.append(x509.NameAttribute(oid, value))
    if not attrs:
        raise bad_parameter(f"The subject name {text!r} is not a valid X.500 name.")
    return x509.Name(attrs)


def dn_string(name: x509.Name) -> str:
    out = []
    for attr in name:
        short = DN_SHORT.get(attr.oid, attr.oid.dotted_string)
        value = attr.value if isinstance(attr.value, str) else attr.value.decode()
        escaped = value.replace(",", "\\,")
        out.append(f"{short}={escaped}")
    return ", ".join(out)


def add_months(t: int, months: int) -> int:
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    total = d.month - 1 + months
    year, month = d.year + total // 12, total % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def thumbprint(der: bytes) -> str:
    """``x5t``: base64url SHA-1 of the DER certificate."""
    return b64url_encode(hashlib.sha1(der).digest())


def utc(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def san_names(sans: Mapping[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    try:
        names += [x509.DNSName(d) for d in sans.get("dns_names") or []]
        names += [x509.RFC822Name(e) for e in sans.get("emails") or []]
        for upn in sans.get("upns") or []:
            raw = upn.encode()
            der = b"\x0c" + der_len(len(raw)) + raw  # UTF8String
            names.append(x509.OtherName(UPN_OID, der))
        names += [x509.UniformResourceIdentifier(u) for u in sans.get("uris") or []]
    except ValueError as exc:  # e.g. a DNS name or an email that is not ASCII (IDNA)
        raise bad_parameter(f"Invalid subject alternative name: {exc}") from exc
    try:
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sans.get("ipAddresses") or []]
    except ValueError as exc:
        raise bad_parameter(f"Invalid IP address in the subject alternative names: {exc}") from exc
    return names


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def policy_extensions(
    key: SigningKey, x509_props: Mapping[str, Any]
) -> list[tuple[x509.ExtensionType, bool]]:
    exts: list[tuple[x509.ExtensionType, bool]] = []
    sans = san_names(x509_props.get("sans") or {})
    if sans:
        exts.append((x509.SubjectAlternativeName(sans), False))
    usages = x509_props.get("key_usage") or []
    if usages:
        flags = {arg: name in usages for name, arg in KU_ARGS.items()}
        # encipherOnly and decipherOnly mean something only with keyAgreement (RFC 5280
        # 4.2.1.3), and a certificate without it cannot be parsed by most libraries. The
        # service accepts such a policy: the certificate gets keyAgreement as well (the
        # policy keeps what was asked).
        if flags["encipher_only"] or flags["decipher_only"]:
            flags["key_agreement"] = True
        exts.append((x509.KeyUsage(**flags), True))
    ekus = x509_props.get("ekus") or []
    if ekus:
        exts.append((x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in ekus]), False))
    exts.append((x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    return exts


def private_key_pem(key: SigningKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def sign_certificate(
    subject: x509.Name,
    public_key: SigningKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    signing_key: SigningKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
    *,
    issuer: x509.Name | None = None,
    serial: int | None = None,
    deterministic: bool = False,
) -> x509.Certificate:
    """The one X.509 builder: a certificate for ``public_key`` (a private key stands
    for its public key), signed with SHA-256 by ``signing_key``; self-signed unless
    ``issuer`` names another. ``extensions`` are (extension, critical), added in order.
    ``serial`` defaults to a random one; ``deterministic`` makes an EC key sign with
    RFC 6979's deterministic ECDSA (RSA PKCS#1 v1.5 signatures are deterministic
    anyway), so the same inputs give the same certificate."""
    if isinstance(public_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        public_key = public_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    if deterministic and isinstance(signing_key, ec.EllipticCurvePrivateKey):
        return builder.sign(signing_key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(signing_key, hashes.SHA256())


def build_certificate(
    key: SigningKey,
    x509_props: Mapping[str, Any],
    not_before: int,
    *,
    serial: int | None = None,
    deterministic: bool = False,
) -> x509.Certificate:
    """A self-signed certificate as the policy's x509_props describe it. ``serial``
    (default: random) and ``deterministic`` (an EC key signs with RFC 6979's
    deterministic ECDSA; RSA PKCS#1 v1.5 signatures are deterministic anyway) make the
    same certificate from the same key every time."""
    subject = parse_dn(x509_props["subject"]) if x509_props.get("subject") else x509.Name([])
    not_after = add_months(not_before, int(x509_props.get("validity_months") or 12))
    try:
        return sign_certificate(
            subject,
            key,
            key,
            utc(not_before),
            utc(not_after),
            policy_extensions(key, x509_props),
            serial=serial,
            deterministic=deterministic,
        )
    except ValueError as exc:  # a policy this emulator cannot build: the service's 400
        raise bad_parameter(f"The certificate policy cannot be honoured: {exc}") from exc


def build_csr(key: SigningKey, x509_props: Mapping[str, Any]) -> str:
    """The operation's ``csr``: base64 DER PKCS#10."""
    subject = parse_dn(x509_props["subject"]) if x509_props.get("subject") else x509.Name([])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    try:
        for ext, critical in policy_extensions(key, x509_props):
            if not isinstance(ext, x509.SubjectKeyIdentifier):
                builder = builder.add_extension(ext, critical=critical)
        der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    except ValueError as exc:
        raise bad_parameter(f"The certificate policy cannot be honoured: {exc}") from exc
    return base64.b64encode(der).decode()


def secret_value(
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    key: SigningKey | None,
    content_type: str,
    *,
    order: Sequence[x509.Certificate] | None = None,
) -> str:
    """The backing secret's value: base64 PFX, or PEM (key, then the chain, leaf first).
    ``key`` is None for a non-exportable key: the value then has the certificates only.
    ``order``: all the certificates (the leaf among them) in the order to keep
    (``preserveCertOrder``); a PFX with the key still holds the leaf as the key's
    certificate, and the others in that order."""
    certs = list(order) if order else [cert, *chain]
    if content_type == PEM:
        out = b""
        if key is not None:
            out += private_key_pem(key)
        for c in certs:
            out += c.public_bytes(serialization.Encoding.PEM)
        return out.decode()
    if key is None:  # certificates only, as a PFX of a non-exportable key is
        pfx = pkcs12.serialize_key_and_certificates(
            None, None, None, certs, serialization.NoEncryption()
        )
    else:
        others = [c for c in certs if c is not cert]
        pfx = pkcs12.serialize_key_and_certificates(
            None, key, cert, others or None, serialization.NoEncryption()
        )
    return base64.b64encode(pfx).decode()


def load_import(
    raw: bytes, password: str | None, content_type: str
) -> tuple[SigningKey, x509.Certificate, list[x509.Certificate], list[x509.Certificate]]:
    """The key, leaf, the rest of the chain, and all the certificates in the file's
    order, of an imported PFX or PEM file."""
    try:
        if content_type == PEM:
            certs = x509.load_pem_x509_certificates(raw)
            loaded: Any = serialization.load_pem_private_key(
                raw, password.encode() if password else None
            )
            chain = certs
        else:
            loaded_key, leaf, extra = pkcs12.load_key_and_certificates(
                raw, password.encode() if password else None
            )
            loaded = loaded_key
            chain = ([leaf] if leaf else []) + list(extra)
    except (ValueError, TypeError) as exc:
        fmt = "PEM" if content_type == PEM else "PFX"
        raise bad_parameter(
            f"The specified {fmt} X.509 certificate content can not be read. Please check "
            f"if certificate is in valid {fmt} format and the password is correct."
        ) from exc
    if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) or not chain:
        raise bad_parameter(
            "The certificate to import must contain an RSA or EC private key and its "
            "X.509 certificate."
        )
    pub = loaded.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaf_cert = next((c for c in chain if spki(c) == pub), None)
    if leaf_cert is None:
        raise bad_parameter("The private key does not match the certificate's public key.")
    return loaded, leaf_cert, [c for c in chain if c is not leaf_cert], chain


def spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def props_from_certificate(cert: x509.Certificate) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": dn_string(cert.subject)}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = {
            "dns_names": san.get_values_for_type(x509.DNSName),
            "emails": san.get_values_for_type(x509.RFC822Name),
            "uris": san.get_values_for_type(x509.UniformResourceIdentifier),
            "ipAddresses": [str(a) for a in san.get_values_for_type(x509.IPAddress)],
        }
        sans = {k: v for k, v in sans.items() if v}
        if sans:
            out["sans"] = sans
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        out["ekus"] = [o.dotted_string for o in eku]
    except x509.ExtensionNotFound:
        out["ekus"] = []
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        usages = []
        for name, arg in KU_ARGS.items():
            try:
                if getattr(ku, arg):
                    usages.append(name)
            except ValueError:  # encipher_only/decipher_only without key_agreement
                pass
        out["key_usage"] = usages
    except x509.ExtensionNotFound:
        out["key_usage"] = []
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    out["validity_months"] = max(1, round(days / 30.4))
    return out
