"""Initial sync: last 12 months first (the connection becomes usable), then all history, then
status Connected — resumable, budget-aware, one runner at a time per connection.

Phases live on the connection row (`initial_sync_phase`: recent -> history -> done); each
stream's position lives in its cursor, so a restart (or the next day, after the budget reset)
continues where it stopped. Work is ordered by value: customers and the last 12 months of
invoices with their line items at `pull` priority; history listing (cheap: 200 invoices a call)
and then line items of open old invoices, then of old paid ones, at `backfill` priority. The
limiter's reserves keep pushes (and hourly pulls) served while a backfill runs; when the
backfill's share of the day is spent the runner stops and is rescheduled at the reset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledgersync.store.orm import Connection
from ledgersync.sync.connection_status import mark_connected
from ledgersync.sync.ports import Dispatching, PullGateway
from ledgersync.sync.pull import leases
from ledgersync.sync.pull.context import PullPorts, open_books
from ledgersync.sync.pull.engine import RunResult, run_stream
from ledgersync.sync.pull.progress import initial_sync_progress
from ledgersync.zoho.errors import ZohoError

RECENT_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("customers", {}),
    ("invoices", {"stop_after": "recent"}),
    ("invoice_details", {"scope": "recent"}),
)
HISTORY_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("invoices", {}),
    ("invoice_details", {"scope": "all"}),
    ("invoice_deletions", {}),
    ("customer_deletions", {}),
)


def start_initial_sync(container: Dispatching, connection_id: str) -> None:
    """Called by the web part after the OAuth callback: mark the connection's initial sync as
    started and ask the dispatcher to run it now (non-blocking). The scheduler also picks up
    every connection whose phase is not `done`, so nothing is lost without a dispatcher."""
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None:
            return
        if conn.initial_sync_phase in (None, ""):
            conn.initial_sync_phase = "recent"
        uow.commit()
    container.dispatcher.pull_requested(connection_id, "initial", "initial")


def _phase(container: PullPorts, connection_id: str) -> str | None:
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        return conn.initial_sync_phase if conn else None


def _set_phase(container: PullPorts, connection_id: str, phase: str) -> None:
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is not None:
            conn.initial_sync_phase = phase
            uow.commit()


def _mark_connected(container: PullPorts, connection_id: str) -> None:
    with container.uow() as uow:
        if mark_connected(uow.session, connection_id):
            uow.commit()


def _remember_total(container: PullPorts, connection_id: str, owner: str, books: PullGateway | None) -> None:
    """One count call (`response_option=2`) so progress can say "n of N invoices"."""
    with container.uow() as uow:
        state = leases.read_state(uow.session, connection_id, "initial")
    if state.get("zoho_total") is not None:
        return
    from datetime import datetime, timezone

    from ledgersync.store.orm import SyncRun

    started = datetime.now(timezone.utc)
    try:
        total = (books or open_books(container, connection_id)).count_invoices(filter_by="Status.All")
    except ZohoError:
        return
    with container.uow() as uow:
        leases.save_state(uow.session, connection_id, "initial", owner, {**state, "zoho_total": total}, seconds=3600)
        # every Zoho call belongs to a run row (the budget panel counts calls by purpose from them)
        uow.session.add(SyncRun(connection_id=connection_id, stream="invoice_count", trigger="initial",
                                status="succeeded", started_at=started, finished_at=datetime.now(timezone.utc),
                                calls=1, message=f"{total} invoices in Zoho"))
        uow.commit()


def _run_steps(container: PullPorts, connection_id: str, steps: tuple[tuple[str, dict[str, Any]], ...],
               books: PullGateway | None, on_progress: Callable[[dict[str, Any]], None] | None, results: list[RunResult]) -> bool:
    """Run the steps in order; False as soon as one cannot finish (budget, failure, lease)."""
    for stream, params in steps:
        result = run_stream(container, connection_id, stream, trigger="initial", books=books, **params)
        results.append(result)
        if on_progress is not None:
            with container.uow() as uow:
                on_progress(initial_sync_progress(uow.session, connection_id))
        if result.skipped or result.status == "failed" or result.budget_retry_at is not None:
            return False
    return True


def run_initial_sync(container: PullPorts, connection_id: str, *, books: PullGateway | None = None,
                     on_progress: Callable[[dict[str, Any]], None] | None = None,
                     recent_only: bool = False) -> dict[str, Any]:
    """Blocking: advance the initial sync as far as the budget allows; returns the progress.

    `recent_only` stops once the last 12 months are in (the connection is usable): a Celery
    deployment runs that part with the incremental pulls and leaves the history to the
    backfill queue, so a new partner never waits behind another's large history."""
    owner = leases.new_owner()
    if not leases.acquire(container.session_factory, connection_id, "initial", owner, seconds=3600):
        with container.uow() as uow:
            return initial_sync_progress(uow.session, connection_id)
    results: list[RunResult] = []
    try:
        phase = _phase(container, connection_id) or "recent"
        if phase == "recent":
            _set_phase(container, connection_id, "recent")
            _remember_total(container, connection_id, owner, books)
            if _run_steps(container, connection_id, RECENT_STEPS, books, on_progress, results):
                phase = "history"
                _set_phase(container, connection_id, phase)
        if phase == "history" and not recent_only:
            if _run_steps(container, connection_id, HISTORY_STEPS, books, on_progress, results):
                phase = "done"
                _set_phase(container, connection_id, phase)
                _mark_connected(container, connection_id)
        with container.uow() as uow:
            progress = initial_sync_progress(uow.session, connection_id)
        progress["runs"] = [r.__dict__ | {"state": None} for r in results]
        return progress
    finally:
        leases.release(container.session_factory, connection_id, "initial", owner)
