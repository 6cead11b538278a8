"""In-memory state of the emulated vaults: versioned items, soft delete, persistence.

Plain data, no HTTP. Handlers in secrets.py, keys.py and certificates.py turn these
into the service's JSON shapes. Names are case-insensitive, as in the service.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kvtui.emulator.clock import Clock
from kvtui.emulator.policies import (
    CertificateIssuer,
    CertificateOperation,
    CertificatePolicy,
    RotationPolicy,
)

NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
RECOVERABLE_DAYS = 90
RECOVERY_LEVEL = "Recoverable+Purgeable"
DAY = 86400


def new_version() -> str:
    """A version id as the service makes them: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name))


@dataclass
class Attributes:
    """The ``attributes`` object shared by secrets, keys and certificates."""

    enabled: bool = True
    nbf: int | None = None
    exp: int | None = None
    created: int = 0
    updated: int = 0
    """Unix seconds, from the vault's clock (``Vault.clock``)."""
    recovery_level: str = RECOVERY_LEVEL
    recoverable_days: int = RECOVERABLE_DAYS
    exportable: bool | None = None
    """Keys only: whether the private key may be exported."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"enabled": self.enabled}
        if self.nbf is not None:
            out["nbf"] = self.nbf
        if self.exp is not None:
            out["exp"] = self.exp
        out["created"] = self.created
        out["updated"] = self.updated
        out["recoveryLevel"] = self.recovery_level
        out["recoverableDays"] = self.recoverable_days
        if self.exportable is not None:
            out["exportable"] = self.exportable
        return out

    def apply(self, body: dict[str, Any] | None) -> None:
        """Apply the writable fields of a request's ``attributes`` (enabled, nbf, exp)."""
        if not body:
            return
        if "enabled" in body and body["enabled"] is not None:
            self.enabled = bool(body["enabled"])
        if "nbf" in body:
            self.nbf = None if body["nbf"] is None else int(body["nbf"])
        if "exp" in body:
            self.exp = None if body["exp"] is None else int(body["exp"])
        if body.get("exportable") is not None:
            self.exportable = bool(body["exportable"])

    def copy(self) -> Attributes:
        return Attributes(**self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Attributes:
        return cls(**d)


# -- what a version holds, per kind --------------------------------------------------------


@dataclass
class SecretData:
    """A secret version's payload."""

    value: str
    content_type: str | None = None
    kid: str | None = None
    """A certificate's secret: its backing key, relative to the vault
    (``keys/name/version``)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.content_type is not None:
            out["contentType"] = self.content_type
        if self.kid:
            out["kid"] = self.kid
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SecretData:
        return cls(str(d.get("value", "")), d.get("contentType"), d.get("kid"))


@dataclass
class KeyData:
    """A key version's payload."""

    jwk: dict[str, Any]
    """The private JWK, base64url fields, with its ``key_ops`` (crypto.py)."""
    release_policy: dict[str, Any] | None = None
    """As the client gave it (keys.py checks it)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jwk": self.jwk}
        if self.release_policy is not None:
            out["release_policy"] = self.release_policy
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KeyData:
        return cls(dict(d["jwk"]), d.get("release_policy"))


@dataclass
class CertificateData:
    """A certificate version's payload: complete (``cer``, ``x5t``), or pending (the new
    private ``jwk`` until the signed certificate is merged)."""

    cer: str = ""
    """base64 DER."""
    x5t: str = ""
    pending: bool = False
    jwk: dict[str, Any] | None = None
    preserve_order: bool | None = None
    """``preserveCertOrder`` as the create or import asked (None: not given)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = (
            {"pending": True, "jwk": self.jwk}
            if self.pending
            else {"cer": self.cer, "x5t": self.x5t}
        )
        if self.preserve_order is not None:
            out["preserveCertOrder"] = self.preserve_order
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CertificateData:
        order = d.get("preserveCertOrder")
        if d.get("pending"):
            return cls(pending=True, jwk=d.get("jwk"), preserve_order=order)
        return cls(cer=str(d.get("cer", "")), x5t=str(d.get("x5t", "")), preserve_order=order)


