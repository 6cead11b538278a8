"""Certificates data plane: ``/certificates``, ``/deletedcertificates``, contacts, issuers
(the routes and the JSON shapes; X.509 is in x509build.py, policies in certpolicy.py,
the vault state a version makes in certstore.py).

A certificate version is stored in ``vault.certificates`` (``CertificateData``);
its private key lives in the backing key and its PFX/PEM in the backing secret, both
of the same name and version, both marked ``managed`` (as in the service). The policy
and the last certificate operation are per-item state (``Item.policy``,
``Item.operation``: dataclasses of policies.py); their JSON shapes are built here.

Issuer ``Self`` (or any issuer configured in the vault, which the emulator issues
itself) completes at once: the 202 answers ``inProgress`` as the service does, and the
first poll of the operation sees ``completed``, so the SDK's poller never sleeps.
Issuer ``Unknown`` stays ``inProgress`` with a CSR until the signed chain is merged.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvtui.emulator.certpolicy import merge_policy, normalize_policy
from kvtui.emulator.certstore import (
    issue_certificate,
    start_pending,
    store_version,
)
from kvtui.emulator.common import VAULT_KEY, KvError, bad_parameter, json_body, operation, page
from kvtui.emulator.crypto import private_key_from_jwk
from kvtui.emulator.keys import KEYS
from kvtui.emulator.lifecycle import ObjectKind, add_routes
from kvtui.emulator.policies import CertificateIssuer, CertificateOperation, CertificatePolicy
from kvtui.emulator.secrets import SECRETS
from kvtui.emulator.store import CertificateData, Item, Vault, Version
from kvtui.emulator.x509build import PEM, PKCS12, load_import, spki

KIND = "certificates"
PENDING_DETAILS = (
    "Pending certificate created. Certificate request is in progress. This may take some "
    "time based on the issuer provider. Please check again later."
)
MERGE_DETAILS = "Pending certificate created. Please Perform Merge to complete the request."
"""The service's status_details while an issuer ``Unknown`` request waits for its merge."""


def parse_tags(body: dict[str, Any]) -> dict[str, str] | None:
    """Tags of a certificate, refused in a secret's words (as the emulator always has)."""
    return CERTIFICATES.parse_tags(body)


# -- errors ---------------------------------------------------------------------------------


def pending_not_found(name: str) -> KvError:
    return KvError(404, "PendingCertificateNotFound", f"Pending certificate not found: {name}")


# -- JSON shapes ----------------------------------------------------------------------------


def _policy(item: Item[CertificateData]) -> CertificatePolicy:
    """The certificate's policy (every certificate has one, pending ones too)."""
    if item.policy is None:
        raise KvError(404, "CertificatePolicyNotFound", f"Policy not found: {item.name}")
    return item.policy


def policy_json(vault: Vault, item: Item[CertificateData]) -> dict[str, Any]:
    return {"id": f"{vault.object_id(KIND, item.name)}/policy", **_policy(item).to_json()}


def bundle_json(
    vault: Vault, item: Item[CertificateData], v: Version[CertificateData], with_policy: bool = True
) -> dict[str, Any]:
    """CertificateBundle; a pending version has no sid, cer or x5t."""
    out: dict[str, Any] = {
        "id": vault.object_id(KIND, item.name, v.version),
        "kid": vault.object_id("keys", item.name, v.version),
    }
    if not v.data.pending:
        out["sid"] = vault.object_id("secrets", item.name, v.version)
        out["x5t"] = v.data.x5t
        out["cer"] = v.data.cer
    out["attributes"] = vault.attributes_json(v.attributes)
    if v.tags is not None:
        out["tags"] = v.tags
    if with_policy and item.policy is not None:
        out["policy"] = policy_json(vault, item)
    if v.data.preserve_order is not None:
        out["preserveCertOrder"] = v.data.preserve_order
    return out


