"""How far the initial sync is, and when the history will be complete (dashboard and CLI).

Read-only and call-free: counts come from our own tables and cursors. The finish estimate
plans the remaining Zoho calls (one per invoice whose line items are pending, one per 200
invoices still to list) against the organisation's plan: the backfill may use
`1 - reserve` of the daily cap (the rest stays for hourly pulls and payment pushes) and about
80 calls a minute.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgersync.store.orm import Connection, ExternalRef, Invoice, SyncCursor, SyncRun

PLAN_DAILY = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}
BACKFILL_DAY_SHARE = 0.75
#: the history backfill may use the day's budget down to this share (the limiter's backfill
#: day reserve, kept for hourly pulls and pushes)
BACKFILL_DAY_RESERVE = 1 - BACKFILL_DAY_SHARE
#: the pace assumed before any initial-sync run has been measured (calls a minute)
BACKFILL_PER_MINUTE = 80
DAY_S = 86_400.0


def measured_pace(session: Session, connection_id: str, now: datetime | None = None) -> float | None:
    """Calls a second of the initial sync so far: its runs' calls over their running time (a run
    still going counts up to now once it has committed 20 calls: the history's line items are
    one long run)."""
    moment = now or datetime.now(timezone.utc)
    found = session.execute(
        select(SyncRun.started_at, SyncRun.finished_at, SyncRun.calls)
        .where(SyncRun.connection_id == connection_id, SyncRun.trigger == "initial", SyncRun.calls > 0)
    ).all()
    rows = [(s, f or moment, c) for s, f, c in found if f is not None or int(c) >= 20]
    calls = sum(int(c) for _, _, c in rows)
    seconds = sum(max((f - s).total_seconds(), 0.0) for s, f, _ in rows)
    if calls < 20 or seconds <= 0:
        return None
    return calls / seconds


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
    unlisted = max(0, (total or listed) - listed)
    remaining_calls = pending + unlisted + math.ceil(unlisted / 200)  # unlisted ones need details too
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
        pace = measured_pace(session, connection_id) or BACKFILL_PER_MINUTE / 60
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
