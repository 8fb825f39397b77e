"""Composition root: builds the engine, session factory, HTTP clients and cipher from Settings.

Nothing is built at import time; the web app, the CLI, the embedded scheduler, Celery workers,
tests and benches each call `Container(settings)` (tests pass an `http_factory` bound to the
sandbox's in-process transport, so no sockets are needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledgersync.settings import Settings
from ledgersync.store.db import make_engine, make_session_factory, migrate
from ledgersync.store.uow import SqlAlchemyUnitOfWork


class Container:
    """Everything a use case needs from the outside world, for one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_factory: Callable[[], httpx.Client] | None = None,
        engine: Engine | None = None,
        run_migrations: bool = True,
    ) -> None:
        self.settings = settings
        settings.require_safe()  # production with demo/missing secrets: no process gets this far
        settings.ensure_sqlite_dir()
        if run_migrations and engine is None:
            migrate(settings.database_url)
        self.engine = engine or make_engine(settings.database_url)
        self.session_factory: sessionmaker[Session] = make_session_factory(self.engine)
        self._http_factory = http_factory or self._default_http
        self._http: httpx.Client | None = None
        self.extras: dict[str, Any] = {}  # late-bound parts (dispatcher, limiter) set by their owners

    def _default_http(self) -> httpx.Client:
        return httpx.Client(timeout=self.settings.zoho_http_timeout_s, follow_redirects=False)

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    @property
    def http(self) -> httpx.Client:
        """One shared, thread-safe HTTP client (connection pooling) for Zoho calls."""
        if self._http is None:
            self._http = self._http_factory()
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self.engine.dispose()