def item_json(
    vault: Vault, item: Item[CertificateData], v: Version[CertificateData], with_version: bool
) -> dict[str, Any]:
    """CertificateItem: what lists return."""
    out: dict[str, Any] = {
        "id": vault.object_id(KIND, item.name, v.version if with_version else None)
    }
    if v.data.x5t:
        out["x5t"] = v.data.x5t
    out["attributes"] = vault.attributes_json(v.attributes)
    if v.tags is not None:
        out["tags"] = v.tags
    return out


def operation_json(
    vault: Vault, item: Item[CertificateData], op: CertificateOperation, status: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"{vault.object_id(KIND, item.name)}/pending",
        "issuer": op.issuer.to_json(),
        "csr": op.csr,
        "cancellation_requested": op.cancellation_requested,
        "status": status or op.status,
    }
    if out["status"] == "inProgress":
        out["status_details"] = MERGE_DETAILS if op.issuer.unknown else PENDING_DETAILS
    if op.error:
        out["error"] = op.error
    if out["status"] == "completed":
        out["target"] = vault.object_id(KIND, item.name)
    if op.preserve_order is not None:
        out["preserveCertOrder"] = op.preserve_order
    out["request_id"] = op.request_id
    return out


def _x5c_invalid() -> KvError:
    return bad_parameter("The x5c certificates are not valid base64 DER.")


