"""At most one run per (connection, stream) across threads and processes.

The lease is a conditional UPDATE on `sync_cursors.lease_until`: it succeeds only when nobody
holds an unexpired lease (or we already do). Every page commit renews it in the same
transaction as the data, guarded by `lease_owner = me`, so a worker that lost its lease (it
stalled past the expiry and someone else took over) cannot write a page: its transaction rolls
back. Works the same on SQLite and PostgreSQL (row-level UPDATE ... WHERE is atomic on both).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ledgersync.store.orm import SyncCursor

LEASE_SECONDS = 300.0


class LeaseLost(RuntimeError):
    """Our lease expired and another worker took the stream; stop without writing."""


def new_owner() -> str:
    """A lease owner id unique per process and call (host:pid:thread:random)."""
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{threading.get_ident() % 100000}:{uuid.uuid4().hex[:8]}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def ensure_cursor(session_factory: sessionmaker[Session], connection_id: str, stream: str) -> None:
    """Create the cursor row if missing (two racing creators: the loser's insert is ignored)."""
    with session_factory() as session:
        if session.get(SyncCursor, (connection_id, stream)) is not None:
            return
        session.add(SyncCursor(connection_id=connection_id, stream=stream, state={}))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()


def acquire(session_factory: sessionmaker[Session], connection_id: str, stream: str, owner: str,
            seconds: float = LEASE_SECONDS) -> bool:
    """Take the stream's lease if free (or expired, or already ours); True when we hold it."""
    ensure_cursor(session_factory, connection_id, stream)
    now = _now()
    with session_factory() as session:
        result = session.execute(
            update(SyncCursor)
            .where(
                SyncCursor.connection_id == connection_id,
                SyncCursor.stream == stream,
                or_(SyncCursor.lease_until.is_(None), SyncCursor.lease_until < now, SyncCursor.lease_owner == owner),
            )
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return result.rowcount == 1


def save_state(session: Session, connection_id: str, stream: str, owner: str, state: dict[str, Any],
               *, seconds: float = LEASE_SECONDS, next_run_at: datetime | None | bool = False) -> None:
    """Write the cursor state and renew the lease in the caller's transaction; raises
    `LeaseLost` if the lease is no longer ours (the caller's transaction must then roll back)."""
    values: dict[str, Any] = {"state": dict(state), "lease_until": _now() + timedelta(seconds=seconds),
                              "updated_at": _now()}
    if next_run_at is not False:
        values["next_run_at"] = next_run_at
    result = session.execute(
        update(SyncCursor)
        .where(SyncCursor.connection_id == connection_id, SyncCursor.stream == stream,
               SyncCursor.lease_owner == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LeaseLost(f"lease on {connection_id}/{stream} lost")


def release(session_factory: sessionmaker[Session], connection_id: str, stream: str, owner: str) -> None:
    with session_factory() as session:
        session.execute(
            update(SyncCursor)
            .where(SyncCursor.connection_id == connection_id, SyncCursor.stream == stream,
                   SyncCursor.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def read_state(session: Session, connection_id: str, stream: str) -> dict[str, Any]:
    row = session.execute(
        select(SyncCursor.state).where(and_(SyncCursor.connection_id == connection_id, SyncCursor.stream == stream))
    ).scalar_one_or_none()
    return dict(row or {})
