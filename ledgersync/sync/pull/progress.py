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

from ledgersync.store.orm import Connection, ExternalRef, Invoice, SyncCursor

PLAN_DAILY = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}
BACKFILL_DAY_SHARE = 0.75
BACKFILL_PER_MINUTE = 80


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
        base.where(ExternalRef.details_synced_at.is_not(None), ExternalRef.details_synced_at == ExternalRef.zoho_last_modified)
    ).scalar_one())
    cursors = {c.stream: c for c in session.execute(select(SyncCursor).where(SyncCursor.connection_id == connection_id)).scalars()}
    initial_state = dict(cursors["initial"].state or {}) if "initial" in cursors else {}
    total = initial_state.get("zoho_total")
    total = int(total) if total is not None else None
    pending = max(0, listed - done)
    unlisted = max(0, (total or listed) - listed)
    remaining_calls = pending + math.ceil(unlisted / 200)
    phase = conn.initial_sync_phase
    budget_until = [c.next_run_at for c in cursors.values() if c.next_run_at is not None]
    now = datetime.now(timezone.utc)
    blocked_until = max(budget_until) if budget_until else None
    if phase == "done":
        percent, eta = 100.0, 0.0
    else:
        denominator = max(total or listed, 1)
        percent = round(100.0 * min(done, denominator) / denominator, 1)
        per_day = PLAN_DAILY.get(conn.plan or "premium", 10000) * BACKFILL_DAY_SHARE
        days = math.floor(remaining_calls / per_day) if per_day else 0
        eta = remaining_calls / BACKFILL_PER_MINUTE * 60 + days * 86400
        if blocked_until and blocked_until > now:
            eta += (blocked_until - now).total_seconds()
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
