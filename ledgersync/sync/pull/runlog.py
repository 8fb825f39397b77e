"""The run log (`sync_runs`) and per-record errors (`sync_errors`).

A run row is created when a run starts (own transaction, so a crash still leaves a visible
"running" row, later marked failed by the next run of the stream), its counters are written
in every page's transaction, and it is closed at the end. Per-record errors carry the Zoho id;
they are resolved (`resolved_at`) when a later run processes the same record cleanly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ledgersync.observability import logs
from ledgersync.store.orm import SyncError, SyncRun
from ledgersync.sync.pull.context import PullRun


def _now() -> datetime:
    return datetime.now(timezone.utc)


def start_run(session_factory: sessionmaker[Session], connection_id: str, stream: str, trigger: str) -> str:
    with session_factory() as session:
        # a run left "running" by a crashed worker is closed as failed (we hold the lease now)
        session.execute(
            update(SyncRun)
            .where(SyncRun.connection_id == connection_id, SyncRun.stream == stream, SyncRun.status == "running")
            .values(status="failed", finished_at=_now(), message="interrupted (worker stopped); resumed by a later run")
            .execution_options(synchronize_session=False)
        )
        run = SyncRun(connection_id=connection_id, stream=stream, trigger=trigger, status="running")
        session.add(run)
        session.commit()
        logs.bind(run_id=run.id, stream=stream)  # every log line of the run carries its id
        return run.id


def write_counters(session: Session, run: PullRun) -> None:
    run.stats.calls = run.calls_spent()
    session.execute(
        update(SyncRun).where(SyncRun.id == run.run_id).values(**run.stats.as_dict())
        .execution_options(synchronize_session=False)
    )


def finish_run(session_factory: sessionmaker[Session], run: PullRun, status: str, message: str | None = None) -> None:
    with session_factory() as session:
        run.stats.calls = run.calls_spent()
        session.execute(
            update(SyncRun).where(SyncRun.id == run.run_id)
            .values(status=status, finished_at=_now(), message=message, **run.stats.as_dict())
            .execution_options(synchronize_session=False)
        )
        session.commit()


def record_error(session: Session, run: PullRun, zoho_id: str | None, message: str, stream: str | None = None) -> None:
    """One open error per (stream, Zoho id): a record failing again updates its error (run,
    message) instead of piling up copies; the run's error counter counts every failure."""
    stream = stream or run.stream
    run.stats.errors += 1
    if zoho_id:
        existing = session.execute(
            select(SyncError).where(SyncError.connection_id == run.connection_id, SyncError.stream == stream,
                                    SyncError.zoho_id == zoho_id, SyncError.resolved_at.is_(None))
        ).scalars().first()
        if existing is not None:
            existing.run_id, existing.message = run.run_id, message[:2000]
            return
    session.add(SyncError(connection_id=run.connection_id, run_id=run.run_id, stream=stream,
                          zoho_id=zoho_id, message=message[:2000]))


def resolve_errors(session: Session, connection_id: str, stream: str, zoho_ids: Iterable[str]) -> None:
    ids = list(zoho_ids)
    if not ids:
        return
    for start in range(0, len(ids), 500):
        session.execute(
            update(SyncError)
            .where(SyncError.connection_id == connection_id, SyncError.stream == stream,
                   SyncError.zoho_id.in_(ids[start:start + 500]), SyncError.resolved_at.is_(None))
            .values(resolved_at=_now())
            .execution_options(synchronize_session=False)
        )


def open_error_ids(session: Session, connection_id: str, stream: str) -> set[str]:
    rows = session.execute(
        select(SyncError.zoho_id).where(SyncError.connection_id == connection_id, SyncError.stream == stream,
                                        SyncError.resolved_at.is_(None), SyncError.zoho_id.is_not(None))
    ).scalars()
    return {r for r in rows if r}


