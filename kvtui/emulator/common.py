"""HTTP plumbing shared by the emulator's endpoints: errors, JSON bodies, paging and
operation tags (for permissions and faults). The vault's bearer-token check is in
vaultauth.py. Imports no other emulator module but store.py."""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from kvtui.emulator.store import Vault

log = logging.getLogger("kvtui.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

VAULT_KEY: web.AppKey[Vault] = web.AppKey("kvtui_vault", Vault)
CLAIMS_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("kvtui_claims", dict)

PAGE_MAX = 25


class KvError(Exception):
    """Raise inside a handler to answer with the service's error JSON."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        inner: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.inner = status, code, message, inner
        self.headers = headers or {}

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, self.inner, self.headers)


def error_response(
    status: int,
    code: str,
    message: str,
    inner: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """``{"error": {"code", "message", "innererror"}}`` as the service sends it."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "innererror": {"code": inner} if inner else None,
        }
    }
    return web.json_response(body, status=status, headers=headers)


def bad_parameter(message: str) -> KvError:
    return KvError(400, "BadParameter", message)


def operation(kind: str, permission: str) -> Callable[[H], H]:
    """Tag a data-plane handler with the access-policy permission it needs,
    e.g. ``@operation("secrets", "get")``. Permissions and faults match on it."""

    def deco(fn: H) -> H:
        fn.kv_operation = (kind, permission)  # type: ignore[attr-defined]
        return fn

    return deco


def operation_of(handler: Any) -> tuple[str, str] | None:
    op = getattr(handler, "kv_operation", None)
    return op if isinstance(op, tuple) else None


async def json_body(request: web.Request, required: bool = True) -> dict[str, Any]:
    """The request's JSON object, or 400 BadParameter as the service answers."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise bad_parameter("The request body is empty.")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_parameter(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise bad_parameter("The request body must be a JSON object.")
    if _has_lone_surrogate(body):
        # JSON's \ud800 escapes (and, through json's surrogatepass, raw ED A0 80 bytes)
        # decode to a str no UTF-8 can encode: refused here, rather than failing later
        # (500). The service's own wording for this case is not known; 400 BadParameter
        # is what it answers for a body it cannot take.
        raise bad_parameter(
            "The request body is not valid: a string holds a lone surrogate "
            "(U+D800 to U+DFFF, unpaired), which is not valid Unicode."
        )
    return body


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in a decoded JSON document holds a lone
    surrogate (valid JSON, not valid Unicode)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad_parameter("A value is not valid base64url.") from exc


def _page_params(request: web.Request) -> tuple[int, str | None]:
    """(page size, marker) from ``maxresults`` (1..25) and ``$skiptoken``."""
    raw_max = request.query.get("maxresults")
    size = PAGE_MAX
    if raw_max not in (None, ""):
        try:
            size = int(raw_max)
        except ValueError as exc:
            raise bad_parameter("maxresults must be an integer between 1 and 25.") from exc
        if not 1 <= size <= PAGE_MAX:
            raise bad_parameter("maxresults must be an integer between 1 and 25.")
    marker: str | None = None
    token = request.query.get("$skiptoken")
    if token:
        try:
            marker = str(json.loads(b64url_decode(token))["NextMarker"])
        except (ValueError, KeyError, TypeError) as exc:
            raise bad_parameter("The $skiptoken is not valid.") from exc
    return size, marker


def page_of(
    request: web.Request,
    keys: Sequence[str],
    build: Callable[[str], dict[str, Any] | None],
) -> web.Response:
    """One page of a list over sorted ``keys``: ``build(key)`` makes an item's JSON (None
    leaves it out), called only for the items of this page.

    At most 25 items a page (``maxresults``, 1..25); ``nextLink`` points back at this
    vault with an opaque ``$skiptoken`` holding the last key returned, so a list stays
    consistent while items are added or removed between pages.
    """
    size, marker = _page_params(request)
    i = bisect.bisect_right(keys, marker) if marker is not None else 0
    chunk: list[dict[str, Any]] = []
    last = marker
    while i < len(keys) and len(chunk) < size:
        body = build(keys[i])
        last = keys[i]
        i += 1
        if body is not None:
            chunk.append(body)
    next_link = None
    if i < len(keys) and last is not None:
        tok = b64url_encode(json.dumps({"NextMarker": last}).encode())
        api = request.query.get("api-version", "7.5")
        base = str(request.url.origin())
        next_link = f"{base}{request.path}?api-version={api}&$skiptoken={tok}&maxresults={size}"
    return web.json_response({"value": chunk, "nextLink": next_link})


def page(request: web.Request, entries: Sequence[tuple[str, dict[str, Any]]]) -> web.Response:
    """One page of a short list given whole: ``entries`` are (sort key, item JSON) in
    sort order (see ``page_of``)."""
    by_key = dict(entries)
    return page_of(request, [k for k, _ in entries], by_key.get)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as the service's JSON; nothing leaks a Python traceback."""
    try:
        return await handler(request)
    except KvError as exc:
        return exc.response()
    except web.HTTPNotFound:
        return error_response(404, "NotFound", f"The resource {request.path} was not found.")
    except web.HTTPMethodNotAllowed:
        return error_response(
            405,
            "MethodNotAllowed",
            f"The method {request.method} is not allowed on {request.path}.",
        )
    except web.HTTPException:
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "InternalServerError", "The emulator failed unexpectedly.")
