"""The demo and bulk seeds, read back through the official clients."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.keyvault.keys import KeyType
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from kvtui.emulator import EmulatorThread
from kvtui.emulator.cli import parse_seed_time
from kvtui.emulator.clock import Clock
from kvtui.emulator.seed import derived_ec_key, derived_rsa_key, seed_vault
from tests.support import kv_clients


async def test_demo_seed_is_worth_a_screenshot(emulator: EmulatorThread) -> None:
    vault = emulator.call(emulator.emulator.add_vault(f"demo{time.time_ns()}", seed="demo"))
    async with kv_clients(emulator.info, vault.url) as kv:
        secrets = [s async for s in kv.secrets.list_properties_of_secrets()]
        now = datetime.now(timezone.utc)
        soon = now + timedelta(days=30)
        assert 50 <= len(secrets) <= 70
        assert any(not s.enabled for s in secrets)
        assert any(s.expires_on and s.expires_on < now for s in secrets)
        assert any(s.expires_on and now < s.expires_on < soon for s in secrets)
        assert len({s.content_type for s in secrets}) >= 3
        assert all(s.tags for s in secrets)
        multi = [s for s in secrets if not s.managed]
        counts = []
        for s in multi[:12]:
            pager = kv.secrets.list_properties_of_secret_versions(s.name)
            counts.append(len([v async for v in pager]))
        assert max(counts) > 1
        keys = [k async for k in kv.keys.list_properties_of_keys()]
        types = {(await kv.keys.get_key(k.name)).key_type for k in keys if k.enabled}
        assert {KeyType.rsa, KeyType.ec} <= types
        certs = [c async for c in kv.certificates.list_properties_of_certificates()]
        assert len(certs) >= 3
        expiries = [c.expires_on for c in certs if c.expires_on]
        assert any(e < now for e in expiries) and any(now < e < soon for e in expiries)
        assert [d async for d in kv.secrets.list_deleted_secrets()]
        assert [d async for d in kv.keys.list_deleted_keys()]


async def test_bulk_seed_makes_n_secrets(emulator: EmulatorThread) -> None:
    vault = emulator.call(emulator.emulator.add_vault(f"bulk{time.time_ns()}", seed="bulk:60"))
    async with kv_clients(emulator.info, vault.url) as kv:
        names = [s.name async for s in kv.secrets.list_properties_of_secrets()]
        assert len(names) == 60
        assert (await kv.secrets.get_secret(names[0])).value.startswith("value-")


# -- the demo seed at a fixed time: the same vault every run (snapshots, screenshots) ----

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc)


def _seeded_at(emulator: EmulatorThread, when: datetime | None) -> str:
    """A new vault seeded with the demo, on a clock of its own fixed at ``when`` (what
    ``EmulatorSettings(start_time=...)`` gives every vault), or on the emulator's."""
    vault = emulator.call(emulator.emulator.add_vault(f"fixed{time.time_ns()}"))

    async def fill() -> None:  # on the emulator's loop, like any seed
        if when is not None:
            vault.clock = Clock(when.timestamp())
        seed_vault(vault, "demo")

    emulator.call(fill())
    return vault.url


async def _everything(emulator: EmulatorThread, url: str) -> dict[str, Any]:
    """What a client can read of a vault (without its URL), secret values aside."""
    out: dict[str, Any] = {}
    async with kv_clients(emulator.info, url) as kv:
        async for s in kv.secrets.list_properties_of_secrets():
            pager = kv.secrets.list_properties_of_secret_versions(s.name)
            versions = [
                (v.version, v.created_on, v.updated_on, v.not_before, v.expires_on, v.enabled)
                async for v in pager
            ]
            out[f"secret {s.name}"] = sorted(versions, key=lambda v: str(v[0]))
        async for k in kv.keys.list_properties_of_keys():
            key = await kv.keys.get_key(k.name)
            jwk = key.key
            out[f"key {k.name}"] = (key.properties.version, jwk.n, jwk.e, jwk.x, jwk.y)
        async for c in kv.certificates.list_properties_of_certificates():
            cert = await kv.certificates.get_certificate(c.name)
            out[f"certificate {c.name}"] = (cert.properties.version, cert.cer)
        out["deleted"] = [(d.name, d.deleted_date) async for d in kv.secrets.list_deleted_secrets()]
    return out


