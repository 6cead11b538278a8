"""The emulator's one clock: set and moved in-process and over the admin endpoint, and
read by what the clients see (item times, deleted dates, certificates' validity, device
codes, tokens). Nothing here sleeps: the clock is moved instead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.keyvault.certificates import CertificatePolicy

from kvtui.emulator import EmulatorInfo, EmulatorSettings, EmulatorThread
from kvtui.emulator.clock import Clock, parse_time
from kvtui.emulator.server import Emulator
from tests.support import (
    VAULT_SCOPE,
    Clients,
    EmulatorClock,
    emulator_clock,
    kv_clients,
    requests_session,
)

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc)
LATER = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)


# -- the clock itself ------------------------------------------------------------------


def test_a_clock_started_at_a_time_is_frozen_there_until_moved() -> None:
    clock = Clock(T0.timestamp())
    assert clock.fixed and clock.frozen
    assert clock.time() == T0.timestamp() and clock.datetime() == T0
    clock.advance(90)
    assert clock.now() == int(T0.timestamp()) + 90
    clock.set(LATER.timestamp())
    assert clock.datetime() == LATER
    clock.reset()
    assert clock.datetime() == T0


def test_a_real_clock_ticks_and_can_be_moved_on_and_frozen() -> None:
    clock = Clock()
    assert not clock.fixed and not clock.frozen
    before = datetime.now(timezone.utc).timestamp()
    assert before - 1 <= clock.time() <= datetime.now(timezone.utc).timestamp() + 1
    clock.advance(3600)
    assert clock.time() >= before + 3600
    clock.freeze()
    frozen = clock.time()
    assert clock.frozen and clock.time() == frozen
    clock.resume()
    assert not clock.frozen and clock.time() >= frozen
    clock.reset()
    assert clock.time() < before + 60
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-15T09:00:00Z", T0),
        ("2026-01-15T09:00:00", T0),
        ("2026-01-15T10:00:00+01:00", T0),
        ("2026-01-15T09:00", T0),
    ],
)
def test_times_are_read_as_utc_iso_8601(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected.timestamp()


def test_settings_start_the_emulators_clock_before_it_runs() -> None:
    emulator = Emulator(EmulatorSettings(start_time=T0.timestamp()))
    assert emulator.clock.frozen and emulator.clock.datetime() == T0
    emulator.clock.advance(60)
    assert emulator.clock.datetime() == T0 + timedelta(seconds=60)


# -- over the admin endpoint -----------------------------------------------------------


def post_clock(info: EmulatorInfo, body: Any, **headers: str) -> requests.Response:
    with requests_session(info.ca_bundle) as http:
        return http.post(
            f"{info.admin_url}/clock",
            json=body,
            headers={**info.admin_headers(), **headers},
            timeout=10,
        )


def test_admin_sets_freezes_and_advances_the_clock(
    info: EmulatorInfo, clock: EmulatorClock
) -> None:
    state = clock.call({"now": "2030-06-01T12:00:00Z", "frozen": True})
    assert state["frozen"] is True
    assert state["now"] == "2030-06-01T12:00:00.000Z"
    assert state["time"] == LATER.timestamp()
    assert clock.advance(90)["time"] == LATER.timestamp() + 90
    assert clock.call()["time"] == LATER.timestamp() + 90  # frozen: it stays there
    assert clock.call({"now": LATER.timestamp()})["now"] == "2030-06-01T12:00:00.000Z"
    ticking = clock.call({"frozen": False})
    assert ticking["frozen"] is False and ticking["time"] >= LATER.timestamp()
    back = clock.reset()
    assert back["frozen"] is False and abs(back["offset_seconds"]) < 5


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"advance_seconds": -1}, "advance_seconds must be"),
        ({"advance_seconds": "90"}, "advance_seconds must be"),
        ({"advance_seconds": True}, "advance_seconds must be"),
        ({"now": "next tuesday"}, "is not an ISO 8601 time"),
        ({"now": -5}, "now must be"),
        ({"now": ["2030"]}, "now must be"),
        ({"frozen": "yes"}, "frozen must be true or false"),
        ({"reset": 1}, "reset must be true or false"),
        ({"speed": 2}, "unknown field 'speed'"),
        ([1], "JSON object"),
    ],
)
def test_admin_refuses_a_bad_clock_request_and_leaves_the_clock_alone(
    info: EmulatorInfo, clock: EmulatorClock, body: Any, message: str
) -> None:
    clock.call({"now": LATER.timestamp(), "frozen": True})
    resp = post_clock(info, body)
    assert resp.status_code == 400
    assert message in resp.json()["error"]["message"]
    assert clock.time() == LATER.timestamp()


def test_the_clock_needs_the_admin_token_and_json(info: EmulatorInfo) -> None:
    with requests_session(info.ca_bundle) as http:
        url = f"{info.admin_url}/clock"
        assert http.get(url, timeout=10).status_code == 401
        assert http.post(url, json={"advance_seconds": 1}, timeout=10).status_code == 401
        form = http.post(url, data="advance_seconds=1", headers=info.admin_headers(), timeout=10)
        assert form.status_code == 415


async def test_the_admin_reset_puts_the_clock_back(info: EmulatorInfo, admin: Any) -> None:
    with emulator_clock(info) as clock:
        clock.call({"now": LATER.timestamp()})
        await admin.call("POST", "/reset", expect=204)
        assert abs(clock.call()["offset_seconds"]) < 5


# -- what clients see ----------------------------------------------------------------------


async def test_items_are_dated_by_the_clock(kv: Clients, clock: EmulatorClock) -> None:
    clock.call({"now": LATER.timestamp(), "frozen": True})
    first = await kv.secrets.set_secret("dated", "one")
    assert first.properties.created_on == LATER
    clock.advance(90)
    updated = await kv.secrets.update_secret_properties("dated", tags={"a": "b"})
    assert updated.created_on == LATER
    assert updated.updated_on == LATER + timedelta(seconds=90)
    clock.advance(600)  # within the token's lifetime
    deleted = await kv.secrets.delete_secret("dated")
    when = LATER + timedelta(seconds=690)
    assert deleted.deleted_date == when
    assert deleted.scheduled_purge_date == when + timedelta(days=90)
    key = await kv.keys.create_ec_key("dated-key")
    assert key.properties.created_on == when


async def test_a_certificate_is_valid_from_the_clocks_time(
    kv: Clients, clock: EmulatorClock
) -> None:
    clock.call({"now": LATER.timestamp(), "frozen": True})
    cert = await kv.certificates.create_certificate("dated-cert", CertificatePolicy.get_default())
    assert cert.properties.not_before == LATER
    assert cert.properties.expires_on is not None and cert.properties.expires_on > LATER
    assert cert.properties.created_on == LATER


async def test_a_token_expires_on_the_clock(
    info: EmulatorInfo, vault_url: str, clock: EmulatorClock
) -> None:
    async with kv_clients(info, vault_url) as kv:
        await kv.secrets.set_secret("before", "v")
        clock.advance(3600 + 60)  # past the token's lifetime; the client's cache holds it
        with pytest.raises((ClientAuthenticationError, HttpResponseError)) as err:
            await kv.secrets.get_secret("before")
        assert err.value.status_code == 401
        assert "AKV10031: Token has expired" in str(err.value)
    async with kv_clients(info, vault_url) as fresh:  # a new token, issued on the clock
        assert (await fresh.secrets.get_secret("before")).value == "v"


@pytest.mark.filterwarnings("ignore:Attempted too soon")
def test_a_device_code_expires_on_the_clock(info: EmulatorInfo, clock: EmulatorClock) -> None:
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    clock.advance(flow["expires_in"] + 1)
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["error"] == "expired_token"


def public_app(info: EmulatorInfo) -> Any:
    base = info.authority.rsplit("/", 1)[0]
    return msal.PublicClientApplication(
        info.client_id,
        authority=f"{base}/organizations",
        http_client=requests_session(info.ca_bundle),
        instance_discovery=False,
    )


# -- an emulator started at a fixed time -------------------------------------------------


@pytest.fixture(scope="module")
def fixed_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorThread]:
    thread = EmulatorThread(
        EmulatorSettings(
            vaults=["frozen"],
            start_time=T0.timestamp(),
            approve="auto",
            approve_delay=0,
            state_dir=Path(tmp_path_factory.mktemp("fixed-time")),
        )
    )
    thread.start()
    yield thread
    thread.stop()


async def test_a_frozen_clock_dates_everything_and_hangs_nothing(
    fixed_time: EmulatorThread,
) -> None:
    info = fixed_time.info
    assert fixed_time.emulator.clock.frozen
    # A device code is approved at once (delay 0) and redeemed: nothing waits for time.
    app = public_app(info)
    flow = app.initiate_device_flow(scopes=[VAULT_SCOPE])
    token = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert "access_token" in token, token
    async with kv_clients(info, info.vaults["frozen"]) as kv:
        made = await kv.secrets.set_secret("made", "v")
        assert made.properties.created_on == T0
        fixed_time.emulator.clock.advance(120)  # in-process, from the test's thread
        again = await kv.secrets.set_secret("made", "w")
        assert again.properties.created_on == T0 + timedelta(seconds=120)
