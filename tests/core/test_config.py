"""Settings: defaults < config file < KVTUI_* environment < flags; bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvtui.core.clouds import get_cloud
from kvtui.core.config import AZURE_CLI_CLIENT_ID, ConfigError, load_settings


def test_defaults_sign_in_to_organizations_with_the_azure_cli_client(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "none.toml", env={})
    assert (s.tenant, s.client_id, s.cloud) == ("organizations", AZURE_CLI_CLIENT_ID, "public")
    assert s.read_only is False and s.expiry_warning_days == 30


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'tenant = "from-file.example"\nvault = "file-vault"\nread_only = true\n'
        '[keymap]\nvault.reveal = "x"\n"vault.copy_menu" = "ctrl+y"\n'
    )
    s = load_settings(
        cfg,
        env={"KVTUI_VAULT": "env-vault", "KVTUI_EXPIRY_WARNING_DAYS": "7"},
        flags={"vault": "flag-vault", "tenant": None},
    )
    assert s.tenant == "from-file.example"
    assert s.vault == "flag-vault"
    assert s.expiry_warning_days == 7
    assert s.read_only is True
    assert s.keymap == {"vault.reveal": "x", "vault.copy_menu": "ctrl+y"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("nonsense = 1\n", "unknown setting"),
        ('read_only = "perhaps"\n', "read_only"),
        ('cloud = "mars"\n', "cloud must be one of"),
        ("tenant = \n", "config.toml"),
    ],
)
def test_bad_config_is_named(tmp_path: Path, content: str, needle: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError, match=needle):
        load_settings(cfg, env={})


def test_missing_ca_bundle_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CA bundle"):
        load_settings(tmp_path / "x.toml", env={"KVTUI_CA_BUNDLE": str(tmp_path / "no.pem")})


def test_vault_names_become_urls_per_cloud() -> None:
    assert get_cloud("public").vault_url("my-vault") == "https://my-vault.vault.azure.net/"
    assert get_cloud("china").vault_url("v01") == "https://v01.vault.azure.cn/"
    assert get_cloud("usgov").vault_url("https://x.example:8443") == "https://x.example:8443/"
    with pytest.raises(ValueError, match="unknown cloud"):
        get_cloud("mars")
