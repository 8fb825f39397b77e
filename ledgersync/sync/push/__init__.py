"""Push sync, platform → Zoho: drain the outbox of one connection, exactly once.

`drain_outbox(container, connection_id)` is what the dispatcher (on `outbox.notify`) and the
safety-net schedule call. It is safe to call from many threads or processes at once: each
intent is claimed with a lease (see `engine.claim`), so concurrent drains share the work and
never write the same intent twice.

Order: intents are tried in the order of their causes (enqueue time), and what may go is decided
per intent by the rules in `domain/push_rules.py`: a payout waits for its payments, a
reversal for its payment's push (and payout), and pushes touching one Zoho invoice take
effect one at a time in the order of their causes (`invoice_turn`: a payment made after an ACH
return waits for the return's reversal). An intent that must wait is deferred a few seconds;
a drain makes several passes so a whole chain usually goes in one call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import or_, select

from ledgersync.store.orm import Connection, PushIntent, SyncRun
from ledgersync.sync.books_factory import ConnectionNotReady, ZohoAccess
from ledgersync.sync.ports import Transactional
from ledgersync.sync.push.engine import (
    DrainResult,
    Hooks,
    PushConfig,
    SimulatedCrash,
    Waiting,
    adopt_orphans,
    new_worker_id,
    process_intent,
    retry_intent,
    take,
)
from ledgersync.sync.push.zoho_writes import MeteredBooks

__all__ = ["DrainResult", "Hooks", "PushConfig", "SimulatedCrash", "connections_with_due_pushes", "drain_outbox",
           "retry_intent"]


def _default_books(container: ZohoAccess, connection_id: str) -> MeteredBooks:
    return container.books_factory(container, connection_id)


def due_intents(container: Transactional, connection_id: str, cfg: PushConfig, *,
                adopt: bool = True) -> list[tuple[str, str]]:
    """(id, kind) of every intent of the connection that may be worked now, in push order.

    `adopt`: first attach the partner's intents enqueued before the connection existed (a drain
    does it on its first pass only: its later passes are milliseconds apart)."""
    now = cfg.now()
    with container.uow() as uow:
        s = uow.session
        if adopt:
            conn = s.get(Connection, connection_id)
            if conn is None:
                return []
            adopt_orphans(s, conn)
            uow.commit()
        rows = s.execute(
            select(PushIntent.id, PushIntent.kind, PushIntent.created_at)
            .where(
                PushIntent.connection_id == connection_id,
                or_(
                    PushIntent.state.in_(("pending", "uncertain", "in_flight")) & (PushIntent.next_attempt_at <= now),
                    PushIntent.state == "waiting",
                ),
                or_(PushIntent.lease_until.is_(None), PushIntent.lease_until < now),
                or_(PushIntent.write_deadline.is_(None), PushIntent.write_deadline < now),
            )
        ).all()
    rows = sorted(rows, key=lambda r: (r[2], r[0]))  # the order of their causes (see invoice_turn)
    return [(r[0], r[1]) for r in rows]


def connections_with_due_pushes(container: Transactional, now: datetime | None = None) -> list[str]:
    """Connections with an intent that a drain could work right now (one indexed query).

    Due: not waiting for the partner, its next attempt time reached, no live lease (a worker that
    died stops renewing its lease, see `engine.Heartbeat`) and no write that could still land.
    A scheduler that asks this every few seconds takes over a dead worker's push within seconds
    of its lease running out, instead of at the next safety-net round.
    """
    now = now or datetime.now(timezone.utc)
    with container.uow() as uow:
        rows = uow.session.execute(
            select(PushIntent.connection_id).distinct().where(
                PushIntent.state.in_(("pending", "uncertain", "in_flight")),
                PushIntent.next_attempt_at <= now,
                PushIntent.connection_id.is_not(None),
                or_(PushIntent.lease_until.is_(None), PushIntent.lease_until < now),
                or_(PushIntent.write_deadline.is_(None), PushIntent.write_deadline < now),
            )
        ).scalars().all()
    return [r for r in rows if r]


def drain_outbox(
    container: ZohoAccess,
    connection_id: str,
    *,
    books: MeteredBooks | None = None,
    open_books: Callable[[], MeteredBooks] | None = None,
    worker_id: str | None = None,
    hooks: Hooks | None = None,
    cfg: PushConfig | None = None,
    max_passes: int = 4,
    max_intents: int | None = None,
    trigger: str = "event",
) -> DrainResult:
    """Push every due intent of the connection; returns what happened (counts and notes).

    `books` is a client to use as it is, `open_books` a function that builds one when the first
    intent needs Zoho (tests hand either, bound to the in-process sandbox); by default
    `container.books_factory(container, connection_id)` builds one lazily, so a drain with only
    waiting intents makes no Zoho call. A connection that cannot build a client (not connected)
    parks its intents as `waiting`.

    A worker task's time limit (`workers/deadline.py`) stops the drain before its next Zoho
    request: the intent being worked is given back due now (`result.stopped`), and the intents
    not reached wait for the next drain.

    A drain that did work (or was stopped) leaves one `sync_runs` row (stream `push`, `trigger` as given:
    `event` from the dispatcher, `schedule` from the safety net, `manual` from Retry) whose
    message says what was written to Zoho, so the sync log shows pushes next to pulls.
    """
    started = (cfg or PushConfig()).now()
    result = _drain(container, connection_id, _opener(container, connection_id, books, open_books),
                    worker_id=worker_id, hooks=hooks, cfg=cfg, max_passes=max_passes, max_intents=max_intents)
    if result.done or result.failed or result.retried or result.stopped:
        _log_run(container, result, trigger, started, (cfg or PushConfig()).now())
    return result


def _opener(container: ZohoAccess, connection_id: str, books: MeteredBooks | None,
            open_books: Callable[[], MeteredBooks] | None) -> Callable[[], MeteredBooks]:
    """How the drain gets its client: the one given, the caller's way to build one, or the container's."""
    if books is not None and open_books is not None:
        raise TypeError("pass a client (books) or a way to build one (open_books), not both")
    if open_books is not None:
        return open_books
    if books is not None:
        client = books
        return lambda: client
    return lambda: _default_books(container, connection_id)


def _log_run(container: Transactional, result: DrainResult, trigger: str, started: datetime,
             finished: datetime) -> None:
    """One `sync_runs` row for a drain that did work (best effort: the pushes are already durable)."""
    status = "succeeded" if not (result.failed or result.retried) else ("failed" if not result.done else "partial")
    if result.stopped:  # the task's time limit: what is left goes to the next drain
        status = "partial"
    counts = (f"{result.done} done, {result.waiting} waiting, {result.failed} failed, "
              f"{result.retried} to retry, {result.deferred} deferred")
    message = "\n".join([counts, *result.messages])[:8000]
    try:
        with container.uow() as uow:
            uow.session.add(SyncRun(connection_id=result.connection_id, stream="push", trigger=trigger[:16],
                                    status=status, started_at=started, finished_at=finished, created=result.done,
                                    errors=result.failed, calls=result.calls, message=message))
            uow.commit()
    except Exception:  # noqa: BLE001 - the log must never undo or block a push
        logging.getLogger(__name__).exception("could not record the push run of %s", result.connection_id)


def _drain(
    container: Transactional,
    connection_id: str,
    open_books: Callable[[], MeteredBooks],
    *,
    worker_id: str | None,
    hooks: Hooks | None,
    cfg: PushConfig | None,
    max_passes: int,
    max_intents: int | None,
) -> DrainResult:
    cfg = cfg or PushConfig()
    hooks = hooks or Hooks()
    worker = worker_id or new_worker_id()
    result = DrainResult(connection_id)
    cache: dict[str, MeteredBooks] = {}

    def factory() -> MeteredBooks:
        if "b" not in cache:
            try:
                cache["b"] = open_books()
            except ConnectionNotReady as e:
                raise Waiting(str(e)) from e
        return cache["b"]

    try:
        return _passes(container, connection_id, factory, worker, cfg, hooks, result, max_passes, max_intents)
    finally:
        made = cache.get("b")
        result.calls = made.calls_made if made is not None else 0


def _passes(container: Transactional, connection_id: str, factory: Callable[[], MeteredBooks], worker: str, cfg: PushConfig,
            hooks: Hooks, result: DrainResult, max_passes: int, max_intents: int | None) -> DrainResult:
    handled = 0
    seen_waiting: set[str] = set()
    for n in range(max_passes):
        progressed = False
        for intent_id, _kind in due_intents(container, connection_id, cfg, adopt=n == 0):
            if max_intents is not None and handled >= max_intents:
                return result
            if intent_id in seen_waiting:
                continue
            claimed = take(container, intent_id, worker, cfg)
            if claimed is None:
                result.skipped += 1
                continue
            handled += 1
            outcome = process_intent(container, factory, intent_id, worker=worker, cfg=cfg, hooks=hooks, result=result,
                                     claimed=claimed)
            if outcome == "stopped":  # the task's time limit: this drain sends nothing more
                return result
            if outcome in ("done", "cancelled", "failed"):
                progressed = True
            elif outcome == "waiting":
                seen_waiting.add(intent_id)
        if not progressed:
            break
    return result
