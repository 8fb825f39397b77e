"""Composition root: builds every part a use case needs, once per process, from Settings.

Nothing is built at import time; the web app, the CLI, the embedded scheduler, Celery workers,
tests and benches each call `Container(settings)` (tests pass an `http_factory` bound to the
sandbox's in-process transport, so no sockets are needed).

The container is the one object that satisfies the ports the layers below declare
(`ledgersync.sync.ports`, `ledgersync.sync.books_factory.ZohoAccess`,
`ledgersync.sync.pull.context.PullPorts`): each part is a typed attribute. Parts a process
installs later (the embedded scheduler or Celery as `dispatcher`, a Redis-backed
`rate_limiter` in Celery workers, a sandbox-bound `books_factory` in tests) replace the
default by plain assignment. Only `web`, `workers` and `cli` import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledgersync.settings import Settings
from ledgersync.store.db import make_engine, make_session_factory, migrate
from ledgersync.store.uow import SqlAlchemyUnitOfWork
from ledgersync.sync.books_factory import BooksFactory, books_for, limiter_options
from ledgersync.sync.ports import Clock, Dispatcher, NullDispatcher
from ledgersync.sync.pull.context import FaultHook, PullOptions
from ledgersync.zoho.ratelimit import MemoryRateLimiter, RateLimiter
from ledgersync.zoho.tokens import TokenCipher


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _hook_responses(client: httpx.Client, hook: Callable[[httpx.Response], None]) -> None:
    hooks = client.event_hooks
    if hook not in hooks.get("response", []):
        client.event_hooks = {"request": hooks.get("request", []), "response": [*hooks.get("response", []), hook]}


def _hook_requests(client: httpx.Client, hook: Callable[[httpx.Request], None]) -> None:
    hooks = client.event_hooks
    if hook not in hooks.get("request", []):
        client.event_hooks = {"request": [*hooks.get("request", []), hook], "response": hooks.get("response", [])}


class Container:
    """Everything a use case needs from the outside world, for one process."""

    dispatcher: Dispatcher
    """Where background work is asked for; `NullDispatcher` until a scheduler installs itself."""
    books_factory: BooksFactory
    """Builds a connection's Zoho client (`books_for`; tests bind one to the sandbox)."""
    clock: Clock
    """The engines' "now" (UTC); tests and benches pin it."""
    pull_options: PullOptions
    """Knobs of the pull engine (page size, detail batches, history line items)."""
    pull_fault_hook: FaultHook | None
    """Test hook: may raise at a precise point of a pull run (crash-resume tests)."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_factory: Callable[[], httpx.Client] | None = None,
        engine: Engine | None = None,
        run_migrations: bool = True,
        dispatcher: Dispatcher | None = None,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
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
        self._http_response_hooks: list[Callable[[httpx.Response], None]] = []
        self._http_request_hooks: list[Callable[[httpx.Request], None]] = []
        self.dispatcher = dispatcher or NullDispatcher()
        self._rate_limiter = rate_limiter
        self._token_cipher: TokenCipher | None = None
        self.books_factory = books_for
        self.clock = clock or utc_now
        self.pull_options = PullOptions()
        self.pull_fault_hook = None

    def _default_http(self) -> httpx.Client:
        return httpx.Client(timeout=self.settings.zoho_http_timeout_s, follow_redirects=False)

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    @property
    def rate_limiter(self) -> RateLimiter:
        """The per-organisation Zoho limiter every client of this process shares. Built from
        settings on first use (tests and benches tune settings after building the container);
        a Celery worker assigns its Redis-backed one."""
        if self._rate_limiter is None:
            self._rate_limiter = MemoryRateLimiter(**limiter_options(self.settings))
        return self._rate_limiter

    @rate_limiter.setter
    def rate_limiter(self, limiter: RateLimiter) -> None:
        self._rate_limiter = limiter

    @property
    def token_cipher(self) -> TokenCipher:
        """Encrypts tokens at rest with the deployment's key (built on first use, like the limiter)."""
        if self._token_cipher is None:
            self._token_cipher = TokenCipher(self.settings.token_encryption_key.get_secret_value())
        return self._token_cipher

    @token_cipher.setter
    def token_cipher(self, cipher: TokenCipher) -> None:
        self._token_cipher = cipher

    @property
    def http(self) -> httpx.Client:
        """One shared, thread-safe HTTP client (connection pooling) for Zoho calls."""
        if self._http is None:
            self._http = self._http_factory()
            for hook in self._http_response_hooks:
                _hook_responses(self._http, hook)
            for request_hook in self._http_request_hooks:
                _hook_requests(self._http, request_hook)
        return self._http

    def add_http_response_hook(self, hook: Callable[[httpx.Response], None]) -> None:
        """Call `hook` on every response of the shared HTTP client, built now or later (once per hook)."""
        if hook in self._http_response_hooks:
            return
        self._http_response_hooks.append(hook)
        if self._http is not None:
            _hook_responses(self._http, hook)

    def add_http_request_hook(self, hook: Callable[[httpx.Request], None]) -> None:
        """Call `hook` before every request of the shared HTTP client, built now or later (once
        per hook); it may raise to stop the request (a worker's task deadline)."""
        if hook in self._http_request_hooks:
            return
        self._http_request_hooks.append(hook)
        if self._http is not None:
            _hook_requests(self._http, hook)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self.engine.dispose()
