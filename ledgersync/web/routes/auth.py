"""Login and logout of partner users (server-side sessions, `ledgersync.services.logins`).

In demo mode the form comes pre-filled with the demo partner's credentials, so a newcomer logs
in with one click; the password is still checked (a wrong one is refused). Outside demo mode
the demo login is refused even if its row exists (a database carried over from a demo).
Refused logins are throttled per account and per address (429 with when to try again).
Logout is POST only (a link or an image on another page must not log anyone out).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ledgersync.services import logins
from ledgersync.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from ledgersync.services.errors import AuthenticationFailed
from ledgersync.services.partners import authenticate
from ledgersync.web.deps import SESSION_KEY, ContainerDep
from ledgersync.web.templating import flash, render

router = APIRouter()

DEMO_PARTNER_EMAIL = DEMO_EMAIL
DEMO_PARTNER_PASSWORD = DEMO_PASSWORD


def _safe_next(next_path: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not next_path:
        return "/integrations"
    parts = urlsplit(next_path)
    if parts.scheme or parts.netloc or not next_path.startswith("/") or next_path.startswith("//"):
        return "/integrations"
    return next_path


@router.get("/login")
def login_page(request: Request, container: ContainerDep, next: str | None = None) -> Response:
    demo = container.settings.is_demo
    return render(
        request,
        "login.html",
        {
            "next": _safe_next(next),
            "email": DEMO_PARTNER_EMAIL if demo else "",
            "password": DEMO_PARTNER_PASSWORD if demo else "",
            "demo": demo,
        },
    )


@router.post("/login")
def login_submit(
    request: Request,
    container: ContainerDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    address = request.client.host if request.client else "unknown"
    email = email.strip()[:320]

    def refused(message: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        response = render(request, "login.html", {"next": _safe_next(next), "email": email, "password": "",
                                                  "demo": False, "error": message}, status_code=status_code)
        response.headers.update(headers or {})
        return response

    try:
        logins.check_throttle(container, email, address)
    except logins.LoginThrottled as exc:
        return refused(exc.message, 429, {"Retry-After": str(exc.retry_after)})
    try:
        if not container.settings.is_demo and email.lower() == DEMO_PARTNER_EMAIL:
            raise AuthenticationFailed("the demo login exists only in demo mode")
        user = authenticate(container, email, password)
    except AuthenticationFailed:
        logins.record_failure(container, email, address)
        return refused("Email or password is not correct.", 401)
    logins.clear_failures(container, email)
    logins.end_session(container, request.session.get(SESSION_KEY))  # no session fixation
    request.session.clear()
    request.session[SESSION_KEY] = logins.start_session(container, user.id)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, container: ContainerDep) -> Response:
    logins.end_session(container, request.session.get(SESSION_KEY))
    request.session.clear()
    flash(request, "You have been logged out.", "info")
    return RedirectResponse("/login", status_code=303)


@router.get("/logout")
def logout_get() -> Response:
    """Does nothing: logging out changes state, so it is POST only (the nav's button)."""
    return RedirectResponse("/", status_code=303)
