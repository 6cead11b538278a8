"""Keys data plane: ``/keys``, ``/deletedkeys`` and ``/rng``, with real cryptography.

A key version stores its private JWK (see crypto.py); responses carry the public half.
Behaviour follows a premium (not managed HSM) vault: RSA and EC keys, software or HSM,
no ``oct`` keys, no key attestation, no release without a release policy.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from kvtui.emulator import crypto
from kvtui.emulator.common import (
    VAULT_KEY,
    Handler,
    KvError,
    b64url_decode,
    b64url_encode,
    bad_parameter,
    json_body,
    operation,
)
from kvtui.emulator.lifecycle import ObjectKind, add_routes, version_of
from kvtui.emulator.policies import RotationAction, RotationPolicy
from kvtui.emulator.store import Item, KeyData, Vault, Version

KIND = "keys"
RSA_SIZES = (2048, 3072, 4096)
RSA_EXPONENTS = (3, 65537)
KEY_TYPES = ("RSA", "RSA-HSM", "EC", "EC-HSM")
PRIVATE_OPS = ("decrypt", "sign", "unwrapKey")
"""Operations refused on a disabled key (the public ones still work, as in the service)."""
MAX_RANDOM_BYTES = 128
DURATION_RE = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)
DURATION_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)


# -- JSON shapes ----------------------------------------------------------------------------


def _jwk(version: Version[KeyData]) -> dict[str, Any]:
    return version.data.jwk


def _attributes_json(vault: Vault, version: Version[KeyData]) -> dict[str, Any]:
    attrs = vault.attributes_json(version.attributes)
    attrs.setdefault("exportable", False)
    return attrs


def key_item_json(
    vault: Vault, item: Item[KeyData], version: Version[KeyData], with_version: bool
) -> dict[str, Any]:
    """KeyItem: what lists return (no key material)."""
    out: dict[str, Any] = {
        "kid": vault.object_id(KIND, item.name, version.version if with_version else None),
        "attributes": _attributes_json(vault, version),
    }
    if version.tags is not None:
        out["tags"] = version.tags
    if item.managed:
        out["managed"] = True
    return out


def key_bundle_json(vault: Vault, item: Item[KeyData], version: Version[KeyData]) -> dict[str, Any]:
    """KeyBundle: the public JWK with its ``kid``, attributes, tags, release policy."""
    key = {"kid": vault.object_id(KIND, item.name, version.version)}
    key.update(crypto.public_jwk(_jwk(version)))
    out: dict[str, Any] = {"key": key, "attributes": _attributes_json(vault, version)}
    if version.tags is not None:
        out["tags"] = version.tags
    if item.managed:
        out["managed"] = True
    if version.data.release_policy is not None:
        out["release_policy"] = version.data.release_policy
    return out


def _bundle_response(vault: Vault, item: Item[KeyData], version: Version[KeyData]) -> web.Response:
    return web.json_response(key_bundle_json(vault, item, version))


KEYS = ObjectKind(
    name=KIND,
    noun="Key",
    collection=lambda vault: vault.keys,
    item_json=key_item_json,
    bundle_json=key_bundle_json,
)


# -- errors ---------------------------------------------------------------------------------


def _kty_error(kty: object) -> KvError:
    return KvError(400, "BadParameter", f"Invalid kty value: {kty}", "KeyTypeNotSupported")


# -- request parsing ------------------------------------------------------------------------


def parse_key_ops(raw: object, kty: str) -> list[str] | None:
    """The requested key_ops, or None for the key type's defaults; 400 when an operation
    does not apply to the key type, worded as the service words it."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(op, str) for op in raw):
        raise bad_parameter("key_ops must be an array of strings.")
    allowed = crypto.RSA_OPS if kty.startswith("RSA") else crypto.EC_OPS
    wrong = [op for op in raw if op not in allowed]
    if wrong:
        listed = ", ".join(f'"{op}"' for op in wrong)
        supported = ", ".join(f'"{op}"' for op in allowed)
        raise bad_parameter(
            f"Unsupported key operation(s): {listed}. Supported values are {supported}."
        )
    return list(dict.fromkeys(raw))


