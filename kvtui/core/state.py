"""kvtui's one state file: recent and pinned vaults (for the vault picker) and the
account used last (for a silent start).

A small JSON file under the user's state directory
(``platformdirs.user_state_dir("kvtui")/state.json``), not in the TOML config file: the
config is the user's own file, which the app only reads. Written atomically (temporary
file, then rename), 0600. A missing or damaged file means an empty history and no
account used last (a damaged one is logged and replaced on the next write); it never
stops the app.

Every change re-reads the file first and keeps what it does not change, so two kvtui
windows do not undo each other's pins. Only vault URLs, display names, the account's
home id and the look of the app's last preview (colours: kvtui/ui/splash.py) are
stored: no tokens, no secret names.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MAX_RECENT = 10
FILE_VERSION = 1


@dataclass(frozen=True, slots=True)
class SavedVault:
    """A vault the user opened or pinned (``kvtui.core.arm.SavedVault`` is a vault as ARM
    lists it)."""

    url: str
    """Normalised: ``https://host[:port]/``, host in lower case."""
    name: str = ""
    tenant_id: str = ""
    subscription_id: str = ""
    opened: str = ""
    """ISO 8601 UTC time it was last opened ("" for a pin never opened)."""


def normalize_url(url: str) -> str:
    """``HTTPS://Contoso.Vault.Azure.NET`` -> ``https://contoso.vault.azure.net/``."""
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port and parts.port != 443 else ""
    return f"{(parts.scheme or 'https').lower()}://{host}{port}/"


def vault_url_ok(url: str) -> bool:
    """An https vault URL with a valid host and port and no path, query or user: the
    only kind recorded or read back (``file:///`` or ``https:///`` never are)."""
    from kvtui.core.validation import https_url

    try:
        https_url(url, "vault URL", allow_path=False)
    except ValueError:
        return False
    return "://" in url


def default_state_path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("kvtui")) / "state.json"


