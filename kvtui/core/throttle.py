"""Throttling made visible. The SDK retries a 429 itself, waiting as ``Retry-After``
says; the person looking at a frozen list deserves to know why. A per-retry pipeline
policy (public azure-core API) sees every attempt's response and reports each 429 to a
callback before the retry policy sleeps."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

log = logging.getLogger(__name__)

ThrottleCallback = Callable[[float | None, str], None]
"""``callback(retry_after_seconds or None, url)``: called on the event loop, must not block."""


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a throttling answer asks for: ``retry-after-ms``/``x-ms-retry-after-ms``
    (milliseconds), else ``Retry-After`` in seconds or as an HTTP date; None if absent."""
    lower = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = (lower.get(name) or "").strip()
        try:
            if value:
                return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = (lower.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ThrottleReportPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Calls ``callback(retry_after, url)`` for every 429 response (each attempt)."""

    def __init__(self, callback: ThrottleCallback) -> None:
        super().__init__()
        self._callback = callback

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        http = response.http_response
        if http.status_code != 429:
            return
        parts = urlsplit(http.request.url)
        url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        wait = retry_after_seconds(http.headers)
        try:
            self._callback(wait, url)
        except Exception:  # a broken callback must not break the request
            log.exception("throttle callback failed")
