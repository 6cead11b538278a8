"""The copy menu's strings and the PEM/CER exports: from real items read through the SDK
from the emulator, and from Azure-shaped ids for what the emulator's URLs cannot show."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

import pytest
from azure.keyvault.certificates import CertificatePolicy, KeyType, WellKnownIssuerNames
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvtui.core.models import Item, Kind
from kvtui.core.references import (
    ExportError,
    InvalidReference,
    app_service_reference,
    app_service_reference_by_name,
    az_show_command,
    copy_choices,
    export_filename,
    parse_id,
    vault_name,
    write_export,
)
from kvtui.core.vault import VaultService

AZ = "https://contoso-prod.vault.azure.net"


async def test_copy_menu_of_a_secret_read_from_the_vault(service: VaultService) -> None:
    await service.secrets.set_secret("db-password", "s3cr3t-VALUE")
    detail = await service.get_secret_detail("db-password")
    version = detail.item.version
    assert version
    base = f"{service.vault_url}secrets/db-password"
    choices = {c.key: c.text for c in copy_choices(detail.item)}
    assert choices == {
        "name": "db-password",
        "id": f"{base}/{version}",
        "uri": base,
        "appservice": f"@Microsoft.KeyVault(SecretUri={base}/)",
        "appservice-version": f"@Microsoft.KeyVault(SecretUri={base}/{version})",
        # no VaultName= form: 127.0.0.1 is no vault name
        "az": f"az keyvault secret show --id {base}/{version}",
    }
    assert not any("s3cr3t-VALUE" in text for text in choices.values())
    assert shlex.split(choices["az"]) == [
        "az",
        "keyvault",
        "secret",
        "show",
        "--id",
        f"{base}/{version}",
    ]

    # A listed item (no version): the versionless id everywhere.
    [[listed]] = [p async for p in service.list_pages(Kind.SECRETS)]
    listed_choices = {c.key: c.text for c in copy_choices(listed)}
    assert "id" not in listed_choices and "appservice-version" not in listed_choices
    assert listed_choices["az"] == f"az keyvault secret show --id {base}"


async def test_keys_and_certificates_get_their_own_az_command_and_no_secret_reference(
    service: VaultService,
) -> None:
    await service.keys.create_ec_key("k")
    key = await service.get_key_detail("k")
    kchoices = {c.key: c.text for c in copy_choices(key.item)}
    assert set(kchoices) == {"name", "id", "uri", "az"}
    assert kchoices["az"].startswith("az keyvault key show --id ")

    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self, subject="CN=c", key_type=KeyType.rsa
    )
    await service.certificates.create_certificate("c", policy)
    cert = await service.get_certificate_detail("c")
    plain = {c.key for c in copy_choices(cert.item)}
    assert plain == {"name", "id", "uri", "az"}
    with_secret = {c.key: c.text for c in copy_choices(cert.item, secret_id=cert.secret_id)}
    assert with_secret["az"].startswith("az keyvault certificate show --id ")
    assert with_secret["appservice"] == (
        f"@Microsoft.KeyVault(SecretUri={service.vault_url}secrets/c/)"
    )


def test_azure_vaults_also_get_the_vault_name_form() -> None:
    oid = f"{AZ}/secrets/db/0123abcd"
    assert vault_name(AZ + "/") == "contoso-prod"
    assert vault_name("https://x.vault.azure.cn/") == "x"
    assert vault_name("https://127.0.0.1:8443/") is None
    assert vault_name("https://a.b.vault.azure.net/") is None
    assert app_service_reference(oid) == f"@Microsoft.KeyVault(SecretUri={AZ}/secrets/db/)"
    assert app_service_reference_by_name(oid) == (
        "@Microsoft.KeyVault(VaultName=contoso-prod;SecretName=db)"
    )
    assert app_service_reference_by_name(oid, versioned=True) == (
        "@Microsoft.KeyVault(VaultName=contoso-prod;SecretName=db;SecretVersion=0123abcd)"
    )
    item = Item(Kind.SECRETS, "db", oid, version="0123abcd")
    keys = [c.key for c in copy_choices(item)]
    assert keys == [
        "name",
        "id",
        "uri",
        "appservice",
        "appservice-version",
        "appservice-name",
        "az",
    ]


def test_ids_that_could_mislead_a_shell_are_refused_or_quoted() -> None:
    for bad in (
        f"{AZ}/secrets/db/v1'; rm -rf ~; echo '",
        f"{AZ}/secrets/db\n/v1",
        f"{AZ}/secrets/db\u202e/v1",
        f"{AZ}/secrets/a b",
        "http://plain/secrets/db",
        f"{AZ}/secrets",
        f"{AZ}/a/b/c/d",
    ):
        with pytest.raises(InvalidReference):
            parse_id(bad)
    weird = f"{AZ}/secrets/db/$(reboot)&x=1;y"
    command = az_show_command(Kind.SECRETS, weird)
    assert shlex.split(command)[-1] == weird and "'" in command


def test_export_filenames_are_safe() -> None:
    item = Item(
        Kind.CERTIFICATES,
        "web-cert",
        f"{AZ}/certificates/web-cert/abcdef0123456789",
        "abcdef0123456789",
    )
    assert export_filename(item, ".pem") == "web-cert-abcdef01.pem"
    evil = Item(Kind.KEYS, "../../etc/passwd", "x")
    assert "/" not in export_filename(evil, ".pem") and not export_filename(
        evil, ".pem"
    ).startswith(".")


async def test_certificate_pem_and_cer_are_saved_without_overwriting(
    service: VaultService, tmp_path: Path
) -> None:
    policy = CertificatePolicy(
        issuer_name=WellKnownIssuerNames.self, subject="CN=save", key_type=KeyType.rsa
    )
    await service.certificates.create_certificate("save", policy)
    pem = await service.certificate_pem("save")
    cer = await service.certificate_cer("save")
    old_umask = os.umask(0o077)
    try:
        pem_path = write_export(tmp_path / "save.pem", pem)
        cer_path = write_export(tmp_path / "save.cer", cer)
    finally:
        os.umask(old_umask)
    assert pem_path == tmp_path / "save.pem"
    assert stat.S_IMODE(pem_path.stat().st_mode) == 0o644
    loaded = x509.load_pem_x509_certificate(pem_path.read_bytes())
    assert loaded.public_bytes(serialization.Encoding.DER) == cer_path.read_bytes()

    with pytest.raises(ExportError, match="exists already"):
        write_export(pem_path, b"other")
    assert pem_path.read_bytes() == pem
    assert write_export(pem_path, b"other", overwrite=True) == pem_path
    assert pem_path.read_bytes() == b"other"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["save.cer", "save.pem"]

    with pytest.raises(ExportError, match="does not exist"):
        write_export(tmp_path / "missing" / "x.pem", pem)
    with pytest.raises(ExportError, match="folder"):
        write_export(tmp_path, pem)
    (tmp_path / "link.pem").symlink_to(tmp_path / "elsewhere.pem")
    with pytest.raises(ExportError, match="exists already"):
        write_export(tmp_path / "link.pem", pem)
    assert not (tmp_path / "elsewhere.pem").exists()
    (tmp_path / "ro").mkdir(mode=0o500)
    if os.geteuid() != 0:  # root ignores folder permissions
        with pytest.raises(ExportError, match="permission denied"):
            write_export(tmp_path / "ro" / "x.pem", pem)


async def test_public_key_pem_can_be_saved(service: VaultService, tmp_path: Path) -> None:
    await service.keys.create_rsa_key("rsa", size=2048)
    path = write_export(tmp_path / "rsa.pub.pem", await service.public_key_pem("rsa"))
    key = serialization.load_pem_public_key(path.read_bytes())
    assert key.key_size == 2048  # type: ignore[union-attr]
