"""Starts the emulator: one HTTPS listener for the identity platform, ARM and the admin
endpoint, and one listener per vault (the SDK parses object ids from the URL path, so
a vault cannot sit under a path prefix).

It composes the route modules: each registers its own routes with ``setup(app)`` and
takes the shared state from state.py; none imports this module (import-linter checks it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from kvtui.emulator import (
    admin,
    arm,
    certificates,
    devicelogin,
    identity,
    identityadmin,
    keys,
    secrets,
)
from kvtui.emulator.admin import admin_guard_middleware
from kvtui.emulator.clock import Clock
from kvtui.emulator.common import VAULT_KEY, errors_middleware
from kvtui.emulator.seed import seed_vault
from kvtui.emulator.settings import EmulatorSettings
from kvtui.emulator.state import STATE_KEY, EmulatorInfo, EmulatorState, Subscription
from kvtui.emulator.store import Vault
from kvtui.emulator.tls import client_ssl_context, ensure_tls, server_ssl_context
from kvtui.emulator.vaultauth import request_log_middleware, vault_auth_middleware

__all__ = ["Emulator", "EmulatorInfo", "EmulatorState", "EmulatorThread", "Subscription"]

log = logging.getLogger("kvtui.emulator")
T = TypeVar("T")
DATA_FILE = "data.json"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Emulator:
    """The emulator, run on the caller's event loop: ``info = await emu.start()``."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self._temp_dir: str | None = None
        self._runners: list[web.AppRunner] = []
        self._vault_runners: dict[str, web.AppRunner] = {}
        self.state: EmulatorState | None = None
        self.info: EmulatorInfo | None = None
        self._ssl: Any = None
        self._next_port = 0
        self._clock: Clock | None = None

    @property
    def clock(self) -> Clock:
        """The emulator's one clock (clock.py): set it, freeze it, move it on. Before
        :meth:`start`, the clock the emulator will start with."""
        if self.state is not None:
            return self.state.clock
        if self._clock is None:
            self._clock = Clock(self.settings.start_time)
        return self._clock

    async def start(self) -> EmulatorInfo:
        s = self.settings
        if s.state_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="kvtui-emulator-")
            state_dir = Path(self._temp_dir)
        else:
            state_dir = Path(s.state_dir).expanduser().resolve()
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tls = ensure_tls(state_dir, (s.host,))
        self._ssl = server_ssl_context(tls)
        state = self.state = EmulatorState(s, state_dir, self._clock)
        state.extensions["ca_bundle"] = str(tls.ca_cert)

        main = web.Application(
            middlewares=[errors_middleware, admin_guard_middleware], client_max_size=4 * 1024**2
        )
        main[STATE_KEY] = state
        identity.setup(main)
        devicelogin.setup(main)
        identityadmin.setup(main)
        arm.setup(main)
        admin.setup(main, self)
        sock = _bind(s.host, s.port)
        port = sock.getsockname()[1]
        await self._serve(main, sock)
        base = f"https://{_url_host(s.host)}:{port}"
        state.directory.issuer_host = base
        self._next_port = port + 1 if s.port else 0

        saved: dict[str, Any] = {}
        data_path = state_dir / DATA_FILE
        if s.persist and data_path.exists():
            saved = {v["name"]: v for v in json.loads(data_path.read_text()).get("vaults", [])}
        for name in s.vaults:
            await self.add_vault(
                name, seed=None if name in saved else s.seed, saved=saved.get(name)
            )
        d = state.directory
        app = d.automation_app
        self.info = EmulatorInfo(
            vaults={n: v.url for n, v in state.vaults.items()},
            authority=f"{base}/{d.state.home_tenant}",
            tenant_id=d.state.home_tenant,
            arm_url=f"{base}/",
            ca_bundle=str(tls.ca_cert),
            client_id=d.state.public_client_id,
            confidential_client={"client_id": app.client_id, "client_secret": app.client_secret},
            other_tenant_id=d.state.other_tenant,
            admin_url=f"{base}/_emulator",
            admin_token=state.admin_token,
        )
        return self.info

    async def _serve(self, app: web.Application, sock: socket.socket) -> web.AppRunner:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.SockSite(runner, sock, ssl_context=self._ssl)
        await site.start()
        self._runners.append(runner)
        return runner

    async def add_vault(
        self,
        name: str,
        *,
        seed: str | None = "empty",
        tenant: str | None = None,
        rbac: bool = False,
        saved: dict[str, Any] | None = None,
    ) -> Vault:
        """Create a vault on a port of its own (also used by the admin endpoint)."""
        state = self.state
        assert state is not None
        if name.lower() in (n.lower() for n in state.vaults):
            raise ValueError(f"a vault named {name!r} exists already")
        tenant_id = tenant or state.directory.state.home_tenant
        sub = state.subscription_for(tenant_id, len(state.vaults))
        vault = Vault(
            name=name,
            tenant_id=tenant_id,
            subscription_id=sub.subscription_id,
            rbac=rbac,
            clock=state.clock,
        )
        if saved:
            vault.load(saved)
        app = web.Application(
            middlewares=[request_log_middleware, errors_middleware, vault_auth_middleware],
            client_max_size=4 * 1024**2,
        )
        app[STATE_KEY] = state
        app[VAULT_KEY] = vault
        secrets.setup(app)
        keys.setup(app)
        certificates.setup(app)
        port = self._next_port
        if port:
            self._next_port += 1
        sock = _bind(self.settings.host, port)
        vault.url = f"https://{_url_host(self.settings.host)}:{sock.getsockname()[1]}/"
        self._vault_runners[name] = await self._serve(app, sock)
        state.vaults[name] = vault
        if seed:
            seed_vault(vault, seed)
        if self.info is not None:
            self.info.vaults[name] = vault.url
        return vault

    def save(self) -> None:
        """Write the vaults' data into the state folder (only with ``persist``)."""
        state = self.state
        if state is None or not self.settings.persist:
            return
        path = state.state_dir / DATA_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"vaults": [v.to_dict() for v in state.vaults.values()]}, fh)
        tmp.replace(path)

    async def stop(self) -> None:
        self.save()
        if self.state is not None:
            self.state.directory.save()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def client_ssl_context(self) -> Any:
        assert self.info is not None
        return client_ssl_context(self.info.ca_bundle)


class EmulatorThread:
    """The emulator on an event loop of its own in a daemon thread: for tests, the
    demo, and anything else that must not share its loop with the emulator."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.emulator = Emulator(settings)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="kvtui-emulator", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self, timeout: float = 30) -> EmulatorInfo:
        self._thread.start()
        return self.call(self.emulator.start(), timeout)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.call(self.emulator.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    @property
    def info(self) -> EmulatorInfo:
        assert self.emulator.info is not None
        return self.emulator.info

    @property
    def state(self) -> EmulatorState:
        assert self.emulator.state is not None
        return self.emulator.state