D = TypeVar("D", SecretData, KeyData, CertificateData)
#: Each kind's payload type, by the kind's URL segment (persistence, backups).
PAYLOADS: dict[str, type[SecretData] | type[KeyData] | type[CertificateData]] = {
    "secrets": SecretData,
    "keys": KeyData,
    "certificates": CertificateData,
}


@dataclass
class Version(Generic[D]):
    """One version of a secret, key or certificate."""

    version: str
    attributes: Attributes
    tags: dict[str, str] | None
    data: D
    """What the version holds: ``SecretData``, ``KeyData`` or ``CertificateData``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "attributes": dict(self.attributes.__dict__),
            "tags": self.tags,
            "data": self.data.to_json(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], payload: type[D]) -> Version[D]:
        return cls(
            version=d["version"],
            attributes=Attributes.from_dict(d["attributes"]),
            tags=d.get("tags"),
            data=payload.from_json(d.get("data") or {}),
        )


@dataclass
class Item(Generic[D]):
    """A named object with its versions, oldest first; the last one is current; and the
    state it has besides its versions (policies.py)."""

    name: str
    versions: list[Version[D]] = field(default_factory=list)
    managed: bool = False
    """A certificate's backing key or secret: read-only but through the certificate."""
    rotation_policy: RotationPolicy | None = None
    """Keys: the rotation policy, once set."""
    policy: CertificatePolicy | None = None
    """Certificates: the policy of the current version."""
    pending_policy: CertificatePolicy | None = None
    """Certificates: the policy of a version awaiting its merge."""
    operation: CertificateOperation | None = None
    """Certificates: the last certificate operation."""
    backing: dict[str, Item[Any]] = field(default_factory=dict)
    """Only in a backup of a certificate: its backing key and secret, by kind."""

    @property
    def latest(self) -> Version[D]:
        return self.versions[-1]

    def get(self, version: str | None) -> Version[D] | None:
        if not version:
            return self.latest if self.versions else None
        for v in self.versions:
            if v.version == version.lower():
                return v
        return None

    def to_dict(self) -> dict[str, Any]:
        """As persisted and backed up (``extra``: what is not a version)."""
        extra: dict[str, Any] = {}
        if self.managed:
            extra["managed"] = True
        if self.rotation_policy is not None:
            extra["rotation_policy"] = self.rotation_policy.to_json()
        if self.policy is not None:
            extra["policy"] = self.policy.to_json()
        if self.pending_policy is not None:
            extra["pending_policy"] = self.pending_policy.to_json()
        if self.operation is not None:
            extra["operation"] = self.operation.to_json()
        if self.backing:
            extra["backing"] = {kind: item.to_dict() for kind, item in self.backing.items()}
        return {
            "name": self.name,
            "versions": [v.to_dict() for v in self.versions],
            "extra": extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], payload: type[D]) -> Item[D]:
        extra = d.get("extra") or {}

        def policy(key: str) -> CertificatePolicy | None:
            return CertificatePolicy.from_json(extra[key]) if extra.get(key) else None

        rotation = extra.get("rotation_policy")
        operation = extra.get("operation")
        return cls(
            name=d["name"],
            versions=[Version.from_dict(v, payload) for v in d["versions"]],
            managed=bool(extra.get("managed")),
            rotation_policy=RotationPolicy.from_json(rotation) if rotation else None,
            policy=policy("policy"),
            pending_policy=policy("pending_policy"),
            operation=CertificateOperation.from_json(operation) if operation else None,
            backing={
                k: Item.from_dict(v, PAYLOADS[k]) for k, v in (extra.get("backing") or {}).items()
            },
        )


