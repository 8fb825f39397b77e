"""The dashboard and REST API as one FastAPI app, built from a Container (no globals).

`create_app(container)` mounts the static files, the session cookie, the login pages, the
Integrations pages, and every page module other parts own (`ledgersync.web.routes.<name>`)
and the REST API (`ledgersync.web.api`), each listed once in `_ROUTERS`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response

from ledgersync.bootstrap import Container
from ledgersync.services.logins import ABSOLUTE
from ledgersync.web import api
from ledgersync.web.csrf import OriginCheckMiddleware
from ledgersync.web.deps import LoginRequired
from ledgersync.web.routes import (
    api_docs,
    api_keys,
    auth,
    customers,
    integrations,
    invoices,
    ops,
    ops_console,
    payments,
    payouts,
    reconciliation,
    sync_runs,
    webhooks,
)
from ledgersync.web.templating import STATIC_DIR

log = logging.getLogger(__name__)

# The dashboard's page modules and the REST API, each exposing `router` (order = nothing special).
_ROUTERS = (
    auth.router,
    api_docs.router,
    integrations.router,
    invoices.router,
    customers.router,
    payments.router,
    payouts.router,
    sync_runs.router,
    reconciliation.router,
    webhooks.router,
    api_keys.router,
    ops.router,
    ops_console.router,
    api.router,
)


def _wants_html(request: Request) -> bool:
    """Dashboard pages get an HTML error page; the REST API, webhooks and fetch() calls keep JSON."""
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/", "/openapi.json", "/docs", "/redoc")):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or request.method == "POST" and "application/json" not in accept


def _install_html_errors(app: FastAPI) -> None:
    """A partner never sees a stack trace or a bare JSON error in the dashboard.

    HTTP errors (404 unknown invoice, 403 expired link, 422 a form missing a field) render
    `error.html` with what happened and a way back; an unexpected exception is logged with its
    traceback and shown as "something went wrong, nothing was lost". The REST API keeps FastAPI's
    JSON errors (its clients parse them).
    """
    from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from ledgersync.web.templating import render

    titles = {400: "That request was not valid", 401: "Please log in", 403: "Not allowed",
              404: "Not found", 405: "Not allowed", 422: "Some information is missing or invalid"}

    def page(request: Request, status: int, message: str) -> Response:
        if getattr(request.state, "partner", None) is None and "session" in request.scope:
            try:  # an unknown page has no route dependency: show the nav if someone is logged in
                from ledgersync.web.deps import get_current_user

                get_current_user(request, request.app.state.container)
            except Exception:  # not logged in (or the database is the problem): plain page
                pass
        return render(request, "error.html", {"status": status, "title": titles.get(status, "Something went wrong"),
                                              "message": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not _wants_html(request):
            return await http_exception_handler(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404 and detail in ("", "Not Found"):
            detail = "There is no page at this address."
        return page(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not _wants_html(request):
            return await request_validation_exception_handler(request, exc)
        fields = sorted({str(e.get("loc", ["", "?"])[-1]).replace("_", " ") for e in exc.errors()})
        return page(request, 422, "Please fill in: " + ", ".join(fields) + ". Nothing was changed.")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if not _wants_html(request):
            from starlette.responses import JSONResponse

            return JSONResponse({"detail": "Internal error; it has been logged."}, status_code=500)
        return page(request, 500, "Something went wrong on our side and it has been logged. Nothing you entered "
                                  "was lost: go back and try again, or check the Sync log.")


def create_app(container: Container) -> FastAPI:
    settings = container.settings
    from ledgersync.observability.metrics import instrument_http

    instrument_http(container)  # /metrics counts this process's Zoho calls
    # /docs and /redoc come from routes.api_docs: same pages, assets served from the package (no CDN)
    app = FastAPI(title="ledgersync", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.container = container
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="ledgersync_session",
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
        max_age=int(ABSOLUTE.total_seconds()),  # the server-side session ends then anyway
    )
    # Added after (so runs before) the session: a cross-site form never reaches a route.
    app.add_middleware(OriginCheckMiddleware, base_url=settings.base_url, require_header=settings.is_production)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    _install_html_errors(app)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/integrations", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for router in _ROUTERS:
        app.include_router(router)
    return app
