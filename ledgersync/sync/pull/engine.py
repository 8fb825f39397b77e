"""The pull engine: takes the stream's lease, opens a run, runs the stream from its cursor,
closes the run — whatever happens.

Outcomes of a run (`sync_runs.status`): `succeeded`; `partial` (per-record errors, or the
daily budget ran out — the cursor is saved and `next_run_at` is the budget's reset); `failed`
(Zoho or the network failed past the connector's retries: a broken page; the cursor stays at
the last committed page and `next_run_at` is set seconds to minutes ahead, doubling with each
failure in a row, so the scheduler resumes the stream from its cursor by itself). A run that finds the lease held returns
`RunResult(skipped=True)` without touching Zoho: at most one run per connection and stream.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import update

from ledgersync.store.orm import Connection, SyncCursor
from ledgersync.sync import health
from ledgersync.sync.books_factory import ConnectionNotReady
from ledgersync.sync.ports import PullGateway
from ledgersync.sync.pull import leases
from ledgersync.sync.pull.context import PullPorts, PullRun, open_books
from ledgersync.sync.pull.runlog import finish_run, start_run
from ledgersync.sync.pull.streams import STREAMS
from ledgersync.zoho.errors import (
    BudgetExhausted,
    ZohoError,
    ZohoRateLimited,
    ZohoReauthorizationRequired,
    ZohoServerError,
    ZohoTransportError,
)

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    stream: str
    skipped: bool = False
    status: str = "skipped"
    run_id: str | None = None
    created: int = 0
    updated: int = 0
    archived: int = 0
    errors: int = 0
    calls: int = 0
    budget_retry_at: datetime | None = None
    message: str | None = None
    state: dict[str, Any] = field(default_factory=dict)


def run_stream(container: PullPorts, connection_id: str, stream: str, *, trigger: str = "schedule",
               books: PullGateway | None = None, **params: Any) -> RunResult:
    """Run one stream of one connection to the end of its available work (see module doc).
    The run row is closed in `finally`, whatever happens, with the reason it stopped."""
    declared = STREAMS.get(stream)
    if declared is None:
        raise ValueError(f"unknown stream {stream!r}")
    owner = leases.new_owner()
    if not leases.acquire(container.session_factory, connection_id, stream, owner):
        return RunResult(stream=stream, skipped=True, message="another run holds the lease")
    try:
        with container.uow() as uow:
            conn = uow.session.get(Connection, connection_id)
            if conn is None:
                raise ValueError(f"no connection {connection_id}")
            partner_id = conn.partner_id
            state = leases.read_state(uow.session, connection_id, stream)
        books = books if books is not None else open_books(container, connection_id)
        run = PullRun(container=container, connection_id=connection_id, partner_id=partner_id, stream=stream,
                      owner=owner, run_id=start_run(container.session_factory, connection_id, stream, trigger),
                      books=books, trigger=trigger, calls_at_start=books.calls_made,
                      fault_hook=container.pull_fault_hook, params=params)
        status, message, next_run = "failed", "interrupted", None
        auth_lost = disconnected = False
        try:
            try:
                state = declared.run(run, state, params)
                status = "succeeded"
            except BudgetExhausted as exc:
                status, next_run = "partial", exc.retry_at
                run.budget_retry_at = exc.retry_at
                message = budget_text(exc)
            except ZohoReauthorizationRequired as exc:
                message, auth_lost = f"Zoho needs re-authorisation: {exc}", True
            except ZohoError as exc:
                next_run = retry_at(container, connection_id, stream, exc)
                message = f"{outage_text(exc)}; retrying at {next_run.strftime('%H:%M:%S')} UTC"
                log.warning("pull stream failed", extra={"connection_id": connection_id, "stream": stream})
            except ConnectionNotReady:  # disconnected while this run was going: stop quietly, say so
                message, disconnected = "stopped: Zoho Books was disconnected", True
            except Exception as exc:  # never leave the run row 'running' forever (QA: after a disconnect)
                message = (f"interrupted by an internal error ({type(exc).__name__}: {str(exc)[:200]}); "
                           "resumed by a later run")
                raise
            if status == "succeeded" and run.stats.errors:
                status, message = "partial", f"{run.stats.errors} record(s) could not be synced; retried next run"
            _set_next_run(container, connection_id, stream, next_run)
        finally:
            finish_run(container.session_factory, run, status, message)
            if not disconnected:
                _report_health(container, connection_id, stream, status, message, auth_lost)
        with container.uow() as uow:
            state = leases.read_state(uow.session, connection_id, stream)
        counts = run.stats
        return RunResult(stream=stream, status=status, run_id=run.run_id, message=message,
                         budget_retry_at=next_run, state=state, created=counts.created, updated=counts.updated,
                         archived=counts.archived, errors=counts.errors, calls=counts.calls)
    finally:
        leases.release(container.session_factory, connection_id, stream, owner)


def _report_health(container: PullPorts, connection_id: str, stream: str, status: str, message: str | None,
                   auth_lost: bool) -> None:
    """The connection's health follows its runs (never raises: the run is what matters here)."""
    try:
        if auth_lost:
            health.auth_lost(container, connection_id, message or "Zoho refused the authorization")
        else:
            health.note_run(container, connection_id, stream, failed=status == "failed", detail=message)
    except Exception:
        log.exception("connection health update failed", extra={"connection_id": connection_id})


