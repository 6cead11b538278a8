"""Secrets data plane: set, get and update here; list, delete, recover, purge, backup
and restore (``/secrets``, ``/deletedsecrets``) come from lifecycle.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kvtui.emulator.common import VAULT_KEY, KvError, bad_parameter, json_body, operation
from kvtui.emulator.lifecycle import ObjectKind, add_routes, add_version, version_of
from kvtui.emulator.store import Item, SecretData, Vault, Version

KIND = "secrets"
MAX_VALUE_BYTES = 25 * 1024


# -- JSON shapes ----------------------------------------------------------------------------


def secret_item_json(
    vault: Vault, item: Item[SecretData], version: Version[SecretData], with_version: bool
) -> dict[str, Any]:
    """SecretItem: what lists return (no value)."""
    out: dict[str, Any] = {
        "id": vault.object_id(KIND, item.name, version.version if with_version else None),
        "attributes": vault.attributes_json(version.attributes),
    }
    if version.tags is not None:
        out["tags"] = version.tags
    if version.data.content_type is not None:
        out["contentType"] = version.data.content_type
    if item.managed:
        out["managed"] = True
    return out


def secret_bundle_json(
    vault: Vault, item: Item[SecretData], version: Version[SecretData], with_value: bool
) -> dict[str, Any]:
    """SecretBundle: get/set answer with the value; update/delete/recover without."""
    out: dict[str, Any] = {}
    if with_value:
        out["value"] = version.data.value
    out["id"] = vault.object_id(KIND, item.name, version.version)
    if version.data.content_type is not None:
        out["contentType"] = version.data.content_type
    out["attributes"] = vault.attributes_json(version.attributes)
    if version.tags is not None:
        out["tags"] = version.tags
    kid = version.data.kid
    if kid:
        # Stored relative to the vault ("keys/name/version"), so it follows the vault to
        # another port; older state may hold an absolute URL: keep only its path.
        path = kid.split("/", 3)[3] if kid.startswith("https://") else kid
        out["kid"] = f"{vault.url}{path}"
    if item.managed:
        out["managed"] = True
    return out


SECRETS = ObjectKind(
    name=KIND,
    noun="Secret",
    collection=lambda vault: vault.secrets,
    item_json=secret_item_json,
    bundle_json=lambda vault, item, version: secret_bundle_json(vault, item, version, False),
)


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
) -> tuple[Item[SecretData], Version[SecretData]]:
    """Add a new version (creating the secret if needed); the caller validated inputs.
    ``kid``: the backing key of a certificate's secret, relative to the vault
    (``keys/name/version``). Created at the vault's time (``vault.clock``)."""
    return add_version(
        vault.secrets,
        name,
        SecretData(value, content_type, kid or None),
        tags=tags,
        attributes=attributes,
        managed=managed,
        version=version,
        now=vault.clock.now(),
    )


# -- handlers -------------------------------------------------------------------------------


@operation(KIND, "set")
async def set_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    SECRETS.check_name(name)
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
    tags = SECRETS.parse_tags(body)
    SECRETS.check_writable(vault, name, "set")
    item, v = add_secret_version(
        vault, name, value, content_type=content_type, tags=tags, attributes=body.get("attributes")
    )
    return web.json_response(secret_bundle_json(vault, item, v, with_value=True))


@operation(KIND, "get")
async def get_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, v = SECRETS.lookup(vault, name, version_of(request))
    if not v.attributes.enabled:
        raise KvError(
            403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"
        )
    return web.json_response(secret_bundle_json(vault, item, v, with_value=True))


@operation(KIND, "set")
async def update_secret(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, v = SECRETS.lookup(vault, name, version_of(request))
    body = await json_body(request, required=False)
    if item.managed:
        raise SECRETS.managed_forbidden(name, "update")
    if "contentType" in body:
        if body["contentType"] is not None and not isinstance(body["contentType"], str):
            raise bad_parameter("contentType must be a string.")
        v.data.content_type = body["contentType"]
    if "tags" in body:
        v.tags = SECRETS.parse_tags(body)
    v.attributes.apply(body.get("attributes"))
    v.attributes.updated = vault.clock.now()
    return web.json_response(secret_bundle_json(vault, item, v, with_value=False))


def setup(app: web.Application) -> None:
    r = app.router
    add_routes(r, SECRETS)
    r.add_put("/secrets/{name}", set_secret)
    r.add_get("/secrets/{name}", get_secret)
    r.add_get("/secrets/{name}/{version:[^/]*}", get_secret)
    r.add_patch("/secrets/{name}/{version:[^/]*}", update_secret)
    r.add_patch("/secrets/{name}", update_secret)
