"""What secrets, keys and certificates have in common: the service's errors worded per
kind, the deleted-object JSON, name and tag checks, adding versions, and the lifecycle
operations (list, list versions, delete, the ``/deleted{kind}`` operations, backup and
restore), made for each kind from a small description of it (``ObjectKind``).

What differs between the kinds stays in their modules: setting a secret's value, keys'
cryptography, certificates' policies and pending operations.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic

from aiohttp import web

from kvtui.emulator.common import (
    VAULT_KEY,
    Handler,
    KvError,
    b64url_encode,
    bad_parameter,
    json_body,
    operation,
    page,
    page_of,
)
from kvtui.emulator.faults import vault_label
from kvtui.emulator.store import (
    Attributes,
    Collection,
    D,
    DeletedItem,
    Item,
    Vault,
    Version,
    decode_backup,
    encode_backup,
    new_version,
    valid_name,
)

HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
MAX_TAGS = 15
BLOB_REQUIRED = "The parameter 'value' (the backup blob) is required."
BLOB_INVALID = "A value is not valid base64url."


def _never_pending(version: Version[Any]) -> bool:
    return False


def version_of(request: web.Request) -> str | None:
    """The ``{version}`` of the URL; None for the current version."""
    return request.match_info.get("version") or None


def parse_tags(body: dict[str, Any], noun: str) -> dict[str, str] | None:
    """The request's ``tags`` (None when absent), or 400 worded for a ``noun``."""
    tags = body.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise bad_parameter("Tags must be an object of string values.")
    if len(tags) > MAX_TAGS:
        raise bad_parameter(f"A {noun} can have at most {MAX_TAGS} tags.")
    return {str(k): v for k, v in tags.items()}


def add_version(
    collection: Collection[D],
    name: str,
    data: D,
    *,
    tags: dict[str, str] | None = None,
    attributes: dict[str, Any] | None = None,
    managed: bool = False,
    version: str | None = None,
    now: int,
) -> tuple[Item[D], Version[D]]:
    """Add a new version holding ``data`` (creating the item if needed), created at
    ``now`` (the vault's clock); ``managed`` marks the item as a certificate's. The
    caller validated the name and the inputs."""
    t = now
    attrs = Attributes(created=t, updated=t)
    attrs.apply(attributes)
    v = Version(version or new_version(), attrs, tags, data)
    item = collection.get(name)
    if item is None:
        item = Item(name=name)
        collection.put(item)
    if managed:
        item.managed = True
    item.versions.append(v)
    return item, v


