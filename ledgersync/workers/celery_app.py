"""The Celery app for many partners: workers and beat against Redis (default) or RabbitMQ,
the database shared (PostgreSQL).

    celery -A ledgersync.workers.celery_app worker --pool=threads --concurrency=8 \\
        -Q ledgersync.push,ledgersync.pull,ledgersync.backfill
    celery -A ledgersync.workers.celery_app beat

Tasks (stable names, ids in, services called — `ledgersync.workers.tasks`):
`ledgersync.pull_stream(connection_id, stream, trigger)`, `ledgersync.push_drain(connection_id)`,
and the beat fan-outs `ledgersync.schedule_pulls` (every `pull_tick_s`: the connections whose
staggered hourly slot came) / `ledgersync.schedule_pushes` (the push safety net).
Queues and their order (pushes, then pulls, then backfills): `ledgersync.workers.schedule`.
At most one run per connection and stream across all workers: the stream lease in
`sync_cursors` (a task that finds it held returns "skipped" at once, no Zoho call).
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from ledgersync.settings import Settings, UnsafeConfiguration, get_settings
from ledgersync.workers.schedule import BACKFILL, PULL, PUSH, kind_of, queue_names


def refuse_unsafe_configuration(settings: Settings | None = None) -> None:
    """A worker or beat started in production mode with demo/missing secrets exits at once, saying why.

    Checked when the app module is imported, i.e. before `celery … worker|beat` connects to the
    broker or runs anything (a Container would refuse too, but only on the first task).
    """
    try:
        (settings or get_settings()).require_safe()
    except UnsafeConfiguration as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from exc


def make_celery(broker_url: str | None = None, settings: Settings | None = None) -> Celery:
    refuse_unsafe_configuration(settings)
    app = Celery("ledgersync", include=["ledgersync.workers.tasks"])
    return configure_celery(app, settings or get_settings(), broker_url)


def configure_celery(app: Celery, settings: Settings, broker_url: str | None = None) -> Celery:
    """Broker, queues, routing, limits and beat's schedule from settings (tests re-point the
    module's app at a per-session broker and queue prefix with it, before first use)."""
    broker = broker_url or settings.celery_broker_url
    queues = queue_names(settings.celery_queue_prefix)

    def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str]:
        return {"queue": queues[kind_of(name, args)]}

    app.conf.update(
        broker_url=broker,
        result_backend=broker if broker.startswith(("redis://", "rediss://")) else "rpc://",
        result_expires=3600,
        task_acks_late=True,  # a worker killed mid-task: the task is redelivered, the cursor resumes it
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds no more than it runs: nothing waits behind a backfill
        task_queues=[Queue(queues[k], Exchange(queues[k]), routing_key=queues[k]) for k in (PUSH, PULL, BACKFILL)],
        task_default_queue=queues[PULL],
        task_routes=(route,),
        # read the queues in the order listed (push, pull, backfill), not round-robin
        broker_transport_options={"queue_order_strategy": "priority"},
        task_soft_time_limit=settings.task_soft_time_limit_s,  # enforced by the prefork pool
        task_time_limit=settings.task_time_limit_s,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "pulls-due": {"task": "ledgersync.schedule_pulls", "schedule": settings.pull_tick_s},
            "push-every-connection": {"task": "ledgersync.schedule_pushes", "schedule": settings.push_interval_s},
            "pushes-due": {"task": "ledgersync.schedule_due_pushes", "schedule": settings.push_due_tick_s},
            "prune-run-log": {"task": "ledgersync.prune_run_log", "schedule": settings.run_log_prune_interval_s},
        },
        timezone="UTC",
    )
    return app


app = make_celery()