def parse_release_policy(body: dict[str, Any], exportable: bool) -> dict[str, Any] | None:
    policy = body.get("release_policy")
    if policy is not None and not isinstance(policy, dict):
        raise bad_parameter("release_policy must be an object.")
    if policy is not None and not policy.get("data"):
        policy = None  # the service drops a policy without rules
    if exportable and policy is None:
        raise bad_parameter("AKV.SKR.1004: Exportable keys must have release policy.")
    if not exportable and policy is not None:
        raise bad_parameter("AKV.SKR.1005: Non-exportable keys must not have release policy.")
    return policy


def _attributes(body: dict[str, Any]) -> dict[str, Any]:
    attrs = body.get("attributes")
    if attrs is None:
        return {}
    if not isinstance(attrs, dict):
        raise bad_parameter("attributes must be an object.")
    for field in ("nbf", "exp"):
        if attrs.get(field) is not None and not isinstance(attrs[field], int):
            raise bad_parameter(f"attributes.{field} must be a number of seconds.")
    return attrs


def _b64_field(body: dict[str, Any], field: str) -> bytes:
    raw = body.get(field)
    if not isinstance(raw, str):
        raise bad_parameter(f"Property '{field}' is required.")
    return b64url_decode(raw)


# -- key material ---------------------------------------------------------------------------


def new_private_key(
    kty: str, size: int | None, crv: str | None, exponent: int | None
) -> crypto.PrivateKey:
    """A new key as the service would create it, or 400 for parameters it refuses."""
    if kty.startswith("RSA"):
        if size is not None and size not in RSA_SIZES:
            raise bad_parameter(
                f"The key size {size} is not supported. Supported RSA key sizes are "
                f"{', '.join(map(str, RSA_SIZES))}."
            )
        if exponent is not None and exponent not in RSA_EXPONENTS:
            raise bad_parameter(f"The public exponent {exponent} is not supported.")
        return rsa.generate_private_key(public_exponent=exponent or 65537, key_size=size or 2048)
    if crv is not None and crv not in crypto.CURVES:
        raise bad_parameter(
            f"Invalid curve name: {crv}. Supported values are {', '.join(crypto.CURVES)}."
        )
    return crypto.generate_private_key(kty, crv=crv)


def _key_type(raw: object) -> str:
    if not isinstance(raw, str) or raw not in KEY_TYPES:
        raise _kty_error(raw)
    return raw


def _optional_int(body: dict[str, Any], field: str) -> int | None:
    value = body.get(field)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise bad_parameter(f"{field} must be an integer.")
    return value


def _store_version(
    vault: Vault,
    name: str,
    jwk: dict[str, Any],
    body: dict[str, Any],
    tags: dict[str, str] | None,
) -> web.Response:
    attributes = _attributes(body)
    policy = parse_release_policy(body, bool(attributes.get("exportable")))
    item, v = crypto.add_key_version(vault, name, jwk, tags=tags, attributes=attributes)
    if v.attributes.exportable is None:
        v.attributes.exportable = False
    if policy is not None:
        v.data.release_policy = policy
    return _bundle_response(vault, item, v)


def _imported_jwk(raw: object, hsm: bool) -> dict[str, Any]:
    """The private JWK of an import request, validated by loading it."""
    if not isinstance(raw, dict):
        raise bad_parameter("Property 'key' is required.")
    kty = str(raw.get("kty", ""))
    base = kty.removesuffix("-HSM")
    if base not in ("RSA", "EC"):
        raise _kty_error(raw.get("kty"))
    if not raw.get("d"):
        raise bad_parameter("The key to import must contain its private material ('d').")
    try:
        key = crypto.private_key_from_jwk(raw)
    except (KeyError, ValueError, TypeError) as exc:
        raise bad_parameter(f"The key to import is not a valid {base} JSON Web Key.") from exc
    ops = parse_key_ops(raw.get("key_ops"), base)
    return crypto.jwk_from_private_key(key, ops, hsm=hsm or kty.endswith("-HSM"))


# -- handlers: keys -------------------------------------------------------------------------


