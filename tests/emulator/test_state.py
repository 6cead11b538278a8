"""The emulator's typed state (store.py, policies.py) reads back what it saves, and what
earlier runs saved: ``--persist`` data and backup blobs are JSON, and a vault saved
before the state was typed must still load."""

from __future__ import annotations

import copy
from typing import Any

from kvtui.emulator.clock import Clock
from kvtui.emulator.policies import CertificatePolicy, RotationPolicy
from kvtui.emulator.seed import seed_demo
from kvtui.emulator.store import (
    CertificateData,
    Item,
    KeyData,
    SecretData,
    Vault,
    decode_backup,
    encode_backup,
)

T0 = 1_768_467_600  # 2026-01-15T09:00:00Z


def attrs(created: int, **more: Any) -> dict[str, Any]:
    """A version's ``attributes`` as saved."""
    return {
        "enabled": True,
        "nbf": None,
        "exp": None,
        "created": created,
        "updated": created,
        "recovery_level": "Recoverable+Purgeable",
        "recoverable_days": 90,
        "exportable": None,
        **more,
    }


#: A certificate as a run before the typed state saved it (``extra`` and ``data`` dicts).
SAVED_CERTIFICATE: dict[str, Any] = {
    "name": "www",
    "versions": [
        {
            "version": "0" * 32,
            "attributes": attrs(T0, nbf=T0, exp=T0 + 86400 * 365),
            "tags": {"owner": "web"},
            "data": {"cer": "MIIB", "x5t": "abc"},
        },
        {
            "version": "1" * 32,
            "attributes": attrs(T0 + 5),
            "tags": None,
            "data": {"pending": True, "jwk": {"kty": "EC", "crv": "P-256", "d": "x"}},
        },
    ],
    "extra": {
        "policy": {
            "key_props": {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False},
            "secret_props": {"contentType": "application/x-pkcs12"},
            "x509_props": {
                "subject": "CN=www.example.com",
                "sans": {"dns_names": ["www.example.com"]},
                "ekus": ["1.3.6.1.5.5.7.3.1"],
                "key_usage": ["digitalSignature", "keyEncipherment"],
                "validity_months": 12,
            },
            "lifetime_actions": [
                {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}
            ],
            "issuer": {"name": "Self"},
            "attributes": {"enabled": True, "created": T0, "updated": T0 + 60},
        },
        "operation": {
            "issuer": {"name": "Unknown"},
            "csr": "MIIC",
            "cancellation_requested": False,
            "status": "inProgress",
            "request_id": "r" * 32,
            "version": "1" * 32,
        },
    },
}


def test_a_certificate_saved_before_typed_state_loads_and_saves_the_same() -> None:
    item = Item.from_dict(copy.deepcopy(SAVED_CERTIFICATE), CertificateData)
    assert item.policy is not None and item.policy.key_props.key_size == 2048
    assert item.policy.x509_props.sans == {"dns_names": ["www.example.com"]}
    assert item.policy.lifetime_actions[0].lifetime_percentage == 80
    assert item.policy.attributes.updated == T0 + 60
    assert item.operation is not None and item.operation.issuer.unknown
    assert item.operation.version == "1" * 32
    assert not item.managed and item.pending_policy is None
    complete, pending = item.versions
    assert complete.data == CertificateData(cer="MIIB", x5t="abc")
    assert pending.data.pending and pending.data.jwk == {"kty": "EC", "crv": "P-256", "d": "x"}
    assert item.to_dict() == SAVED_CERTIFICATE


def test_secrets_and_keys_keep_their_saved_shape() -> None:
    secret = {
        "name": "db",
        "versions": [
            {
                "version": "a" * 32,
                "attributes": attrs(T0),
                "tags": None,
                "data": {"value": "s3cret", "contentType": "text/plain", "kid": "keys/db/x"},
            }
        ],
        "extra": {"managed": True},
    }
    item = Item.from_dict(copy.deepcopy(secret), SecretData)
    assert item.managed and item.latest.data == SecretData("s3cret", "text/plain", "keys/db/x")
    saved = item.to_dict()
    assert saved["extra"] == {"managed": True}
    assert saved["versions"][0]["data"] == secret["versions"][0]["data"]  # type: ignore[index]

    rotation = {"lifetimeActions": [], "attributes": {"expiryTime": "P90D", "created": T0}}
    key = {
        "name": "k",
        "versions": [
            {
                "version": "b" * 32,
                "attributes": attrs(T0),
                "tags": {"a": "b"},
                "data": {"jwk": {"kty": "RSA", "n": "x"}, "release_policy": {"data": "e30"}},
            }
        ],
        "extra": {"rotation_policy": rotation},
    }
    loaded = Item.from_dict(copy.deepcopy(key), KeyData)
    assert loaded.rotation_policy == RotationPolicy([], "P90D", T0, None)
    assert loaded.latest.data.release_policy == {"data": "e30"}
    assert loaded.to_dict()["versions"] == key["versions"]


def test_the_default_rotation_policy_is_the_services() -> None:
    assert RotationPolicy.default().to_json() == {
        "lifetimeActions": [
            {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}
        ],
        "attributes": {"created": None, "updated": None},
    }


def test_a_whole_demo_vault_saves_and_loads_unchanged() -> None:
    vault = Vault("demo", "tenant", "sub", clock=Clock(T0))
    seed_demo(vault)
    saved = vault.to_dict()
    again = Vault("demo", "tenant", "sub")
    again.load(copy.deepcopy(saved))
    assert again.to_dict() == saved
    cert = again.certificates.get("www-example")
    assert cert is not None and isinstance(cert.policy, CertificatePolicy)
    assert cert.operation is not None and cert.operation.status == "completed"
    assert again.secrets.get_deleted("retired-ftp-password") is not None


def test_a_certificate_backup_carries_its_backing_key_and_secret() -> None:
    vault = Vault("demo", "tenant", "sub", clock=Clock(T0))
    seed_demo(vault)
    item = vault.certificates.get("mtls-client")
    assert item is not None
    bundle = copy.deepcopy(item)
    bundle.backing = {
        "keys": vault.keys.get("mtls-client"),
        "secrets": vault.secrets.get("mtls-client"),
    }  # type: ignore[dict-item]
    restored = decode_backup(
        "certificates", encode_backup("certificates", vault, bundle), CertificateData
    )
    assert restored is not None and restored.to_dict() == bundle.to_dict()
    assert isinstance(restored.backing["keys"].latest.data, KeyData)
    assert isinstance(restored.backing["secrets"].latest.data, SecretData)
    assert decode_backup("keys", encode_backup("certificates", vault, bundle), KeyData) is None


def test_a_vaults_issuers_load_from_their_saved_shape() -> None:
    saved_issuer = {
        "name": "DigiCert",
        "attributes": {"enabled": True, "created": T0, "updated": T0 + 9},
        "provider": "DigiCert",
        "credentials": {"account_id": "acct", "pwd": "p"},
    }
    vault = Vault("demo", "tenant", "sub")
    vault.load({"issuers": {"digicert": saved_issuer}})
    issuer = vault.issuers["digicert"]
    assert (issuer.provider, issuer.created, issuer.updated) == ("DigiCert", T0, T0 + 9)
    assert issuer.credentials == {"account_id": "acct", "pwd": "p"}
    assert vault.to_dict()["issuers"] == {"digicert": saved_issuer}