@dataclass(frozen=True)
class ObjectKind(Generic[D]):
    """One kind of vault object, as far as its lifecycle is the same for every kind."""

    name: str
    """``secrets``, ``keys``, ``certificates``: the URL segment, the operation's kind
    (permissions, faults) and the kind a backup blob is of."""
    noun: str
    """``Secret``, ``Key``, ``Certificate``: how the service's messages name one."""
    collection: Callable[[Vault], Collection[D]]
    item_json: Callable[[Vault, Item[D], Version[D], bool], dict[str, Any]]
    """(vault, item, version, with_version): the JSON a list shows for one version."""
    bundle_json: Callable[[Vault, Item[D], Version[D]], dict[str, Any]]
    """The JSON delete, get-deleted, recover and restore answer with (no secret value)."""
    pending: Callable[[Version[D]], bool] = _never_pending
    """Whether a version is still being made (a certificate awaiting its merge): it is
    not current while a complete one exists; lists show it only with
    ``includePending=true``, version lists never."""
    backing: tuple[ObjectKind[Any], ...] = ()
    """Kinds whose same-named object belongs to an object of this kind (a certificate's
    key and secret): deleted, recovered, purged, backed up and restored with it."""

    # -- the service's errors ----------------------------------------------------------------

    def not_found(self, name: str, version: str | None = None) -> KvError:
        ident = f"{name}/{version}" if version else name
        noun = self.noun.lower()
        return KvError(
            404,
            f"{self.noun}NotFound",
            f"A {noun} with (name/id) {ident} was not found in this key vault. If you "
            f"recently deleted this {noun} you may be able to recover it using the "
            f"correct recovery command. {HELP}",
        )

    def deleted_not_found(self, name: str) -> KvError:
        # The service words it as for a live item (recordings of GET /deletedsecrets/{name}
        # and of its recover, quoted in tests/core/real_errors.py).
        return self.not_found(name)

    def deleted_conflict(self, name: str) -> KvError:
        return KvError(
            409,
            "Conflict",
            f"{self.noun} {name} is currently in a deleted but recoverable state, and its name "
            f"cannot be reused; in this state, the {self.noun.lower()} can only be recovered "
            f"or purged.",
            "ObjectIsDeletedButRecoverable",
        )

    def managed_forbidden(self, name: str, op: str) -> KvError:
        return KvError(
            403,
            "Forbidden",
            f"Operation {op} is not allowed on {self.noun.lower()} {name}: it is managed by a "
            f"certificate. Use the certificate operations instead.",
        )

    def exists_conflict(self, name: str) -> KvError:
        return KvError(409, "Conflict", f"{self.noun} {name} already exists and is not deleted.")

    def restore_conflict(self, name: str) -> KvError:
        nouns = [k.noun.lower() for k in (self, *self.backing)]
        blocking = " or ".join(filter(None, [", ".join(nouns[:-1]), nouns[-1]]))
        return KvError(
            409,
            "Conflict",
            f"{self.noun} {name} already exists. A backup can only be restored when no "
            f"{blocking} of the same name exists.",
        )

    def check_name(self, name: str) -> None:
        if not valid_name(name):
            raise bad_parameter(
                f"The request URI contains an invalid name: {name}. {self.noun} names may "
                f"only contain alphanumeric characters and dashes, and be 1 to 127 "
                f"characters long."
            )

    def parse_tags(self, body: dict[str, Any]) -> dict[str, str] | None:
        return parse_tags(body, self.noun.lower())

    # -- state ---------------------------------------------------------------------------

    def current(self, item: Item[D]) -> Version[D]:
        """The version GET answers: the newest complete one, else the newest."""
        done = [v for v in item.versions if not self.pending(v)]
        return done[-1] if done else item.latest

    def lookup(
        self, vault: Vault, name: str, version: str | None = None
    ) -> tuple[Item[D], Version[D]]:
        """The live object and the version asked for (the current one when None), or 404."""
        item = self.collection(vault).get(name)
        if item is None or not item.versions:
            raise self.not_found(name)
        v = item.get(version) if version else self.current(item)
        if v is None:
            raise self.not_found(name, version)
        return item, v

    def deleted(self, vault: Vault, name: str) -> DeletedItem[D]:
        """The soft-deleted object, or 404."""
        deleted = self.collection(vault).get_deleted(name)
        if deleted is None or not deleted.item.versions:
            raise self.deleted_not_found(name)
        return deleted

    def check_writable(self, vault: Vault, name: str, op: str) -> None:
        """Before adding a version: a deleted name is reserved; a managed object is
        read-only (``op`` names the refused operation)."""
        collection = self.collection(vault)
        if collection.get_deleted(name):
            raise self.deleted_conflict(name)
        existing = collection.get(name)
        if existing is not None and existing.managed:
            raise self.managed_forbidden(name, op)

    def deleted_json(
        self, vault: Vault, deleted: DeletedItem[D], body: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "recoveryId": f"{vault.url}deleted{self.name}/{deleted.item.name}",
            "deletedDate": deleted.deleted_date,
            "scheduledPurgeDate": deleted.scheduled_purge_date,
            **body,
        }

    def listed(self, item: Item[D], include_pending: bool) -> Version[D] | None:
        """The version a list shows for ``item``, or None to leave the item out."""
        if not item.versions:
            return None
        v = self.current(item)
        return None if self.pending(v) and not include_pending else v

    def backup_item(self, vault: Vault, item: Item[D]) -> Item[D]:
        """What a backup holds: the object, with its backing objects when it has some."""
        if not self.backing:
            return item
        bundle = copy.deepcopy(item)
        for kind in self.backing:
            other = kind.collection(vault).get(item.name)
            if other is not None:
                bundle.backing[kind.name] = other  # encoded at once, never changed
        return bundle


# -- the lifecycle operations -------------------------------------------------------------

Operation = Callable[[ObjectKind[Any], Vault, web.Request], Awaitable[web.Response]]


def _handler(kind: ObjectKind[Any], permission: str, op: Operation) -> Handler:
    """``op`` as the request handler of ``kind``, tagged ``@operation(kind, permission)``."""

    @operation(kind.name, permission)
    async def handler(request: web.Request) -> web.Response:
        return await op(kind, request.app[VAULT_KEY], request)

    return handler


def _include_pending(request: web.Request) -> bool:
    return request.query.get("includePending", "").lower() == "true"


