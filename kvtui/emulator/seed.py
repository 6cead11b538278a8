"""Seeds: what a vault starts with.

- ``empty``: nothing.
- ``demo``: a vault worth a screenshot: about 60 secrets of varied content types, tags
  and version counts (some disabled, expired, or expiring within 30 days), RSA and EC
  keys, self-signed certificates with varied expiry, and a few soft-deleted items.
  Names and values are the same every time; dates are relative to now. Every value is
  made up for the demo.
- ``bulk:N``: N small secrets, for benchmarks (10,000 in well under a second).
"""

from __future__ import annotations

import json
import random
from typing import Any

from kvtui.emulator.crypto import add_key_version, generate_private_key, jwk_from_private_key
from kvtui.emulator.secrets import add_secret_version
from kvtui.emulator.store import DAY, Vault, now

SERVICES = [
    "billing",
    "checkout",
    "catalog",
    "search",
    "identity",
    "payments",
    "reports",
    "notifications",
    "inventory",
    "gateway",
]
KINDS: list[tuple[str, str | None]] = [
    ("db-connection", "text/plain"),
    ("api-key", None),
    ("client-secret", "text/plain"),
    ("settings", "application/json"),
    ("storage-sas", "text/plain"),
    ("webhook-signing-key", None),
]
ENVS = ["prod", "staging", "dev"]


def _value(rng: random.Random, kind: str, service: str, env: str) -> str:
    token = "".join(
        rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(32)
    )
    if kind == "db-connection":
        return (
            f"Server=tcp:{service}-{env}.database.example,1433;Database={service};"
            f"User ID={service}_app;Password=demo-{token[:16]};Encrypt=True;"
        )
    if kind == "settings":
        return json.dumps(
            {
                "service": service,
                "environment": env,
                "featureFlags": {"newCheckout": rng.random() < 0.5, "betaSearch": False},
                "timeoutSeconds": rng.choice([5, 10, 30]),
                "apiToken": f"demo-{token}",
            },
            indent=2,
        )
    if kind == "storage-sas":
        return (
            f"https://{service}{env}.blob.example/container?sv=2024-11-04&ss=b&srt=co"
            f"&sp=rl&se=2027-01-01T00:00:00Z&sig=demo{token}"
        )
    return f"demo-{token}"


def _seed_demo_secrets(vault: Vault, rng: random.Random, t: int) -> None:
    count = 0
    for service in SERVICES:
        for kind, content_type in KINDS:
            if count >= 56:
                count += 1
                continue
            env = ENVS[count % 3]
            name = f"{service}-{kind}"
            versions = 1 + (count % 5 == 0) * 3 + (count % 11 == 0) * 8
            attributes: dict[str, Any] = {}
            if count % 13 == 4:
                attributes["exp"] = t - rng.randint(2, 90) * DAY  # expired
            elif count % 9 == 2:
                attributes["exp"] = t + rng.randint(1, 29) * DAY  # expiring soon
            elif count % 4 == 1:
                attributes["exp"] = t + rng.randint(60, 720) * DAY
            if count % 17 == 5:
                attributes["enabled"] = False
            tags = {"service": service, "env": env}
            if count % 6 == 0:
                tags["owner"] = rng.choice(["team-payments", "team-platform", "sre"])
            start = t - rng.randint(30, 400) * DAY
            for n in range(versions):
                when = start + n * rng.randint(1, 20) * DAY
                last = n == versions - 1
                add_secret_version(
                    vault,
                    name,
                    _value(rng, kind, service, env),
                    content_type=content_type,
                    tags=tags if last else {"service": service},
                    attributes=attributes if last else None,
                    when=min(when, t - 3600),
                )
            count += 1
    # A few that show how odd content looks: multi-line, Unicode, and markup-like text.
    add_secret_version(
        vault,
        "tls-private-key-pem",
        "-----BEGIN PRIVATE KEY-----\n"
        "ZGVtbyBvbmx5IC0tIG5vdCBhIHJlYWwga2V5\n-----END PRIVATE KEY-----\n",
        content_type="application/x-pem-file",
        tags={"env": "prod"},
        when=t - 40 * DAY,
    )
    add_secret_version(
        vault,
        "motd",
        "Bienvenue ✓ 日本語 — [not markup] \\[x]\nline two",
        content_type="text/plain; charset=utf-8",
        tags={"note": "tags=[prod]"},
        when=t - 5 * DAY,
    )
    add_secret_version(
        vault,
        "ssh-known-hosts",
        "jump.example ssh-ed25519 AAAAdemo\nbastion.example ssh-ed25519 AAAAdemo2\n",
        tags={"env": "prod"},
        when=t - 200 * DAY,
    )


