"""How far the initial sync is, and when the history will be complete (dashboard and CLI).

Read-only and call-free: counts come from our own tables and cursors. The finish estimate
plans the remaining Zoho calls (one per invoice whose line items are pending, one per 200
invoices still to list) against the organisation's plan: the backfill may use
`1 - reserve` of the daily cap (the rest stays for hourly pulls and payment pushes) and about
80 calls a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledgersync.store.orm import Connection, ExternalRef, Invoice, SyncCursor, SyncRun
from ledgersync.sync.pull.details import count_pending
from ledgersync.sync.pull.runlog import open_error_ids

PLAN_DAILY = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}
BACKFILL_DAY_SHARE = 0.75
#: the history backfill may use the day's budget down to this share (the limiter's backfill
#: day reserve, kept for hourly pulls and pushes)
BACKFILL_DAY_RESERVE = 1 - BACKFILL_DAY_SHARE
#: the pace assumed before any initial-sync run has been measured (calls a minute)
BACKFILL_PER_MINUTE = 80
DAY_S = 86_400.0


#: a pause longer than this between two initial-sync runs (a restart, a wait for the daily
#: reset) is not running time; shorter gaps are the runner's own work between steps
RUN_GAP_S = 30.0
#: the pace is measured once the initial sync has committed this many calls
MIN_MEASURED_CALLS = 20


@dataclass(frozen=True)
class Checkpoint:
    """The initial sync's last commit: the counts in our tables describe the work left as of
    `at`; `pace` is calls a second over the running time up to `at` (None: not measured yet)."""

    at: datetime | None
    pace: float | None
    calls: int
    running: bool = False  # a run of the initial sync is going (it makes calls past `at`)


def checkpoint(session: Session, connection_id: str, now: datetime | None = None) -> Checkpoint:
    """When the initial sync last committed, and its pace up to then.

    Counts (pending line items, listed invoices, a run's `calls`) move only when a run commits
    (a batch of line items, a page). So pace and work are both taken AT the last commit: a run
    still going counts its committed calls over its time up to its last commit (its cursor's
    `updated_at`), never up to now — dividing committed calls by the time to now read the pace
    low between commits, and the history ETA ran high by up to the commit interval.
    """
    moment = now or datetime.now(timezone.utc)
    runs = session.execute(
        select(SyncRun.stream, SyncRun.started_at, SyncRun.finished_at, SyncRun.calls)
        .where(SyncRun.connection_id == connection_id, SyncRun.trigger == "initial")
        .order_by(SyncRun.started_at)
    ).all()
    if not runs:
        return Checkpoint(None, None, 0)
    saved = dict(session.execute(
        select(SyncCursor.stream, SyncCursor.updated_at).where(SyncCursor.connection_id == connection_id)
    ).all())
    calls, seconds, running = 0, 0.0, False
    last_end: datetime | None = None
    for stream, started, finished, made in runs:
        running = running or finished is None
        if finished is not None:
            end = finished
        else:  # running: up to its last commit (a cursor save), at least its start
            end = min(max(started, saved.get(stream) or started), moment)
        if last_end is not None and 0.0 < (started - last_end).total_seconds() <= RUN_GAP_S:
            seconds += (started - last_end).total_seconds()
        seconds += max((end - started).total_seconds(), 0.0)
        calls += int(made or 0)
        last_end = end if last_end is None else max(last_end, end)
    pace = calls / seconds if calls >= MIN_MEASURED_CALLS and seconds > 0 else None
    return Checkpoint(last_end, pace, calls, running)


def measured_pace(session: Session, connection_id: str, now: datetime | None = None) -> float | None:
    """Calls a second of the initial sync up to its last commit (see `checkpoint`)."""
    return checkpoint(session, connection_id, now).pace


def _pages(n: int, per_page: int) -> int:
    return max(1, math.ceil(n / per_page))


def history_calls_left(session: Session, connection_id: str, *, per_page: int = 200, leaf_size: int = 400,
                       on_demand: bool = False, cutoff: date | None = None) -> int:
    """The Zoho calls the initial sync still has to make, as of its last commit: what each of
    its remaining steps will call, read from the same tables and cursors the steps read.

    - line items: every listed invoice the details stream will still fetch (its own query,
      less those that failed and are left to the next run) and every invoice not listed yet;
    - listing: a page per 200 invoices not listed yet, and the invoices stream's closing
      incremental pass (one call);
    - the customers list, when the recent phase has not read it yet (one page);
    - deletion checks: a count each for invoices and customers, and the listing a count
      that differs from ours triggers (invoices: compared now with Zoho's remembered total;
      customers: cannot be compared without the call, one page assumed).
    """
    conn = session.get(Connection, connection_id)
    if conn is None or conn.initial_sync_phase == "done":
        return 0
    cursors = {c.stream: c for c in session.execute(
        select(SyncCursor).where(SyncCursor.connection_id == connection_id)).scalars()}
    finished = set(session.execute(
        select(SyncRun.stream).where(SyncRun.connection_id == connection_id, SyncRun.trigger == "initial",
                                     SyncRun.status == "succeeded")
    ).scalars())
    running = set(session.execute(
        select(SyncRun.stream).where(SyncRun.connection_id == connection_id, SyncRun.trigger == "initial",
                                     SyncRun.finished_at.is_(None))
    ).scalars())
    state = dict(cursors["initial"].state or {}) if "initial" in cursors else {}
    listed_q = (select(func.count()).select_from(ExternalRef).join(Invoice, Invoice.id == ExternalRef.local_id)
                .where(ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
                       Invoice.archived.is_(False)))
    listed = int(session.execute(listed_q).scalar_one())
    total = state.get("zoho_total")
    total = int(total) if total is not None else listed
    unlisted = max(0, total - listed)
    # with on-demand line items the stream skips old paid ones: valued by the recent cutoff
    pending = count_pending(session, connection_id, cutoff or date.min, on_demand=on_demand)
    failed = open_error_ids(session, connection_id, "invoice_details")
    if failed:
        pending -= _pending_among(session, connection_id, failed)
    calls = max(pending, 0) + unlisted
    if "customers" not in finished:
        calls += 1
    mode = (dict(cursors["invoices"].state or {}) if "invoices" in cursors else {}).get("mode")
    if mode in (None, "recent"):
        calls += _pages(unlisted, per_page) + 2  # recent and history pages, the incremental pass
    elif mode == "history":
        calls += _pages(unlisted, per_page) + 1
    elif "invoices" in running:
        calls += 1  # history listed; the closing incremental pass
    if "invoice_deletions" not in finished:
        local = int(session.execute(listed_q.where(Invoice.origin == "zoho")).scalar_one()) + unlisted
        calls += 1
        if local + len(open_error_ids(session, connection_id, "invoices")) != total:
            calls += _pages(min(max(total, local), leaf_size), per_page)
    if "customer_deletions" not in finished:
        calls += 2
    return calls


def _pending_among(session: Session, connection_id: str, zoho_ids: set[str]) -> int:
    """How many of `zoho_ids` still wait for their line items (failed this run: not refetched)."""
    return int(session.execute(
        select(func.count()).select_from(ExternalRef).join(Invoice, Invoice.id == ExternalRef.local_id)
        .where(ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
               Invoice.archived.is_(False), ExternalRef.zoho_id.in_(sorted(zoho_ids)),
               or_(ExternalRef.details_due.is_(True), ExternalRef.details_synced_at.is_(None)))
    ).scalar_one())


def calls_left_now(calls_at_checkpoint: int, mark: Checkpoint, now: datetime) -> int:
    """The calls left at `now`: those left at the last commit less what the measured pace has
    made since while a run is going (at least one while any were left: the sync is not done
    until it says so); a stopped sync (waiting for the budget, for the scheduler) made none."""
    if mark.pace is None or mark.at is None or not mark.running or calls_at_checkpoint <= 0:
        return calls_at_checkpoint
    since = max((now - mark.at).total_seconds(), 0.0)
    return max(calls_at_checkpoint - math.floor(mark.pace * since), 1)


def history_eta(calls_left: int, pace_per_s: float, budget_left: int, reset_in_s: float,
                backfill_per_day: int) -> float:
    """Seconds until `calls_left` calls are made at `pace_per_s`, when only `budget_left` may be
    spent before the daily reset (in `reset_in_s`) and `backfill_per_day` each day after."""
    if calls_left <= max(budget_left, 0):
        return calls_left / pace_per_s
    rest = calls_left - max(budget_left, 0)
    days = math.floor(rest / backfill_per_day) if backfill_per_day > 0 else 0
    tail = rest - days * backfill_per_day
    return max(reset_in_s, 0.0) + days * DAY_S + tail / pace_per_s




def initial_sync_progress(session: Session, connection_id: str) -> dict[str, Any]:
    conn = session.get(Connection, connection_id)
    if conn is None:
        return {"phase": None, "invoices_done": 0, "invoices_total": None, "percent": 0.0, "eta_seconds": None,
                "history_finish_estimate": None, "details_pending": 0, "budget_exhausted_until": None}
    base = (
        select(func.count())
        .select_from(ExternalRef)
        .join(Invoice, Invoice.id == ExternalRef.local_id)
        .where(ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice", Invoice.archived.is_(False))
    )
    listed = int(session.execute(base).scalar_one())
    done = int(session.execute(
        base.where(ExternalRef.details_synced_at.is_not(None), ExternalRef.details_due.is_(False))
    ).scalar_one())
    rows = session.execute(select(SyncCursor).where(SyncCursor.connection_id == connection_id)).scalars()
    cursors = {c.stream: c for c in rows}
    initial_state = dict(cursors["initial"].state or {}) if "initial" in cursors else {}
    total = initial_state.get("zoho_total")
    total = int(total) if total is not None else None
    pending = max(0, listed - done)
    phase = conn.initial_sync_phase
    budget_until = [c.next_run_at for c in cursors.values() if c.next_run_at is not None]
    now = datetime.now(timezone.utc)
    blocked_until = max(budget_until) if budget_until else None
    if phase == "done":
        percent, eta = 100.0, 0.0
    else:
        denominator = max(total or listed, 1)
        percent = round(100.0 * min(done, denominator) / denominator, 1)
        per_day = int(PLAN_DAILY.get(conn.plan or "premium", 10000) * BACKFILL_DAY_SHARE)
        mark = checkpoint(session, connection_id, now)
        remaining_calls = calls_left_now(history_calls_left(session, connection_id), mark, now)
        pace = mark.pace or BACKFILL_PER_MINUTE / 60
        if blocked_until and blocked_until > now:
            eta = (blocked_until - now).total_seconds() + history_eta(remaining_calls, pace, per_day, 0.0, per_day)
        else:
            eta = history_eta(remaining_calls, pace, per_day, DAY_S, per_day)
    finish = (now + timedelta(seconds=eta)).isoformat() if eta is not None else None
    return {
        "phase": phase,
        "invoices_done": done,
        "invoices_listed": listed,
        "invoices_total": total,
        "percent": percent,
        "eta_seconds": eta,
        "history_finish_estimate": finish,
        "details_pending": pending,
        "budget_exhausted_until": blocked_until.isoformat() if blocked_until and blocked_until > now else None,
    }