@operation(KIND, "create")
async def create_key(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    KEYS.check_name(name)
    body = await json_body(request)
    kty = _key_type(body.get("kty"))
    ops = parse_key_ops(body.get("key_ops"), kty)
    tags = KEYS.parse_tags(body)
    size, exponent = _optional_int(body, "key_size"), _optional_int(body, "public_exponent")
    # RSA generation takes up to a second: off the loop, so other requests go on.
    key = await asyncio.to_thread(new_private_key, kty, size, body.get("crv"), exponent)
    KEYS.check_writable(vault, name, "create")
    jwk = crypto.jwk_from_private_key(key, ops, hsm=kty.endswith("-HSM"))
    return _store_version(vault, name, jwk, body, tags)


@operation(KIND, "import")
async def import_key(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    KEYS.check_name(name)
    body = await json_body(request)
    jwk = _imported_jwk(body.get("key"), bool(body.get("Hsm")))
    tags = KEYS.parse_tags(body)
    KEYS.check_writable(vault, name, "create")
    return _store_version(vault, name, jwk, body, tags)


@operation(KIND, "get")
async def get_key(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, v = KEYS.lookup(vault, request.match_info["name"], version_of(request))
    return _bundle_response(vault, item, v)


@operation(KIND, "update")
async def update_key(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, v = KEYS.lookup(vault, name, version_of(request))
    body = await json_body(request, required=False)
    if item.managed:
        raise KEYS.managed_forbidden(name, "update")
    jwk = _jwk(v)
    ops = parse_key_ops(body.get("key_ops"), str(jwk["kty"]))
    tags = KEYS.parse_tags(body)
    attributes = _attributes(body)
    exportable = attributes.get("exportable", v.attributes.exportable)
    policy = body.get("release_policy", v.data.release_policy)
    parse_release_policy({"release_policy": policy}, bool(exportable))
    if ops is not None:
        jwk["key_ops"] = ops
    if "tags" in body:
        v.tags = tags
    if "release_policy" in body:
        v.data.release_policy = policy
    v.attributes.apply(attributes)
    v.attributes.updated = vault.clock.now()
    return _bundle_response(vault, item, v)


# -- rotation -------------------------------------------------------------------------------


def duration_seconds(text: str) -> int | None:
    """Seconds in an ISO 8601 duration (months as 30 days, years as 365), or None."""
    m = DURATION_RE.match(text) if isinstance(text, str) and text != "P" else None
    if m is None or text.endswith("T"):
        return None
    return sum(int(g or 0) * unit for g, unit in zip(m.groups(), DURATION_SECONDS, strict=True))


def _policy_json(vault: Vault, item: Item[KeyData]) -> dict[str, Any]:
    policy = item.rotation_policy or RotationPolicy.default()
    return {"id": f"{vault.object_id(KIND, item.name)}/rotationpolicy", **policy.to_json()}


def _parse_action(raw: object) -> RotationAction:
    if not isinstance(raw, dict):
        raise bad_parameter("A lifetime action must be an object.")
    action = raw.get("action") or {}
    kind = str(action.get("type", "")) if isinstance(action, dict) else ""
    if kind.lower() not in ("rotate", "notify"):
        raise bad_parameter(f"Invalid lifetime action type: {kind}. Expected Rotate or Notify.")
    trigger = raw.get("trigger") or {}
    if not isinstance(trigger, dict):
        raise bad_parameter("A lifetime action's trigger must be an object.")
    given = {k: v for k, v in trigger.items() if v is not None}
    if len(given) != 1 or not set(given) <= {"timeAfterCreate", "timeBeforeExpiry"}:
        raise bad_parameter(
            "A lifetime action's trigger must have exactly one of timeAfterCreate and "
            "timeBeforeExpiry."
        )
    ((field, value),) = given.items()
    if duration_seconds(value) is None:
        raise bad_parameter(f"{field} must be an ISO 8601 duration, e.g. P90D: {value}")
    if kind.lower() == "notify" and field != "timeBeforeExpiry":
        raise bad_parameter("A Notify action can only be triggered by timeBeforeExpiry.")
    if field == "timeAfterCreate":
        return RotationAction(kind.capitalize(), time_after_create=value)
    return RotationAction(kind.capitalize(), time_before_expiry=value)


def _parse_policy(
    body: dict[str, Any], previous: RotationPolicy | None, now: int
) -> RotationPolicy:
    raw_actions = body.get("lifetimeActions") or []
    if not isinstance(raw_actions, list):
        raise bad_parameter("lifetimeActions must be an array.")
    actions = [_parse_action(a) for a in raw_actions]
    attrs = body.get("attributes") or {}
    expiry = attrs.get("expiryTime") if isinstance(attrs, dict) else None
    if expiry is not None:
        seconds = duration_seconds(expiry)
        if seconds is None or seconds < 28 * 86400:
            raise bad_parameter(
                f"expiryTime must be an ISO 8601 duration of at least 28 days: {expiry}"
            )
    rotate_before_expiry = any(
        a.time_before_expiry is not None for a in actions if a.type == "Rotate"
    )
    if rotate_before_expiry and expiry is None:
        raise bad_parameter("A Rotate action with timeBeforeExpiry requires an expiryTime.")
    created = previous.created if previous is not None and previous.created else now
    return RotationPolicy(actions, expiry_time=expiry, created=created, updated=now)


@operation(KIND, "getrotationpolicy")
async def get_rotation_policy(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, _ = KEYS.lookup(vault, name)
    return web.json_response(_policy_json(vault, item))


@operation(KIND, "setrotationpolicy")
async def set_rotation_policy(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, _ = KEYS.lookup(vault, name)
    if item.managed:
        raise KEYS.managed_forbidden(name, "setrotationpolicy")
    body = await json_body(request)
    item.rotation_policy = _parse_policy(body, item.rotation_policy, vault.clock.now())
    return web.json_response(_policy_json(vault, item))


@operation(KIND, "rotate")
async def rotate_key(request: web.Request) -> web.Response:
    """A new version with the same type, size or curve, key_ops, tags and exportability;
    it expires after the rotation policy's expiryTime when one is set."""
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, _ = KEYS.lookup(vault, name)
    if item.managed:
        raise KEYS.managed_forbidden(name, "rotate")
    old = item.latest
    jwk = _jwk(old)
    kty = str(jwk["kty"])
    size = crypto.key_size(jwk) if kty.startswith("RSA") else None
    exponent = crypto.rsa_public_exponent(jwk) if kty.startswith("RSA") else None
    crv = None if kty.startswith("RSA") else str(jwk["crv"])
    key = await asyncio.to_thread(new_private_key, kty, size, crv, exponent)
    if vault.keys.get(name) is not item:
        raise KEYS.not_found(name)  # deleted while the new key was being generated
    new_jwk = crypto.jwk_from_private_key(key, list(jwk["key_ops"]), hsm=kty.endswith("-HSM"))
    attributes: dict[str, Any] = {"exportable": old.attributes.exportable}
    expiry = item.rotation_policy.expiry_time if item.rotation_policy else None
    seconds = duration_seconds(expiry) if expiry else None
    if seconds:
        attributes["exp"] = vault.clock.now() + seconds
    tags = dict(old.tags) if old.tags is not None else None
    item, v = crypto.add_key_version(vault, name, new_jwk, tags=tags, attributes=attributes)
    if old.data.release_policy is not None:
        v.data.release_policy = copy.deepcopy(old.data.release_policy)
    return _bundle_response(vault, item, v)


# -- cryptographic operations ---------------------------------------------------------------


def _usable_key(request: web.Request, op: str) -> tuple[Item[KeyData], Version[KeyData]]:
    """The key version for a cryptographic operation, refused as the service refuses it:
    403 KeyDisabled for private operations on a disabled key, 403 KeyOperationForbidden
    when the key's key_ops do not include the operation."""
    vault = request.app[VAULT_KEY]
    item, v = KEYS.lookup(vault, request.match_info["name"], version_of(request))
    if op in PRIVATE_OPS and not v.attributes.enabled:
        raise KvError(
            403, "Forbidden", f"Operation {op} is not allowed on a disabled key.", "KeyDisabled"
        )
    if op not in _jwk(v).get("key_ops", []):
        raise KvError(
            403,
            "Forbidden",
            f"Operation {op} is not permitted on this key.",
            "KeyOperationForbidden",
        )
    return item, v


def _algorithm(body: dict[str, Any]) -> str:
    alg = body.get("alg")
    if not isinstance(alg, str) or not alg:
        raise bad_parameter("Property 'alg' is required.")
    return alg


async def _cipher(request: web.Request, op: str) -> web.Response:
    """encrypt / decrypt / wrapKey / unwrapKey: the same RSA algorithms, as in the service."""
    body = await json_body(request)
    item, v = _usable_key(request, op)
    alg = _algorithm(body)
    value = _b64_field(body, "value")
    try:
        if op in ("encrypt", "wrapKey"):
            result = crypto.encrypt(_jwk(v), alg, value)
        else:
            result = crypto.decrypt(_jwk(v), alg, value)
    except crypto.CryptoInputError as exc:
        raise bad_parameter(str(exc)) from exc
    kid = request.app[VAULT_KEY].object_id(KIND, item.name, v.version)
    return web.json_response({"kid": kid, "value": b64url_encode(result)})


def _cipher_handler(op: str) -> Handler:
    @operation(KIND, op)
    async def handler(request: web.Request) -> web.Response:
        return await _cipher(request, op)

    return handler


encrypt, decrypt = _cipher_handler("encrypt"), _cipher_handler("decrypt")
wrap_key, unwrap_key = _cipher_handler("wrapKey"), _cipher_handler("unwrapKey")


@operation(KIND, "sign")
async def sign(request: web.Request) -> web.Response:
    body = await json_body(request)
    item, v = _usable_key(request, "sign")
    try:
        signature = crypto.sign_digest(_jwk(v), _algorithm(body), _b64_field(body, "value"))
    except crypto.CryptoInputError as exc:
        raise bad_parameter(str(exc)) from exc
    kid = request.app[VAULT_KEY].object_id(KIND, item.name, v.version)
    return web.json_response({"kid": kid, "value": b64url_encode(signature)})


@operation(KIND, "verify")
async def verify(request: web.Request) -> web.Response:
    body = await json_body(request)
    _, v = _usable_key(request, "verify")
    alg = _algorithm(body)
    try:
        ok = crypto.verify_digest(
            _jwk(v), alg, _b64_field(body, "digest"), _b64_field(body, "value")
        )
    except crypto.CryptoInputError as exc:
        raise bad_parameter(str(exc)) from exc
    return web.json_response({"value": ok})


@operation(KIND, "release")
async def release_key(request: web.Request) -> web.Response:
    """Secure key release needs an attestation from Microsoft Azure Attestation, which
    the emulator cannot check: a key without a release policy is refused as the service
    refuses it, and one with a policy refuses every attestation token."""
    body = await json_body(request)
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    _, v = KEYS.lookup(vault, name, version_of(request))
    if not isinstance(body.get("target"), str) or not body["target"]:
        raise bad_parameter("Property 'target' is required.")
    if not v.attributes.exportable or v.data.release_policy is None:
        raise KvError(
            403,
            "Forbidden",
            f"Key {name} is not exportable: it has no release policy, so it cannot be released.",
        )
    raise bad_parameter("The target attestation token is not valid for this key's release policy.")


@operation(KIND, "get")
async def get_attestation(request: web.Request) -> web.Response:
    """Key attestation exists only in Managed HSM; a vault refuses it."""
    vault = request.app[VAULT_KEY]
    KEYS.lookup(vault, request.match_info["name"], version_of(request))
    raise bad_parameter("Key attestation is only supported for keys in a Managed HSM.")


@operation(KIND, "get")
async def random_bytes(request: web.Request) -> web.Response:
    body = await json_body(request)
    count = body.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_RANDOM_BYTES:
        raise bad_parameter(f"count must be an integer between 1 and {MAX_RANDOM_BYTES}: {count}")
    return web.json_response({"value": b64url_encode(os.urandom(count))})


# -- routes ---------------------------------------------------------------------------------

CRYPTO_ROUTES = {
    "encrypt": encrypt,
    "decrypt": decrypt,
    "sign": sign,
    "verify": verify,
    "wrapkey": wrap_key,
    "wrapKey": wrap_key,
    "unwrapkey": unwrap_key,
    "unwrapKey": unwrap_key,
    "release": release_key,
}


def setup(app: web.Application) -> None:
    r = app.router
    add_routes(r, KEYS)
    r.add_post("/rng", random_bytes)
    r.add_post("/keys/{name}/create", create_key)
    r.add_post("/keys/{name}/rotate", rotate_key)
    r.add_get("/keys/{name}/rotationpolicy", get_rotation_policy)
    r.add_put("/keys/{name}/rotationpolicy", set_rotation_policy)
    r.add_put("/keys/{name}", import_key)
    r.add_get("/keys/{name}", get_key)
    r.add_patch("/keys/{name}", update_key)
    r.add_get("/keys/{name}/{version:[^/]*}", get_key)
    r.add_patch("/keys/{name}/{version:[^/]*}", update_key)
    r.add_get("/keys/{name}/{version:[^/]*}/attestation", get_attestation)
    for path, handler in CRYPTO_ROUTES.items():
        r.add_post(f"/keys/{{name}}/{{version:[^/]*}}/{path}", handler)
