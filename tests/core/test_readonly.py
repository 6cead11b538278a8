"""Which rule makes a vault read-only (kvtui/core/readonly.py), from the settings as
``load_settings`` reads them: ``read_only`` and where it came from, or a
``read_only_vaults`` pattern matching the vault's name or host."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvtui.core.config import ConfigError, load_settings
from kvtui.core.readonly import read_only_rule

PROD = "https://prod-payments.vault.azure.net/"
DEV = "https://dev-payments.vault.azure.net/"


def test_patterns_from_the_config_file_match_names_and_hosts_in_any_case(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('read_only_vaults = ["PROD-*", "*-prd", "*.vault.usgovcloudapi.net"]\n')
    s = load_settings(cfg, env={})
    assert s.read_only is False and s.read_only_vaults == [
        "PROD-*",
        "*-prd",
        "*.vault.usgovcloudapi.net",
    ]
    assert read_only_rule(s, PROD) == "matches PROD-*"
    assert read_only_rule(s, DEV) is None
    assert read_only_rule(s, "https://payments-prd.vault.azure.net/") == "matches *-prd"
    assert (
        read_only_rule(s, "https://x1.vault.usgovcloudapi.net/")
        == "matches *.vault.usgovcloudapi.net"
    )
    # A vault picked by name (the emulator's URLs have no name in them).
    assert read_only_rule(s, "https://127.0.0.1:8443/", name="prod-demo") == "matches PROD-*"
    assert read_only_rule(s, "https://127.0.0.1:8443/", name="demo") is None


@pytest.mark.parametrize(
    ("file", "env", "flags", "rule"),
    [
        ("read_only = true\n", {}, {}, "read_only"),
        ("", {"KVTUI_READ_ONLY": "yes"}, {}, "KVTUI_READ_ONLY"),
        ("", {"KVTUI_READ_ONLY": "yes"}, {"read_only": True}, "--read-only"),
        # read_only makes every vault read-only, whatever the patterns say.
        ('read_only = true\nread_only_vaults = ["prod-*"]\n', {}, {}, "read_only"),
        ("read_only = false\n", {"KVTUI_READ_ONLY_VAULTS": "qa-*, dev-*"}, {}, "matches dev-*"),
        ("read_only = false\n", {}, {}, None),
    ],
)
def test_the_rule_says_where_read_only_came_from(
    tmp_path: Path, file: str, env: dict[str, str], flags: dict[str, bool], rule: str | None
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(file)
    assert read_only_rule(load_settings(cfg, env=env, flags=flags), DEV) == rule


@pytest.mark.parametrize("value", ["[1, 2]", "true", "{ a = 1 }"])
def test_patterns_that_are_not_strings_are_named(tmp_path: Path, value: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"read_only_vaults = {value}\n")
    with pytest.raises(ConfigError, match="read_only_vaults cannot be"):
        load_settings(cfg, env={})
    cfg.write_text('read_only_vaults = "prod-*"\n')  # one pattern, as in the variable
    assert load_settings(cfg, env={}).read_only_vaults == ["prod-*"]


def test_the_badge_source_is_not_a_setting(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('read_only_source = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(cfg, env={})
