"""`kvtui accounts`, `kvtui logout` and option errors, as real subprocesses with the XDG
folders in a temporary directory (the user's own cache is never touched)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvtui.core.auth import open_token_cache
from kvtui.emulator import EmulatorInfo
from tests.core.conftest import make_sign_in, sign_in_with_device_code

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def xdg(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVTUI_")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    return env


def kvtui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvtui", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_accounts_lists_and_logout_removes(
    info: EmulatorInfo, tmp_path: Path, xdg: dict[str, str], identity: Any
) -> None:
    empty = kvtui(xdg, "accounts")
    assert empty.returncode == 0
    assert "No accounts signed in." in empty.stdout

    cache = tmp_path / "cache" / "kvtui" / "msal_token_cache.bin"  # the default location
    account = await sign_in_with_device_code(make_sign_in(info, cache), info)

    listed = kvtui(xdg, "accounts")
    assert listed.returncode == 0, listed.stderr
    assert account.username in listed.stdout
    assert account.tenant_id in listed.stdout

    unknown = kvtui(xdg, "logout", "someone.else@example.com")
    assert unknown.returncode == 1
    assert "no account" in unknown.stderr

    out = kvtui(xdg, "logout", "--all")
    assert out.returncode == 0, out.stderr
    assert f"Signed out {account.username}" in out.stdout
    assert "No accounts signed in." in kvtui(xdg, "accounts").stdout
    left = open_token_cache(cache)
    for kind in ("Account", "RefreshToken", "AccessToken", "IdToken"):
        assert list(left.search(kind)) == [], kind


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--cloud", "mars"], "cloud"),
        (["--ca-bundle", "/nonexistent/ca.pem"], "CA bundle"),
        (["--authority", "http://insecure.example/tenant"], "https"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    xdg: dict[str, str], args: list[str], needle: str
) -> None:
    result = kvtui(xdg, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_file_is_one_line_and_exit_2(xdg: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("colour = 'blue'\n")
    result = kvtui(xdg, "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == f"kvtui: {config}: unknown setting 'colour'"


async def test_logout_by_user_name_refuses_when_two_accounts_share_it(
    info: EmulatorInfo, tmp_path: Path, xdg: dict[str, str], identity: Any
) -> None:
    """The same UPN in two tenants: `kvtui logout NAME` names no single account; the
    id that `kvtui accounts` lists does."""
    from tests.core.test_accounts import sign_in_as, twins

    first, second = twins(info)
    cache = tmp_path / "cache" / "kvtui" / "msal_token_cache.bin"  # the default location
    a = await sign_in_as(make_sign_in(info, cache, tenant=info.tenant_id), info, first["oid"])
    b = await sign_in_as(
        make_sign_in(info, cache, tenant=info.other_tenant_id), info, second["oid"]
    )
    assert a.username == b.username

    listed = kvtui(xdg, "accounts")
    assert f"id {a.home_account_id}" in listed.stdout
    assert f"id {b.home_account_id}" in listed.stdout

    refused = kvtui(xdg, "logout", a.username.upper())
    assert refused.returncode == 2
    assert "2 accounts have the user name" in refused.stderr
    assert a.home_account_id in refused.stderr and b.home_account_id in refused.stderr
    assert len(kvtui(xdg, "accounts").stdout.splitlines()) == 2  # nothing removed

    out = kvtui(xdg, "logout", b.home_account_id)
    assert out.returncode == 0, out.stderr
    assert f"Signed out {b.username}" in out.stdout
    left = kvtui(xdg, "accounts").stdout
    assert f"id {a.home_account_id}" in left
    assert b.home_account_id not in left
    # Now the user name names one account.
    assert kvtui(xdg, "logout", a.username).returncode == 0
    assert "No accounts signed in." in kvtui(xdg, "accounts").stdout
