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


def kvtui(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvtui", *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
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


# -- values refused before any sign-in (issue 7, section 5) ---------------------------------

ESC = "\x1b"


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--vault", "https://127.0.0.1:99999/"], {}, "port"),
        (["--vault", "https://127.0.0.1:0/"], {}, "port"),
        (["--vault", "[bold red]vault[/]"], {}, "'[bold red]vault[/]' is not a vault name"),
        (["--vault", f"evil{ESC}]0;pwned\x07{ESC}[2J"], {}, "'evil␛]0;pwned␇␛[2J'"),
        (["--vault", "x\u202egnp.exe"], {}, "<U+202E>"),
        (["--vault", "http://contoso.vault.azure.net/"], {}, "https://"),
        (["--vault", "file:///etc/passwd"], {}, "'file://'"),
        (["--vault", "my vault"], {}, "not a vault name"),
        (["--vault", "https://my vault.vault.azure.net/"], {}, "spaces"),
        (["--vault", "https:///"], {}, "host"),
        (["--vault", "https://user:pw@contoso.vault.azure.net/"], {}, "user name"),
        (["--vault", "https://contoso.vault.azure.net/secrets/x"], {}, "path"),
        (["--vault", "https://contoso.vault.azure.net/?x=1"], {}, "query"),
        (["--vault", "ab"], {}, "3-24"),
        (["--vault", "my--vault"], {}, "--"),
        (["--vault", "https://my--vault.vault.azure.net/"], {}, "'my--vault' is not a vault"),
        (["--vault", "https://x.y.vault.azure.net/"], {}, "'x.y' is not a vault name"),
        (["--vault", "vault-"], {}, "not a vault name"),
        (["--vault", "1vault"], {}, "not a vault name"),
        (["--vault", "a" * 25], {}, "not a vault name"),
        ([], {"KVTUI_VAULT": "https://127.0.0.1:99999/"}, "KVTUI_VAULT:"),
        (["--tenant", "con toso"], {}, "--tenant:"),
        (["--tenant", "[b]x[/b]"], {}, "--tenant:"),
        (["--client-id", "not-a-guid"], {}, "GUID"),
        (["--cloud", "mars"], {}, "cloud"),
        (["--authority", "https://login.example/tenant.example/extra"], {}, "TENANT"),
        (["--authority", "https://login.example:70000/tenant.example"], {}, "port"),
        (["--authority", "file:///tenant"], {}, "https"),
        (["--arm-url", "http://management.example/"], {}, "--arm-url:"),
        (["--arm-url", "https://management.example/?x"], {}, "query"),
        ([], {"KVTUI_EXPIRY_WARNING_DAYS": "-1"}, "expiry_warning_days"),
        ([], {"KVTUI_CLIPBOARD_CLEAR_SECONDS": "-5"}, "clipboard_clear_seconds"),
        ([], {"KVTUI_CLIPBOARD_CLEAR_SECONDS": "99999999"}, "clipboard_clear_seconds"),
        (["accounts", "--client-id", "nope"], {}, "GUID"),
        (["--client-id", "nope", "accounts"], {}, "GUID"),  # before the command too
        (["--tenant", "x y", "logout", "--all"], {}, "--tenant:"),
        (["logout", "--all", "--vault", "https://127.0.0.1:99999/"], {}, "port"),
        (["--vault", "contoso", "demo"], {}, "demo"),
    ],
)
def test_bad_values_end_kvtui_before_sign_in(
    xdg: dict[str, str], args: list[str], env: dict[str, str], needle: str
) -> None:
    """Nothing is started (no Textual screen, no "Signing in…", no network): one line
    on stderr naming the option and showing the value literally, exit status 2."""
    result = kvtui({**xdg, **env}, *args, timeout=30)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kvtui: ")
    assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    # The value is shown, never replayed: no control or bidi character reaches the terminal.
    assert all(ch.isprintable() for ch in lines[0]), ascii(lines[0])


