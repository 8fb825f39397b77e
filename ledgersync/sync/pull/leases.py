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


_HOST = socket.gethostname()[:20]
_PROCESS_TOKEN = uuid.uuid4().hex[:6]  # tells this process from an earlier one that had the same pid


def new_owner() -> str:
    """A lease owner id unique per process and call (host:pid.process-token:thread:random)."""
    return f"{_HOST}:{os.getpid()}.{_PROCESS_TOKEN}:{threading.get_ident() % 100000}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def holder_is_dead(owner: str | None) -> bool:
    """True when `owner` was a process on THIS host that no longer runs (crashed or restarted).

    Found in QA: `ledgersync run` killed during the initial sync left its leases (the initial
    sync's is an hour long) to a dead process, so the restarted process resumed nothing for up
    to an hour. Owners on other hosts (Celery workers) are never judged; their leases expire.
    """
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != _HOST:
        return False
    pid_text, _, token = parts[1].partition(".")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return bool(token) and token != _PROCESS_TOKEN  # same pid, earlier process (containers: pid 1)
    return not _pid_alive(pid)


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
        if result.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE's result
            return True
        holder = session.execute(select(SyncCursor.lease_owner).where(
            SyncCursor.connection_id == connection_id, SyncCursor.stream == stream)).scalar_one_or_none()
        if not holder_is_dead(holder):
            return False
        taken = session.execute(  # only if the dead holder still has it (another restarter may race us)
            update(SyncCursor)
            .where(SyncCursor.connection_id == connection_id, SyncCursor.stream == stream,
                   SyncCursor.lease_owner == holder)
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return taken.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE's result


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
    if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result
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
