"""Line items: one `GET /invoices/{id}` per invoice, only for invoices whose Zoho
`last_modified_time` moved since their details were fetched, most valuable first.

Value order (the budget plan): invoices of the last 12 months and open invoices of any age
first, at `pull` priority; old paid/void history last, at `backfill` priority in the initial sync
(the limiter refuses backfill calls before they eat the reserve kept for pulls and payment
pushes); an hourly run reads them at `pull` (`_priority`). With
`history_line_items="on_demand"` the old paid ones are not fetched at all until someone opens
them (`ledgersync.sync.pull.records.ensure_line_items`). A `BudgetExhausted` from the limiter ends the run after committing
what was fetched; the engine schedules the next run at the budget's reset.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from ledgersync.domain.pull_rules import UNPAID_STATUSES
from ledgersync.store.orm import ExternalRef, Invoice
from ledgersync.sync.pull import leases
from ledgersync.sync.pull.context import PullRun, recent_cutoff
from ledgersync.sync.pull.read_ahead import ReadAhead
from ledgersync.sync.pull.runlog import hourly_need, record_error, resolve_errors, write_counters
from ledgersync.sync.pull.upserts import PageOutcome, apply_invoice_details, apply_rows, prefetch_customers
from ledgersync.zoho.errors import ZohoNotFound

ARCHIVED_DELETED = "deleted in Zoho Books"


def pending_details_query(connection_id: str, cutoff: date, *, scope: str = "all", on_demand: bool = False) -> Any:
    """Invoices whose line items are missing or stale, valuable first: (zoho_id, valuable)."""
    valuable = or_(Invoice.issue_date >= cutoff, Invoice.status.in_(sorted(UNPAID_STATUSES)))
    rank = case((valuable, 0), else_=1)
    query = (
        select(ExternalRef.zoho_id, rank.label("rank"))
        .join(Invoice, Invoice.id == ExternalRef.local_id)
        .where(
            ExternalRef.connection_id == connection_id,
            ExternalRef.entity == "invoice",
            Invoice.archived.is_(False),
            or_(ExternalRef.details_due.is_(True), ExternalRef.details_synced_at.is_(None)),
        )
        .order_by(rank, Invoice.issue_date.desc(), ExternalRef.zoho_id)
    )
    if scope == "recent":
        query = query.where(Invoice.issue_date >= cutoff)
    elif on_demand:
        query = query.where(valuable)
    return query


def count_pending(session: Session, connection_id: str, cutoff: date, *, scope: str = "all", on_demand: bool = False) -> int:
    from sqlalchemy import func

    sub = pending_details_query(connection_id, cutoff, scope=scope, on_demand=on_demand).subquery()
    return int(session.execute(select(func.count()).select_from(sub)).scalar_one())


def run_details(run: PullRun, state: dict[str, Any], *, scope: str = "all") -> dict[str, Any]:
    cutoff = recent_cutoff(run.container)
    on_demand = run.options.history_line_items == "on_demand"
    failed: set[str] = set()
    batch = run.options.detail_batch
    while True:
        # one value-ordered query per ~1,000 candidates (not per batch: the ORDER BY scans every
        # pending invoice, which is 100,000 rows on a large history)
        with run.container.uow() as uow:
            rows = uow.session.execute(
                pending_details_query(run.connection_id, cutoff, scope=scope, on_demand=on_demand)
                .limit(batch * 20 + len(failed))
            ).all()
        candidates = [(z, rank) for z, rank in rows if z not in failed]
        if not candidates:
            return state
        keys = [(z, _priority(run, rank)) for z, rank in candidates]
        state = read_and_commit(run, keys, failed, state)


def _priority(run: PullRun, rank: int) -> str:
    """The initial sync reads old paid/void invoices at `backfill` (history can wait for budget
    nobody else needs). An hourly run's reads are hourly work whatever the invoice's age (an old
    invoice whose exchange rate moved): `pull`, which the limiter's hourly need never refuses."""
    return "backfill" if rank != 0 and run.trigger == "initial" else "pull"


def read_and_commit(run: PullRun, keys: list[tuple[str, str]], failed: set[str],
                    state: dict[str, Any]) -> dict[str, Any]:
    """Read the details of `keys` ((zoho_id, priority), in order) with reads in flight while the
    previous ones are applied (`read_ahead`), committing every `detail_batch`. What was read
    before a failure (the budget is spent, the deadline passed) is committed, then the failure
    is raised."""
    batch = run.options.detail_batch
    fetched: list[tuple[str, dict[str, Any] | None]] = []
    try:
        with ReadAhead(lambda key: _read_detail(run, *key), keys, run.options.detail_read_ahead) as reads:
            for (zoho_id, _), record in reads:
                fetched.append((zoho_id, record))
                if len(fetched) >= batch:
                    done, fetched = fetched, []
                    state = _commit_details(run, done, failed, state)
    finally:
        if fetched:
            state = _commit_details(run, fetched, failed, state)
    return state


def _read_detail(run: PullRun, zoho_id: str, priority: str) -> dict[str, Any] | None:
    """The invoice's detail record, or None when it was deleted since we listed it."""
    try:
        return run.books.invoice_record(zoho_id, priority=priority)
    except ZohoNotFound:
        return None


