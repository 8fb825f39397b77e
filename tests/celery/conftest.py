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


@pytest.fixture(scope="session")
def celery_session_prefix() -> Iterator[str]:
    """Queues and Redis keys of this pytest session only (other sessions run at the same time)."""
    prefix = f"lstest-{secrets.token_hex(4)}"
    yield prefix
    try:
        import redis

        from ledgersync.workers.coordination import Coordination

        Coordination(redis.Redis.from_url(REDIS_URL), prefix).forget()
    except Exception:
        pass


@pytest.fixture
def celery_worker(container, celery_session_prefix) -> Iterator[object]:  # type: ignore[no-untyped-def]
    redis_or_skip(REDIS_URL)
    from celery.contrib.testing.worker import start_worker

    from ledgersync.workers import tasks
    from ledgersync.workers.celery_app import configure_celery
    from ledgersync.workers.schedule import queue_names

    settings = container.settings
    settings.redis_url = REDIS_URL
    settings.celery_broker_url = REDIS_URL
    settings.redis_key_prefix = celery_session_prefix
    settings.celery_queue_prefix = celery_session_prefix
    app = configure_celery(tasks.app, settings, REDIS_URL)  # the module's app: retries go where we listen
    tasks.install_celery(container, app)
    tasks.set_container(container)
    app.control.purge()  # nothing left over from the previous test (its connections are gone)
    coordination = container.dispatcher.coordination
    coordination.forget()
    with start_worker(app, concurrency=4, pool="threads", perform_ping_check=False,
                      queues=list(queue_names(celery_session_prefix).values()), shutdown_timeout=30) as worker:
        worker.celery_app = app  # type: ignore[attr-defined]
        yield app
    app.control.purge()
    coordination.forget()
    tasks.set_container(None)