async def _list(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    include = _include_pending(request)
    collection = kind.collection(vault)

    def build(key: str) -> dict[str, Any] | None:
        item = collection.items[key]
        v = kind.listed(item, include)
        return None if v is None else kind.item_json(vault, item, v, False)

    return page_of(request, collection.item_keys(), build)


async def _list_versions(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    item = kind.collection(vault).get(request.match_info["name"])
    versions = sorted(item.versions, key=lambda v: v.version) if item else []
    entries = [
        (v.version, kind.item_json(vault, item, v, True))
        for v in versions
        if item is not None and not kind.pending(v)
    ]
    return page(request, entries)


async def _delete(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    name = request.match_info["name"]
    item, v = kind.lookup(vault, name)
    if item.managed:
        raise kind.managed_forbidden(name, "delete")
    deleted = kind.collection(vault).soft_delete(name, vault.clock.now())
    assert deleted is not None
    for backing in kind.backing:
        backing.collection(vault).soft_delete(name, deleted.deleted_date)
    body = kind.bundle_json(vault, item, v)
    return web.json_response(kind.deleted_json(vault, deleted, body))


async def _list_deleted(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    include = _include_pending(request)
    collection = kind.collection(vault)

    def build(key: str) -> dict[str, Any] | None:
        d = collection.deleted[key]
        v = kind.listed(d.item, include)
        if v is None:
            return None
        return kind.deleted_json(vault, d, kind.item_json(vault, d.item, v, False))

    return page_of(request, collection.deleted_keys(), build)


async def _get_deleted(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    d = kind.deleted(vault, request.match_info["name"])
    body = kind.bundle_json(vault, d.item, kind.current(d.item))
    return web.json_response(kind.deleted_json(vault, d, body))


async def _recover(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    name = request.match_info["name"]
    collection = kind.collection(vault)
    kind.deleted(vault, name)  # 404 "... was not found in this key vault" unless deleted
    if collection.get(name) is not None:
        raise kind.exists_conflict(name)
    item = collection.recover(name)
    assert item is not None
    for backing in kind.backing:
        backing.collection(vault).recover(name)
    return web.json_response(kind.bundle_json(vault, item, kind.current(item)))


async def _purge(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    name = request.match_info["name"]
    deleted = kind.deleted(vault, name)
    if deleted.item.managed:
        raise kind.managed_forbidden(name, "purge")
    if vault.purge_protection:  # the service's words, then the vault as its 403s name it
        raise KvError(
            403,
            "Forbidden",
            'Operation "purge" is not allowed because purge protection is enabled for this '
            "vault. Key Vault service will automatically purge it after the retention "
            f"period has passed.\r\nVault: {vault_label(vault)}",
        )
    for k in (kind, *kind.backing):
        k.collection(vault).purge(name)
    return web.Response(status=204)


async def _backup(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    name = request.match_info["name"]
    item, _ = kind.lookup(vault, name)
    if item.managed:
        raise kind.managed_forbidden(name, "backup")
    blob = encode_backup(kind.name, vault, kind.backup_item(vault, item))
    return web.json_response({"value": b64url_encode(blob)})


def _backup_blob(kind: ObjectKind[Any], body: dict[str, Any]) -> bytes:
    raw = body.get("value")
    if not isinstance(raw, str):
        raise bad_parameter(BLOB_REQUIRED)
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad_parameter(BLOB_INVALID) from exc


async def _restore(kind: ObjectKind[Any], vault: Vault, request: web.Request) -> web.Response:
    blob = _backup_blob(kind, await json_body(request))
    item = decode_backup(kind.name, blob, kind.collection(vault).payload)
    if item is None:
        raise bad_parameter("Backup blob contains invalid or corrupt version.")
    name = item.name
    if any(k.collection(vault).get(name) is not None for k in (kind, *kind.backing)):
        raise kind.restore_conflict(name)
    if kind.collection(vault).get_deleted(name) is not None:
        raise kind.deleted_conflict(name)
    backing, item.backing = (item.backing if kind.backing else {}), {}
    for k in kind.backing:
        if k.name in backing:
            k.collection(vault).put(backing[k.name])
    kind.collection(vault).put(item)
    return web.json_response(kind.bundle_json(vault, item, kind.current(item)))


def add_routes(router: web.UrlDispatcher, kind: ObjectKind[Any]) -> None:
    """Register the lifecycle operations of ``kind``; before the kind's own
    ``/{kind}/{name}/{version}`` routes, which would take ``/versions`` for a version."""
    base, deleted = f"/{kind.name}", f"/deleted{kind.name}"
    router.add_get(base, _handler(kind, "list", _list))
    router.add_post(f"{base}/restore", _handler(kind, "restore", _restore))
    router.add_get(f"{base}/{{name}}/versions", _handler(kind, "list", _list_versions))
    router.add_post(f"{base}/{{name}}/backup", _handler(kind, "backup", _backup))
    router.add_delete(f"{base}/{{name}}", _handler(kind, "delete", _delete))
    router.add_get(deleted, _handler(kind, "list", _list_deleted))
    router.add_get(f"{deleted}/{{name}}", _handler(kind, "get", _get_deleted))
    router.add_delete(f"{deleted}/{{name}}", _handler(kind, "purge", _purge))
    router.add_post(f"{deleted}/{{name}}/recover", _handler(kind, "recover", _recover))