def _commit_details(run: PullRun, fetched: list[tuple[str, dict[str, Any] | None]], failed: set[str],
                    state: dict[str, Any]) -> dict[str, Any]:
    details = [d for _, d in fetched if d is not None]
    prefetch_customers(run, details)
    with run.container.uow() as uow:
        session = uow.session
        outcome = apply_rows(session, run, details, "invoice_details", "invoice_id", _apply_details)
        ok = outcome.ok_ids
        failed.update(outcome.bad_ids)
        failed.update(set(z for z, d in fetched if d is not None) - set(ok))  # never fetch a bad one twice a run
        for zoho_id, detail in fetched:
            if detail is None:
                _archive_deleted(session, run, zoho_id)
        resolve_errors(session, run.connection_id, "invoice_details", ok)
        state = {**state, "fetched": int(state.get("fetched") or 0) + len(ok)}
        leases.save_state(session, run.connection_id, run.stream, run.owner, state)
        write_counters(session, run)
        run.fault("before_commit")
        uow.commit()
    run.pages += 1
    run.fault("page_committed")
    return state


def _apply_details(session: Session, run: PullRun, details: list[dict[str, Any]]) -> PageOutcome:
    ok, bad = apply_invoice_details(session, run, details)
    for exc in bad:
        record_error(session, run, exc.zoho_id, exc.message, stream="invoice_details")
    return PageOutcome(ok_ids=ok, bad_ids=[exc.zoho_id for exc in bad if exc.zoho_id])


def _archive_deleted(session: Session, run: PullRun, zoho_id: str) -> None:
    ref = session.execute(
        select(ExternalRef).where(ExternalRef.connection_id == run.connection_id, ExternalRef.entity == "invoice",
                                  ExternalRef.zoho_id == zoho_id)
    ).scalar_one_or_none()
    inv = session.get(Invoice, ref.local_id) if ref else None
    if inv is not None and not inv.archived:
        inv.archived, inv.archived_reason = True, ARCHIVED_DELETED
        run.stats.archived += 1


# --------------------------------------------------------------------------- daily sweep
#
# The hourly details stream reads only invoices whose line items can have changed (issue 13,
# `pull_rules.detail_call_reason`). A line-item edit that keeps every list-row field is
# invisible in the list, so once a day the sweep re-reads the details of every invoice modified
# since its last detail read, oldest read first, at `backfill` priority: it spends only budget
# the limiter would otherwise leave unused (backfill leaves a quarter of the day and part of
# every minute to hourly pulls and pushes). When the budget runs out the sweep stops and the
# next hourly run resumes it (after the reset); the day it finished is kept in its cursor.

SWEEP_STREAM = "invoice_details_sweep"
SWEEP_EVERY_S = 24 * 3600
#: a sweep due at 24 h may start a little early (an hourly run that began a minute before)
SWEEP_SLACK_S = 600


def sweep_query(connection_id: str) -> Any:
    """Invoices modified since their last detail read and not already due hourly: (zoho_id,)."""
    return (
        select(ExternalRef.zoho_id)
        .join(Invoice, Invoice.id == ExternalRef.local_id)
        .where(
            ExternalRef.connection_id == connection_id,
            ExternalRef.entity == "invoice",
            Invoice.archived.is_(False),
            ExternalRef.details_due.is_(False),
            ExternalRef.details_synced_at.is_not(None),
            ExternalRef.details_synced_at != ExternalRef.zoho_last_modified,
        )
        .order_by(ExternalRef.details_synced_at, ExternalRef.zoho_id)
    )


def sweep_due(state: dict[str, Any], now: Any) -> bool:
    """A day since the last sweep (the first run only starts the clock: the initial sync has
    just read every invoice's details)."""
    from datetime import datetime

    last = state.get("swept_at")
    if not last:
        return False
    return (now - datetime.fromisoformat(str(last))).total_seconds() >= SWEEP_EVERY_S - SWEEP_SLACK_S


def _leave_the_hourly_need(run: PullRun) -> None:
    """Outside the initial sync, the sweep is what spends `backfill`: before it may, tell the
    limiter what the hourly pull work needs (`runlog.hourly_need`), so backfill leaves that for
    the rest of the day. Once per cycle, in the cycle's last stream (not before every run)."""
    with run.container.uow() as uow:
        need = hourly_need(uow.session, run.connection_id, run.container.settings.pull_interval_s)
    run.books.keep_for_hourly(need)


def run_sweep(run: PullRun, state: dict[str, Any]) -> dict[str, Any]:
    """Once a day: re-read details of invoices modified since their last detail read."""
    from ledgersync.sync.pull.context import now_of
    from ledgersync.zoho.errors import BudgetExhausted

    _leave_the_hourly_need(run)
    now = now_of(run.container)
    if not state.get("swept_at"):
        state = {**state, "swept_at": now.isoformat()}
        with run.container.uow() as uow:
            leases.save_state(uow.session, run.connection_id, run.stream, run.owner, state)
            uow.commit()
        return state
    if not sweep_due(state, now):
        return state
    failed: set[str] = set()
    batch = run.options.detail_batch
    while True:
        with run.container.uow() as uow:
            # a batch at a time: an invoice another run re-reads meanwhile (a webhook) drops out
            ids = [z for z in uow.session.execute(
                sweep_query(run.connection_id).limit(batch + len(failed))).scalars() if z not in failed][:batch]
        if not ids:
            break
        try:
            state = read_and_commit(run, [(z, "backfill") for z in ids], failed, state)
        except BudgetExhausted:
            return state  # resumed by the next hourly run once the budget is back
    state = {**state, "swept_at": now.isoformat()}
    with run.container.uow() as uow:
        leases.save_state(uow.session, run.connection_id, run.stream, run.owner, state)
        uow.commit()
    return state
