"""The early listing (kvtui/core/lister.py): the --vault's secrets listed by a child
process from the CLI's start, with the real msal and the real SDK's pipeline against
the emulator, then taken over by the vault screen; whatever goes wrong with it, the
vault screen lists by itself as before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from kvtui.core.convert import item_from_secret
from kvtui.core.lister import EarlyListing, EarlyListingFailed
from kvtui.core.lister_child import spawn
from kvtui.core.models import Item, Kind
from kvtui.emulator.store import Vault
from kvtui.ui.launch import AppContext
from tests.emulator.admin_support import Admin
from tests.support import Clients
from tests.ui.conftest import wait_until
from tests.ui.vaults import add_fault, finished, open_vault, shown, table


@pytest.fixture
def vault(new_vault: Callable[..., Vault]) -> Vault:
    return new_vault(seed="demo")


async def everything(early: EarlyListing) -> list[Item]:
    items: list[Item] = []
    async for page in early.pages_from():
        items.extend(page)
    return items


def started(context: AppContext) -> EarlyListing:
    early = context.start_early_listing()
    assert early is not None
    return early


async def test_the_child_lists_what_the_sdk_lists(
    vault: Vault,
    sdk: Clients,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """Every secret, each as the app's own listing makes it (dates, tags, content
    types, disabled ones), as the token cache's only account; by the child the CLI
    started before it read its settings, as kvtui does."""
    context = make_context(vault.url)
    context.spare_lister = spawn()
    assert context.spare_lister is not None
    early = started(context)
    assert early.process is not None and context.spare_lister is None
    try:
        got = await asyncio.wait_for(everything(early), 60)
    finally:
        early.stop()
    listed = [item_from_secret(p) async for p in sdk.secrets.list_properties_of_secrets()]
    assert len(listed) > 5
    assert got == listed
    assert any(i.tags for i in got) and any(i.expires for i in got)
    assert any(not i.enabled for i in got)
    assert early.account_id is not None and early.done


async def test_a_child_never_given_a_vault_ends_by_itself(
    make_context: Callable[..., AppContext],
) -> None:
    """Started before the settings were read, then not needed (no token cache file
    here): it ends quietly once its imports are done, without listing anything."""
    context = make_context("https://unused.vault.azure.net/")
    process = context.spare_lister = spawn()
    assert process is not None and process.stdout is not None
    assert context.start_early_listing() is None  # no token cache to sign in from
    assert context.spare_lister is None
    assert await asyncio.to_thread(process.wait, 60) == 0


async def test_the_vault_screen_takes_it_over(
    vault: Vault,
    sdk: Clients,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """Once the child has listed, the vault's listing is held: the vault screen shows
    the secrets all the same, from the child, and counts them as listed."""
    names = sorted([p.name async for p in sdk.secrets.list_properties_of_secrets()])
    context = make_context(vault.url)
    early = started(context)
    await asyncio.wait_for(everything(early), 60)
    await add_fault(
        admin, type="latency", latency_ms=600_000, vault=vault.name, operation="secrets/list"
    )
    async with open_vault(context) as (_, pilot, screen):
        secrets = table(screen, Kind.SECRETS)
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "listed")
        assert sorted(i.name for i in secrets.items) == names
        assert f"{len(names)} secrets" in shown(screen, "#status-secrets")
    assert early.process.poll() is not None  # the child has ended


async def test_a_failed_early_listing_is_listed_again(
    vault: Vault,
    sdk: Clients,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """The child's first request is refused (403, the vault's firewall): the vault
    screen lists by itself."""
    await add_fault(admin, type="firewall", vault=vault.name, count=1)
    context = make_context(vault.url)
    early = started(context)
    with pytest.raises(EarlyListingFailed):
        await asyncio.wait_for(everything(early), 60)
    context.early_listing = early  # as the CLI leaves it for the app
    names = sorted([p.name async for p in sdk.secrets.list_properties_of_secrets()])
    async with open_vault(context) as (_, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "listed")
        assert sorted(i.name for i in table(screen, Kind.SECRETS).items) == names
        assert screen.tab_of(Kind.SECRETS).error is None


async def test_another_vault_stops_it(
    vault: Vault,
    new_vault: Callable[..., Vault],
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    """The early listing lists --vault only: opening another vault ends the child and
    lists that vault."""
    other = new_vault(seed="bulk:3")
    first = make_context(vault.url)
    early = started(first)
    context = make_context(other.url)  # as if the picker had chosen another vault
    context.early_listing = early
    async with open_vault(context) as (_, pilot, screen):
        await wait_until(pilot, lambda: finished(screen, Kind.SECRETS), "listed")
        assert len(table(screen, Kind.SECRETS).items) == 3
    assert early.process.poll() is not None
    assert context.early_listing is None
