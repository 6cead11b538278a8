"""The vault screen through Pilot against the emulator (real msal, real SDK, HTTPS):
the three tabs, status markers, filter, sort, detail pane per kind, reveal and copy,
errors that stay in their tab (403, firewall, throttling, a dropped network), the
read-only badge, leaving a vault while it loads, and a 2,000-secret vault."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import Input, Static, TabbedContent
from textual.worker import Worker, WorkerState

from kvtui.core.models import Kind
from kvtui.emulator.store import Vault
from kvtui.tools.pilot import drive
from kvtui.ui.app import KvtuiApp
from kvtui.ui.clipboard import BLANK, Cleared
from kvtui.ui.launch import AppContext
from kvtui.ui.modals.copy_menu import CopyMenu
from kvtui.ui.modals.export import ExportScreen
from kvtui.ui.modals.versions import VersionsScreen
from kvtui.ui.screens.vault import VaultScreen
from tests.emulator.admin_support import Admin
from tests.support import Clients
from tests.ui.conftest import SIZE, WIDE, at_size, wait_screen, wait_until
from tests.ui.vaults import listed as listed
from tests.ui.vaults import on_screen, open_vault, pane, rendered, screen_lines, shown, table
from tests.ui.vaults import vault_screen as vault_screen

HOSTILE = "[bold]x[/] \x1b[31mred\x1b]52;c;AAAA\x07 [link=evil]y"


class Notes:
    """The notifications the app shows, and what each clearing of the clipboard did
    (``message_hook``)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.cleared: list[Cleared] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.messages.append(message.notification.message)
        elif (
            isinstance(message, Worker.StateChanged)
            and message.worker.name == "clear-clipboard"
            and message.state is WorkerState.SUCCESS
        ):
            self.cleared.append(message.worker.result)


async def test_tabs_markers_filter_sort_and_details(
    demo_vault: Vault, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    # Wide: every column of each table (subjects, tags).
    async with open_vault(make_context(demo_vault.url), size=WIDE, listed_first=None) as (
        _app,
        pilot,
        vault,
    ):
        for kind in Kind:
            await wait_until(pilot, lambda k=kind: listed(vault, k), f"{kind.value} listed")
        secrets = table(vault, Kind.SECRETS)
        total = secrets.total_count
        assert total == 63  # 59 + the secrets behind the 4 certificates
        assert table(vault, Kind.KEYS).total_count == 10  # 6 + the certificates' keys
        assert table(vault, Kind.CERTIFICATES).total_count == 4
        assert f"{total} secrets" in shown(vault, "#status-secrets")
        assert not vault.query_one("#vault-read-only").display

        # Sort by expiry (f7): the expired come first, marked in text, not only colour.
        await pilot.press("f7")
        assert secrets.sort_column == "expires"
        lines = rendered(secrets)
        assert "expires ▲" in lines[0]
        assert "✖ expired" in lines[1]
        assert any("⚠ " in line and "d " in line + " " for line in lines[1:])
        await pilot.press("f7")  # again: reversed
        assert secrets.sort_reverse
        await pilot.press("f6")  # back to names
        assert secrets.sort_column == "name" and not secrets.sort_reverse

        # "/" filters as you type; enter keeps it; esc clears it.
        await pilot.press("slash", *"billing")
        assert vault.query_one("#filter-secrets", Input).has_focus
        assert secrets.row_count == 6
        assert all("billing" in item.name for item in secrets.rows)
        await pilot.press("enter")
        assert secrets.has_focus and secrets.filter_text == "billing"
        assert "6 of 63 secrets match" in shown(vault, "#status-secrets")
        await pilot.press("down")  # the table moves within the filtered rows
        assert secrets.cursor_item is not None and "billing" in secrets.cursor_item.name
        await pilot.press("escape")
        assert secrets.filter_text == "" and secrets.row_count == total

        await pilot.press("slash", *"tag:env=prod", "enter")
        prod = secrets.rows
        assert prod and all(item.tags.get("env") == "prod" for item in prod)
        assert len(prod) < total
        await pilot.press("slash", "ctrl+u", *"type:json", "enter")
        assert secrets.rows and all("json" in (i.content_type or "") for i in secrets.rows)
        await pilot.press("escape")
        assert secrets.row_count == total

        # The secret's detail: attributes, tags, content type; the value masked.
        detail = pane(vault, Kind.SECRETS)
        first = secrets.cursor_item
        assert first is not None
        await wait_until(pilot, lambda: detail.detail is not None, "the secret's detail")
        text = detail.text
        for label in ("Id", "Created", "Updated", "Not before", "Expires", "Recovery", "Tags"):
            assert label in text
        assert first.name in text and "Content type" in text and "••••" in text

        # Keys (2): type, size or curve, operations, public JWK; the table's type column
        # fills in as details arrive.
        await pilot.press("2")
        keys = table(vault, Kind.KEYS)
        assert keys.has_focus
        await wait_until(
            pilot, lambda: all(i.key_type for i in keys.rows), "the key types in the table"
        )
        assert any("RSA 2048" in line for line in rendered(keys))
        key_pane = pane(vault, Kind.KEYS)
        await wait_until(pilot, lambda: key_pane.detail is not None, "the key's detail")
        text = key_pane.text
        for label in ("Type", "Size / curve", "Operations", "Public key (JWK)", "Rotation"):
            assert label in text
        await pilot.press("s")  # save the public key as PEM: where?
        export = await wait_screen(pilot, ExportScreen)
        assert export.default_path.name.endswith(".pub.pem")
        assert export.data.startswith(b"-----BEGIN PUBLIC KEY-----")
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)
        await pilot.press("slash", *"type:p-256", "enter")
        assert "webhook-es256" in [i.name for i in keys.rows]
        assert all(i.curve == "P-256" for i in keys.rows)
        await pilot.press("escape")

        # Certificates (3): subject, SANs, issuer, thumbprint, validity, policy.
        await pilot.press("3")
        certs = table(vault, Kind.CERTIFICATES)
        await wait_until(pilot, lambda: all(i.subject for i in certs.rows), "the subjects")
        assert any("CN=api.examp" in line for line in rendered(certs))
        cert_pane = pane(vault, Kind.CERTIFICATES)
        await wait_until(pilot, lambda: cert_pane.detail is not None, "the certificate")
        text = cert_pane.text
        for label in ("Subject", "SANs", "Issuer", "Thumbprint", "Valid until", "Policy"):
            assert label in text
        assert "Lifetime actions" in text and "Exportable" in text
        await pilot.press("v")
        versions = await wait_screen(pilot, VersionsScreen)
        assert certs.cursor_item is not None
        assert versions.item_name == certs.cursor_item.name
        await pilot.press("escape")
        await wait_screen(pilot, VaultScreen)
        assert vault.check_action("op", ("reveal",)) is False  # no value to reveal here
        assert vault.check_action("op", ("save_cer",)) is True

        # "?" shows every key; again hides it.
        await pilot.press("question_mark")
        assert vault.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.pause()
        assert not vault.query("HelpPanel")