async def test_demo_seed_at_a_fixed_time_is_the_same_every_time(emulator: EmulatorThread) -> None:
    first = await _everything(emulator, _seeded_at(emulator, T0))
    again = await _everything(emulator, _seeded_at(emulator, T0))
    assert first == again
    assert len([k for k in first if k.startswith("certificate")]) == 4
    # Without a fixed time, keys and version ids are fresh (as a real vault's are).
    fresh = await _everything(emulator, _seeded_at(emulator, None))
    assert fresh["key token-signing"] != first["key token-signing"]
    assert fresh.keys() == first.keys()


async def test_demo_seed_at_a_fixed_time_dates_everything_from_it(
    emulator: EmulatorThread,
) -> None:
    url = _seeded_at(emulator, T0)
    async with kv_clients(emulator.info, url) as kv:
        secrets = [s async for s in kv.secrets.list_properties_of_secrets()]
        assert all(s.updated_on and s.updated_on <= T0 for s in secrets)
        assert any(s.expires_on and s.expires_on < T0 for s in secrets)
        assert any(s.expires_on and T0 < s.expires_on < T0 + timedelta(days=30) for s in secrets)
        gateway = await kv.certificates.get_certificate("api-gateway")
        assert gateway.properties.not_before == T0 - timedelta(days=350)
        cert = x509.load_der_x509_certificate(bytes(gateway.cer or b""))
        cert.verify_directly_issued_by(cert)  # a valid (deterministic ECDSA) signature
        signing = await kv.keys.get_key("token-signing")
        assert signing.key.n is not None and len(signing.key.n) * 8 == 3072
        assert signing.properties.created_on == T0 - timedelta(days=120)


def test_derived_keys_are_real_keys_and_depend_on_the_label() -> None:
    key = derived_rsa_key("a-label-with-no-hint", 1024)
    assert key.key_size == 1024
    signature = key.sign(b"data", padding.PKCS1v15(), hashes.SHA256())
    key.public_key().verify(signature, b"data", padding.PKCS1v15(), hashes.SHA256())
    assert derived_rsa_key("another-label", 1024).public_key() != key.public_key()
    ec_key = derived_ec_key("x", "P-521")
    assert ec_key.private_numbers() == derived_ec_key("x", "P-521").private_numbers()
    assert ec_key.private_numbers() != derived_ec_key("y", "P-521").private_numbers()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-15T09:00:00Z", T0),
        ("2026-01-15T09:00:00", T0),
        ("2026-01-15T10:00:00+01:00", T0),
        ("2026-01-15", T0.replace(hour=0)),
    ],
)
def test_seed_time_option_reads_iso_times_as_utc(text: str, expected: datetime) -> None:
    assert parse_seed_time(text) == int(expected.timestamp())


def test_seed_time_option_rejects_other_text_in_one_line() -> None:
    with pytest.raises(ValueError, match="--seed-time 'yesterday': give an ISO 8601 time"):
        parse_seed_time("yesterday")


async def test_demo_seed_current_versions_are_the_newest(emulator: EmulatorThread) -> None:
    """As on Azure: each secret's current version was created after its other versions."""
    url = _seeded_at(emulator, T0)
    async with kv_clients(emulator.info, url) as kv:
        multi = 0
        async for listed in kv.secrets.list_properties_of_secrets():
            if listed.managed or not listed.name or not listed.enabled:
                continue  # (a disabled secret cannot be read)
            current = (await kv.secrets.get_secret(listed.name)).properties
            versions = [v async for v in kv.secrets.list_properties_of_secret_versions(listed.name)]
            if len(versions) < 2:
                continue
            multi += 1
            newest = max(v.created_on for v in versions if v.created_on)
            assert current.created_on == newest, listed.name
            assert len({v.created_on for v in versions}) == len(versions), listed.name
        assert multi >= 12
