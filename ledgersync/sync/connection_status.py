"""Connection status changes applied to the `connections` row, inside the caller's transaction.

The only writers of `connections.status`: each asks `ledgersync.domain.connection` for the next
status (`transition`), so a change the state machine does not allow (a late worker marking a
disconnected connection connected) leaves the row untouched and returns False. The caller
commits; the pull engine, the token refresher, the integration service and the health rules
(`sync/health.py`, through `compare_and_set`) all come here.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import update
from sqlalchemy.orm import Session

from ledgersync.domain.connection import ConnectionEvent, ConnectionStatus, can, transition
from ledgersync.store.orm import Connection


def set_status(conn: Connection, event: ConnectionEvent, detail: str | None = None) -> None:
    """Apply `event` to the row (raises `InvalidTransition` if the state machine refuses it)."""
    conn.status = transition(conn.status, event).value
    conn.status_detail = detail


def mark_connected(session: Session, connection_id: str) -> bool:
    """The initial sync finished: Pending → Connected. False (and no change) if not allowed."""
    conn = session.get(Connection, connection_id)
    if conn is None:
        return False
    if conn.status == ConnectionStatus.PENDING.value:
        set_status(conn, ConnectionEvent.INITIAL_SYNC_COMPLETED)
        conn.connected_at = conn.connected_at or datetime.now(timezone.utc)
        return True
    return conn.status == ConnectionStatus.CONNECTED.value


def mark_error(session: Session, connection_id: str, detail: str) -> bool:
    """A sync cannot run (not a per-record problem): show Error with `detail` (what to do next)."""
    conn = session.get(Connection, connection_id)
    if conn is None or not can(conn.status, ConnectionEvent.FAIL):
        return False
    set_status(conn, ConnectionEvent.FAIL, detail)
    return True


def mark_recovered(session: Session, connection_id: str) -> bool:
    """A sync succeeded again after an Error: back to Connected (or Pending if never finished)."""
    conn = session.get(Connection, connection_id)
    if conn is None or conn.status != ConnectionStatus.ERROR.value:
        return False
    set_status(conn, ConnectionEvent.RECOVER if conn.initial_sync_phase == "done" else ConnectionEvent.RETRY)
    return True


def mark_reauth_required(session: Session, connection_id: str, detail: str) -> bool:
    """Zoho refused the refresh token: Reauthorization required, and the access token is dropped."""
    conn = session.get(Connection, connection_id)
    if conn is None or not can(conn.status, ConnectionEvent.AUTH_REVOKED):
        return False
    set_status(conn, ConnectionEvent.AUTH_REVOKED, detail)
    conn.access_token_enc = None
    conn.token_expires_at = None
    return True


def compare_and_set(session: Session, conn: Connection, event: ConnectionEvent, detail: str | None) -> str | None:
    """Apply `event` to the status `conn` was read with, only if the row still has it (one
    conditional UPDATE: a change made meanwhile, a disconnect say, wins). Error and
    Reauthorization required keep `detail`, every other status clears it. The new status, or
    None if the row had moved on; `InvalidTransition` if the state machine refuses the event."""
    new = transition(conn.status, event).value
    keep_detail = event in (ConnectionEvent.FAIL, ConnectionEvent.AUTH_REVOKED)
    result = session.execute(
        update(Connection).where(Connection.id == conn.id, Connection.status == conn.status)
        .values(status=new, status_detail=detail if keep_detail else None)
        .execution_options(synchronize_session=False))
    return new if result.rowcount == 1 else None  # type: ignore[attr-defined]  # an UPDATE's result