async def test_reveal_is_literal_and_masked_again_and_copy_clears_the_clipboard(
    kv: Clients, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    await kv.secrets.set_secret(
        "a-hostile", HOSTILE, content_type="[red]ct\x1b[2J", tags={"k": "[b]v[/b]"}
    )
    await kv.secrets.set_secret("b-json", '{"user": "app", "n": [1, 2]}')
    notes = Notes()
    # Reveal remapped to "x" in the config's keymap (binding ids).
    ctx = make_context(kv.vault_url, clipboard_clear_seconds=1, keymap={"vault.reveal": "x"})
    # Wide: the table shows the content type and tags columns too.
    async with open_vault(ctx, size=WIDE, message_hook=notes) as (app, pilot, vault):
        detail = pane(vault, Kind.SECRETS)
        await wait_until(pilot, lambda: detail.item is not None, "the first secret highlighted")
        assert detail.item is not None and detail.item.name == "a-hostile"
        assert "x[/]" not in detail.text
        row = rendered(table(vault, Kind.SECRETS))[1]
        assert "[red]ct␛[2J" in row and "k=[b]v[/b]" in row  # literal, in the table too
        assert "[red]ct␛[2J" in detail.text

        await pilot.press("x")
        await wait_until(pilot, lambda: detail.revealed, "the value revealed")
        text = detail.text
        assert "[bold]x[/] ␛[31mred␛]52;c;AAAA␇" in text and "[link=evil]y" in text
        assert "\x1b" not in text and "\x07" not in text

        await pilot.press("down")  # moving on masks it again
        assert not detail.revealed
        assert "x[/]" not in detail.text
        await pilot.press("x")
        await wait_until(pilot, lambda: detail.revealed, "the JSON value")
        assert '  "user": "app",' in detail.text  # pretty-printed, one key a line
        await pilot.press("escape")
        assert not detail.revealed

        await pilot.press("c")
        await wait_until(pilot, lambda: app.clipboard.startswith('{"user"'), "the value copied")
        assert any("cleared in 1 s" in m for m in notes.messages)
        # Cleared with a blank (tmux and some terminals ignore an empty OSC 52), and the
        # message says what kvtui cannot clear (not in tmux here: see tests/e2e).
        await wait_until(pilot, lambda: app.clipboard == BLANK, "the clipboard cleared")
        await wait_until(
            pilot,
            lambda: "Cleared the clipboard. Your terminal may keep a copy" in notes.messages[-1],
            "the clearing said",
        )

        # The copy menu: an App Service reference.
        await pilot.press("y")
        menu = await wait_screen(pilot, CopyMenu)
        keys = [c.key for c in menu.choices]
        assert {"name", "uri", "appservice", "az"} <= set(keys)
        await pilot.press(str(keys.index("appservice") + 1))
        await wait_screen(pilot, VaultScreen)
        expected = f"@Microsoft.KeyVault(SecretUri={kv.vault_url.rstrip('/')}/secrets/b-json/)"
        assert app.clipboard == expected

        # Something else copied since: the clearing leaves it alone.
        await pilot.press("c")
        await wait_until(pilot, lambda: app.clipboard.startswith('{"user"'), "copied again")
        app.copy_to_clipboard("something else")
        clearings = len(notes.cleared)
        await wait_until(pilot, lambda: len(notes.cleared) > clearings, "the second clearing")
        assert notes.cleared[-1].something_else
        assert app.clipboard == "something else"


async def test_a_403_on_keys_stays_in_its_tab(
    demo_vault: Vault,
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    rule = {"secrets": ["all"], "certificates": ["all"]}
    await admin.call("PUT", f"/permissions/{demo_vault.name}/*", rule, expect=200)
    async with open_vault(make_context(demo_vault.url), listed_first=None) as (_app, pilot, vault):
        keys_tab = vault.tab_of(Kind.KEYS)
        await wait_until(pilot, lambda: keys_tab.error is not None, "the keys' error")
        await wait_until(pilot, lambda: listed(vault, Kind.SECRETS), "the secrets")
        await wait_until(pilot, lambda: listed(vault, Kind.CERTIFICATES), "the certificates")
        assert "keys list permission" in shown(vault, "#error-keys")
        assert "ctrl+r" in shown(vault, "#error-hint-keys")  # under the message, always
        assert vault.query_one("#error-keys").display
        assert not vault.query_one("#error-secrets").display
        keys_label = vault.query_one(TabbedContent).get_tab("keys")
        await wait_until(pilot, lambda: "⚠" in str(keys_label.label), "⚠ on the keys' tab")

        await admin.call("DELETE", f"/permissions/{demo_vault.name}/*", expect=204)
        await pilot.press("2", "ctrl+r")
        await wait_until(pilot, lambda: listed(vault, Kind.KEYS), "the keys after a retry")
        assert not vault.query_one("#error-keys").display


async def test_firewall_throttling_and_a_lost_network_are_named_and_retried(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    v = new_vault("demo")
    faults = [
        {"type": "firewall", "vault": v.name, "operation": "certificates"},
        {"type": "throttle", "vault": v.name, "operation": "keys/list", "count": 1},
        {"type": "drop", "vault": v.name, "operation": "secrets/list"},
    ]
    ids = [(await admin.call("POST", "/faults", f, expect=201))[1]["id"] for f in faults]
    async with open_vault(make_context(v.url, read_only=True), listed_first=None) as (
        _app,
        pilot,
        vault,
    ):
        assert vault.query_one("#vault-read-only").display
        assert str(vault.query_one("#vault-read-only").tooltip) == "Read-only: read_only"
        for kind in Kind:
            tab = vault.tab_of(kind)
            await wait_until(pilot, lambda t=tab: t.error is not None, f"{kind} error")
        assert "firewall" in shown(vault, "#error-certificates")
        assert "throttling" in shown(vault, "#error-keys")
        assert "connection to the vault at" in shown(vault, "#error-secrets")
        assert "was cut" in shown(vault, "#error-secrets")
        assert "ctrl+r to retry" in shown(vault, "#error-hint-secrets")
        # The throttle was reported as it happened.
        throttle = vault.query_one("#vault-throttle", Static)
        assert "Vault is throttling: waiting" in str(throttle.content)

        await pilot.press("2", "ctrl+r")  # the throttle fault was used up
        await wait_until(pilot, lambda: listed(vault, Kind.KEYS), "the keys after a retry")
        await admin.call("DELETE", f"/faults/{ids[2]}", expect=204)
        await pilot.press("1", "ctrl+r")
        await wait_until(pilot, lambda: listed(vault, Kind.SECRETS), "the network back")
        assert vault.tab_of(Kind.CERTIFICATES).error is not None  # still behind the firewall


async def test_leaving_a_vault_cancels_its_slow_load(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    slow, other = new_vault("demo"), new_vault("demo")
    fault = {"type": "latency", "vault": slow.name, "latency_ms": 4000}
    await admin.call("POST", "/faults", fault, expect=201)
    app = KvtuiApp(make_context(slow.url))
    async with drive(app, size=SIZE) as pilot:
        first = await vault_screen(pilot)
        assert "Loading…" in shown(first, "#status-secrets")
        loaders = [t.loader for t in first.tabs if t.loader is not None]
        assert len(loaders) == 3
        assert all(w.state is WorkerState.RUNNING for w in loaders)
        account = first.account
        await app.switch_screen(VaultScreen(first.context, account, other.url))
        second = await vault_screen(pilot)
        assert second is not first
        await wait_until(
            pilot,
            lambda: all(w.state is WorkerState.CANCELLED for w in loaders),
            "the slow loads cancelled",
        )
        await wait_until(pilot, lambda: listed(second, Kind.SECRETS), "the other vault")


async def test_a_large_vault_is_usable_while_it_loads(
    new_vault: Callable[..., Vault],
    admin: Admin,
    make_context: Callable[..., AppContext],
    signed_in: None,
) -> None:
    v = new_vault("bulk:2000")
    fault = {"type": "latency", "vault": v.name, "operation": "secrets/list", "latency_ms": 15}
    await admin.call("POST", "/faults", fault, expect=201)
    async with open_vault(make_context(v.url), listed_first=None) as (app, pilot, vault):
        secrets = table(vault, Kind.SECRETS)
        await wait_until(pilot, lambda: secrets.total_count >= 25, "the first page")
        assert vault.tab_of(Kind.SECRETS).listing
        assert "Loading…" in shown(vault, "#status-secrets")
        # Keys as the terminal sends them (pilot.press would wait for the load to end).
        for _ in range(3):
            app.post_message(events.Key("down", None))
        await wait_until(pilot, lambda: secrets.cursor_row == 3, "the cursor moved")
        await wait_until(
            pilot, lambda: pane(vault, Kind.SECRETS).item is secrets.cursor_item, "its detail"
        )
        assert vault.tab_of(Kind.SECRETS).listing  # while the rest streams in
        await pilot.press("slash", *"000019", "enter")
        assert [i.name for i in secrets.rows] == ["bulk-secret-000019"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not vault.tab_of(Kind.SECRETS).listing, "the whole list")
        assert secrets.total_count == 2000
        assert "2,000 secrets" in shown(vault, "#status-secrets")


async def test_a_vault_matching_a_read_only_pattern_says_so_on_its_badge(
    demo_vault: Vault, make_context: Callable[..., AppContext], signed_in: None
) -> None:
    """The emulator's vault URLs are https://127.0.0.1:PORT/: the host is what matches.
    At 80x24 the badge is short, and the signed-in account stays in view; the rule is
    its tooltip, and beside it in a wide terminal."""
    patterns = ["prod-*", "127.0.0.*"]
    ctx = make_context(demo_vault.url, read_only_vaults=patterns)
    async with open_vault(ctx) as (app, pilot, vault):
        assert vault.read_only
        badge = vault.query_one("#vault-read-only")
        assert badge.display and str(badge.tooltip) == "Read-only: matches 127.0.0.*"
        top = screen_lines(app)[0]
        assert "READ-ONLY" in top and "matches" not in top and "demo.user" in top
        async with at_size(pilot, (160, 35)):
            assert on_screen(app, "READ-ONLY: matches 127.0.0.*")
        # The second lock: the vault's service refuses writes (kvtui/core/writes.py).
        assert vault.session.service.read_only_rule == "matches 127.0.0.*"
    ctx = make_context(demo_vault.url, read_only_vaults=["prod-*"])
    async with open_vault(ctx) as (_app, _pilot, vault):
        assert not vault.read_only and not vault.query_one("#vault-read-only").display