def prune_runs(session_factory: sessionmaker[Session], *, older_than: datetime, batch: int = 5000,
               max_batches: int = 100) -> int:
    """Retention of the run log: delete finished runs started before `older_than` that a later
    successful run of the same connection and stream superseded, and resolved per-record errors
    resolved before then. Kept whatever their age: each stream's latest successful run (its
    "last good sync") and every run after it (the story of a stream failing since), and open
    errors. Deletes in batches of `batch` rows, one short transaction each; returns the runs deleted."""
    from sqlalchemy import and_, delete, exists
    from sqlalchemy.orm import aliased

    newer = aliased(SyncRun)
    superseded = exists().where(
        newer.connection_id == SyncRun.connection_id, newer.stream == SyncRun.stream,
        newer.status == "succeeded", newer.started_at > SyncRun.started_at)
    deleted = 0
    with session_factory() as session:
        session.execute(delete(SyncError).where(SyncError.resolved_at.is_not(None), SyncError.resolved_at < older_than)
                        .execution_options(synchronize_session=False))
        session.commit()
    for _ in range(max_batches):
        with session_factory() as session:
            ids = list(session.scalars(select(SyncRun.id).where(
                and_(SyncRun.status != "running", SyncRun.started_at < older_than, superseded)).limit(batch)))
            if not ids:
                break
            session.execute(update(SyncError).where(SyncError.run_id.in_(ids)).values(run_id=None)
                            .execution_options(synchronize_session=False))
            session.execute(delete(SyncRun).where(SyncRun.id.in_(ids)).execution_options(synchronize_session=False))
            session.commit()
            deleted += len(ids)
        if len(ids) < batch:
            break
    return deleted


#: hourly cycles the need is averaged over (a day of them)
NEED_CYCLES = 24
#: the hourly work varies from hour to hour (deletion checks, a burst of edits): what is kept
#: for it is its average times this, so a busier-than-average day still finds its calls
NEED_MARGIN = 1.5
#: the runs that are hourly pull work: scheduled cycles, their retries, webhook re-reads. Not the
#: initial sync, the daily sweep (both spend budget nobody else needs), push drains (the pull's day
#: reserve is kept for them), nor one-off dashboard or manual runs (a reconciliation would
#: inflate the need for a whole day)
_HOURLY_TRIGGERS = ("schedule", "retry", "webhook")
_NOT_HOURLY_STREAMS = ("invoice_details_sweep", "push")  # details.SWEEP_STREAM (details imports this module)


def hourly_need(session: Session, connection_id: str, interval_s: float) -> float:
    """Calls per hour the connection's hourly pull work spends (scheduled cycles, their retries,
    webhook re-reads: `_HOURLY_TRIGGERS`), averaged over its last `NEED_CYCLES` scheduled cycles
    (a cycle starts with a scheduled run of the `invoices` stream, every `interval_s`), times
    `NEED_MARGIN`; 0 before the first cycle. Counted in cycles, not by the run log's stamps,
    and per `interval_s`: an hour here is an hour of whatever clock the pull interval is in,
    which is the rate limiter's (benches that scale Zoho's time scale both)."""
    starts = session.execute(
        select(SyncRun.started_at)
        .where(SyncRun.connection_id == connection_id, SyncRun.stream == "invoices", SyncRun.trigger == "schedule")
        .order_by(SyncRun.started_at.desc()).limit(NEED_CYCLES)
    ).scalars().all()
    if not starts:
        return 0.0
    spent = session.execute(
        select(func.coalesce(func.sum(SyncRun.calls), 0))
        .where(SyncRun.connection_id == connection_id, SyncRun.started_at >= starts[-1],
               SyncRun.trigger.in_(_HOURLY_TRIGGERS), SyncRun.stream.not_in(_NOT_HOURLY_STREAMS))
    ).scalar_one()
    return NEED_MARGIN * float(spent) / len(starts) * 3600.0 / max(interval_s, 1.0)
