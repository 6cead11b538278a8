"""The state every endpoint shares (settings, directory, vaults, faults) and the
``EmulatorInfo`` a client needs.

Imports no route module and not the server: route modules (secrets, keys,
certificates, identity, arm, admin) take what they share from here, and server.py
composes them (import-linter checks that no route module imports the server).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from secrets import token_urlsafe
from typing import Any, Protocol

from aiohttp import web

from kvtui.emulator.clock import Clock
from kvtui.emulator.directory import Directory
from kvtui.emulator.faults import Faults
from kvtui.emulator.requestlog import RequestLog
from kvtui.emulator.settings import EmulatorSettings
from kvtui.emulator.store import Vault


@dataclass
class EmulatorInfo:
    """What a client needs to talk to a running emulator (the JSON line it prints)."""

    vaults: dict[str, str]
    authority: str
    tenant_id: str
    arm_url: str
    ca_bundle: str
    client_id: str
    confidential_client: dict[str, str]
    other_tenant_id: str = ""
    admin_url: str = ""
    admin_token: str = ""
    """Needed by every ``admin_url`` request (``Authorization: Bearer <admin_token>``);
    random, new for every run (``--persist`` does not keep it)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("extra")
        return json.dumps(d, separators=(", ", ": "))

    def admin_headers(self) -> dict[str, str]:
        """The header an admin endpoint request needs."""
        return {"Authorization": f"Bearer {self.admin_token}"}


@dataclass
class Subscription:
    subscription_id: str
    display_name: str
    tenant_id: str


class EmulatorState:
    """Everything the endpoints share: settings, clock, directory, vaults, faults."""

    def __init__(
        self, settings: EmulatorSettings, state_dir: Path, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.clock = clock or Clock(settings.start_time)
        """The emulator's one clock (clock.py): every vault's, the directory's, the
        identity platform's."""
        self.directory = Directory(state_dir, settings.token_lifetime, self.clock)
        self.faults = Faults(settings.latency_ms)
        self.requests = RequestLog()
        """What the vault listeners answered (requestlog.py), for the admin endpoint."""
        self.vaults: dict[str, Vault] = {}
        home, other = self.directory.state.home_tenant, self.directory.state.other_tenant
        # Stable ids derived from the tenants, so they survive restarts with the state.
        self.subscriptions = [
            Subscription(_derive(home, "prod"), "kvtui demo production", home),
            Subscription(_derive(home, "dev"), "kvtui demo development", home),
            Subscription(_derive(other, "partner"), "kvtui partner", other),
        ]
        self.admin_token = token_urlsafe(32)
        """What the admin endpoint asks for (admin.py): new for every run."""
        self.extensions: dict[str, Any] = {}
        """Per-module state (identity's device codes, ...), keyed by module name."""

    def subscription_for(self, tenant_id: str, index: int) -> Subscription:
        subs = [s for s in self.subscriptions if s.tenant_id == tenant_id]
        return subs[index % len(subs)]


class VaultHost(Protocol):
    """What the admin endpoint needs of the running emulator (server.py's ``Emulator``):
    its info, and a new vault on a listener of its own."""

    @property
    def info(self) -> EmulatorInfo | None: ...

    async def add_vault(
        self,
        name: str,
        *,
        seed: str | None = "empty",
        tenant: str | None = None,
        rbac: bool = False,
        saved: dict[str, Any] | None = None,
    ) -> Vault: ...


STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("kvtui_state", EmulatorState)


def _derive(seed: str, label: str) -> str:
    return str(uuid.uuid5(uuid.UUID(seed), label))
