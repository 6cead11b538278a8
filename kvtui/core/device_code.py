"""The device-code flow under way (:class:`DeviceFlow`) and its poll loop: msal's poll,
one request at a time, so that a cancel stops it within 0.2 s whatever the interval."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

#: Seconds past a code's expiry that polling goes on, waiting for expired_token.
EXPIRY_GRACE = 30
#: Errors of a device-code poll that mean "ask again later" (msal's own list).
_PENDING = ("authorization_pending", "slow_down")
#: The longest a cancelled poll goes on (between two checks of the cancel).
CANCEL_CHECK = 0.2


@dataclass
class DeviceFlow:
    """A device-code flow under way: show ``verification_uri`` and ``user_code``.
    :meth:`cancel` stops its poll (kvtui's, not msal's: msal's flow dict is left alone)."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: float
    tenant: str
    raw: dict[str, Any] = field(repr=False)
    """msal's flow dict, as ``initiate_device_flow`` gave it."""
    _cancelled: threading.Event = field(
        default_factory=threading.Event, init=False, repr=False, compare=False
    )

    def seconds_left(self) -> int:
        return max(0, int(self.expires_at - time.time()))

    def cancel(self) -> None:
        """Stop the poll of :meth:`SignIn.complete_device_flow` within 0.2 s (it then
        raises AuthError ``cancelled``). Safe from any thread, and more than once."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_for_cancel(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, less if the flow is cancelled meanwhile; True if it is."""
        return self._cancelled.wait(seconds)


def poll_device_flow(app: Any, flow: DeviceFlow) -> dict[str, Any]:
    """msal's device-code poll, one request at a time, until the code is approved,
    declined or expired, or within 0.2 s of ``flow.cancel()``. Blocking: call in a
    thread. Returns msal's last answer (``authorization_pending`` when cancelled, or
    when the identity platform never said expired_token within the grace).

    msal's own loop checks for the end only between its sleeps, one second per unit of
    ``interval``: with ``interval`` 0 (a local identity platform polled at full speed)
    it never checks and polls until the code expires, so a cancelled sign-in kept a
    thread (and the process's exit) waiting for minutes."""
    interval = float(flow.raw.get("interval", 5) or 0)
    once = {**flow.raw, "interval": 1}  # msal returns after one poll when told to exit
    while True:
        result: dict[str, Any] = app.acquire_token_by_device_flow(
            once, exit_condition=lambda _flow: True
        )
        if result.get("error") not in _PENDING:
            return result
        if result.get("error") == "slow_down":
            interval += 5
        until = time.monotonic() + interval
        while True:
            # Past the code's expiry, the identity platform answers expired_token
            # (worded for the person) on the next poll; a grace period only guards
            # against one that never does.
            if flow.cancelled or time.time() > flow.expires_at + EXPIRY_GRACE:
                return result
            left = until - time.monotonic()
            if left <= 0:
                break
            flow.wait_for_cancel(min(CANCEL_CHECK, left))
