"""Seeds: what a vault starts with.

- ``empty``: nothing.
- ``demo``: a vault worth a screenshot: about 60 secrets of varied content types, tags
  and version counts (some disabled, expired, or expiring within 30 days), RSA and EC
  keys, self-signed certificates with varied expiry, and a few soft-deleted items.
  Names and values are the same every time; dates are relative to the vault's clock
  (``vault.clock``, the emulator's). Every value is made up for the demo. On a fixed
  clock (started at a given time T0: ``kvtui emulator --seed-time``,
  ``EmulatorSettings.start_time``, ``Clock(T0)``) the whole vault is the same every
  run, for snapshots and screenshots: dates relative to T0, version ids, certificate
  serials and signatures derived from the names (never from the vault: two vaults
  seeded at T0 are alike). The keys are derived from the names on any clock.
- ``bulk:N``: N small secrets, for benchmarks (10,000 in well under a second).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
from collections import Counter
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kvtui.emulator.certstore import create_self_signed
from kvtui.emulator.crypto import (
    CURVES,
    PrivateKey,
    add_key_version,
    jwk_from_private_key,
)
from kvtui.emulator.secrets import add_secret_version
from kvtui.emulator.store import DAY, Vault, backdated

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


# -- a demo that is the same every run (on a fixed clock) --------------------------------


@functools.cache
def _small_primes_product() -> int:
    odd = range(3, 20_000, 2)
    return math.prod(p for p in odd if all(p % d for d in range(3, math.isqrt(p) + 1, 2)))


def _digest(label: str, size: int = 32) -> bytes:
    return hashlib.shake_256(f"kvtui-demo/{label}".encode()).digest(size)


_BASES = (2, 3, 5)


def _probable_prime(n: int) -> bool:
    """Trial division, then Miller-Rabin to a few fixed bases (the numbers tested are
    pseudo-random, not chosen by an adversary)."""
    if math.gcd(n, _small_primes_product()) != 1:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in _BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


#: How many odd numbers past its starting point each prime of the demo's RSA keys is,
#: so a seed does not search again (a search at 1536 bits takes seconds in Python). A
#: label missing or wrong here only costs a search (_prime_skip(label, bits) gives the number).
_PRIME_SKIPS: dict[str, int] = {
    "1024/keys/data-encryption-key/1/p": 549,
    "1024/keys/data-encryption-key/1/q": 36,
    "1536/keys/token-signing/1/p": 1326,
    "1536/keys/token-signing/1/q": 381,
    "1536/keys/backup-wrapping-key/1/p": 1101,
    "1536/keys/backup-wrapping-key/1/q": 121,
    "1024/keys/old-rsa-key/1/p": 1143,
    "1024/keys/old-rsa-key/1/q": 709,
    "1024/keys/data-encryption-key/2/p": 554,
    "1024/keys/data-encryption-key/2/q": 35,
    "1024/certificates/www-example/1/p": 554,
    "1024/certificates/www-example/1/q": 12,
    "1024/certificates/legacy-intranet/1/p": 129,
    "1024/certificates/legacy-intranet/1/q": 61,
}


def _prime_start(label: str, bits: int) -> int:
    raw = int.from_bytes(_digest(f"prime/{bits}/{label}", (bits + 7) // 8), "big")
    return (raw % (1 << bits)) | (3 << (bits - 2)) | 1  # top two bits: p*q has 2*bits


def _prime_skip(label: str, bits: int) -> int:
    """How far (in odd numbers) the prime is from its starting point: for _PRIME_SKIPS."""
    n, skip = _prime_start(label, bits), 0
    while n % 65537 == 1 or not _probable_prime(n):
        n += 2
        skip += 1
    return skip


def _prime(label: str, bits: int) -> int:
    n = _prime_start(label, bits) + 2 * _PRIME_SKIPS.get(f"{bits}/{label}", 0)
    while n % 65537 == 1 or not _probable_prime(n):
        n += 2
    return n


@functools.lru_cache(maxsize=64)
def derived_rsa_key(label: str, bits: int) -> rsa.RSAPrivateKey:
    """An RSA key that is the same for the same label (cryptography cannot seed its
    generator): primes found from a hash of the label. A demo key, never a key to
    protect anything with."""
    e = 65537
    p = _prime(f"{label}/p", bits // 2)
    q = _prime(f"{label}/q", bits - bits // 2)
    d = pow(e, -1, (p - 1) * (q - 1))
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), public)
    # Probable primes of our own making: OpenSSL's check would add 0.1 s a key.
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def derived_ec_key(label: str, crv: str) -> ec.EllipticCurvePrivateKey:
    """An EC key that is the same for the same label: the private scalar is a hash of
    the label, below 2^(bits-1) (so below the curve's order)."""
    curve = CURVES[crv]
    bits = curve.key_size - 1
    raw = int.from_bytes(_digest(f"ec/{crv}/{label}", (bits + 7) // 8 + 1), "big")
    return ec.derive_private_key(raw % (1 << bits) or 1, curve)


class _Fixed:
    """Version ids and serials for a demo that is the same every run (``fixed``), or
    random ones as any vault would make (None); keys derived from their names."""

    def __init__(self, fixed: bool) -> None:
        self.fixed = fixed
        self._count: Counter[str] = Counter()

    def version(self, kind: str, name: str) -> str | None:
        """A version id from the name and how many versions it has so far."""
        if not self.fixed:
            return None
        label = f"{kind}/{name}"
        self._count[label] += 1
        return _digest(f"version/{label}/{self._count[label]}", 16).hex()

    def key(
        self, label: str, kty: str, size: int | None = None, crv: str | None = None
    ) -> PrivateKey:
        """A key derived from ``label``, on any clock: a demo's keys protect nothing, and
        generating fresh ones (two of 3,072 bits) took most of a demo vault's seeding,
        about 0.8 s, for every `kvtui demo` and every test's demo vault. Derived keys
        are made once a process."""
        if kty.upper().startswith("RSA"):
            return derived_rsa_key(label, size or 2048)
        return derived_ec_key(label, crv or "P-256")

    def serial(self, label: str) -> int | None:
        """A positive serial number of at most 159 bits, as x509 wants."""
        if not self.fixed:
            return None
        return (int.from_bytes(_digest(f"serial/{label}", 20), "big") >> 1) | 1


def _seed_demo_secrets(vault: Vault, rng: random.Random, t: int, ids: _Fixed) -> None:
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
            # Each version 1-20 days after the one before, so the current version is
            # the newest, as on Azure; started early enough that the last is past.
            when = t - rng.randint(30, 400) * DAY - (versions - 1) * 20 * DAY
            for n in range(versions):
                step = rng.randint(1, 20) * DAY  # (drawn for the first too: same values)
                when += step if n else 0
                last = n == versions - 1
                made = add_secret_version(
                    vault,
                    name,
                    _value(rng, kind, service, env),
                    content_type=content_type,
                    tags=tags if last else {"service": service},
                    attributes=attributes if last else None,
                    version=ids.version("secrets", name),
                )
                backdated(made, min(when, t - 3600))
            count += 1
    # A few that show how odd content looks: multi-line, Unicode, and markup-like text.
    made = add_secret_version(
        vault,
        "tls-private-key-pem",
        "-----BEGIN PRIVATE KEY-----\n"
        "ZGVtbyBvbmx5IC0tIG5vdCBhIHJlYWwga2V5\n-----END PRIVATE KEY-----\n",
        content_type="application/x-pem-file",
        tags={"env": "prod"},
        version=ids.version("secrets", "tls-private-key-pem"),
    )
    backdated(made, t - 40 * DAY)
    made = add_secret_version(
        vault,
        "motd",
        "Bienvenue ✓ 日本語 — [not markup] \\[x]\nline two",
        content_type="text/plain; charset=utf-8",
        tags={"note": "tags=[prod]"},
        version=ids.version("secrets", "motd"),
    )
    backdated(made, t - 5 * DAY)
    made = add_secret_version(
        vault,
        "ssh-known-hosts",
        "jump.example ssh-ed25519 AAAAdemo\nbastion.example ssh-ed25519 AAAAdemo2\n",
        tags={"env": "prod"},
        version=ids.version("secrets", "ssh-known-hosts"),
    )
    backdated(made, t - 200 * DAY)


def _seed_demo_keys(vault: Vault, t: int, ids: _Fixed) -> None:
    specs: list[tuple[str, str, int | None, str | None, dict[str, Any]]] = [
        ("data-encryption-key", "RSA", 2048, None, {}),
        ("token-signing", "RSA", 3072, None, {"exp": t + 20 * DAY}),
        ("backup-wrapping-key", "RSA", 3072, None, {}),
        ("webhook-es256", "EC", None, "P-256", {}),
        ("audit-signing-p384", "EC", None, "P-384", {"exp": t - 10 * DAY}),
        ("old-rsa-key", "RSA", 2048, None, {"enabled": False}),
    ]
    for name, kty, size, crv, attributes in specs:
        jwk = jwk_from_private_key(ids.key(f"keys/{name}/1", kty, size, crv))
        made = add_key_version(
            vault,
            name,
            jwk,
            tags={"purpose": name.split("-")[0]},
            attributes=attributes or None,
            version=ids.version("keys", name),
        )
        backdated(made, t - 120 * DAY)
    jwk = jwk_from_private_key(ids.key("keys/data-encryption-key/2", "RSA", 2048))
    made = add_key_version(
        vault,
        "data-encryption-key",
        jwk,
        tags={"purpose": "data", "rotated": "yes"},
        version=ids.version("keys", "data-encryption-key"),
    )
    backdated(made, t - 10 * DAY)


def _seed_demo_certificates(vault: Vault, t: int, ids: _Fixed) -> None:
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
            key=ids.key(f"certificates/{name}/1", key_type, 2048, "P-256"),
            serial=ids.serial(f"certificates/{name}/1"),
            version=ids.version("certificates", name),
        )


def seed_demo(vault: Vault) -> None:
    """The demo vault, dated relative to the vault's clock; on a fixed clock the same
    vault every run (see the module's docstring), else with fresh keys and version ids."""
    rng = random.Random(20261126)
    ids = _Fixed(vault.clock.fixed)
    t = vault.clock.now()
    _seed_demo_secrets(vault, rng, t, ids)
    _seed_demo_keys(vault, t, ids)
    _seed_demo_certificates(vault, t, ids)
    # Soft-deleted items: visible in the deleted lists, recoverable.
    for name in ("retired-ftp-password", "old-partner-api-key"):
        version = ids.version("secrets", name)
        backdated(add_secret_version(vault, name, f"demo-{name}", version=version), t - 300 * DAY)
        vault.secrets.soft_delete(name, when=t - 3 * DAY)
    jwk = jwk_from_private_key(ids.key("keys/deprecated-signing-key/1", "EC", crv="P-256"))
    version = ids.version("keys", "deprecated-signing-key")
    made = add_key_version(vault, "deprecated-signing-key", jwk, version=version)
    backdated(made, t - 300 * DAY)
    vault.keys.soft_delete("deprecated-signing-key", when=t - 7 * DAY)


def seed_bulk(vault: Vault, count: int) -> None:
    """``count`` small secrets, the last one made a second before the vault's time."""
    t = vault.clock.now()
    for i in range(count):
        made = add_secret_version(
            vault,
            f"bulk-secret-{i:06d}",
            f"value-{i}",
            content_type="text/plain" if i % 3 == 0 else None,
            tags={"batch": str(i // 1000)},
            attributes={"exp": t + ((i % 120) - 20) * DAY} if i % 10 == 0 else None,
        )
        backdated(made, t - (count - i))


def seed_vault(vault: Vault, seed: str) -> None:
    """Fill ``vault`` as ``seed`` says, at the time of its clock (``vault.clock``)."""
    if seed == "empty":
        return
    if seed == "demo":
        seed_demo(vault)
        return
    if seed.startswith("bulk:"):
        seed_bulk(vault, int(seed.split(":", 1)[1]))
        return
    raise ValueError(f"unknown seed {seed!r}")