@dataclass
class DeletedItem(Generic[D]):
    item: Item[D]
    deleted_date: int
    scheduled_purge_date: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.to_dict(),
            "deleted_date": self.deleted_date,
            "scheduled_purge_date": self.scheduled_purge_date,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], payload: type[D]) -> DeletedItem[D]:
        item = Item.from_dict(d["item"], payload)
        return cls(item, d["deleted_date"], d["scheduled_purge_date"])


class Collection(Generic[D]):
    """The secrets (or keys, or certificates) of one vault: live and soft-deleted.

    The sorted name lists are cached (a list request of a 50,000-item vault must not
    sort 50,000 names for each of its 2,000 pages); every change goes through the
    methods below, which drop the cache."""

    def __init__(self, payload: type[D]) -> None:
        self.payload: type[D] = payload
        """The type of what each version holds (persistence reads it back as that)."""
        self.items: dict[str, Item[D]] = {}
        self.deleted: dict[str, DeletedItem[D]] = {}
        self._item_keys: list[str] | None = None
        self._deleted_keys: list[str] | None = None

    def get(self, name: str) -> Item[D] | None:
        return self.items.get(name.lower())

    def get_deleted(self, name: str) -> DeletedItem[D] | None:
        return self.deleted.get(name.lower())

    def put(self, item: Item[D]) -> None:
        key = item.name.lower()
        if key not in self.items:
            self._item_keys = None
        self.items[key] = item

    def remove(self, name: str) -> Item[D] | None:
        """Drop a live item for good (no soft delete)."""
        item = self.items.pop(name.lower(), None)
        if item is not None:
            self._item_keys = None
        return item

    def item_keys(self) -> list[str]:
        """Lower-case names of the live items, sorted (cached; do not modify)."""
        if self._item_keys is None:
            self._item_keys = sorted(self.items)
        return self._item_keys

    def deleted_keys(self) -> list[str]:
        """Lower-case names of the deleted items, sorted (cached; do not modify)."""
        if self._deleted_keys is None:
            self._deleted_keys = sorted(self.deleted)
        return self._deleted_keys

    def sorted_items(self) -> list[Item[D]]:
        return [self.items[k] for k in self.item_keys()]

    def sorted_deleted(self) -> list[DeletedItem[D]]:
        return [self.deleted[k] for k in self.deleted_keys()]

    def soft_delete(self, name: str, when: int) -> DeletedItem[D] | None:
        """Move a live item to the deleted ones, deleted at ``when`` (unix seconds)."""
        item = self.remove(name)
        if item is None:
            return None
        t = when
        days = item.latest.attributes.recoverable_days if item.versions else RECOVERABLE_DAYS
        deleted = DeletedItem(item, t, t + days * DAY)
        self.deleted[name.lower()] = deleted
        self._deleted_keys = None
        return deleted

    def recover(self, name: str) -> Item[D] | None:
        deleted = self.deleted.pop(name.lower(), None)
        if deleted is None:
            return None
        self._deleted_keys = None
        self.put(deleted.item)
        return deleted.item

    def purge(self, name: str) -> bool:
        self._deleted_keys = None
        return self.deleted.pop(name.lower(), None) is not None

    def __iter__(self) -> Iterator[Item[D]]:
        return iter(self.sorted_items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [i.to_dict() for i in self.items.values()],
            "deleted": [d.to_dict() for d in self.deleted.values()],
        }

    def load(self, d: dict[str, Any]) -> None:
        self._item_keys = self._deleted_keys = None
        self.items = {
            i["name"].lower(): Item.from_dict(i, self.payload) for i in d.get("items", [])
        }
        self.deleted = {
            x["item"]["name"].lower(): DeletedItem.from_dict(x, self.payload)
            for x in d.get("deleted", [])
        }


