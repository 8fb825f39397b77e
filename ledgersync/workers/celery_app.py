"""The Celery app for many partners: workers and beat against Redis (default) or RabbitMQ,
the database shared (PostgreSQL).

    celery -A ledgersync.workers.celery_app worker --pool=threads --concurrency=8
    celery -A ledgersync.workers.celery_app beat

Tasks (stable names, ids in, services called — `ledgersync.workers.tasks`):
`ledgersync.pull_stream(connection_id, stream, trigger)`, `ledgersync.push_drain(connection_id)`,
and the beat fan-outs `ledgersync.schedule_pulls` (hourly) / `ledgersync.schedule_pushes`.
At most one run per connection and stream across all workers: the stream lease in
`sync_cursors` (a task that finds it held returns "skipped" at once, no Zoho call).
"""

from __future__ import annotations

from celery import Celery

from ledgersync.settings import get_settings


def make_celery(broker_url: str | None = None) -> Celery:
    settings = get_settings()
    broker = broker_url or settings.celery_broker_url
    app = Celery("ledgersync", broker=broker, include=["ledgersync.workers.tasks"])
    app.conf.update(
        result_backend=broker if broker.startswith(("redis://", "rediss://")) else "rpc://",
        result_expires=3600,
        task_acks_late=True,  # a worker killed mid-task: the task is redelivered, the cursor resumes it
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="ledgersync",
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "pull-every-connection": {"task": "ledgersync.schedule_pulls", "schedule": settings.pull_interval_s},
            "push-every-connection": {"task": "ledgersync.schedule_pushes", "schedule": settings.push_interval_s},
        },
        timezone="UTC",
    )
    return app


app = make_celery()
