"""Login and logout of partner users (session cookie).

In demo mode the form comes pre-filled with the demo partner's credentials, so a newcomer logs
in with one click; the password is still checked (a wrong one is refused).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ledgersync.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from ledgersync.services.errors import AuthenticationFailed
from ledgersync.services.partners import authenticate
from ledgersync.web.deps import ContainerDep
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
    demo = container.settings.env == "demo"
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
    try:
        user = authenticate(container, email.strip(), password)
    except AuthenticationFailed:
        user = None
    if user is None:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "email": email, "password": "", "demo": False,
             "error": "Email or password is not correct."},
            status_code=401,
        )
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["partner_id"] = user.partner_id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    flash(request, "You have been logged out.", "info")
    return RedirectResponse("/login", status_code=303)


@router.get("/logout")
def logout_get(request: Request) -> Response:
    """A plain link also logs out (the nav uses a form; this keeps bookmarks working)."""
    return logout(request)
