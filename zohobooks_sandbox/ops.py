"""Install sandbox-ops into the app: guard (limits + faults + counters), generator, webhooks,
persistence and the ``/_sandbox`` admin router. ``create_app`` calls :func:`install`.

Knobs read from ``SandboxConfig`` (with these defaults when a field is absent):
``record_responses`` (False), ``demo_customers`` (25), ``demo_invoices`` (200), ``demo_years`` (2),
``persist_path`` (None), ``persist_interval`` (2.0 s), ``webhook_max_attempts`` (5),
``webhook_backoff_seconds`` (0.5).
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .errors import ConnectionDropped
from .generator import generate
from .guard import OpsGuard
from .webhooks import WebhookDispatcher

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from .state import Sandbox


def option(sandbox: Sandbox, name: str, default: Any) -> Any:
    """A sandbox-ops knob from the config, or its default."""
    value = getattr(sandbox.config, name, None)
    return default if value is None else value


def install(app: FastAPI, sandbox: Sandbox) -> None:
    """Wire every sandbox-ops part into ``app``/``sandbox`` (called once by ``create_app``)."""
    from .admin import build_admin_router

    sandbox.guard = OpsGuard(sandbox)
    sandbox.webhooks = WebhookDispatcher(
        sandbox, max_attempts=int(option(sandbox, "webhook_max_attempts", 5)),
        backoff_seconds=float(option(sandbox, "webhook_backoff_seconds", 0.5)),
    )

    def demo_generator(sb: Sandbox, org_id: str) -> Any:
        return generate(sb, org_id, customers=int(option(sb, "demo_customers", 25)),
                        invoices=int(option(sb, "demo_invoices", 200)), years=int(option(sb, "demo_years", 2)))

    sandbox.generator = demo_generator
    persistence = None
    path = option(sandbox, "persist_path", None)
    if path:
        from .persistence import SqlitePersistence

        persistence = SqlitePersistence(sandbox, path, interval=float(option(sandbox, "persist_interval", 2.0)))
        persistence.restore()
        persistence.start()
    sandbox.persistence = persistence  # type: ignore[attr-defined]
    app.include_router(build_admin_router(sandbox))
    app.add_middleware(AbortOnDrop)

    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Any]:
        async with previous(app_) as state:
            try:
                yield state
            finally:
                shutdown(sandbox)

    app.router.lifespan_context = lifespan


class AbortOnDrop:
    """Make "accepted then connection dropped" a dropped connection on a real server too.

    A plain exception before the response starts would make uvicorn answer 500. Instead the
    response is *started* with a body promised by ``Content-Length`` and the exception is
    re-raised: uvicorn then closes the socket mid-response, and the client gets a protocol
    error, never an answer – as when Zoho applied the write and the connection died.
    ``SandboxTransport`` still sees ``ConnectionDropped`` and raises ``RemoteProtocolError``.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ConnectionDropped:
            if not started:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            raise


def shutdown(sandbox: Sandbox) -> None:
    """Deliver queued webhooks and save the state file (server shutdown)."""
    hooks = getattr(sandbox, "webhooks", None)
    if hooks is not None:
        hooks.close()
    persistence = getattr(sandbox, "persistence", None)
    if persistence is not None:
        persistence.close()
