"""`kvtui accounts`, `kvtui logout` and option errors, with the XDG folders in a
temporary directory (the user's own cache is never touched).

`accounts`, `logout` and a few refusals of each kind run as real subprocesses (exit
status, stderr as the terminal gets it). The long tables of refusals run kvtui's
``main()`` in this process (:func:`refused`): the same code up to the refusal, without
paying an interpreter and Textual's import per case; the app's ``run`` and the demo
are tripwires there, so a value that got through fails the test instead of starting
anything."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kvtui.core.auth import open_token_cache
from kvtui.core.cache import MetadataCache
from kvtui.core.models import Kind
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


@pytest.fixture
def refused(
    xdg: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``refused(*args, env={...})``: ``kvtui.cli.main(args)`` in this process with
    ``xdg``'s environment (and ``env``), as a CompletedProcess. Starting the app or the
    demo fails the test; the logging set-up kvtui may do before refusing is undone."""
    from kvtui import cli, demo
    from kvtui.ui.app import KvtuiApp

    def tripwire(*args: object, **kwargs: object) -> None:
        raise AssertionError("kvtui went on to start instead of refusing")

    monkeypatch.setattr(KvtuiApp, "run", tripwire)
    monkeypatch.setattr(demo, "run_demo", tripwire)

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as m:
            for name in os.environ:
                if name.startswith("KVTUI_"):
                    m.delenv(name)
            for name, value in {**xdg, **(env or {})}.items():
                m.setenv(name, value)
            root = logging.getLogger()
            handlers, level = list(root.handlers), root.level
            try:
                code = cli.main(list(args))
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                for handler in list(root.handlers):
                    if handler not in handlers:
                        root.removeHandler(handler)
                        handler.close()
                for handler in handlers:
                    if handler not in root.handlers:
                        root.addHandler(handler)
                root.setLevel(level)
                logging.captureWarnings(False)
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    return run


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """kvtui refused to start: exit status 2, nothing on stdout, one printable line on
    stderr (no traceback, no usage, no control or bidi character replayed); that line."""
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "usage:" not in result.stderr
    assert all(ch.isprintable() for ch in lines[0]), ascii(lines[0])
    return lines[0]


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

    # Listings cached for this account and another; logout forgets this one's only.
    metadata = cache.parent / "metadata"
    mine = MetadataCache(metadata, account.home_account_id)
    mine.store("https://one.vault.azure.net/", Kind.SECRETS, [])
    theirs = MetadataCache(metadata, "someone-else")
    theirs.store("https://one.vault.azure.net/", Kind.SECRETS, [])

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
    assert not mine.path.exists() and theirs.path.exists()

    # kvtui cache clear VAULT forgets a vault; with no vault, everything.
    theirs.store("https://two.vault.azure.net/", Kind.KEYS, [])
    out = kvtui(xdg, "cache", "clear", "one")  # a name: the cloud's URL
    assert out.returncode == 0, out.stderr
    assert "Forgot 1 cached listing of https://one.vault.azure.net/" in out.stdout
    assert set(theirs.vaults()) == {"https://two.vault.azure.net/"}
    out = kvtui(xdg, "cache", "clear")
    assert out.returncode == 0 and "1 account file" in out.stdout
    assert not theirs.path.exists()


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
        (["--ca-bundle", "/nonexistent/ca.pem"], {}, "CA bundle"),
        (["--authority", "http://insecure.example/tenant"], {}, "https"),
    ],
)
def test_bad_values_end_kvtui_before_sign_in(
    refused: Callable[..., subprocess.CompletedProcess[str]],
    args: list[str],
    env: dict[str, str],
    needle: str,
) -> None:
    """Nothing is started (no Textual screen, no "Signing in…", no network): one line
    on stderr naming the option and showing the value literally, exit status 2."""
    line = one_line_error(refused(*args, env=env))
    assert line.startswith("kvtui: ")
    assert needle in line, line


def test_ca_bundle_that_is_not_pem_ends_kvtui(
    refused: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    assert one_line_error(refused("--ca-bundle", str(not_pem))) == (
        f"kvtui: --ca-bundle: the CA bundle '{not_pem}' holds no PEM certificate "
        "(-----BEGIN CERTIFICATE-----)"
    )


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
    refused: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
    line: str,
    needle: str,
) -> None:
    config = tmp_path / "config" / "kvtui" / "config.toml"  # the default location
    config.parent.mkdir(parents=True)
    config.write_text(line + "\n")
    error = one_line_error(refused())
    assert error.startswith(f"kvtui: {config}: ") and needle in error, error


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
        (var,) = env
        line = one_line_error(kvtui({**xdg, **env}, *args, timeout=30))
        assert line == f"kvtui: {var}: '{folder}' is a folder, not a file"
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
    line = one_line_error(result)
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


# -- keymap clashes, the config's keymap example, argparse errors (issue 8) -----------------


