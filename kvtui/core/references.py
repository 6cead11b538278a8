"""What the copy menu offers for an item (name, ids, App Service references, ``az``
commands) and how exports are written to disk. Never sees a secret value: nothing here
takes one, so no command built here can contain it."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kvtui.core.clouds import CLOUDS
from kvtui.core.errors import VaultError
from kvtui.core.models import Item, Kind


class InvalidReference(VaultError):
    """An id that cannot be turned into a safe reference (control characters, ...)."""


class ExportError(VaultError):
    """A file could not be written: the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ObjectId:
    """A Key Vault object id taken apart: ``https://v.vault.azure.net/secrets/db/abc``."""

    vault_url: str
    """With a trailing slash."""
    collection: str
    name: str
    version: str | None

    @property
    def versionless(self) -> str:
        return f"{self.vault_url}{self.collection}/{self.name}"

    @property
    def versioned(self) -> str | None:
        return f"{self.versionless}/{self.version}" if self.version else None


_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff'\"`\\]")


def parse_id(object_id: str) -> ObjectId:
    """Split an object id; InvalidReference if it is not one, or holds characters that
    have no business in a URL (whitespace, controls, quotes) and could mislead a shell
    or a reader."""
    if _UNSAFE.search(object_id):
        raise InvalidReference(f"The id {object_id!r} contains characters a URL cannot have.")
    parts = urlsplit(object_id)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or not parts.netloc or not 2 <= len(segments) <= 3:
        raise InvalidReference(f"{object_id!r} is not a Key Vault object id.")
    version = segments[2] if len(segments) == 3 else None
    return ObjectId(f"https://{parts.netloc}/", segments[0], segments[1], version)


def vault_name(vault_url: str) -> str | None:
    """The vault's name when its URL is a known cloud's (``https://NAME.vault.azure.net``),
    else None (e.g. the emulator on 127.0.0.1)."""
    host = (urlsplit(vault_url).hostname or "").lower()
    for cloud in CLOUDS.values():
        if host.endswith(cloud.vault_suffix) and "." not in host[: -len(cloud.vault_suffix)]:
            return host[: -len(cloud.vault_suffix)] or None
    return None


@dataclass(frozen=True, slots=True)
class CopyChoice:
    """One line of the copy menu: ``label`` to show, ``text`` to copy."""

    key: str
    """Stable id for the UI: ``name``, ``id``, ``uri``, ``appservice``, ..."""
    label: str
    text: str


_AZ_GROUP = {Kind.SECRETS: "secret", Kind.KEYS: "key", Kind.CERTIFICATES: "certificate"}


def az_show_command(kind: Kind, object_id: str) -> str:
    """``az keyvault secret show --id <id>`` (key/certificate alike), shell-quoted."""
    oid = parse_id(object_id)
    return (
        f"az keyvault {_AZ_GROUP[kind]} show --id {shlex.quote(oid.versioned or oid.versionless)}"
    )


def app_service_reference(object_id: str, *, versioned: bool = False) -> str:
    """``@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/db/)``: the
    documented App Service / Functions reference; versionless (follows rotation, with the
    trailing slash of Microsoft's examples) unless ``versioned`` and the id has a version."""
    oid = parse_id(object_id)
    uri = oid.versioned if versioned and oid.version else oid.versionless + "/"
    return f"@Microsoft.KeyVault(SecretUri={uri})"


def app_service_reference_by_name(object_id: str, *, versioned: bool = False) -> str | None:
    """``@Microsoft.KeyVault(VaultName=v;SecretName=db[;SecretVersion=...])``, or None
    when the vault's name cannot be told from its URL."""
    oid = parse_id(object_id)
    name = vault_name(oid.vault_url)
    if name is None:
        return None
    version = f";SecretVersion={oid.version}" if versioned and oid.version else ""
    return f"@Microsoft.KeyVault(VaultName={name};SecretName={oid.name}{version})"


def copy_choices(item: Item, *, secret_id: str | None = None) -> list[CopyChoice]:
    """The copy menu of an item (a detail's item has its version, so its id is
    versioned). App Service references are for secrets; for a certificate, pass its
    ``secret_id`` to offer references to the secret that holds it."""
    oid = parse_id(item.id)
    if item.version and oid.version is None:
        oid = ObjectId(oid.vault_url, oid.collection, oid.name, item.version)
    noun = item.kind.singular
    choices = [CopyChoice("name", "Name", item.name)]
    if oid.versioned:
        choices.append(CopyChoice("id", "Id (this version)", oid.versioned))
    choices.append(CopyChoice("uri", "Versionless URI", oid.versionless))
    ref_source = oid.versioned or oid.versionless
    if item.kind is Kind.CERTIFICATES and secret_id:
        ref_source = secret_id
    if item.kind is Kind.SECRETS or (item.kind is Kind.CERTIFICATES and secret_id):
        suffix = "" if item.kind is Kind.SECRETS else " (certificate's secret)"
        choices.append(
            CopyChoice(
                "appservice",
                f"App Service reference{suffix}",
                app_service_reference(ref_source),
            )
        )
        if parse_id(ref_source).version:
            choices.append(
                CopyChoice(
                    "appservice-version",
                    f"App Service reference, pinned to this version{suffix}",
                    app_service_reference(ref_source, versioned=True),
                )
            )
        by_name = app_service_reference_by_name(ref_source)
        if by_name:
            choices.append(
                CopyChoice("appservice-name", f"App Service reference by name{suffix}", by_name)
            )
    choices.append(
        CopyChoice(
            "az",
            f"az keyvault {noun} show command",
            az_show_command(item.kind, oid.versioned or oid.versionless),
        )
    )
    return choices


# -- exports -----------------------------------------------------------------------------------


def export_filename(item: Item, suffix: str) -> str:
    """A safe default file name: ``<name>[-<version>]<suffix>`` with only [A-Za-z0-9._-]."""
    base = item.name + (f"-{item.version[:8]}" if item.version else "")
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".") or "export"
    return base + suffix


def write_export(
    path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False, mode: int = 0o644
) -> Path:
    """Write public material (a PEM or CER) to ``path`` and return the absolute path.
    Refuses to replace an existing file unless ``overwrite``; the file gets exactly
    ``mode`` (0644: public material) whatever the umask; a replacement is atomic (a
    temporary file in the same folder, then rename). Errors are ExportError."""
    target = Path(os.path.expanduser(os.fspath(path))).absolute()
    where = target.parent
    if not where.is_dir():
        raise ExportError(f"Cannot save to {target}: the folder {where} does not exist.")
    if target.is_dir():
        raise ExportError(f"Cannot save to {target}: it is a folder; add a file name.")
    exists = os.path.lexists(target)
    if exists and not overwrite:
        raise ExportError(f"{target} exists already: choose another name or overwrite it.")
    if exists and not stat.S_ISREG(os.lstat(target).st_mode):
        raise ExportError(f"Cannot replace {target}: it is not a regular file.")
    try:
        if not exists:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                os.fchmod(fd, mode)
                _write_all(fd, data)
            finally:
                os.close(fd)
            return target
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=where)
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
            os.close(fd)
            fd = -1
            os.replace(tmp, target)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target
    except FileExistsError:
        raise ExportError(
            f"{target} exists already: choose another name or overwrite it."
        ) from None
    except PermissionError:
        raise ExportError(f"Cannot save to {target}: permission denied.") from None
    except OSError as exc:
        raise ExportError(f"Cannot save to {target}: {exc.strerror or exc}.") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)
