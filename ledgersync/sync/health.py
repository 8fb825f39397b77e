"""Connection health from sync outcomes: the engine reports every finished run here; the
decision is `domain/connection.py`'s (`after_sync`, `on_auth_lost`), this module loads the row,
has `sync/connection_status.compare_and_set` apply the event (the state machine's transition,
only if the status is still the one decided on: a disconnect in between wins) and then lets
`alerts.evaluate` open or resolve incidents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgersync.domain.connection import ConnectionEvent, after_sync, on_auth_lost
from ledgersync.store.orm import Connection, SyncRun
from ledgersync.sync import alerts
from ledgersync.sync.alerts import AlertsHost
from ledgersync.sync.call_log import DASHBOARD_TRIGGER
from ledgersync.sync.connection_status import compare_and_set

log = logging.getLogger(__name__)


def failures_in_a_row(session: Session, connection_id: str, stream: str, limit: int = 12) -> int:
    """How many of the stream's latest finished runs failed in a row."""
    statuses = session.execute(
        select(SyncRun.status).where(SyncRun.connection_id == connection_id, SyncRun.stream == stream,
                                     SyncRun.status != "running")
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
    ).scalars().all()
    count = 0
    for status in statuses:
        if status != "failed":
            break
        count += 1
    return count


Decide = Callable[[Session, Connection], ConnectionEvent | None]


def _apply(container: AlertsHost, connection_id: str, decide: Decide, detail: str | None) -> str | None:
    """Ask `decide(conn)` for an event; apply it if the status is still the one decided on."""
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None:
            return None
        event = decide(uow.session, conn)
        if event is None:
            return None
        new = compare_and_set(uow.session, conn, event, detail)
        uow.commit()
    if new is not None:
        log.info("connection.health connection=%s event=%s status=%s", connection_id, event.value, new)
    return new


def note_run(container: AlertsHost, connection_id: str, stream: str, *, failed: bool, detail: str | None) -> None:
    """A stream run finished: Error after `threshold` failures in a row, back by itself on success."""
    threshold = container.settings.connection_failure_threshold

    def decide(session: Session, conn: Connection) -> ConnectionEvent | None:
        return after_sync(conn.status, failed=failed, initial_done=conn.initial_sync_phase == "done",
                          failures_in_a_row=failures_in_a_row(session, connection_id, stream) if failed else 0,
                          threshold=threshold)

    try:
        _apply(container, connection_id, decide, detail)
    finally:
        alerts.evaluate(container, connection_id)


def auth_lost(container: AlertsHost, connection_id: str, detail: str) -> None:
    """Zoho refused the authorization (revoked, evicted) or the stored token cannot be read."""
    try:
        _apply(container, connection_id, lambda _s, conn: on_auth_lost(conn.status), detail)
    finally:
        alerts.evaluate(container, connection_id)


def outage(session: object, connection_id: str) -> str | None:
    """While Zoho is failing, what the pages say: the latest stream run's failure message
    ("Zoho is not answering (…); retrying at 14:03:10 UTC"), or None once a run got through."""
    latest = session.execute(  # type: ignore[attr-defined]
        select(SyncRun.status, SyncRun.message).where(
            SyncRun.connection_id == connection_id, SyncRun.status != "running",
            SyncRun.stream.not_like("record:%"), SyncRun.stream != "webhook",
            SyncRun.trigger != DASHBOARD_TRIGGER)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(1)
    ).first()
    if latest is None or latest.status != "failed":
        return None
    return str(latest.message or "The last sync failed; retrying shortly.")
