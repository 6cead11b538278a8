"""The device code flow's verification page (``/devicelogin``), where a user types the
code an app shows and approves or declines it, as on microsoft.com/devicelogin. HTML
from device_page.html; every value is escaped; a one-time form token guards the post.
"""

from __future__ import annotations

import html
from importlib import resources
from string import Template

from aiohttp import web

from kvtui.emulator.identitystate import decide, identity_state
from kvtui.emulator.state import STATE_KEY


def render_page(title: str, body: str, status: int = 200) -> web.Response:
    """The page template with ``body`` (already escaped HTML) filled in."""
    template = resources.files("kvtui.emulator").joinpath("device_page.html").read_text()
    text = Template(template).substitute(title=html.escape(title), body=body)
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "form-action 'self'",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


def code_form(form_token: str, prefill: str = "", error: str = "") -> str:
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return (
        "<p>Enter the code displayed on your app or device.</p>"
        f"{message}"
        '<form method="post" action="/devicelogin">'
        f'<input type="hidden" name="form_token" value="{html.escape(form_token)}">'
        '<label for="code">Code</label> '
        f'<input id="code" name="code" autocomplete="off" value="{html.escape(prefill)}" '
        "autofocus required> "
        '<button name="action" value="approve" type="submit">Approve</button> '
        '<button name="action" value="decline" type="submit">Decline</button>'
        "</form>"
    )


async def devicelogin_page(request: web.Request) -> web.Response:
    ids = identity_state(request.app[STATE_KEY])
    return render_page("Enter code", code_form(ids.new_form_token(), request.query.get("code", "")))


def _cross_origin(request: web.Request) -> bool:
    """Whether a browser says this post comes from another site's page. The real page
    needs the user's own session; here the one-time form token stands in for it, and
    this is a second line."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return True
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")


async def devicelogin_submit(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    ids = identity_state(state)
    form = await request.post()
    entered, action = str(form.get("code", "")), str(form.get("action", "approve"))
    if _cross_origin(request) or not ids.use_form_token(str(form.get("form_token", ""))):
        # A page elsewhere must not approve a code in the user's name (CSRF): only a
        # form this listener served, once, within its lifetime.
        error = "This form has expired or did not come from this page. Enter the code again."
        return render_page("Enter code", code_form(ids.new_form_token(), entered, error), 403)
    code = ids.by_user_code(entered)
    if code is None:
        error = f"The code {entered} wasn't found. Check the code and try again."
        return render_page("Enter code", code_form(ids.new_form_token(), entered, error), 400)
    try:
        decide(state, code, action == "approve", state.directory.default_user.oid)
    except ValueError as exc:
        return render_page("Code not usable", f"<p>{html.escape(str(exc))}</p>", 400)
    user = state.directory.default_user
    if action == "approve":
        text = (
            f"<p>{html.escape(user.upn)} signed in to the application "
            f"{html.escape(code.client_id)} on your device.</p>"
            "<p>You may now close this window.</p>"
        )
        return render_page("Signed in", text)
    text = "<p>You declined to sign in to the application on your device.</p>"
    return render_page("Sign-in declined", text + "<p>You may now close this window.</p>")


def setup(app: web.Application) -> None:
    """Register the verification page's routes."""
    app.router.add_get("/devicelogin", devicelogin_page)
    app.router.add_post("/devicelogin", devicelogin_submit)