def _read(path: Path) -> dict[str, Any]:
    """The file's object; {} when missing. Raises OSError, UnicodeDecodeError or
    ValueError when it cannot be read or is damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected an object")
    return data


def _update(path: Path, changes: dict[str, Any]) -> None:
    """Re-read the file, apply ``changes`` to its top-level keys, write it atomically.
    Raises OSError when it cannot be written (a damaged file is replaced)."""
    try:
        data = _read(path)
    except (OSError, UnicodeDecodeError, ValueError):
        data = {}
    data.update(changes)
    data["version"] = FILE_VERSION
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".state.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- the account used last ----------------------------------------------------------------


def last_account(path: Path) -> str | None:
    """The home account id of the account used last, if any."""
    try:
        value = _read(path).get("last_account")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return str(value) if value else None


def remember_account(path: Path, home_account_id: str | None) -> None:
    """Remember the account used last (None forgets it); a failure is only logged."""
    try:
        _update(path, {"last_account": home_account_id})
    except OSError as exc:  # a read-only home must not stop the app
        log.warning("cannot write %s: %s", path, exc)


# -- the look of the last preview (kvtui/ui/splash.py) ------------------------------------


def saved_look(path: Path) -> Any:
    """The look saved by :func:`remember_look` (unchecked: the caller's to check), or
    None."""
    try:
        return _read(path).get("look")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def remember_look(path: Path, look: dict[str, Any]) -> None:
    """Keep the look of the app's preview for the next start's first paint, if it
    changed; a failure is only logged."""
    if saved_look(path) == look:
        return
    try:
        _update(path, {"look": look})
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc)


# -- recent and pinned vaults -------------------------------------------------------------


def _refs(raw: Any) -> list[SavedVault]:
    if not isinstance(raw, list):
        raise ValueError("expected a list")
    out: list[SavedVault] = []
    seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise ValueError("entries need a url")
        if not vault_url_ok(entry["url"]):
            log.info("dropping a recent or pinned entry that is not a vault URL")
            continue
        fields = {
            k: entry[k]
            for k in ("name", "tenant_id", "subscription_id", "opened")
            if isinstance(entry.get(k), str)
        }
        ref = SavedVault(url=normalize_url(entry["url"]), **fields)
        if ref.url not in seen:
            seen.add(ref.url)
            out.append(ref)
    return out


class VaultHistory:
    """``recent`` (most recent first, at most 10) and ``pinned`` (in pin order)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_state_path()
        self.recent: list[SavedVault] = []
        self.pinned: list[SavedVault] = []
        self.load()

    # -- file -------------------------------------------------------------------------

    def load(self) -> None:
        """Read the file; a missing or damaged one gives an empty history."""
        self.recent, self.pinned = [], []
        try:
            data = _read(self.path)
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read %s (%s): starting with no recent vaults", self.path, exc)
            return
        except ValueError as exc:
            log.warning("ignoring damaged %s (%s): starting with no recent vaults", self.path, exc)
            return
        try:
            recent = _refs(data.get("recent", []))[:MAX_RECENT]
            pinned = _refs(data.get("pinned", []))
        except (ValueError, TypeError) as exc:
            log.warning("ignoring damaged %s (%s): starting with no recent vaults", self.path, exc)
            return
        self.recent, self.pinned = recent, pinned

    def save(self) -> None:
        """Write atomically; a failure is logged (the history is a convenience)."""
        changes = {
            "recent": [asdict(r) for r in self.recent],
            "pinned": [asdict(r) for r in self.pinned],
        }
        try:
            _update(self.path, changes)
        except OSError as exc:
            log.warning("cannot save recent vaults to %s: %s", self.path, exc)

    # -- changes (each re-reads the file, changes it, writes it) --------------------------

    def record_open(
        self, url: str, *, name: str = "", tenant_id: str = "", subscription_id: str = ""
    ) -> None:
        """The vault was opened (it answered): it goes to the front of ``recent``. A URL
        that is not an https vault URL is never recorded."""
        if not vault_url_ok(url):
            log.warning("not recording %r: not an https vault URL", url)
            return
        self.load()
        key = normalize_url(url)
        old = next((r for r in self.recent if r.url == key), None)
        ref = SavedVault(
            url=key,
            name=name or (old.name if old else ""),
            tenant_id=tenant_id or (old.tenant_id if old else ""),
            subscription_id=subscription_id or (old.subscription_id if old else ""),
            opened=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        self.recent = [ref, *(r for r in self.recent if r.url != key)][:MAX_RECENT]
        self.save()

    def pin(self, url: str, *, name: str = "", tenant_id: str = "") -> None:
        if not vault_url_ok(url):
            log.warning("not pinning %r: not an https vault URL", url)
            return
        self.load()
        key = normalize_url(url)
        if not any(p.url == key for p in self.pinned):
            self.pinned.append(SavedVault(url=key, name=name, tenant_id=tenant_id))
            self.save()

    def unpin(self, url: str) -> None:
        self.load()
        key = normalize_url(url)
        kept = [p for p in self.pinned if p.url != key]
        if len(kept) != len(self.pinned):
            self.pinned = kept
            self.save()

    def toggle_pin(self, url: str, *, name: str = "", tenant_id: str = "") -> bool:
        """Pin or unpin; True if the vault is pinned afterwards."""
        if self.is_pinned(url):
            self.unpin(url)
            return False
        self.pin(url, name=name, tenant_id=tenant_id)
        return True

    def forget(self, url: str) -> None:
        """Remove from ``recent`` (pins stay)."""
        self.load()
        key = normalize_url(url)
        self.recent = [r for r in self.recent if r.url != key]
        self.save()

    # -- reading ----------------------------------------------------------------------

    def is_pinned(self, url: str) -> bool:
        key = normalize_url(url)
        return any(p.url == key for p in self.pinned)

    def rank(self, url: str) -> tuple[int, int]:
        """Sort key for the picker: pinned (in pin order), then recent (most recent
        first), then everything else (0, i) < (1, i) < (2, 0)."""
        key = normalize_url(url)
        for i, p in enumerate(self.pinned):
            if p.url == key:
                return (0, i)
        for i, r in enumerate(self.recent):
            if r.url == key:
                return (1, i)
        return (2, 0)

    def order(self, urls: list[str]) -> list[str]:
        """``urls`` with pinned first, then recent, then the rest in their given order."""
        return sorted(urls, key=self.rank)  # sorted is stable: the rest keep their order
