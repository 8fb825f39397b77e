"""Celery tasks: ids in, the same services as the embedded scheduler out.

A worker process builds ONE Container (engine pool, HTTP client) on first use, installs the
Celery dispatcher (so webhooks/notify received by a worker enqueue tasks) and, with a Redis
broker, a Redis-backed rate limiter so all workers share each organisation's Zoho budget.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select

from ledgersync.bootstrap import Container
from ledgersync.settings import get_settings
from ledgersync.store.orm import Connection
from ledgersync.workers import jobs
from ledgersync.workers.celery_app import app

log = logging.getLogger(__name__)

_container: Container | None = None
_container_lock = threading.Lock()


class CeleryDispatcher:
    """`Dispatcher` that enqueues Celery tasks (web processes and workers of a Celery deployment)."""

    def __init__(self, celery: Any = None) -> None:
        self.celery = celery or app

    def push_requested(self, connection_id: str) -> None:
        self.celery.send_task("ledgersync.push_drain", args=[connection_id])

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None:
        self.celery.send_task("ledgersync.pull_stream", args=[connection_id, stream, trigger])

    def notify(self, partner_id: str) -> None:
        from ledgersync.workers.dispatch import connection_of_partner

        connection_id = connection_of_partner(get_container(), partner_id)
        if connection_id:
            self.push_requested(connection_id)


def set_container(container: Container | None) -> None:
    """Tests (and embedding processes) hand the worker their container."""
    global _container
    _container = container


def get_container() -> Container:
    global _container
    with _container_lock:
        if _container is None:
            settings = get_settings()
            container = Container(settings)
            container.extras.setdefault("dispatcher", CeleryDispatcher())
            if settings.celery_broker_url.startswith("redis"):
                try:
                    import redis

                    from ledgersync.sync.books_factory import limiter_options
                    from ledgersync.zoho.ratelimit import RedisRateLimiter

                    container.extras.setdefault("rate_limiter", RedisRateLimiter(
                        redis.Redis.from_url(settings.celery_broker_url), **limiter_options(settings)))
                except Exception:  # pragma: no cover - falls back to the in-process limiter
                    log.warning("Redis rate limiter unavailable; using the in-process one")
            _container = container
        return _container


@app.task(name="ledgersync.pull_stream", ignore_result=False)
def pull_stream(connection_id: str, stream: str | None = None, trigger: str = "schedule") -> dict[str, Any]:
    """One stream (or "all", "initial", "record:<entity>:<id>", or "a,b"); returns a summary."""
    container = get_container()
    if stream and "," not in stream and not stream.startswith("record:") and stream not in ("all", "initial"):
        from ledgersync.sync.pull.engine import run_stream

        result = run_stream(container, connection_id, stream, trigger=trigger)
        return {"stream": stream, "status": result.status, "skipped": result.skipped, "calls": result.calls,
                "created": result.created, "updated": result.updated, "archived": result.archived}
    jobs.pull(container, connection_id, stream, trigger)
    return {"stream": stream or "all", "status": "done"}


@app.task(name="ledgersync.push_drain", ignore_result=False)
def push_drain(connection_id: str) -> dict[str, Any]:
    result = jobs.push_drain(get_container(), connection_id)
    fields = ("done", "waiting", "failed", "retried", "deferred", "calls")
    return {k: getattr(result, k, None) for k in fields} if result is not None else {"status": "unavailable"}


def _live_connections() -> list[str]:
    with get_container().uow() as uow:
        return list(uow.session.execute(
            select(Connection.id).where(Connection.status.in_(("pending", "connected", "error")),
                                        Connection.organization_id.is_not(None))
        ).scalars())


@app.task(name="ledgersync.schedule_pulls")
def schedule_pulls() -> int:
    ids = _live_connections()
    for cid in ids:
        pull_stream.delay(cid, None, "schedule")
    return len(ids)


@app.task(name="ledgersync.schedule_pushes")
def schedule_pushes() -> int:
    ids = _live_connections()
    for cid in ids:
        push_drain.delay(cid)
    return len(ids)
