"""The dashboard and REST API as one FastAPI app, built from a Container (no globals).

`create_app(container)` mounts the static files, the session cookie, the login pages, the
Integrations pages, and every page module other parts own (`ledgersync.web.routes.<name>`)
and the REST API (`ledgersync.web.api`). Modules not written yet are skipped, so the app always
starts; each part adds its router to `_PAGE_MODULES` (one line).
"""

from __future__ import annotations

import importlib
import logging

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response

from ledgersync.bootstrap import Container
from ledgersync.web.deps import LoginRequired
from ledgersync.web.templating import STATIC_DIR

log = logging.getLogger(__name__)

# Page modules of the dashboard (each exposes `router`). Order = nothing special.
_PAGE_MODULES = (
    "ledgersync.web.routes.auth",
    "ledgersync.web.routes.integrations",
    "ledgersync.web.routes.invoices",
    "ledgersync.web.routes.customers",
    "ledgersync.web.routes.payments",
    "ledgersync.web.routes.payouts",
    "ledgersync.web.routes.sync_runs",
    "ledgersync.web.routes.reconciliation",
    "ledgersync.web.routes.webhooks",
    "ledgersync.web.api",
)


def _include_optional(app: FastAPI, module_name: str) -> None:
    """Include `module.router` if the module exists yet (parts land at different times)."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            log.debug("page module %s not present yet", module_name)
            return
        raise
    router = getattr(module, "router", None)
    if router is not None:
        app.include_router(router)


def create_app(container: Container) -> FastAPI:
    settings = container.settings
    app = FastAPI(title="ledgersync", version="0.1.0", docs_url="/docs", redoc_url=None)
    app.state.container = container
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="ledgersync_session",
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
        max_age=14 * 24 * 3600,
    )
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/integrations", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for name in _PAGE_MODULES:
        _include_optional(app, name)
    return app