def _seed_demo_keys(vault: Vault, t: int) -> None:
    specs: list[tuple[str, str, int | None, str | None, dict[str, Any]]] = [
        ("data-encryption-key", "RSA", 2048, None, {}),
        ("token-signing", "RSA", 3072, None, {"exp": t + 20 * DAY}),
        ("backup-wrapping-key", "RSA", 3072, None, {}),
        ("webhook-es256", "EC", None, "P-256", {}),
        ("audit-signing-p384", "EC", None, "P-384", {"exp": t - 10 * DAY}),
        ("old-rsa-key", "RSA", 2048, None, {"enabled": False}),
    ]
    for name, kty, size, crv, attributes in specs:
        jwk = jwk_from_private_key(generate_private_key(kty, size, crv))
        add_key_version(
            vault,
            name,
            jwk,
            tags={"purpose": name.split("-")[0]},
            attributes=attributes or None,
            when=t - 120 * DAY,
        )
    jwk = jwk_from_private_key(generate_private_key("RSA", 2048))
    add_key_version(
        vault,
        "data-encryption-key",
        jwk,
        tags={"purpose": "data", "rotated": "yes"},
        when=t - 10 * DAY,
    )


def _seed_demo_certificates(vault: Vault, t: int) -> None:
    from kvtui.emulator.certificates import create_self_signed

    specs: list[tuple[str, str, list[str], int, int, str]] = [
        (
            "www-example",
            "CN=www.example.com",
            ["www.example.com", "example.com"],
            12,
            t - 100 * DAY,
            "RSA",
        ),
        (
            "api-gateway",
            "CN=api.example.com, O=Example Corp",
            ["api.example.com"],
            12,
            t - 350 * DAY,
            "EC",
        ),  # expires in about two weeks
        (
            "legacy-intranet",
            "CN=intranet.example.local",
            ["intranet.example.local"],
            6,
            t - 220 * DAY,
            "RSA",
        ),  # expired
        ("mtls-client", "CN=kvtui-demo-client", [], 24, t - 30 * DAY, "EC"),
    ]
    for name, subject, dns, months, nbf, key_type in specs:
        create_self_signed(
            vault,
            name,
            subject=subject,
            dns_names=dns or None,
            validity_months=months,
            not_before=nbf,
            key_type=key_type,
            tags={"owner": "team-platform"},
        )


def seed_demo(vault: Vault) -> None:
    rng = random.Random(20261126)
    t = now()
    _seed_demo_secrets(vault, rng, t)
    _seed_demo_keys(vault, t)
    _seed_demo_certificates(vault, t)
    # Soft-deleted items: visible in the deleted lists, recoverable.
    for name in ("retired-ftp-password", "old-partner-api-key"):
        add_secret_version(vault, name, f"demo-{name}", when=t - 300 * DAY)
        vault.secrets.soft_delete(name, when=t - 3 * DAY)
    jwk = jwk_from_private_key(generate_private_key("EC", crv="P-256"))
    add_key_version(vault, "deprecated-signing-key", jwk, when=t - 300 * DAY)
    vault.keys.soft_delete("deprecated-signing-key", when=t - 7 * DAY)


def seed_bulk(vault: Vault, count: int) -> None:
    t = now()
    for i in range(count):
        add_secret_version(
            vault,
            f"bulk-secret-{i:06d}",
            f"value-{i}",
            content_type="text/plain" if i % 3 == 0 else None,
            tags={"batch": str(i // 1000)},
            attributes={"exp": t + ((i % 120) - 20) * DAY} if i % 10 == 0 else None,
            when=t - (count - i),
        )


def seed_vault(vault: Vault, seed: str) -> None:
    if seed == "empty":
        return
    if seed == "demo":
        seed_demo(vault)
        return
    if seed.startswith("bulk:"):
        seed_bulk(vault, int(seed.split(":", 1)[1]))
        return
    raise ValueError(f"unknown seed {seed!r}")
