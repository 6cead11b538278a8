"""kvtui's settings: defaults < the config file < ``KVTUI_*`` environment < flags.

The config file is TOML at ``$XDG_CONFIG_HOME/kvtui/config.toml`` (``kvtui --config`` to
override). Every field below may appear in it, e.g.::

    tenant = "contoso.onmicrosoft.com"
    vault = "my-vault"
    read_only = true
    read_only_vaults = ["prod-*", "*-prd"]   # these open read-only, whatever read_only says
    expiry_warning_days = 14

    [keymap]                    # binding id = key(s), after every other setting
    "vault.reveal" = "x"        # quote ids: they have dots
    "vault.copy_menu" = "ctrl+y,Y"

A binding id is ``<screen>.<action>`` (``vault.reveal``, ``login.restart``,
``picker.pin``, ``app.quit``). An unknown id (named with the closest known one), or two
bindings of one screen (or one of a screen and one of the app) on the same key, end
kvtui at start. TOML reads an unquoted ``vault.reveal = "x"`` as a nested table; it is
accepted too, but the quoted form is the one that reads as what it is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kvtui.core.validation import shown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: The Azure CLI's well-known public client id: works in most tenants without an app
#: registration of your own.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and where it came from."""


@dataclass
class Settings:
    tenant: str = "organizations"
    """Tenant to sign in to: a GUID, a domain, ``organizations`` or ``common``."""
    client_id: str = AZURE_CLI_CLIENT_ID
    """Public client (native app) id used for sign-in."""
    cloud: str = "public"
    """``public``, ``usgov`` or ``china``: authority host, vault DNS suffix and scopes."""
    authority: str | None = None
    """Full authority URL (``https://host/tenant``) overriding the cloud's host and tenant."""
    arm_url: str | None = None
    """Azure Resource Manager endpoint overriding the cloud's."""
    ca_bundle: str | None = None
    """A PEM file: the only CA trusted for sign-in, ARM and vaults when set."""
    vault: str | None = None
    """Vault to open: a name (made a URL with the cloud's DNS suffix) or a URL."""
    read_only: bool = False
    """Refuse every write action."""
    read_only_vaults: list[str] = field(default_factory=list)
    """Vaults that open read-only: patterns (``*`` any characters, ``?`` one; case does
    not matter) matched against the vault's name and its URL's host
    (kvtui/core/readonly.py)."""
    expiry_warning_days: int = 30
    """Items expiring within this many days are flagged."""
    clipboard_clear_seconds: int = 30
    """Clear the clipboard this long after copying a secret value (0: never)."""
    token_cache: str | None = None
    """Token cache file (default: under the user's cache directory)."""
    metadata_cache: bool = True
    """Keep what each vault listed (names, dates, tags: never values) for an instant
    table at the next start, beside the token cache (``metadata/``); ``--no-cache``."""
    log_file: str | None = None
    """Log file (default: under the user's state directory). Never the terminal."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys, e.g. ``{"vault.reveal": "x", "vault.copy_menu": "ctrl+y,Y"}``."""
    read_only_source: str = field(default="", metadata={"internal": True})
    """Not a setting: where ``read_only`` came from (``--read-only``,
    ``KVTUI_READ_ONLY``, the config file), for the READ-ONLY badge."""


BOOL_TRUE = {"1", "true", "yes", "on"}
BOOL_FALSE = {"0", "false", "no", "off", ""}


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("kvtui")) / "config.toml"


def _flatten_keymap(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Binding id -> keys. TOML reads ``vault.reveal = "x"`` as a nested table; binding
    ids are dotted, so both spellings give ``{"vault.reveal": "x"}``."""
    out: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten_keymap(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def _coerce(name: str, value: Any, source: str) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = str(kinds[name])
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in BOOL_TRUE | BOOL_FALSE:
                return text in BOOL_TRUE
            raise ValueError(value)
        if kind == "int":
            return int(value)
        if name == "keymap":
            if not isinstance(value, dict):
                raise ValueError(value)
            return _flatten_keymap(value)
        if name == "read_only_vaults":  # a TOML list, or a comma-separated string
            parts = value.split(",") if isinstance(value, str) else value
            if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
                raise ValueError(value)
            return [p.strip() for p in parts if p.strip()]
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {name} cannot be {shown(value)}") from None


def load_settings(
    config_path: Path | None = None,
    env: dict[str, str] | None = None,
    flags: dict[str, Any] | None = None,
) -> Settings:
    """Settings from the config file, then ``KVTUI_<FIELD>`` variables, then flags
    (flags whose value is None are not given). Every value that can be checked without
    the network is checked here (:func:`check_settings`)."""
    names = {f.name for f in fields(Settings) if not f.metadata.get("internal")}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    path = config_path or default_config_path()
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in names:
                raise ConfigError(f"{path}: unknown setting {shown(key)}")
            values[name] = _coerce(name, value, str(path))
            sources[name] = f"{path}: {name}"
    environ = os.environ if env is None else env
    for name in names - {"keymap"}:
        var = f"KVTUI_{name.upper()}"
        if var in environ:
            values[name] = _coerce(name, environ[var], var)
            sources[name] = var
    for name, value in (flags or {}).items():
        if value is not None and name in names:
            flag = f"--{name.replace('_', '-')}"
            values[name] = _coerce(name, value, flag)
            sources[name] = flag
    settings = Settings(**values)
    if settings.read_only:
        source = sources.get("read_only", "read_only")
        in_file = source.startswith(f"{path}:")
        settings.read_only_source = "read_only" if in_file else source
    check_settings(settings, sources)
    return settings


def check_settings(settings: Settings, sources: dict[str, str] | None = None) -> None:
    """Raise ConfigError for the first value that cannot work, before any sign-in: the
    message starts with where the value came from (``--vault``, ``KVTUI_VAULT``, the
    config file) and shows the value literally."""
    from kvtui.core import validation as check
    from kvtui.core.clouds import CLOUDS

    where = sources or {}

    def fail(name: str, exc: ValueError) -> ConfigError:
        source = where.get(name, name)
        return ConfigError(f"{source}: {exc}")

    if settings.cloud not in CLOUDS:
        raise ConfigError(
            f"{where.get('cloud', 'cloud')}: cloud must be one of {', '.join(CLOUDS)}, "
            f"not {shown(settings.cloud)}"
        )
    cloud = CLOUDS[settings.cloud]
    checks: tuple[tuple[str, Callable[[str], object]], ...] = (
        ("tenant", check.tenant),
        ("client_id", lambda v: check.guid(v, "the client id")),
        ("authority", check.authority),
        ("arm_url", lambda v: check.https_url(v, "the ARM URL")),
        ("ca_bundle", check.ca_bundle),
        ("vault", lambda v: check.vault_url(v, cloud.vault_suffix)),
    )
    for name, checker in checks:
        value = getattr(settings, name)
        if value is None:
            continue
        try:
            checker(value)
        except ValueError as exc:
            raise fail(name, exc) from None
    for name in ("token_cache", "log_file"):
        value = getattr(settings, name)
        if value is not None and Path(value).expanduser().is_dir():
            raise ConfigError(f"{where.get(name, name)}: {shown(value)} is a folder, not a file")
    for name, low, high in (
        ("expiry_warning_days", 0, 3650),
        ("clipboard_clear_seconds", 0, 86400),
    ):
        try:
            check.int_range(getattr(settings, name), name, low, high)
        except ValueError as exc:
            raise fail(name, exc) from None
