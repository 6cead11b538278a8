"""Secrets data plane: the ``/secrets`` and ``/deletedsecrets`` operations."""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

from aiohttp import web

from kvtui.emulator.common import (
    VAULT_KEY,
    KvError,
    bad_parameter,
    json_body,
    operation,
    page,
)
from kvtui.emulator.store import (
    Attributes,
    DeletedItem,
    Item,
    Vault,
    Version,
    decode_backup,
    encode_backup,
    new_version,
    now,
    valid_name,
)

KIND = "secrets"
MAX_VALUE_BYTES = 25 * 1024
HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"


# -- JSON shapes ----------------------------------------------------------------------------


def secret_item_json(
    vault: Vault, item: Item, version: Version, with_version: bool
) -> dict[str, Any]:
    """SecretItem: what lists return (no value)."""
    out: dict[str, Any] = {
        "id": vault.object_id(KIND, item.name, version.version if with_version else None),
        "attributes": version.attributes.to_json(),
    }
    if version.tags is not None:
        out["tags"] = version.tags
    if version.data.get("contentType") is not None:
        out["contentType"] = version.data["contentType"]
    if item.extra.get("managed"):
        out["managed"] = True
    return out


def secret_bundle_json(
    vault: Vault, item: Item, version: Version, with_value: bool
) -> dict[str, Any]:
    """SecretBundle: get/set answer with the value; update/delete/recover without."""
    out: dict[str, Any] = {}
    if with_value:
        out["value"] = version.data.get("value", "")
    out["id"] = vault.object_id(KIND, item.name, version.version)
    if version.data.get("contentType") is not None:
        out["contentType"] = version.data["contentType"]
    out["attributes"] = version.attributes.to_json()
    if version.tags is not None:
        out["tags"] = version.tags
    if version.data.get("kid"):
        out["kid"] = version.data["kid"]
    if item.extra.get("managed"):
        out["managed"] = True
    return out


def deleted_json(vault: Vault, deleted: DeletedItem, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "recoveryId": f"{vault.url}deleted{KIND}/{deleted.item.name}",
        "deletedDate": deleted.deleted_date,
        "scheduledPurgeDate": deleted.scheduled_purge_date,
        **body,
    }


# -- errors ---------------------------------------------------------------------------------


def not_found(name: str, version: str | None = None) -> KvError:
    ident = f"{name}/{version}" if version else name
    return KvError(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {ident} was not found in this key vault. If you "
        f"recently deleted this secret you may be able to recover it using the "
        f"correct recovery command. {HELP}",
    )


def deleted_not_found(name: str) -> KvError:
    return KvError(404, "SecretNotFound", f"Deleted Secret not found: {name}. {HELP}")


def check_name(name: str) -> None:
    if not valid_name(name):
        raise bad_parameter(
            f"The request URI contains an invalid name: {name}. Secret names may only contain "
            f"alphanumeric characters and dashes, and be 1 to 127 characters long."
        )


def deleted_conflict(name: str) -> KvError:
    return KvError(
        409,
        "Conflict",
        f"Secret {name} is currently in a deleted but recoverable state, and its name "
        f"cannot be reused; in this state, the secret can only be recovered or purged.",
        "ObjectIsDeletedButRecoverable",
    )


def managed_forbidden(name: str, op: str) -> KvError:
    return KvError(
        403,
        "Forbidden",
        f"Operation {op} is not allowed on secret {name}: it is managed by a "
        f"certificate. Use the certificate operations instead.",
    )


def parse_tags(body: dict[str, Any]) -> dict[str, str] | None:
    tags = body.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise bad_parameter("Tags must be an object of string values.")
    if len(tags) > 15:
        raise bad_parameter("A secret can have at most 15 tags.")
    return {str(k): v for k, v in tags.items()}


def _version_of(request: web.Request) -> str | None:
    return request.match_info.get("version") or None


def _lookup(vault: Vault, name: str, version: str | None) -> tuple[Item, Version]:
    item = vault.secrets.get(name)
    if item is None:
        raise not_found(name)
    v = item.get(version)
    if v is None:
        raise not_found(name, version)
    return item, v


# -- shared with the certificates module --------------------------------------------------


def add_secret_version(
    vault: Vault,
    name: str,
    value: str,
    *,
    content_type: str | None = None,
    tags: dict[str, str] | None = None,
    attributes: dict[str, Any] | None = None,
    managed: bool = False,
    kid: str | None = None,
    version: str | None = None,
    when: int | None = None,
) -> tuple[Item, Version]:
    """Add a new version (creating the secret if needed); the caller validated inputs."""
    t = now() if when is None else when
    attrs = Attributes(created=t, updated=t)
    attrs.apply(attributes)
    data: dict[str, Any] = {"value": value}
    if content_type is not None:
        data["contentType"] = content_type
    if kid:
        data["kid"] = kid
    v = Version(version or new_version(), attrs, tags, data)
    item = vault.secrets.get(name)
    if item is None:
        item = Item(name=name)
        vault.secrets.put(item)
    if managed:
        item.extra["managed"] = True
    item.versions.append(v)
    return item, v


# -- handlers -------------------------------------------------------------------------------


@operation(KIND, "set")
async def set_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    check_name(name)
    body = await json_body(request)
    value = body.get("value")
    if not isinstance(value, str):
        raise bad_parameter("The parameter 'value' is required and must be a string.")
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise bad_parameter(
            f"The secret value is {len(value.encode('utf-8'))} bytes; the maximum allowed "
            f"size of a secret value is {MAX_VALUE_BYTES} bytes."
        )
    content_type = body.get("contentType")
    if content_type is not None and not isinstance(content_type, str):
        raise bad_parameter("contentType must be a string.")
    tags = parse_tags(body)
    if vault.secrets.get_deleted(name):
        raise deleted_conflict(name)
    existing = vault.secrets.get(name)
    if existing is not None and existing.extra.get("managed"):
        raise managed_forbidden(name, "set")
    item, v = add_secret_version(
        vault, name, value, content_type=content_type, tags=tags, attributes=body.get("attributes")
    )
    return web.json_response(secret_bundle_json(vault, item, v, with_value=True))


