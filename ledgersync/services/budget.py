"""Zoho API budget per organisation: calls used today by purpose, calls left, when the daily
window resets, and when the initial sync's history will be complete (issues 13 and 14).

Every Zoho call the platform makes belongs to a run in `sync_runs` (pull streams, single-record
re-reads, push drains, and the rows `sync.call_log.counted_calls` writes for calls made outside
the engines), each with its `calls`; the purpose follows from the run's stream and trigger
(`purpose_of`). The daily window and what is left come from the rate limiter when it has
seen Zoho's headers (they count every app of the partner), else from our own runs: Zoho's day
is a fixed 24 h window opened by the first call after the previous one closed.

`calls_by_purpose` is the one function other parts (operator console, metrics) read the
counters through; `budget_report` is what the dashboard's budget panel shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgersync.store.orm import Connection, SyncRun
from ledgersync.sync.call_log import DASHBOARD_TRIGGER, SIDE_PURPOSES
from ledgersync.sync.pull.context import PullOptions
from ledgersync.sync.pull.progress import (
    BACKFILL_DAY_RESERVE,
    calls_left_now,
    checkpoint,
    history_calls_left,
    history_eta,
)

#: what the budget panel lists, in this order; the last four are calls made outside the sync
#: engines (`sync.call_log.SIDE_PURPOSES`): Set Up Accounts, invoice PDFs, the
#: invoice page's payments and credits, reconciliations
PURPOSES = ("initial sync", "hourly", "details", "deletion checks", "pushes", "sweep",
            "account setup", "PDFs", "invoice page", "reconciliation")
PLAN_DAILY = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}
DAY = timedelta(days=1)


def purpose_of(stream: str, trigger: str) -> str:
    """Which budget purpose a run's calls count under."""
    if trigger == DASHBOARD_TRIGGER:
        return SIDE_PURPOSES[stream]
    if trigger == "initial":
        return "initial sync"
    if stream == "push":
        return "pushes"
    if stream == "invoice_details_sweep":
        return "sweep"
    if stream in ("invoice_deletions", "customer_deletions"):
        return "deletion checks"
    if stream == "invoice_details" or stream.startswith("record:"):
        return "details"
    return "hourly"


def calls_by_purpose(session: Session, connection_id: str, since: datetime) -> dict[str, int]:
    """Zoho calls of the connection's runs started at or after `since`, by purpose (all
    purposes present, zero when unused)."""
    rows = session.execute(
        select(SyncRun.stream, SyncRun.trigger, func.coalesce(func.sum(SyncRun.calls), 0))
        .where(SyncRun.connection_id == connection_id, SyncRun.started_at >= since)
        .group_by(SyncRun.stream, SyncRun.trigger)
    ).all()
    out = dict.fromkeys(PURPOSES, 0)
    for stream, trigger, calls in rows:
        out[purpose_of(stream, trigger)] += int(calls or 0)
    return out


def window_start_from_runs(session: Session, connection_id: str, now: datetime) -> datetime:
    """Start of the current daily window as our own runs imply it (fixed 24 h windows, each
    opened by the first call after the previous closed); `now` when nothing ran for a day."""
    starts = session.execute(
        select(SyncRun.started_at).where(SyncRun.connection_id == connection_id, SyncRun.calls > 0,
                                         SyncRun.started_at >= now - 2 * DAY)
        .order_by(SyncRun.started_at)
    ).scalars().all()
    window: datetime | None = None
    for started in starts:
        if window is None or started >= window + DAY:
            window = started
    if window is None or window + DAY <= now:
        return now
    return window


@dataclass(frozen=True)
class LimiterView:
    """What the process's rate limiter knows of the organisation's day (Zoho's headers)."""

    used_today: int
    daily_limit: int
    remaining_today: int
    resets_at: datetime | None
    day_seconds: float = 86_400.0


@dataclass(frozen=True)
class BudgetReport:
    connection_id: str
    organization_name: str
    plan: str
    daily_limit: int
    by_purpose: dict[str, int]
    used_today: int  # ours, by purpose
    calls_left: int
    resets_at: datetime
    phase: str | None
    pace_per_minute: float | None = None  # measured pace of the initial sync's runs
    history_calls_left: int | None = None
    history_eta_seconds: float | None = None
    history_finish_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


class UnitOfWorkFactory(Protocol):
    def uow(self) -> Any: ...

    @property
    def pull_options(self) -> PullOptions: ...


def budget_report(container: UnitOfWorkFactory, connection_id: str, *, limiter: LimiterView | None = None,
                  now: Callable[[], datetime] | None = None) -> BudgetReport | None:
    """The budget panel's figures for one connection (None if it does not exist)."""
    moment = (now or (lambda: datetime.now(timezone.utc)))()
    with container.uow() as uow:
        session = uow.session
        conn = session.get(Connection, connection_id)
        if conn is None:
            return None
        daily_limit = PLAN_DAILY.get(conn.plan or "premium", 10_000)
        if limiter is not None and limiter.resets_at is not None and limiter.resets_at > moment:
            daily_limit = limiter.daily_limit or daily_limit
            window = limiter.resets_at - timedelta(seconds=limiter.day_seconds)
        else:
            limiter = None
            window = window_start_from_runs(session, connection_id, moment)
        by_purpose = calls_by_purpose(session, connection_id, window)
        used = sum(by_purpose.values())
        left = limiter.remaining_today if limiter is not None else max(daily_limit - used, 0)
        resets_at = limiter.resets_at if limiter is not None and limiter.resets_at else window + DAY
        phase = conn.initial_sync_phase or None
        mark = checkpoint(session, connection_id, moment)
        options = container.pull_options
        on_demand = options.history_line_items == "on_demand"
        at_mark = 0 if phase in (None, "done") else history_calls_left(
            session, connection_id, per_page=options.per_page, leaf_size=options.leaf_size, on_demand=on_demand,
            cutoff=(moment - timedelta(days=options.recent_days)).date())
        pace = mark.pace
        report = BudgetReport(connection_id=connection_id, organization_name=conn.organization_name or "",
                              plan=conn.plan or "premium", daily_limit=daily_limit, by_purpose=by_purpose,
                              used_today=used, calls_left=left, resets_at=resets_at, phase=phase,
                              pace_per_minute=pace * 60 if pace else None)
    if report.phase in (None, "done"):
        return report
    # the work left as of the initial sync's last commit, at the pace measured up to that commit,
    # less what that pace has done since (see `progress.checkpoint`)
    calls_left = calls_left_now(at_mark, mark, moment)
    if pace is None:
        return _with(report, history_calls_left=calls_left)
    backfill_left = left - math.ceil(BACKFILL_DAY_RESERVE * daily_limit)
    eta = history_eta(calls_left, pace, backfill_left, (resets_at - moment).total_seconds(),
                      int(daily_limit * (1 - BACKFILL_DAY_RESERVE)))
    return _with(report, history_calls_left=calls_left, history_eta_seconds=eta,
                 history_finish_at=moment + timedelta(seconds=eta))


def _with(report: BudgetReport, **changes: Any) -> BudgetReport:
    from dataclasses import replace

    return replace(report, **changes)