def _set_next_run(container: PullPorts, connection_id: str, stream: str, next_run: datetime | None) -> None:
    """When the scheduler should run this stream again before its regular interval (None: no hurry)."""
    with container.uow() as uow:
        uow.session.execute(
            update(SyncCursor).where(SyncCursor.connection_id == connection_id, SyncCursor.stream == stream)
            .values(next_run_at=next_run).execution_options(synchronize_session=False)
        )
        uow.commit()


def budget_text(exc: BudgetExhausted) -> str:
    """Why a run stopped for budget: the day is spent, or (history, the sweep) what is left today
    is kept for the hourly pulls and payments (`ratelimit._hourly_need_resume_at`)."""
    when = exc.retry_at.isoformat()
    if exc.priority == "backfill":
        return f"what is left of Zoho's daily API budget is kept for hourly pulls and payments; continuing at {when}"
    return f"Zoho's daily API budget is used up; continuing at {when}"


def outage_text(exc: ZohoError) -> str:
    """What the partner reads about a failed Zoho call (no token, no request body)."""
    if isinstance(exc, ZohoRateLimited):
        return f"Zoho is refusing calls for now (too many requests, {exc.limit} limit)"
    if isinstance(exc, ZohoTransportError):
        return f"Zoho is not answering ({str(exc)[:160]})"
    if isinstance(exc, ZohoServerError) and exc.status < 500:
        return f"Zoho sent an unreadable answer ({exc.message[:160]})"
    if isinstance(exc, ZohoServerError):
        return f"Zoho is failing (HTTP {exc.status}: {exc.message[:160] or 'no message'})"
    return f"Zoho call failed: {str(exc)[:200]}"


def retry_at(container: PullPorts, connection_id: str, stream: str, exc: ZohoError) -> datetime:
    """When to try a failed stream again: Zoho's own reset for a 429 when it gives one, else an
    exponential backoff from `pull_retry_base_s` capped at `pull_retry_max_s` (this run counts)."""
    settings = container.settings
    with container.uow() as uow:
        failures = health.failures_in_a_row(uow.session, connection_id, stream) + 1
    delay = min(settings.pull_retry_max_s, settings.pull_retry_base_s * (2 ** min(failures - 1, 16)))
    if isinstance(exc, ZohoRateLimited) and exc.retry_after:
        delay = max(delay, min(float(exc.retry_after), settings.pull_retry_max_s))
    return datetime.now(timezone.utc) + timedelta(seconds=delay)