CLASH = "are both on the key"


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ("colour = 'blue'", "unknown setting 'colour'"),
        # Textual's set_keymap skips an id no binding has: without this check, the key
        # the user chose would silently do nothing.
        (
            '[keymap]\nvault.revael = "x"',
            "keymap: no binding has the id 'vault.revael' (did you mean 'vault.reveal'?)",
        ),
        # Clashes. Before: Textual kept one of the two bindings and dropped the other.
        ('[keymap]\n"vault.reveal" = "c"', f"keymap: 'vault.copy' and 'vault.reveal' {CLASH} 'c'"),
        (
            '[keymap]\n"vault.reveal" = "ctrl+r"',
            f"keymap: 'vault.reload' and 'vault.reveal' {CLASH} 'ctrl+r'",
        ),
        # a screen's binding and the app's
        ('[keymap]\n"vault.reveal" = "q"', f"keymap: 'app.quit_q' and 'vault.reveal' {CLASH} 'q'"),
        (
            '[keymap]\n"login.restart" = "c"',
            f"keymap: 'login.copy_code' and 'login.restart' {CLASH} 'c'",
        ),
        # nested tables
        (
            '[keymap]\nvault.reveal = "x"\nvault.copy = "x"',
            f"keymap: 'vault.copy' and 'vault.reveal' {CLASH} 'x'",
        ),
        ('[keymap]\n"app.quit_q" = "?"', f"keymap: 'app.quit_q' and 'vault.help' {CLASH} '?'"),
    ],
)
def test_a_bad_config_file_ends_kvtui_in_one_line(
    refused: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path, toml: str, error: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml + "\n")
    line = one_line_error(refused("--config", str(config)))
    if CLASH in error:
        error += ": give one of them another key"
    assert line == f"kvtui: {config}: {error}"


def test_a_keymap_that_swaps_or_frees_keys_is_no_clash() -> None:
    from kvtui.ui.keymap import clashes

    assert clashes({}) == []
    assert clashes({"vault.reveal": "x"}) == []
    assert clashes({"vault.reveal": "c", "vault.copy": "r"}) == []  # swapped
    assert clashes({"vault.reload": "f5", "vault.reveal": "ctrl+r"}) == []  # freed first
    assert clashes({"versions.reload": "c"}) == []  # another screen's c
    assert clashes({"vault.reveal": "tab"}) == [("tab", "Textual's app.focus_next", "vault.reveal")]


def test_the_config_docstrings_keymap_examples_work(tmp_path: Path) -> None:
    """Before: the Settings.keymap example named an id no binding has ("reveal"), on a
    key vault.reload has (ctrl+r)."""
    import ast
    import textwrap

    import kvtui.core.config as config_module
    from kvtui.core.config import load_settings
    from kvtui.ui.keymap import clashes, unknown_ids

    assert config_module.__doc__ is not None
    example = textwrap.dedent(config_module.__doc__.split("::", 1)[1].split("\nA binding id")[0])
    config = tmp_path / "config.toml"
    config.write_text(example)
    settings = load_settings(config, env={})
    assert settings.keymap and "vault.reveal" in settings.keymap
    examples = [settings.keymap]
    source = Path(config_module.__file__).read_text()
    tree = ast.parse(source)
    settings_class = next(
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"
    )
    body = settings_class.body
    for i, node in enumerate(body):
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "keymap":
            doc = body[i + 1]
            assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
            literal = str(doc.value.value).split("``")[1]
            examples.append(ast.literal_eval(literal))
    assert len(examples) == 2
    for keymap in examples:
        assert unknown_ids(keymap) == [], keymap
        assert clashes(keymap) == [], keymap


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bogus"], "kvtui: unrecognized arguments: --bogus"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["logout", "--all", "someone"], "kvtui logout: argument ACCOUNT: not allowed"),
        (["--cloud"], "kvtui: argument --cloud: expected one argument"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_an_argparse_error_is_one_line(
    refused: Callable[..., subprocess.CompletedProcess[str]], args: list[str], needle: str
) -> None:
    """Before: argparse's usage (three lines), then the error."""
    line = one_line_error(refused(*args))
    assert needle in line, line


@pytest.mark.parametrize(
    ("args", "toml", "start"),
    [
        (["--vault", "https://127.0.0.1:99999/"], "", "kvtui: --vault: "),
        (["--bogus"], "", "kvtui: unrecognized arguments: --bogus"),
        (["--config", "{config}"], '[keymap]\n"vault.reveal" = "c"', "kvtui: {config}: keymap: "),
        (["accounts", "--client-id", "nope"], "", "kvtui: --client-id: "),
    ],
)
def test_a_refusal_in_a_real_process_is_one_line(
    xdg: dict[str, str], tmp_path: Path, args: list[str], toml: str, start: str
) -> None:
    """The tables above run in-process: one refusal of each kind (a flag, argparse, the
    config file after Textual is loaded, a subcommand) as the terminal really gets it."""
    config = tmp_path / "config.toml"
    config.write_text(toml + "\n")
    args = [a.format(config=config) for a in args]
    line = one_line_error(kvtui(xdg, *args, timeout=30))
    assert line.startswith(start.format(config=config)), line


def test_help_is_argparses_own() -> None:
    result = kvtui(dict(os.environ), "--help", timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: kvtui ") and "--vault NAME|URL" in result.stdout
