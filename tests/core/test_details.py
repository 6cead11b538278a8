"""Details for the detail pane (keys, certificates, secrets), the value shown readably,
throttling made visible, errors kept per kind and lists that stop when cancelled: the
real SDK against the emulator, nothing mocked."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time

import pytest
from azure.keyvault.certificates import (
    CertificateContentType,
    CertificatePolicy,
    CertificatePolicyAction,
    KeyType,
    KeyVaultCertificate,
    LifetimeAction,
    WellKnownIssuerNames,
)
from azure.keyvault.keys import (
    KeyCurveName,
    KeyOperation,
    KeyRotationLifetimeAction,
    KeyRotationPolicy,
    KeyRotationPolicyAction,
)
from azure.keyvault.keys.crypto import SignatureAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kvtui.core.details import present_value
from kvtui.core.errors import PermissionDenied
from kvtui.core.models import Kind
from kvtui.core.vault import VaultService
from kvtui.emulator import EmulatorInfo, EmulatorThread
from tests.emulator.admin_support import Admin
from tests.support import EmulatorClock, open_service

ROTATE, NOTIFY = KeyRotationPolicyAction.rotate, KeyRotationPolicyAction.notify


# -- keys --------------------------------------------------------------------------------------


async def test_rsa_key_detail_and_its_public_pem_verifies_a_vault_signature(
    service: VaultService,
) -> None:
    await service.keys.create_rsa_key(
        "signer", size=3072, key_operations=[KeyOperation.sign, KeyOperation.verify]
    )
    detail = await service.get_key_detail("signer")
    assert (detail.key_type, detail.key_size, detail.curve) == ("RSA", 3072, None)
    assert detail.key_ops == ("sign", "verify")
    assert [k for k, _ in detail.public_jwk] == ["n", "e"]
    assert dict(detail.public_jwk)["e"] == "AQAB"  # 65537, base64url
    assert detail.release_policy is False and detail.hsm is False
    assert detail.item.name == "signer" and detail.item.version  # the current version
    assert detail.item.id.endswith("/keys/signer/" + detail.item.version)
    assert detail.item.versionless_id == service.vault_url + "keys/signer"
    assert detail.item.key_size == 3072

    pem = await service.public_key_pem("signer")
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    public = serialization.load_pem_public_key(pem)
    assert isinstance(public, rsa.RSAPublicKey)
    digest = hashlib.sha256(b"kvtui").digest()
    crypto = service.keys.get_cryptography_client("signer")
    signed = await crypto.sign(SignatureAlgorithm.rs256, digest)
    await crypto.close()
    public.verify(signed.signature, b"kvtui", padding.PKCS1v15(), hashes.SHA256())


async def test_ec_key_detail_has_curve_and_xy_and_its_pem_verifies(service: VaultService) -> None:
    await service.keys.create_ec_key("ec", curve=KeyCurveName.p_384)
    detail = await service.get_key_detail("ec")
    assert (detail.key_type, detail.curve) == ("EC", "P-384")
    assert [k for k, _ in detail.public_jwk] == ["crv", "x", "y"]
    assert all("=" not in v and "+" not in v and "/" not in v for _, v in detail.public_jwk)

    public = serialization.load_pem_public_key(await service.public_key_pem("ec"))
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp384r1"
    digest = hashlib.sha384(b"kvtui").digest()
    crypto = service.keys.get_cryptography_client("ec")
    signed = await crypto.sign(SignatureAlgorithm.es384, digest)
    await crypto.close()
    r, s = (int.from_bytes(signed.signature[i : i + 48], "big") for i in (0, 48))
    public.verify(encode_dss_signature(r, s), b"kvtui", ec.ECDSA(hashes.SHA384()))


async def test_key_versions_newest_first_with_per_version_detail(
    service: VaultService, clock: EmulatorClock
) -> None:
    first = await service.keys.create_rsa_key("k", size=2048)
    clock.advance(60)  # the service's times are whole seconds: a version a minute later
    second = await service.keys.create_ec_key("k")
    versions = await service.list_versions(Kind.KEYS, "k")
    assert [v.version for v in versions] == [second.properties.version, first.properties.version]
    old = await service.get_key_detail("k", first.properties.version)
    assert old.key_type == "RSA" and old.item.version == first.properties.version
    assert old.rotation_policy is None and old.rotation_policy_error is None
    assert (await service.get_key_detail("k")).key_type == "EC"


async def test_rotation_policy_is_summarised_and_a_403_on_it_only_marks_it_unavailable(
    service: VaultService, admin: Admin
) -> None:
    await service.keys.create_rsa_key("rot")
    await service.keys.update_key_rotation_policy(
        "rot",
        KeyRotationPolicy(
            expires_in="P90D",
            lifetime_actions=[
                KeyRotationLifetimeAction(ROTATE, time_before_expiry="P30D"),
                KeyRotationLifetimeAction(NOTIFY, time_before_expiry="P7D"),
            ],
        ),
    )
    detail = await service.get_key_detail("rot")
    assert detail.rotation_policy is not None and detail.rotation_policy_error is None
    assert detail.rotation_policy.expires_after == "90 days"
    assert set(detail.rotation_policy.actions) == {
        "Rotate 30 days before expiry",
        "Notify 7 days before expiry",
    }

    vault = admin.vault_name(service.vault_url)
    await admin.call("PUT", f"/permissions/{vault}/*", {"keys": ["get", "list"]}, expect=200)
    detail = await service.get_key_detail("rot")
    assert detail.key_type == "RSA" and detail.rotation_policy is None
    assert detail.rotation_policy_error is not None
    assert "getrotationpolicy" in detail.rotation_policy_error


# -- certificates ----------------------------------------------------------------------------


async def test_certificate_detail_names_everything_and_exports_public_pem_and_cer(
    service: VaultService,
) -> None:
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        subject="CN=web.contoso.test, O=Contoso",
        san_dns_names=["web.contoso.test", "www.contoso.test"],
        san_emails=["ops@contoso.test"],
        san_user_principal_names=["svc@contoso.test"],
        key_type=KeyType.rsa,
        key_size=2048,
        exportable=True,
        reuse_key=False,
        content_type=CertificateContentType.pem,
        validity_in_months=12,
        lifetime_actions=[
            LifetimeAction(CertificatePolicyAction.email_contacts, lifetime_percentage=80),
            LifetimeAction(CertificatePolicyAction.auto_renew, days_before_expiry=30),
        ],
    )
    created = await service.certificates.create_certificate("web", policy)
    assert isinstance(created, KeyVaultCertificate)
    detail = await service.get_certificate_detail("web")

    assert "CN=web.contoso.test" in detail.subject and "O=Contoso" in detail.subject
    assert detail.self_signed and detail.issuer == detail.subject
    assert ("DNS", "web.contoso.test") in detail.sans and ("DNS", "www.contoso.test") in detail.sans
    assert ("email", "ops@contoso.test") in detail.sans
    assert ("UPN", "svc@contoso.test") in detail.sans
    der = bytes(created.cer or b"")
    assert detail.sha1 == hashlib.sha1(der).hexdigest().upper() == detail.item.thumbprint
    assert detail.sha256 == hashlib.sha256(der).hexdigest().upper()
    parsed = x509.load_der_x509_certificate(der)
    assert int(detail.serial, 16) == parsed.serial_number
    assert detail.not_after == parsed.not_valid_after_utc
    assert (detail.key_type, detail.key_size) == ("RSA", 2048)
    assert detail.signature_algorithm == "RSA with SHA256"
    assert detail.key_id and detail.secret_id

    p = detail.policy
    assert p is not None and detail.policy_error is None
    assert (p.issuer_name, p.key_type, p.key_size) == ("Self", "RSA", 2048)
    assert (p.exportable, p.reuse_key, p.validity_months) == (True, False, 12)
    assert p.content_type == "application/x-pem-file"
    assert p.lifetime_actions == (
        "Email contacts at 80 % of lifetime",
        "Auto-renew 30 days before expiry",
    )

    cer = await service.certificate_cer("web")
    assert cer == der
    pem = await service.certificate_pem("web")
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----") and b"PRIVATE" not in pem
    assert x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER) == der


async def test_certificate_version_detail_and_ec_certificates(service: VaultService) -> None:
    ec_policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self,
        subject="CN=ec",
        key_type=KeyType.ec,
        key_curve_name=KeyCurveName.p_256,
        validity_in_months=1,
    )
    first = await service.certificates.create_certificate("c", ec_policy)
    await service.certificates.create_certificate("c", ec_policy)
    assert isinstance(first, KeyVaultCertificate) and first.properties is not None
    old = await service.get_certificate_detail("c", first.properties.version)
    assert old.item.version == first.properties.version
    assert old.cer == bytes(first.cer or b"")
    assert (old.key_type, old.curve) == ("EC", "P-256")
    assert old.signature_algorithm == "ECDSA with SHA256"
    assert old.policy is not None and old.policy.curve == "P-256"


# -- secrets -----------------------------------------------------------------------------------


async def test_secret_detail_has_properties_but_never_the_value(service: VaultService) -> None:
    await service.secrets.set_secret(
        "db", "hunter2-value", content_type="text/plain", tags={"env": "prod"}
    )
    detail = await service.get_secret_detail("db")
    assert detail.item.name == "db" and detail.item.tags == {"env": "prod"}
    assert detail.item.content_type == "text/plain" and detail.key_id is None
    assert "hunter2-value" not in repr(detail)


# -- presentation of values (pure) ---------------------------------------------------------


def test_json_is_pretty_printed_whatever_the_content_type_says_and_loses_nothing() -> None:
    view = present_value('{"b":1.10,"a":[1,2],"a":null,"big":12345678901234567890123}', None)
    assert view.form == "json" and view.note == "JSON"
    assert view.text == (
        '{\n  "b": 1.10,\n  "a": [\n    1,\n    2\n  ],\n  "a": null,\n'
        '  "big": 12345678901234567890123\n}'
    )
    assert present_value("[]", "text/plain").text == "[]"
    assert present_value("42", "application/json").form == "text"  # a scalar stays as it is


def test_control_bidi_and_escape_characters_are_made_visible() -> None:
    view = present_value("ok\x1b[31mred\u202eevil\x07", None)
    assert "\x1b" not in view.text and "\u202e" not in view.text and "\x07" not in view.text
    assert view.text == "ok\u241b[31mred<U+202E>evil\u2407"
    inside_json = present_value('{"k": "a\\u001bb\\u202e"}', None)
    assert "\x1b" not in inside_json.text and "\u202e" not in inside_json.text


def test_multiline_and_pem_values_keep_their_lines() -> None:
    view = present_value("line one\r\nline two\r\n\tindented", None)
    assert (view.form, view.lines) == ("multiline", 3)
    assert view.text == "line one\nline two\n\tindented"
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    view = present_value(pem, "application/x-pem-file")
    assert view.form == "pem" and view.note == "PEM: CERTIFICATE" and view.text == pem
    assert present_value("", None).form == "empty"


# -- throttling, errors per kind, cancellation ----------------------------------------------


async def test_throttling_is_reported_with_its_wait_and_the_call_then_succeeds(
    info: EmulatorInfo, vault_url: str, admin: Admin
) -> None:
    seen: list[tuple[float | None, str]] = []
    async with open_service(
        info, vault_url, retry_total=2, on_throttle=lambda wait, url: seen.append((wait, url))
    ) as svc:
        await svc.secrets.set_secret("db", "v")
        vault = admin.vault_name(vault_url)
        await admin.call(
            "POST",
            "/faults",
            {"type": "throttle", "vault": vault, "operation": "secrets/list", "count": 1},
            expect=201,
        )
        pages = [p async for p in svc.list_pages(Kind.SECRETS)]
        assert [i.name for p in pages for i in p] == ["db"]
        assert seen == [(1.0, vault_url + "secrets")]


async def test_a_403_on_keys_leaves_secrets_and_later_keys_working(
    service: VaultService, admin: Admin
) -> None:
    await service.secrets.set_secret("db", "v")
    await service.keys.create_rsa_key("k")
    vault = admin.vault_name(service.vault_url)
    await admin.call(
        "PUT", f"/permissions/{vault}/*", {"secrets": ["all"], "certificates": ["all"]}, expect=200
    )
    with pytest.raises(PermissionDenied, match="keys get permission"):
        await service.get_key_detail("k")
    with pytest.raises(PermissionDenied, match="keys list permission"):
        async for _ in service.list_pages(Kind.KEYS):
            pass
    assert [i.name for p in [p async for p in service.list_pages(Kind.SECRETS)] for i in p] == [
        "db"
    ]
    assert await service.get_secret_value("db") == "v"
    await admin.call("DELETE", f"/permissions/{vault}/*", expect=204)
    assert (await service.get_key_detail("k")).key_type == "RSA"


async def test_cancelling_the_consumer_stops_listing_a_large_vault(
    emulator: EmulatorThread, info: EmulatorInfo, admin: Admin
) -> None:
    name = f"bulk{time.time_ns() % 10**12}"
    vault = emulator.call(emulator.emulator.add_vault(name, seed="bulk:2000"))
    # A zero-latency fault with a large count is a request counter: what is left of its
    # count says how many list requests the vault answered. Another fault slows every
    # page so that the consumer is cancelled while a page request is in flight.
    _, counter = await admin.call(
        "POST",
        "/faults",
        {"type": "latency", "vault": name, "operation": "secrets/list", "count": 10**6},
        expect=201,
    )
    await admin.call(
        "POST",
        "/faults",
        {"type": "latency", "vault": name, "operation": "secrets/list", "latency_ms": 200},
        expect=201,
    )

    async def requests_made() -> int:
        _, fault = await admin.call("GET", f"/faults/{counter['id']}", expect=200)
        return int(10**6 - fault["count"])

    pages: list[int] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for page in svc.list_pages(Kind.SECRETS):
            pages.append(len(page))
            first.set()

    async with open_service(info, vault.url) as svc:
        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        made = await requests_made()
        assert pages == [25] and 1 <= made <= 2
        # Nothing is left running that could go on listing (no task of its own, and the
        # abandoned generator cannot resume by itself) ...
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not [t for t in others if not t.done()]
        # ... and one more page (slowed like the others) is the only request made since.
        assert len(await anext_page(svc)) == 25
        assert await requests_made() == made + 1


async def anext_page(svc: VaultService) -> list[object]:
    pages = svc.list_pages(Kind.SECRETS)
    try:
        return list(await pages.__anext__())
    finally:
        await pages.aclose()  # type: ignore[attr-defined]


def test_base64_of_pkcs12_is_noted() -> None:
    value = base64.b64encode(b"\x30\x82pfx").decode()
    assert present_value(value, "application/x-pkcs12").note == "base64 (PKCS#12)"


async def test_denials_name_the_missing_permission_or_rbac_role(
    service: VaultService, admin: Admin
) -> None:
    await service.secrets.set_secret("db", "v")
    await service.keys.create_rsa_key("k")
    vault = admin.vault_name(service.vault_url)
    await admin.call("PUT", f"/permissions/{vault}/*", {"secrets": ["list"]}, expect=200)
    with pytest.raises(PermissionDenied, match="access policy does not give you the secrets get"):
        await service.get_secret_value("db")
    await admin.call("PATCH", f"/vaults/{vault}", {"rbac": True}, expect=200)
    with pytest.raises(
        PermissionDenied, match=r"RBAC.*secrets/getSecret/action \(such as Key Vault Secrets User\)"
    ):
        await service.get_secret_detail("db")
    with pytest.raises(PermissionDenied, match=r"RBAC.*keys/read \(such as Key Vault Reader\)"):
        await service.get_key_detail("k")