@dataclass
class Vault:
    """One emulated vault, served on its own host:port."""

    name: str
    tenant_id: str
    subscription_id: str
    rbac: bool = False
    purge_protection: bool = False
    """Deleted objects cannot be purged (403) and wait out their retention; once on, it
    stays on, as in Azure."""
    location: str = "westeurope"
    resource_group: str = "kvtui-emulator"
    url: str = ""
    """``https://host:port/``, set when the vault's listener is bound."""
    secrets: Collection[SecretData] = field(default_factory=lambda: Collection(SecretData))
    keys: Collection[KeyData] = field(default_factory=lambda: Collection(KeyData))
    certificates: Collection[CertificateData] = field(
        default_factory=lambda: Collection(CertificateData)
    )
    contacts: list[dict[str, Any]] | None = None
    issuers: dict[str, CertificateIssuer] = field(default_factory=dict)
    """By lower-case name."""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    clock: Clock = field(default_factory=Clock, repr=False)
    """Where every time stamped on this vault's objects comes from (the emulator's one
    clock, ``EmulatorState.clock``)."""

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )

    def object_id(self, kind: str, name: str, version: str | None = None) -> str:
        """The id URL of an object: ``{vault}/secrets/name[/version]``."""
        base = f"{self.url}{kind}/{name}"
        return f"{base}/{version}" if version else base

    def attributes_json(self, attributes: Attributes) -> dict[str, Any]:
        """An object's ``attributes`` as this vault reports them: under purge protection,
        a recovery level without ``+Purgeable`` (``Recoverable``)."""
        out = attributes.to_json()
        if self.purge_protection:
            out["recoveryLevel"] = out["recoveryLevel"].removesuffix("+Purgeable")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tenant_id": self.tenant_id,
            "subscription_id": self.subscription_id,
            "rbac": self.rbac,
            "purge_protection": self.purge_protection,
            "location": self.location,
            "secrets": self.secrets.to_dict(),
            "keys": self.keys.to_dict(),
            "certificates": self.certificates.to_dict(),
            "contacts": self.contacts,
            "issuers": {k: i.to_json() for k, i in self.issuers.items()},
        }

    def load(self, d: dict[str, Any]) -> None:
        self.rbac = bool(d.get("rbac", self.rbac))
        self.purge_protection = bool(d.get("purge_protection", self.purge_protection))
        self.location = d.get("location", self.location)
        self.secrets.load(d.get("secrets", {}))
        self.keys.load(d.get("keys", {}))
        self.certificates.load(d.get("certificates", {}))
        self.contacts = d.get("contacts")
        self.issuers = {
            k: CertificateIssuer.from_json(i) for k, i in (d.get("issuers") or {}).items()
        }


def backdated(made: tuple[Item[D], Version[D]], when: int) -> tuple[Item[D], Version[D]]:
    """``made`` (an item and the version just added to it, at the vault's time) with
    the version created and updated at ``when`` instead: how seeds and tests make
    versions dated in the past without a time threaded through every signature."""
    _, version = made
    version.attributes.created = version.attributes.updated = when
    return made


BACKUP_MAGIC = b"KVTUI-EMULATOR-BACKUP-1\n"


def encode_backup(kind: str, vault: Vault, item: Item[Any]) -> bytes:
    """An opaque backup blob of every version of an item (as the service's are opaque).
    Restorable into any vault of the same emulator's subscriptions."""
    import json
    import zlib

    doc = {"kind": kind, "subscription": vault.subscription_id, "item": item.to_dict()}
    return BACKUP_MAGIC + zlib.compress(json.dumps(doc).encode())


def decode_backup(kind: str, blob: bytes, payload: type[D]) -> Item[D] | None:
    """The item in a backup blob of ``kind``, or None when the blob is not one."""
    import json
    import zlib

    if not blob.startswith(BACKUP_MAGIC):
        return None
    try:
        doc = json.loads(zlib.decompress(blob[len(BACKUP_MAGIC) :]))
    except (zlib.error, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        return None
    return Item.from_dict(doc["item"], payload)