@operation(KIND, "get")
async def get_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, v = _lookup(vault, name, _version_of(request))
    if not v.attributes.enabled:
        raise KvError(
            403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"
        )
    return web.json_response(secret_bundle_json(vault, item, v, with_value=True))


@operation(KIND, "set")
async def update_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, v = _lookup(vault, name, _version_of(request))
    body = await json_body(request, required=False)
    if item.extra.get("managed"):
        raise managed_forbidden(name, "update")
    if "contentType" in body:
        if body["contentType"] is not None and not isinstance(body["contentType"], str):
            raise bad_parameter("contentType must be a string.")
        v.data["contentType"] = body["contentType"]
    if "tags" in body:
        v.tags = parse_tags(body)
    v.attributes.apply(body.get("attributes"))
    v.attributes.updated = now()
    return web.json_response(secret_bundle_json(vault, item, v, with_value=False))


@operation(KIND, "list")
async def list_secrets(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    entries = [
        (i.name.lower(), secret_item_json(vault, i, i.latest, with_version=False))
        for i in vault.secrets.sorted_items()
    ]
    return page(request, entries)


@operation(KIND, "list")
async def list_versions(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item = vault.secrets.get(name)
    versions = sorted(item.versions, key=lambda v: v.version) if item else []
    entries = [
        (v.version, secret_item_json(vault, item, v, with_version=True))
        for v in versions
        if item is not None
    ]
    return page(request, entries)


@operation(KIND, "delete")
async def delete_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item = vault.secrets.get(name)
    if item is None:
        raise not_found(name)
    if item.extra.get("managed"):
        raise managed_forbidden(name, "delete")
    deleted = vault.secrets.soft_delete(name)
    assert deleted is not None
    body = secret_bundle_json(vault, item, item.latest, with_value=False)
    return web.json_response(deleted_json(vault, deleted, body))


@operation(KIND, "list")
async def list_deleted(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    entries = [
        (
            d.item.name.lower(),
            deleted_json(vault, d, secret_item_json(vault, d.item, d.item.latest, False)),
        )
        for d in vault.secrets.sorted_deleted()
    ]
    return page(request, entries)


@operation(KIND, "get")
async def get_deleted(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    deleted = vault.secrets.get_deleted(name)
    if deleted is None:
        raise deleted_not_found(name)
    body = secret_bundle_json(vault, deleted.item, deleted.item.latest, with_value=False)
    return web.json_response(deleted_json(vault, deleted, body))


@operation(KIND, "recover")
async def recover_deleted(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    if vault.secrets.get(name) is not None:
        raise KvError(409, "Conflict", f"Secret {name} already exists and is not deleted.")
    item = vault.secrets.recover(name)
    if item is None:
        raise deleted_not_found(name)
    return web.json_response(secret_bundle_json(vault, item, item.latest, with_value=False))


@operation(KIND, "purge")
async def purge_deleted(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    deleted = vault.secrets.get_deleted(name)
    if deleted is None:
        raise deleted_not_found(name)
    if deleted.item.extra.get("managed"):
        raise managed_forbidden(name, "purge")
    vault.secrets.purge(name)
    return web.Response(status=204)


@operation(KIND, "backup")
async def backup_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item = vault.secrets.get(name)
    if item is None:
        raise not_found(name)
    if item.extra.get("managed"):
        raise managed_forbidden(name, "backup")
    blob = encode_backup(KIND, vault, item)
    return web.json_response({"value": base64.urlsafe_b64encode(blob).rstrip(b"=").decode()})


@operation(KIND, "restore")
async def restore_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    body = await json_body(request)
    raw = body.get("value")
    if not isinstance(raw, str):
        raise bad_parameter("The parameter 'value' (the backup blob) is required.")
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad_parameter("The backup blob is not valid base64url.") from exc
    item = decode_backup(KIND, blob)
    if item is None:
        raise bad_parameter("Backup blob contains invalid or corrupt version.")
    if vault.secrets.get(item.name) is not None:
        raise KvError(
            409,
            "Conflict",
            f"Secret {item.name} already exists. A backup can only "
            f"be restored when no secret of the same name exists.",
        )
    if vault.secrets.get_deleted(item.name) is not None:
        raise deleted_conflict(item.name)
    item = copy.deepcopy(item)
    vault.secrets.put(item)
    return web.json_response(secret_bundle_json(vault, item, item.latest, with_value=False))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/secrets", list_secrets)
    r.add_post("/secrets/restore", restore_secret)
    r.add_put("/secrets/{name}", set_secret)
    r.add_get("/secrets/{name}", get_secret)
    r.add_get("/secrets/{name}/versions", list_versions)
    r.add_post("/secrets/{name}/backup", backup_secret)
    r.add_get("/secrets/{name}/{version:[^/]*}", get_secret)
    r.add_patch("/secrets/{name}/{version:[^/]*}", update_secret)
    r.add_patch("/secrets/{name}", update_secret)
    r.add_delete("/secrets/{name}", delete_secret)
    r.add_get("/deletedsecrets", list_deleted)
    r.add_get("/deletedsecrets/{name}", get_deleted)
    r.add_delete("/deletedsecrets/{name}", purge_deleted)
    r.add_post("/deletedsecrets/{name}/recover", recover_deleted)
