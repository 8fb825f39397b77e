"""Readiness: can this process do its work right now? (`/readyz`; `/healthz` only says it runs.)

Three checks, each answering `(ok, detail)` within about two seconds:
- database: `SELECT 1` on the container's engine;
- broker: in Celery mode, a connection to the broker (Redis `PING`, or an AMQP connect) — without
  it webhooks and payments would be accepted and their work never queued;
- migrations: the database's Alembic revision is the code's head (a web process started before
  `ledgersync migrate` finished would write to a schema it does not know).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine, text

from ledgersync.settings import Settings


class Probed(Protocol):
    """What the readiness checks look at: the database engine and the settings."""

    @property
    def engine(self) -> Engine: ...

    @property
    def settings(self) -> Settings: ...


def check_database(container: Probed) -> tuple[bool, str]:
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # the detail names the failure, never the URL (it may hold a password)
        return False, type(exc).__name__


def check_broker(settings: Settings) -> tuple[bool, str]:
    if settings.scheduler != "celery":
        return True, f"not used (scheduler={settings.scheduler})"
    url = settings.celery_broker_url
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
        return True, "ok"
    except Exception as exc:
        return False, type(exc).__name__


def check_migrations(container: Probed) -> tuple[bool, str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from ledgersync.store.db import alembic_config

    try:
        heads = set(ScriptDirectory.from_config(alembic_config(container.settings.database_url)).get_heads())
        with container.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        return False, type(exc).__name__
    if current == heads:
        return True, "at head"
    return False, f"database at {sorted(current) or 'nothing'}, code at {sorted(heads)}: run `ledgersync migrate`"


def readiness(container: Probed) -> tuple[bool, dict[str, dict[str, Any]]]:
    checks = {
        "database": check_database(container),
        "broker": check_broker(container.settings),
        "migrations": check_migrations(container),
    }
    report = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}
    return all(ok for ok, _ in checks.values()), report
