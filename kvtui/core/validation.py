"""Checks of what a person types (options, ``KVTUI_*`` variables, the config file, the
"open a vault" box) before anything goes on the network. Each check returns the value
to use or raises :class:`InvalidValue`, whose message says what is wrong and shows the
value literally (control and bidi characters made visible: stderr is the terminal too).
No I/O except reading a CA bundle, no Textual."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit


class InvalidValue(ValueError):
    """A value that cannot be used; ``str()`` is one line for a person."""


#: Shown values are cut here: a line on stderr, not a page.
MAX_SHOWN = 120

#: Key Vault names: 3-24 letters, digits and hyphens, starting with a letter, ending with a
#: letter or digit, no ``--`` (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#vault-name-and-object-name).
VAULT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
VAULT_NAME_RULE = (
    "a vault name is 3-24 letters, digits and hyphens, starting with a letter, "
    "ending with a letter or digit, without '--'"
)
_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
#: Tenant names msal accepts besides a GUID or a domain.
TENANT_ALIASES = ("organizations", "common", "consumers")


def shown(value: object) -> str:
    """``value`` quoted for a one-line message: control, bidi and invisible characters
    made visible (``␛``, ``<U+202E>``), long values cut."""
    from kvtui.core.details import make_visible

    text = make_visible(str(value), keep_newlines=False, keep_tabs=False)
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 1] + "…"
    return f"'{text}'"


def is_vault_name(text: str) -> bool:
    return bool(VAULT_NAME.match(text)) and "--" not in text


def _host_ok(host: str) -> bool:
    """A DNS name (letters, digits, hyphens, dots) or an IP address."""
    if not host or not host.isascii():
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        return False
    labels = name.split(".")
    if all(label.isdigit() for label in labels):
        return False  # looks like an IPv4 address but is not one (999.1.1.1)
    return all(_LABEL.match(label) for label in labels)


def https_url(value: str, what: str, *, allow_path: bool = True) -> SplitResult:
    """``value`` parsed as an ``https://host[:port]/...`` URL with a valid host and port,
    no user name or password, no query or fragment (and no path unless ``allow_path``)."""
    text = value.strip()
    bad = f"{what} {shown(value)}"
    if not text:
        raise InvalidValue(f"{what} is empty")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidValue(f"{bad} contains spaces or control characters")
    try:
        parts = urlsplit(text)
    except ValueError:  # an unbalanced [ in the host
        raise InvalidValue(f"{bad} has no valid host name") from None
    if parts.scheme.lower() != "https" or not text.lower().startswith("https://"):
        if "://" in text:
            scheme = text.split("://", 1)[0]
            raise InvalidValue(f"{bad} must be an https:// URL, not {shown(scheme + '://')}")
        raise InvalidValue(f"{bad} must be an https:// URL")
    if "@" in parts.netloc:
        raise InvalidValue(f"{bad} must not contain a user name or password")
    try:
        port = parts.port
    except ValueError:
        raise InvalidValue(f"{bad} has an invalid port (1-65535)") from None
    if port == 0 or (parts.netloc.endswith(":") and port is None):
        raise InvalidValue(f"{bad} has an invalid port (1-65535)")
    if not _host_ok(parts.hostname or ""):
        raise InvalidValue(f"{bad} has no valid host name")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise InvalidValue(f"{bad} must not have a query (?) or fragment (#)")
    if not allow_path and parts.path not in ("", "/"):
        raise InvalidValue(f"{bad} must have no path (a vault URL is https://host/)")
    return parts


def vault_url(value: str, suffix: str) -> str:
    """The vault URL (``https://host[:port]/``) for a vault name (``name`` + ``suffix``)
    or a vault URL; raises InvalidValue for anything else."""
    text = value.strip()
    if "://" not in text and "." not in text:
        if not is_vault_name(text):
            raise InvalidValue(f"{shown(value)} is not a vault name: {VAULT_NAME_RULE}")
        return f"https://{text}{suffix}/"
    parts = https_url(value, "the vault URL", allow_path=False)
    host = (parts.hostname or "").rstrip(".")
    if host.endswith(suffix.lower()) and not is_vault_name(host[: -len(suffix)]):
        name = host[: -len(suffix)]
        raise InvalidValue(
            f"the vault URL {shown(value)} names no possible vault: {shown(name)} is not a "
            f"vault name ({VAULT_NAME_RULE})"
        )
    return text if text.endswith("/") else text + "/"


def guid(value: str, what: str) -> str:
    text = value.strip()
    if not _GUID.match(text):
        raise InvalidValue(
            f"{what} {shown(value)} is not a GUID (like 04b07795-8ddb-461a-bbee-02f9e1bf7b46)"
        )
    return text


def tenant(value: str, what: str = "the tenant") -> str:
    """A tenant: a GUID, a domain (``contoso.onmicrosoft.com``), or an alias
    (organizations, common, consumers)."""
    text = value.strip()
    if text.lower() in TENANT_ALIASES or _GUID.match(text):
        return text
    if "." in text and _host_ok(text) and not _is_ip(text):
        return text
    raise InvalidValue(
        f"{what} {shown(value)} is not valid: give the tenant's GUID, a domain such as "
        f"contoso.onmicrosoft.com, or one of {', '.join(TENANT_ALIASES)}"
    )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def authority(
    value: str, what: str = "the authority", *, check_tenant: bool = True
) -> tuple[str, str | None]:
    """``https://host[:port]/tenant`` -> (``https://host[:port]``, tenant or None)."""
    parts = https_url(value, what)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) > 1:
        raise InvalidValue(
            f"{what} {shown(value)} must be https://host/TENANT (one path segment at most)"
        )
    if segments and check_tenant:
        tenant(segments[0], f"the tenant of {what}")
    return f"https://{parts.netloc}", (segments[0] if segments else None)


def ca_bundle(path: str, what: str = "the CA bundle") -> str:
    """A readable PEM file holding at least one CA certificate."""
    import ssl
    from pathlib import Path

    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidValue(f"{what} {shown(path)} does not exist (or is not a file)")
    try:
        ssl.create_default_context(cafile=str(file))
    except (ssl.SSLError, ValueError):  # before OSError: SSLError is one
        raise InvalidValue(
            f"{what} {shown(path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    except OSError as exc:  # PermissionError among them
        reason = exc.strerror or exc.__class__.__name__
        raise InvalidValue(f"{what} {shown(path)} cannot be read ({reason})") from None
    return str(file)


def int_range(value: int, what: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidValue(f"{what} must be between {low} and {high}, not {value}")
    return value
