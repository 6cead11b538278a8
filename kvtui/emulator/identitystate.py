"""The identity platform's own state (device codes, sign-in settings, the device page's
form tokens), kept in ``EmulatorState.extensions`` and not persisted; shared by the
OAuth endpoints (identity.py), the verification page (devicelogin.py) and the admin
routes (identityadmin.py).
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass, field
from typing import Any

from kvtui.emulator.clock import Clock
from kvtui.emulator.state import EmulatorState

EXT_KEY = "identity"
FORM_TOKEN_LIFETIME = 900.0
FORM_TOKENS_MAX = 1000


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    tenant_segment: str
    scope: str
    created: float
    expires_at: float
    status: str = "pending"
    """pending, approved, declined or redeemed."""
    oid: str = ""
    """The user who approved."""

    def to_json(self) -> dict[str, Any]:
        return {
            "user_code": self.user_code,
            "client_id": self.client_id,
            "tenant": self.tenant_segment,
            "scope": self.scope,
            "status": self.status,
            "expires_at": int(self.expires_at),
        }


@dataclass
class IdentityState:
    """What the identity platform keeps besides the directory (not persisted)."""

    approve: str
    approve_delay: float
    clock: Clock = field(default_factory=Clock)
    """The emulator's: device codes are created, expire and are approved on it (the
    polling ``interval`` is the client's to sleep, in real time)."""
    interval: float = 5
    """Seconds between the client's polls. Azure says whole seconds (5); a fraction is
    the emulator's own, for tests that want a sign-in noticed at once without a client
    polling flat out (0)."""
    expires_in: int = 900
    block_device_code: bool = False
    """A Conditional Access policy blocking the device code flow (AADSTS53003)."""
    user_code: str = ""
    """Fixed user code for new device codes ("" = random): deterministic screenshots."""
    verification_uri: str = ""
    """Address reported in place of this listener's /devicelogin ("" = the real one):
    screenshots that do not depend on the port."""
    codes: dict[str, DeviceCode] = field(default_factory=dict)
    token_requests: int = 0
    form_tokens: dict[str, float] = field(default_factory=dict)
    """The device page's one-time form tokens and when each expires (CSRF guard)."""

    def new_form_token(self) -> str:
        now = self.clock.time()
        for old in [t for t, until in self.form_tokens.items() if until < now]:
            del self.form_tokens[old]
        while len(self.form_tokens) >= FORM_TOKENS_MAX:  # the oldest go first
            del self.form_tokens[next(iter(self.form_tokens))]
        token = pysecrets.token_urlsafe(24)
        self.form_tokens[token] = now + FORM_TOKEN_LIFETIME
        return token

    def use_form_token(self, token: str) -> bool:
        """Whether ``token`` was handed out by the page and is still valid (once only)."""
        until = self.form_tokens.pop(token, None)
        return until is not None and until >= self.clock.time()

    def settings(self, token_lifetime: int) -> dict[str, Any]:
        return {
            "approve": self.approve,
            "approve_delay": self.approve_delay,
            "interval": self.interval,
            "expires_in": self.expires_in,
            "token_lifetime": token_lifetime,
            "block_device_code": self.block_device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
        }

    def by_user_code(self, user_code: str) -> DeviceCode | None:
        wanted = user_code.strip().upper()
        return next((c for c in self.codes.values() if c.user_code == wanted), None)

    def refresh(self, code: DeviceCode, default_oid: str) -> None:
        """Apply the automatic approval once its delay has passed."""
        if (
            code.status == "pending"
            and self.approve == "auto"
            and self.clock.time() >= code.created + self.approve_delay
        ):
            code.status, code.oid = "approved", default_oid


def identity_state(state: EmulatorState) -> IdentityState:
    ids = state.extensions.get(EXT_KEY)
    if ids is None:
        s = state.settings
        ids = state.extensions[EXT_KEY] = IdentityState(
            s.approve, s.approve_delay, clock=state.clock
        )
    assert isinstance(ids, IdentityState)
    return ids


def decide(state: EmulatorState, code: DeviceCode, approve: bool, oid: str) -> None:
    """Approve or decline a pending code; ValueError says why it cannot be."""
    ids = identity_state(state)
    ids.refresh(code, state.directory.default_user.oid)
    if ids.clock.time() > code.expires_at:
        raise ValueError(f"The code {code.user_code} has expired. Request a new code.")
    if code.status != "pending":
        raise ValueError(f"The code {code.user_code} was already used ({code.status}).")
    code.status, code.oid = ("approved" if approve else "declined"), oid