def x5c_certificates(entry: Any) -> list[x509.Certificate]:
    """The certificates of one ``x5c`` entry of a merge. The entry is base64 (standard,
    whitespace allowed) of DER, of PEM (one or more certificates, armoured), or of the
    base64 text of DER (a PEM body without its armour, as the SDK sends the bytes of a
    PEM body, base64-encoding them again); an entry that is itself PEM text is taken
    too. The service accepts all of these; anything else is its 400."""
    if not isinstance(entry, str):
        raise _x5c_invalid()
    if entry.lstrip().startswith("-----BEGIN"):
        raw = entry.encode()
    else:
        try:
            raw = base64.b64decode("".join(entry.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _x5c_invalid() from exc
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            return x509.load_pem_x509_certificates(raw)
        except ValueError as exc:
            raise _x5c_invalid() from exc
    try:
        return [x509.load_der_x509_certificate(raw)]
    except ValueError:
        pass
    try:  # the base64 text of DER
        der = base64.b64decode(b"".join(raw.split()), validate=True)
        return [x509.load_der_x509_certificate(der)]
    except (binascii.Error, ValueError) as exc:
        raise _x5c_invalid() from exc


def _is_pending(v: Version[CertificateData]) -> bool:
    return v.data.pending


CERTIFICATES = ObjectKind(
    name=KIND,
    noun="Certificate",
    collection=lambda vault: vault.certificates,
    item_json=item_json,
    bundle_json=bundle_json,
    pending=_is_pending,
    backing=(KEYS, SECRETS),
)


# -- request helpers ------------------------------------------------------------------------


def _enabled(body: dict[str, Any]) -> bool:
    attrs = body.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise bad_parameter("The parameter 'attributes' must be a JSON object.")
    return attrs.get("enabled") is not False


def _preserve_order(body: dict[str, Any]) -> bool | None:
    """``preserveCertOrder`` of a create or import (None when not given)."""
    value = body.get("preserveCertOrder")
    if not isinstance(value, bool | None):
        raise bad_parameter("The parameter 'preserveCertOrder' must be true or false.")
    return value


def _check_new(vault: Vault, name: str) -> None:
    CERTIFICATES.check_name(name)
    if vault.certificates.get_deleted(name) is not None:
        raise CERTIFICATES.deleted_conflict(name)


def _backing(vault: Vault, name: str, version: str) -> list[Version[Any]]:
    """The backing key and secret versions of a certificate version."""
    out: list[Version[Any]] = []
    for coll in (vault.keys, vault.secrets):
        item: Item[Any] | None = coll.get(name)
        v = item.get(version) if item is not None else None
        if v is not None:
            out.append(v)
    return out


# -- certificates ---------------------------------------------------------------------------


@operation(KIND, "create")
async def create_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    _check_new(vault, name)
    body = await json_body(request)
    tags = parse_tags(body)
    order = _preserve_order(body)
    policy = normalize_policy(body.get("policy"), default_issuer="Unknown", now=vault.clock.now())
    issuer = policy.issuer.name
    if policy.issuer.unknown:
        item = start_pending(
            vault, name, policy, tags=tags, enabled=_enabled(body), preserve_order=order
        )
    else:
        if issuer.lower() != "self" and issuer.lower() not in vault.issuers:
            raise bad_parameter(f"Issuer {issuer} was not found in this key vault.")
        item, _ = issue_certificate(
            vault, name, policy, tags=tags, enabled=_enabled(body), preserve_order=order
        )
    # The service always answers inProgress; the operation reads completed on the first poll.
    assert item.operation is not None
    op = operation_json(vault, item, item.operation, status="inProgress")
    return web.json_response(op, status=202, headers={"Retry-After": "0"})


@operation(KIND, "import")
async def import_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    _check_new(vault, name)
    body = await json_body(request)
    value = body.get("value")
    if not isinstance(value, str) or not value:
        raise bad_parameter("The parameter 'value' (the certificate to import) is required.")
    tags = parse_tags(body)
    order = _preserve_order(body)
    raw_policy = body.get("policy") or {}
    if not isinstance(raw_policy, dict) or not isinstance(
        raw_policy.get("secret_props") or {}, dict
    ):
        raise bad_parameter("The policy and its secret_props must be JSON objects.")
    if not isinstance(body.get("pwd"), str | None):
        raise bad_parameter("The parameter 'pwd' must be a string.")
    content_type = (raw_policy.get("secret_props") or {}).get("contentType") or PKCS12
    data = value.encode() if content_type == PEM and value.startswith("-----") else None
    if data is None:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise bad_parameter("The certificate to import is not valid base64.") from exc
    key, cert, chain, as_given = load_import(data, body.get("pwd"), content_type)
    policy = normalize_policy(
        raw_policy, default_issuer="Unknown", key=key, cert=cert, now=vault.clock.now()
    )
    item, v = store_version(
        vault,
        name,
        policy,
        key,
        cert,
        chain,
        tags=tags,
        enabled=_enabled(body),
        preserve_order=order,
        as_given=as_given,
    )
    return web.json_response(bundle_json(vault, item, v))


@operation(KIND, "get")
async def get_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    version = request.match_info.get("version") or None
    item, v = CERTIFICATES.lookup(vault, request.match_info["name"], version)
    return web.json_response(bundle_json(vault, item, v, with_policy=version is None))


@operation(KIND, "update")
async def update_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    version = request.match_info.get("version") or None
    item, v = CERTIFICATES.lookup(vault, name, version)
    body = await json_body(request, required=False)
    tags = parse_tags(body) if "tags" in body else v.tags
    _enabled(body)  # attributes, checked
    attrs = {k: a for k, a in (body.get("attributes") or {}).items() if k == "enabled"}
    policy = item.policy
    if isinstance(body.get("policy"), dict):  # checked before anything changes
        policy = merge_policy(_policy(item), body["policy"], vault.clock.now())
    for target in [v, *_backing(vault, name, v.version)]:
        target.attributes.apply(attrs)
        target.attributes.updated = vault.clock.now()
        target.tags = tags
    item.policy = policy
    return web.json_response(bundle_json(vault, item, v, with_policy=version is None))


@operation(KIND, "get")
async def get_policy(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, _ = CERTIFICATES.lookup(vault, request.match_info["name"])
    return web.json_response(policy_json(vault, item))


@operation(KIND, "update")
async def update_policy(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, _ = CERTIFICATES.lookup(vault, request.match_info["name"])
    body = await json_body(request)
    item.policy = merge_policy(_policy(item), body, vault.clock.now())
    return web.json_response(policy_json(vault, item))


# -- the pending operation ------------------------------------------------------------------


def _pending(vault: Vault, name: str) -> tuple[Item[CertificateData], CertificateOperation]:
    item = vault.certificates.get(name)
    op = item.operation if item is not None else None
    if item is None or not op:
        raise pending_not_found(name)
    return item, op


@operation(KIND, "get")
async def get_operation(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, op = _pending(vault, request.match_info["name"])
    return web.json_response(operation_json(vault, item, op))


@operation(KIND, "update")
async def update_operation(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    item, op = _pending(vault, request.match_info["name"])
    body = await json_body(request)
    if body.get("cancellation_requested") is True and op.status == "inProgress":
        op.cancellation_requested = True
    return web.json_response(operation_json(vault, item, op))


@operation(KIND, "delete")
async def delete_operation(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, op = _pending(vault, name)
    body = operation_json(vault, item, op)
    item.operation = None
    item.versions = [v for v in item.versions if not v.data.pending]
    if not item.versions:
        vault.certificates.remove(name)
    return web.json_response(body)


@operation(KIND, "create")
async def merge_certificate(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["name"]
    item, op = _pending(vault, name)
    pending = item.get(op.version)
    if op.status != "inProgress" or pending is None or not pending.data.pending:
        raise pending_not_found(name)
    body = await json_body(request)
    x5c = body.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise bad_parameter("The parameter 'x5c' (the certificate chain to merge) is required.")
    certs = [c for entry in x5c for c in x5c_certificates(entry)]
    assert pending.data.jwk is not None
    key = private_key_from_jwk(pending.data.jwk)
    pub = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The leaf is the certificate of the pending key, wherever it is in x5c: the chain
    # is kept as given with preserveCertOrder, else the leaf comes first.
    leaf = next((c for c in certs if spki(c) == pub), None)
    if leaf is None:
        raise bad_parameter("Public key from x5c does not match the pending certificate's key.")
    policy, item.pending_policy = item.pending_policy or _policy(item), None
    tags = parse_tags(body) if "tags" in body else pending.tags
    enabled = _enabled(body) if "attributes" in body else pending.attributes.enabled
    item, v = store_version(
        vault,
        name,
        policy,
        key,
        leaf,
        [c for c in certs if c is not leaf],
        tags=tags,
        enabled=enabled,
        version=op.version,
        preserve_order=pending.data.preserve_order,
        as_given=certs,
    )
    op.status = "completed"
    return web.json_response(bundle_json(vault, item, v), status=201)


# -- contacts -------------------------------------------------------------------------------


def contacts_json(vault: Vault, contacts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": f"{vault.url}{KIND}/contacts", "contacts": contacts}


def _contacts_not_found() -> KvError:
    return KvError(404, "ContactsNotFound", "Contacts not found")


@operation(KIND, "managecontacts")
async def set_contacts(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    body = await json_body(request)
    raw = body.get("contacts")
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise bad_parameter("The parameter 'contacts' must be a list of contacts.")
    contacts = []
    for c in raw:
        contact = {k: c[k] for k in ("email", "name", "phone") if c.get(k) is not None}
        if not contact.get("email"):
            raise bad_parameter("Each contact must have an email address.")
        contacts.append(contact)
    vault.contacts = contacts
    return web.json_response(contacts_json(vault, contacts))


@operation(KIND, "managecontacts")
async def get_contacts(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    if not vault.contacts:
        raise _contacts_not_found()
    return web.json_response(contacts_json(vault, vault.contacts))


@operation(KIND, "managecontacts")
async def delete_contacts(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    if not vault.contacts:
        raise _contacts_not_found()
    contacts, vault.contacts = vault.contacts, None
    return web.json_response(contacts_json(vault, contacts))


# -- issuers --------------------------------------------------------------------------------


def issuer_json(vault: Vault, issuer: CertificateIssuer) -> dict[str, Any]:
    """IssuerBundle; the credentials' password is never returned."""
    out: dict[str, Any] = {
        "id": f"{vault.url}{KIND}/issuers/{issuer.name}",
        "provider": issuer.provider,
    }
    creds = {k: v for k, v in (issuer.credentials or {}).items() if k != "pwd"}
    if creds:
        out["credentials"] = creds
    if issuer.org_details:
        out["org_details"] = issuer.org_details
    out["attributes"] = {
        "enabled": issuer.enabled,
        "created": issuer.created,
        "updated": issuer.updated,
    }
    return out


def _issuer_fields(issuer: CertificateIssuer, body: dict[str, Any], t: int) -> None:
    if body.get("provider") is not None:
        if not isinstance(body["provider"], str) or not body["provider"]:
            raise bad_parameter("The issuer provider must be a non-empty string.")
        issuer.provider = body["provider"]
    if isinstance(body.get("credentials"), dict):
        issuer.credentials = {k: v for k, v in body["credentials"].items() if v is not None}
    if isinstance(body.get("org_details"), dict):
        issuer.org_details = {k: v for k, v in body["org_details"].items() if v is not None}
    _enabled(body)  # attributes, checked
    attrs = body.get("attributes") or {}
    if attrs.get("enabled") is not None:
        issuer.enabled = bool(attrs["enabled"])
    issuer.updated = t


def _issuer(vault: Vault, name: str) -> CertificateIssuer:
    issuer = vault.issuers.get(name.lower())
    if issuer is None:
        raise KvError(404, "CertificateIssuerNotFound", f"Issuer not found: {name}")
    return issuer


@operation(KIND, "setissuers")
async def set_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    CERTIFICATES.check_name(name)
    body = await json_body(request)
    if not body.get("provider"):
        raise bad_parameter("The parameter 'provider' is required.")
    t = vault.clock.now()
    issuer = CertificateIssuer(name, "", created=t, updated=t)
    _issuer_fields(issuer, body, t)
    vault.issuers[name.lower()] = issuer
    return web.json_response(issuer_json(vault, issuer))


@operation(KIND, "setissuers")
async def update_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    issuer = _issuer(vault, name)
    _issuer_fields(issuer, await json_body(request), vault.clock.now())
    return web.json_response(issuer_json(vault, issuer))


@operation(KIND, "getissuers")
async def get_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    return web.json_response(issuer_json(vault, _issuer(vault, name)))


@operation(KIND, "deleteissuers")
async def delete_issuer(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    name = request.match_info["issuer"]
    issuer = _issuer(vault, name)
    del vault.issuers[name.lower()]
    return web.json_response(issuer_json(vault, issuer))


@operation(KIND, "listissuers")
async def list_issuers(request: web.Request) -> web.Response:
    vault = request.app[VAULT_KEY]
    entries = [
        (key, {"id": f"{vault.url}{KIND}/issuers/{i.name}", "provider": i.provider})
        for key, i in sorted(vault.issuers.items())
    ]
    return page(request, entries)


def setup(app: web.Application) -> None:
    """Register this module's routes (fixed paths before ``{name}`` patterns)."""
    r = app.router
    add_routes(r, CERTIFICATES)
    r.add_put("/certificates/contacts", set_contacts)
    r.add_get("/certificates/contacts", get_contacts)
    r.add_delete("/certificates/contacts", delete_contacts)
    r.add_get("/certificates/issuers", list_issuers)
    r.add_put("/certificates/issuers/{issuer}", set_issuer)
    r.add_patch("/certificates/issuers/{issuer}", update_issuer)
    r.add_get("/certificates/issuers/{issuer}", get_issuer)
    r.add_delete("/certificates/issuers/{issuer}", delete_issuer)
    r.add_post("/certificates/{name}/create", create_certificate)
    r.add_post("/certificates/{name}/import", import_certificate)
    r.add_get("/certificates/{name}/policy", get_policy)
    r.add_patch("/certificates/{name}/policy", update_policy)
    r.add_get("/certificates/{name}/pending", get_operation)
    r.add_patch("/certificates/{name}/pending", update_operation)
    r.add_delete("/certificates/{name}/pending", delete_operation)
    r.add_post("/certificates/{name}/pending/merge", merge_certificate)
    r.add_get("/certificates/{name}", get_certificate)
    r.add_patch("/certificates/{name}", update_certificate)
    r.add_get("/certificates/{name}/{version:[^/]*}", get_certificate)
    r.add_patch("/certificates/{name}/{version:[^/]*}", update_certificate)
