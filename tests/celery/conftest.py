"""Celery tests: a real worker (threads pool, in this process so it can reach the in-process
sandbox) against the real Redis at 127.0.0.1:6379 and the suite's database (PostgreSQL when
`LEDGERSYNC_TEST_DATABASE_URL` is set). Skipped only if Redis is unreachable AND
`LEDGERSYNC_REQUIRE_SERVICES` is unset (CI sets it, so CI never skips)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from tests.pull.conftest import connection_id, zoho  # noqa: F401  (fixtures reused)
from tests.services import redis_or_skip

REDIS_URL = os.environ.get("LEDGERSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "celery: needs a real Redis broker and a Celery worker")


@pytest.fixture
def celery_worker(container) -> Iterator[object]:  # type: ignore[no-untyped-def]
    redis_or_skip(REDIS_URL)
    from celery.contrib.testing.worker import start_worker

    from ledgersync.workers import tasks
    from ledgersync.workers.celery_app import make_celery

    app = make_celery(REDIS_URL)
    queue = f"ledgersync-test-{secrets.token_hex(4)}"  # never share a queue with another session's worker
    app.conf.task_default_queue = queue
    app.conf.task_routes = {"ledgersync.*": {"queue": queue}}
    for name in ("ledgersync.pull_stream", "ledgersync.push_drain", "ledgersync.schedule_pulls", "ledgersync.schedule_pushes"):
        original = tasks.app.tasks[name]
        app.task(name=name, ignore_result=False)(original.run)
    tasks.set_container(container)
    container.extras["dispatcher"] = tasks.CeleryDispatcher(app)
    with start_worker(app, concurrency=4, pool="threads", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=30) as worker:
        worker.celery_app = app  # type: ignore[attr-defined]
        yield app
    tasks.set_container(None)