def test_ca_bundle_that_is_not_pem_ends_kvtui(xdg: dict[str, str], tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    result = kvtui(xdg, "--ca-bundle", str(not_pem), timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"kvtui: --ca-bundle: the CA bundle '{not_pem}' holds no PEM certificate "
        "(-----BEGIN CERTIFICATE-----)"
    ]


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('vault = "https:///"', "vault: the vault URL 'https:///' has no valid host name"),
        ('vault = "file:///"', "must be an https:// URL, not 'file://'"),
        ('tenant = "not a tenant"', "tenant: the tenant 'not a tenant' is not valid"),
        ('client_id = "x"', "client_id: the client id 'x' is not a GUID"),
        ("clipboard_clear_seconds = -1", "clipboard_clear_seconds must be between 0 and"),
        ("expiry_warning_days = 100000", "expiry_warning_days must be between 0 and"),
    ],
)
def test_bad_value_in_the_config_file_ends_kvtui(
    xdg: dict[str, str], tmp_path: Path, line: str, needle: str
) -> None:
    config = tmp_path / "config" / "kvtui" / "config.toml"  # the default location
    config.parent.mkdir(parents=True)
    config.write_text(line + "\n")
    result = kvtui(xdg, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kvtui: {config}: "), result.stderr
    assert needle in lines[0], lines[0]


def test_a_misspelt_keymap_id_ends_kvtui(xdg: dict[str, str], tmp_path: Path) -> None:
    """Textual's set_keymap skips an id no binding has: without this check, the key the
    user chose would silently do nothing."""
    config = tmp_path / "config.toml"
    config.write_text('[keymap]\nvault.revael = "x"\n')
    result = kvtui(xdg, "--config", str(config), timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"kvtui: {config}: keymap: no binding has the id 'vault.revael' "
        "(did you mean 'vault.reveal'?)"
    ]


def test_every_documented_keymap_id_is_known() -> None:
    from kvtui.ui.keymap import unknown_ids

    # The README's and the config docstring's examples, and one of every screen.
    keymap = dict.fromkeys(
        ["vault.reveal", "vault.copy_menu", "picker.pin", "login.copy_code", "app.quit"], "x"
    )
    assert unknown_ids(keymap) == []
    assert unknown_ids({"nope": "x"}) == [("nope", None)]


def test_a_token_cache_or_log_file_that_is_a_folder_ends_kvtui(
    xdg: dict[str, str], tmp_path: Path
) -> None:
    """Before: a traceback, and the folder (and its parent) were chmod-ed 0600/0700."""
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    tmp_path.chmod(0o755)
    for args, env in (
        (["accounts"], {"KVTUI_TOKEN_CACHE": str(folder)}),
        ([], {"KVTUI_TOKEN_CACHE": str(folder)}),
        ([], {"KVTUI_LOG_FILE": str(folder)}),
    ):
        result = kvtui({**xdg, **env}, *args, timeout=30)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        (var,) = env
        assert result.stderr.splitlines() == [f"kvtui: {var}: '{folder}' is a folder, not a file"]
    assert (folder.stat().st_mode & 0o777, tmp_path.stat().st_mode & 0o777) == (0o755, 0o755)


def test_a_token_cache_in_a_folder_of_the_users_keeps_that_folders_mode(
    xdg: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    result = kvtui({**xdg, "KVTUI_TOKEN_CACHE": str(folder / "tokens.bin")}, "accounts")
    assert result.returncode == 0, result.stderr
    assert folder.stat().st_mode & 0o777 == 0o755


def test_a_token_cache_that_cannot_be_created_is_one_line(
    xdg: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = kvtui({**xdg, "KVTUI_TOKEN_CACHE": str(blocker / "sub" / "tokens.bin")}, "accounts")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"kvtui: token_cache '{blocker}/sub/tokens.bin' cannot be used: ")


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
