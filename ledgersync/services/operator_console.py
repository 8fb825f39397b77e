"""The operator console's rows: every connection of every partner, with what an operator needs to
see who is failing — status, last good sync, lag, Zoho calls used/left today, open record
errors, alerts sent, failed pushes — and the two actions: sync now, retry failed pushes.

Calls used today are the per-purpose counters of `services.budget` (`calls_by_purpose` over the
connection's daily window, every Zoho call of every worker belongs to a run row): the same figure
the partner's budget panel shows, whichever process renders the page (a rate limiter only knows
the calls its own store saw). Left = the plan's daily limit less those. The other columns come
from a handful of grouped queries for the whole table; search and sort run on the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select

from ledgersync.services.budget import PLAN_DAILY, calls_by_purpose, window_start_from_runs
from ledgersync.store.orm import Connection, ConnectionAlert, Partner, PushIntent, SyncError, SyncRun
from ledgersync.sync.call_log import DASHBOARD_TRIGGER
from ledgersync.sync.ports import Dispatching, OperatorPorts

SORT_KEYS = ("partner", "status", "last_good_sync", "lag_s", "calls_used", "calls_left", "open_errors",
             "alerts_sent", "failed_pushes")


@dataclass(frozen=True)
class ConsoleRow:
    connection_id: str
    partner: str
    organization: str
    status: str
    last_good_sync: datetime | None
    lag_s: float | None
    calls_used: int | None
    calls_left: int | None
    open_errors: int
    alerts_sent: int
    failed_pushes: int


def _aware(at: datetime | None) -> datetime | None:
    return None if at is None else (at if at.tzinfo else at.replace(tzinfo=timezone.utc))


def rows(container: OperatorPorts, *, q: str = "", sort: str = "partner", descending: bool = False) -> list[ConsoleRow]:
    now = datetime.now(timezone.utc)
    with container.uow() as uow:
        s = uow.session
        conns = s.execute(select(Connection.id, Partner.name, Connection.organization_id, Connection.organization_name,
                                 Connection.status, Connection.plan).join(Partner, Partner.id == Connection.partner_id)).all()
        last_ok = dict(s.execute(select(SyncRun.connection_id, func.max(SyncRun.finished_at)).where(
            SyncRun.status == "succeeded", SyncRun.stream != "push", SyncRun.trigger != DASHBOARD_TRIGGER,
        ).group_by(SyncRun.connection_id)).all())
        errors = dict(s.execute(select(SyncError.connection_id, func.count()).where(
            SyncError.resolved_at.is_(None)).group_by(SyncError.connection_id)).all())
        alerts = dict(s.execute(select(ConnectionAlert.connection_id, func.count()).where(
            ConnectionAlert.notified_at.is_not(None)).group_by(ConnectionAlert.connection_id)).all())
        failed = dict(s.execute(select(Connection.id, func.count(PushIntent.id)).join(
            PushIntent, PushIntent.partner_id == Connection.partner_id).where(
            PushIntent.state == "failed").group_by(Connection.id)).all())
        budget: dict[str, tuple[int | None, int | None]] = {}
        for cid, _p, org_id, _n, _s, plan in conns:
            if org_id:
                spent = sum(calls_by_purpose(s, cid, window_start_from_runs(s, cid, now)).values())
                budget[cid] = (spent, max(PLAN_DAILY.get(plan or "premium", PLAN_DAILY["premium"]) - spent, 0))
    out = []
    for cid, partner, org_id, org_name, status, _plan in conns:
        used, left = budget.get(cid, (None, None))
        ok = _aware(last_ok.get(cid))
        out.append(ConsoleRow(cid, partner, org_name or org_id or "—", status, ok,
                              (now - ok).total_seconds() if ok else None, used, left, errors.get(cid, 0),
                              alerts.get(cid, 0), failed.get(cid, 0)))
    needle = q.strip().lower()
    if needle:
        out = [r for r in out if needle in f"{r.partner} {r.organization} {r.status} {r.connection_id}".lower()]
    key = sort if sort in SORT_KEYS else "partner"

    def order(row: ConsoleRow) -> tuple[bool, Any]:
        value = getattr(row, key)
        return (value is None, value.lower() if isinstance(value, str) else value)

    present = sorted((r for r in out if getattr(r, key) is not None), key=order, reverse=descending)
    return present + [r for r in out if getattr(r, key) is None]  # unknowns last either way


def sync_now(container: Dispatching, connection_id: str) -> bool:
    """Queue a pull of every stream (or the initial sync) for the connection."""
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None or not conn.organization_id:
            return False
    container.dispatcher.pull_requested(connection_id, None, "manual")
    return True


def retry_failed_pushes(container: Dispatching, connection_id: str) -> int:
    """Re-queue every failed push of the connection's partner; how many."""
    from ledgersync.sync import outbox
    from ledgersync.sync.push.engine import retry_intent

    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None:
            return 0
        partner_id = conn.partner_id
        ids = list(uow.session.scalars(select(PushIntent.id).where(PushIntent.partner_id == partner_id,
                                                                     PushIntent.state == "failed")))
    for intent_id in ids:
        retry_intent(container, intent_id)
    if ids:
        outbox.notify(container, partner_id)
    return len(ids)
