"""What --vault, --tenant, --client-id, --authority and --arm-url accept, before any
network (kvtui/core/validation.py); the CLI's one-line errors are in tests/ui/test_cli.py."""

from __future__ import annotations

import pytest

from kvtui.core import validation as check
from kvtui.core.clouds import CLOUDS

PUBLIC = CLOUDS["public"].vault_suffix


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("contoso", "https://contoso.vault.azure.net/"),
        ("  my-vault-01 ", "https://my-vault-01.vault.azure.net/"),
        ("abc", "https://abc.vault.azure.net/"),
        ("a" * 24, f"https://{'a' * 24}.vault.azure.net/"),
        ("https://contoso.vault.azure.net", "https://contoso.vault.azure.net/"),
        ("HTTPS://Contoso.Vault.Azure.Net/", "HTTPS://Contoso.Vault.Azure.Net/"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443/"),
        ("https://[::1]:8443/", "https://[::1]:8443/"),
        ("https://localhost:65535/", "https://localhost:65535/"),
        ("https://contoso.privatelink.vaultcore.azure.net/", None),
    ],
)
def test_vault_names_and_urls_accepted(given: str, url: str | None) -> None:
    assert check.vault_url(given, PUBLIC) == (url or given.strip())


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("ab", "not a vault name"),
        ("a" * 25, "not a vault name"),
        ("1abc", "not a vault name"),
        ("abc-", "not a vault name"),
        ("a--b", "not a vault name"),
        ("my vault", "not a vault name"),
        ("[b]x[/b]", "'[b]x[/b]' is not a vault name"),
        ("x\x1b[2J", "'x␛[2J' is not a vault name"),
        ("x\u202eyz", "<U+202E>"),
        ("contoso.vault.azure.net", "must be an https:// URL"),
        ("http://contoso.vault.azure.net/", "not 'http://'"),
        ("file:///etc/passwd", "not 'file://'"),
        ("https:///", "no valid host"),
        ("https://", "no valid host"),
        ("https://-x.example/", "no valid host"),
        ("https://x_y.example/", "no valid host"),
        ("https://999.1.1.1/", "no valid host"),
        ("https://[zz/", "no valid host"),
        ("https://h:0/", "invalid port"),
        ("https://h:99999/", "invalid port"),
        ("https://h:/", "invalid port"),
        ("https://h:x/", "invalid port"),
        ("https://u:p@h/", "user name"),
        ("https://h/secrets/x", "no path"),
        ("https://h/?x=1", "query"),
        ("https://h/#x", "fragment"),
        ("https://h /", "spaces"),
        ("https://a--b.vault.azure.net/", "'a--b' is not a vault name"),
    ],
)
def test_everything_else_is_refused_with_the_value_shown(given: str, why: str) -> None:
    with pytest.raises(check.InvalidValue) as err:
        check.vault_url(given, PUBLIC)
    assert why in str(err.value)
    assert all(ch.isprintable() for ch in str(err.value))


def test_a_long_value_is_cut_in_the_message() -> None:
    with pytest.raises(check.InvalidValue) as err:
        check.vault_url("x" * 5000, PUBLIC)
    assert len(str(err.value)) < 400 and "…'" in str(err.value)


@pytest.mark.parametrize(
    "tenant",
    [
        "organizations",
        "common",
        "consumers",
        "contoso.onmicrosoft.com",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
    ],
)
def test_tenants_accepted(tenant: str) -> None:
    assert check.tenant(tenant) == tenant


@pytest.mark.parametrize("tenant", ["contoso", "con toso.com", "x/y", "127.0.0.1", "", "a..b"])
def test_tenants_refused(tenant: str) -> None:
    with pytest.raises(check.InvalidValue, match="is not valid"):
        check.tenant(tenant)


def test_authority_is_https_host_and_at_most_a_tenant() -> None:
    assert check.authority("https://login.example:8443/contoso.example") == (
        "https://login.example:8443",
        "contoso.example",
    )
    assert check.authority("https://login.example") == ("https://login.example", None)
    with pytest.raises(check.InvalidValue, match="one path segment"):
        check.authority("https://login.example/a.example/b")
    with pytest.raises(check.InvalidValue, match="tenant of"):
        check.authority("https://login.example/not_a_tenant")
    assert check.authority("https://h/x[b]y", check_tenant=False) == ("https://h", "x[b]y")
