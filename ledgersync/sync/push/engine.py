"""The push state machine: one outbox intent at a time, every step durable, exactly once.

Life of an intent (`push_intents.state`): `pending` → claimed (`in_flight`, a lease taken by a
conditional UPDATE, so two workers never work the same intent) → preconditions (connection
connected, accounts set up, token valid; otherwise `waiting` with the reason, re-checked on
every drain) → prepare (one short transaction: the planner of the intent's kind loads its
facts, the pure rules of `domain/push_rules.py` decide plan / defer / cancel, and the intent
takes its turn on the Zoho invoices it touches) → plan (the planner's Zoho reads, outside any
transaction) → for each write of the plan:

1. if the step's previous attempt had an unknown outcome (`uncertain`), **look before
   writing**: search Zoho by the step's reference number; found → adopt its id, not found →
   write;
2. persist the step as `uncertain` (and the intent as `uncertain`) and COMMIT — before the
   write leaves the process, so a crash after Zoho applied it is always followed by a look-up;
3. write: right before each attempt is sent, check the fencing token and set the intent's
   `write_deadline` (`fence_write`), so a worker that lost the intent sends nothing and no
   taker-over looks up (and re-sends) while this attempt could still land;
4. commit the step's Zoho id.

Leases: the claim takes a new fencing token (`fence`); a heartbeat thread renews the lease
while the worker lives, so a worker that died (any host, any scheduler) loses the intent
within `PushConfig.lease_seconds`, and the next drain takes it over (after the write deadline,
if a write was on its way) instead of after a fixed 600 s.

When every step is recorded, the affected invoices are refreshed from Zoho (so the platform
shows Zoho's result; a failed read retries the intent: it is part of the push), then the
mapping (`external_refs`), the Zoho id and `done` commit in one transaction. Only then may
another push touching the same invoice (a reversal, a later payment) plan. Transient failures
(429, 5xx, transport, budget) back off; permanent refusals become `failed` with Zoho's message
and wait for a manual Retry.

No transaction is open while Zoho is called or the rate limiter waits: each transaction here
is short and local (a push used to hold SQLite's write lock across `GET /invoices/{id}` and
limiter waits, and the API's payment writes failed with "database is locked").

Crash points: `Hooks.at(point, intent_key)` is called at every named step; the fault campaign
raises `SimulatedCrash` from it to prove a crash anywhere leaves nothing lost or doubled.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ledgersync.domain import push_rules as rules
from ledgersync.domain.push_intent import IntentDetail, StepRecord
from ledgersync.observability import logs
from ledgersync.store.orm import (
    Connection,
    ExternalRef,
    PushIntent,
    SyncError,
)
from ledgersync.sync import outbox
from ledgersync.sync.ports import Transactional
from ledgersync.sync.push.config import PushConfig, utcnow
from ledgersync.sync.push.leases import (
    Claimed,
    Heartbeat,
    Lease,
    LeaseLost,
    claim,
    clear_write_deadline,
    fence_write,
    held,
    release,
    renew_lease,
    take,
)
from ledgersync.sync.push.planners import IntentFacts, PlanContext, Planner, planner_for
from ledgersync.sync.push.refresh import refresh_invoices
from ledgersync.sync.push.turns import INVOICE_KINDS, lock_invoices, neighbours
from ledgersync.sync.push.zoho_writes import Books, FencedBooks, find_existing, perform
from ledgersync.zoho.books import BooksOver
from ledgersync.zoho.errors import (
    BudgetExhausted,
    RequestWithheld,
    ZohoAPIError,
    ZohoAuthError,
    ZohoError,
    ZohoNotFound,
    ZohoRateLimited,
    ZohoReauthorizationRequired,
    ZohoRejected,
    ZohoScopeError,
    ZohoServerError,
    ZohoTransportError,
)

log = logging.getLogger(__name__)

# The engine's seams (tests, the fault campaign and the workers import them from here).
__all__ = [
    "ACTIVE_STATES", "CRASH_POINTS", "Deferred", "DrainResult", "Heartbeat", "Hooks", "Lease", "LeaseLost",
    "PushConfig", "SimulatedCrash", "Waiting", "adopt_orphans", "claim", "describe_write", "fence_write",
    "new_worker_id", "process_intent", "renew_lease", "retry_intent", "take", "utcnow",
]

ACTIVE_STATES = ("pending", "in_flight", "uncertain", "waiting")
CRASH_POINTS = (
    "claimed",
    "planned",
    "before_mark_uncertain",
    "before_write",
    "after_write",
    "after_record_step",
    "before_done",
    "after_done",
)


class SimulatedCrash(BaseException):
    """Raised by a test hook to kill the worker at a named point (BaseException: nothing catches it)."""


class Hooks:
    """Fault-injection seam; the default does nothing."""

    def at(self, point: str, intent_key: str) -> None:  # pragma: no cover - trivial
        return None


class Deferred(Exception):
    """The intent depends on another one that is not finished yet; try again shortly."""


class Waiting(Exception):
    """The partner must act (connect, set up accounts, re-authorise); nothing is dropped."""


@dataclass
class DrainResult:
    connection_id: str
    done: int = 0
    waiting: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    skipped: int = 0  # held by another worker
    calls: int = 0
    messages: list[str] = field(default_factory=list)
    stopped: bool = False  # the task's time limit stopped the drain (the intent it worked is due again)

    @property
    def processed(self) -> int:
        return self.done + self.waiting + self.failed + self.retried + self.deferred


# --------------------------------------------------------------------------- preparing


def _accounts(conn: Connection) -> rules.Accounts:
    return rules.Accounts(
        undeposited_account_id=conn.undeposited_account_id or "",
        bank_account_id=conn.bank_account_id or "",
        fees_account_id=conn.fees_account_id or "",
        base_currency=conn.currency_code or "USD",
        income_account_id=conn.income_account_id or None,
    )


def _ref(session: Session, connection_id: str, entity: str, local_id: str) -> ExternalRef | None:
    return session.scalars(
        select(ExternalRef).where(
            ExternalRef.connection_id == connection_id,
            ExternalRef.entity == entity,
            ExternalRef.local_id == local_id,
        )
    ).first()


def _detail(intent: PushIntent) -> IntentDetail:
    return IntentDetail.from_json(intent.detail)


def _store(intent: PushIntent, detail: IntentDetail) -> None:
    intent.detail = detail.to_json()


@dataclass(frozen=True)
class Prepared:
    """What the prepare transaction found: a snapshot to plan from, or the intent closed."""

    key: str
    planner: Planner | None = None
    snapshot: Any = None
    ctx: PlanContext | None = None
    cancelled: str | None = None
    detail: IntentDetail | None = None  # the intent's detail as this transaction committed it


def _prepare(container: Transactional, lease: Lease, cfg: PushConfig, hooks: Hooks) -> Prepared:
    """Preconditions, facts from the database and the when-to-write rules, in one short transaction.

    Checks the connection (not connected, accounts not set up, … → `Waiting`, nothing written),
    decides (pure rules, `push_rules`) whether the intent is planned now, deferred behind another
    intent, or cancelled; takes the intent's turn on its invoices (`push_rules.invoice_turn`) and
    marks it `in_flight`. No Zoho call happens here: the Zoho reads of the plan come after this
    transaction ended. (The precondition check had its own transaction and commit before; that
    commit guarded nothing: a crash after it left an `in_flight` intent that planned nothing.)
    """
    with container.uow() as uow:
        s = uow.session
        row = s.get(PushIntent, lease.intent_id)
        if row is None or row.lease_owner != lease.worker or row.fence != lease.fence:
            raise LeaseLost(lease.intent_id)
        hooks.at("claimed", row.key)
        conn = (s.get(Connection, row.connection_id) if row.connection_id
                else outbox.find_connection(s, row.partner_id))
        reason = outbox.waiting_reason(conn)
        if reason:
            raise Waiting(reason)
        assert conn is not None
        planner = planner_for(row.kind)
        facts = IntentFacts(row.id, row.key, row.kind, row.subject_id, _detail(row))
        invoices = planner.invoices(s, facts) if row.kind in INVOICE_KINDS else ()
        if invoices:
            lock_invoices(s, lease.intent_id, invoices)
        intent = held(s, lease, lock=True)
        facts = IntentFacts(intent.id, intent.key, intent.kind, intent.subject_id, _detail(intent))
        ctx = PlanContext(conn.id, _accounts(conn), cfg.now().date())
        loaded = planner.load(s, facts, ctx)
        intent.connection_id = conn.id  # a no-op unless the intent came before its connection
        if isinstance(loaded, rules.Cancel):
            _close_cancelled(s, intent, loaded.reason, cfg)
            uow.commit()
            return Prepared(intent.key, cancelled=loaded.reason)
        if isinstance(loaded, rules.CancelPaymentPush):
            if _cancel_idle_payment_push(s, intent.subject_id, cfg):
                _close_cancelled(s, intent, loaded.reason, cfg)
                uow.commit()
                return Prepared(intent.key, cancelled=loaded.reason)
            raise Deferred("waiting for the payment's push to finish")
        if isinstance(loaded, rules.Defer):
            raise Deferred(loaded.reason)
        if invoices and not facts.detail.holds_invoices:
            turn = rules.invoice_turn(neighbours(s, intent, invoices))
            if isinstance(turn, rules.Defer):
                raise Deferred(turn.reason)
            _store(intent, _detail(intent).with_changes(holds_invoices=True))
        if intent.state in ("pending", "waiting"):
            intent.state = "in_flight"  # set last: an earlier change would be flushed by a query above
        uow.commit()
        return Prepared(intent.key, planner, loaded, ctx, detail=_detail(intent))


def _close_cancelled(session: Session, intent: PushIntent, reason: str, cfg: PushConfig) -> None:
    intent.state, intent.last_error, intent.done_at = "cancelled", reason, cfg.now()
    release(session, intent)


def _cancel_idle_payment_push(session: Session, payment_id: str, cfg: PushConfig) -> bool:
    """Cancel a payment's push that never started, only if no worker holds it (one atomic UPDATE)."""
    now = cfg.now()  # the engine's clock, like every lease check
    res = session.execute(
        update(PushIntent)
        .where(PushIntent.key == outbox.payment_key(payment_id),
               PushIntent.state.in_(("pending", "waiting", "failed")),
               or_(PushIntent.lease_until.is_(None), PushIntent.lease_until < now))
        .values(state="cancelled", last_error="payment failed before it was pushed", done_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount == 1)  # type: ignore[attr-defined]  # an UPDATE's result


class PendingPlan:
    """The plan's detail (applications, unused credit, flags, …) until an intent write stores it.

    It used to have a transaction and a commit of its own right after planning. It now rides
    with the next transaction that writes the intent anyway — the first step's `uncertain`
    mark, a look-up's adoption, `_finish`, or `_park`/`_fail` — merged the same way (the row's
    steps and turn kept). That commit guarded nothing: a crash before the first mark leaves no
    step, and the next attempt plans again from fresh Zoho balances either way.
    """

    def __init__(self) -> None:
        self.detail: IntentDetail | None = None

    def apply(self, intent: PushIntent) -> None:
        """Merge the plan into the locked row (call `stored()` once that transaction committed)."""
        if self.detail is not None:
            current = _detail(intent)
            _store(intent, self.detail.with_changes(steps=current.steps, holds_invoices=current.holds_invoices))

    def stored(self) -> None:
        self.detail = None


# --------------------------------------------------------------------------- one intent


def process_intent(
    container: Transactional,
    books_factory: Callable[[], Books],
    intent_id: str,
    *,
    worker: str,
    cfg: PushConfig,
    hooks: Hooks,
    result: DrainResult,
    claimed: Claimed | None = None,
) -> str:
    """Work one claimed intent to its next resting state; returns that state.

    `claimed` is what `take` returned (its token and key); without it the row is read.

    No database transaction is open while Zoho is called or the rate limiter waits: every
    transaction below is short and makes no Zoho call (`_prepare`, each step's mark and record,
    each refresh's write, `_finish`).
    """
    if claimed is None:
        with container.uow() as uow:
            row = uow.session.get(PushIntent, intent_id)
            if row is None or row.lease_owner != worker:
                result.skipped += 1
                return "lost"
            claimed = Claimed(row.fence, row.key)
    lease = Lease(intent_id, worker, claimed.fence)
    with Heartbeat(container, lease, cfg):
        return _work(container, books_factory, lease, claimed.key, cfg=cfg, hooks=hooks, result=result)


def _work(container: Transactional, books_factory: Callable[[], Books], lease: Lease, key: str, *, cfg: PushConfig,
          hooks: Hooks, result: DrainResult) -> str:
    pending = PendingPlan()
    logs.bind(intent_id=lease.intent_id)  # every log line of this intent's steps carries its id
    try:
        prepared = _prepare(container, lease, cfg, hooks)
        if prepared.cancelled is not None:
            result.done += 1
            result.messages.append(f"{key}: {prepared.cancelled}")
            return "cancelled"
        assert prepared.planner is not None and prepared.ctx is not None
        books = books_factory()
        gateway = BooksOver(books)  # the named Zoho calls, over the client's verbs
        plan = prepared.planner.plan(prepared.snapshot, gateway, prepared.ctx)  # Zoho reads, no transaction
        pending.detail = plan.detail
        hooks.at("planned", key)
        assert prepared.detail is not None
        for write in plan.writes:
            # the step as prepare read it under our lease: only this worker writes it until it lets go
            _run_step(container, books, lease, key, write, prepared.detail.step(write.step), pending,
                      cfg=cfg, hooks=hooks)
        hooks.at("before_done", key)
        # The refresh is part of the push (before `done`, retried like a step): done first and
        # refresh "best effort" after lost the platform's balance when a concurrent worker's
        # older read was committed and this refresh then failed (PostgreSQL campaign, seed 103).
        refresh_invoices(container, gateway, plan.refresh_invoices)
        _finish(container, lease, pending, cfg=cfg)
        hooks.at("after_done", key)
        result.done += 1
        result.messages.append(f"{key}: " + "; ".join(describe_write(w) for w in plan.writes))
        return "done"
    except Waiting as w:
        _park(container, lease, pending, "waiting", str(w), cfg.now() + timedelta(seconds=cfg.waiting_recheck_s))
        result.waiting += 1
        return "waiting"
    except Deferred as d:
        _park(container, lease, pending, None, str(d), cfg.now() + timedelta(seconds=cfg.defer_s))
        result.deferred += 1
        return "deferred"
    except LeaseLost:
        result.skipped += 1
        return "lost"
    except RequestWithheld as e:
        # The worker task's time limit (`workers/deadline.py`): no further Zoho request leaves.
        # The intent goes back due now with its lease released; a step whose write may have
        # left stays `uncertain`, so the next attempt looks it up by reference before any
        # re-send. The drain stops here; the next one resumes.
        _park(container, lease, pending, None, f"stopped at the task's time limit: {e}", cfg.now())
        result.stopped = True
        result.messages.append(f"{key or lease.intent_id}: stopped at the task's time limit")
        return "stopped"
    except (ZohoReauthorizationRequired, ZohoScopeError) as e:
        _park(container, lease, pending, "waiting", f"Zoho refused our access: {e}; reconnect Zoho Books",
              cfg.now() + timedelta(seconds=cfg.waiting_recheck_s))
        result.waiting += 1
        return "waiting"
    except BudgetExhausted as e:
        _park(container, lease, pending, None, f"daily Zoho API budget used up until {e.retry_at:%Y-%m-%d %H:%M}Z",
              e.retry_at, count_attempt=True)
        result.retried += 1
        return "retry"
    except (rules.PushRuleError, ZohoRejected) as e:
        _fail(container, lease, pending, str(e))
        result.failed += 1
        result.messages.append(f"{key}: failed: {e}")
        return "failed"
    except ZohoNotFound as e:
        _fail(container, lease, pending, f"Zoho record not found: {e}")
        result.failed += 1
        result.messages.append(f"{key}: failed: Zoho record not found: {e}")
        return "failed"
    except (ZohoRateLimited, ZohoServerError, ZohoTransportError, ZohoAuthError, ZohoAPIError, ZohoError) as e:
        attempts = _attempts(container, lease.intent_id)
        _park(container, lease, pending, None, f"{type(e).__name__}: {e}", cfg.now() + cfg.backoff(attempts + 1),
              count_attempt=True)
        result.retried += 1
        return "retry"
    except OperationalError as e:
        # A lock the database broke (PostgreSQL deadlock victim, SQLite busy past its timeout):
        # nothing of this transaction was kept; try again after a backoff. If the database is
        # gone altogether, the lease simply runs out and another drain takes the intent over.
        log.warning("push %s: database refused a step (%s); retrying", key or lease.intent_id, type(e.orig).__name__)
        try:
            _park(container, lease, pending, None, f"database busy: {type(e.orig).__name__}", cfg.now() + cfg.backoff(1))
        except OperationalError:
            pass
        result.retried += 1
        return "retry"


_WRITE_WORDS = {
    "create_customer_payment": "created customer payment",
    "create_bank_transaction": "created bank transaction",
    "update_customer_payment": "un-applied customer payment",
    "refund_customer_payment": "refunded customer payment",
    "delete_customer_payment": "deleted customer payment",
    "delete_bank_transaction": "deleted bank transaction",
}


def describe_write(write: rules.ZohoWrite) -> str:
    """One line of the run log for a Zoho write (what was done, on which record, how much)."""
    words = _WRITE_WORDS.get(write.op, write.op)
    kind = write.payload.get("transaction_type") if write.op == "create_bank_transaction" else None
    amount = write.payload.get("amount")
    parts = [words + (f" ({kind})" if kind else "")]
    if write.target_id:
        parts.append(write.target_id)
    if amount is not None:
        parts.append(str(amount))
    return " ".join(parts)


def _run_step(container: Transactional, books: Books, lease: Lease, key: str, write: rules.ZohoWrite,
              known: StepRecord | None, pending: PendingPlan, *, cfg: PushConfig, hooks: Hooks) -> None:
    """One write: look before re-writing, commit `uncertain` before it leaves, record its answer.

    `known` is the step as `_prepare` read it under this lease (no re-read: while the lease is
    ours only this worker writes the intent, and the mark below re-checks it under the lock).
    """
    if known is not None and known.state == "done":
        return
    if known is not None and known.state == "uncertain":
        applied, zid = find_existing(BooksOver(books), write)
        if applied:
            _record_step(container, lease, write, zid, cfg, pending, adopted=True)
            hooks.at("after_record_step", key)
            return
    hooks.at("before_mark_uncertain", key)
    with container.uow() as uow:
        intent = held(uow.session, lease, lock=True)
        in_row = _detail(intent).step(write.step)
        if (in_row.state if in_row else None) != (known.state if known else None):
            raise LeaseLost(lease.intent_id)  # cannot happen while the lease is ours: let the next claim look
        pending.apply(intent)
        now = cfg.now()
        _store(intent, _detail(intent).with_step(write.step, StepRecord(
            "uncertain", op=write.op, reference=write.reference_number,
            amount=str(write.payload.get("amount", "")), sent_at=now.isoformat())))
        intent.state = "uncertain"
        intent.lease_until = now + timedelta(seconds=cfg.lease_seconds)
        uow.commit()
    pending.stored()
    hooks.at("before_write", key)
    # Every attempt checks the fencing token and sets the write deadline just before it is sent.
    attempts = 0

    def fenced() -> None:
        nonlocal attempts
        attempts += 1
        fence_write(container, lease, cfg)

    try:
        zid = perform(BooksOver(FencedBooks(books, fenced)), write)
    except (ZohoAPIError, BudgetExhausted):
        # Zoho answered (or nothing left): no attempt can still land, the intent may be retried
        # at once. After a transport error (timeout, dropped connection) the deadline stays.
        clear_write_deadline(container, lease)
        raise
    except RequestWithheld:
        # The task's time limit stopped an attempt before it left. If it was the write's only
        # attempt, nothing can still land and the next drain need not wait for the deadline;
        # after an earlier attempt (a retry) the deadline stays, like after a transport error.
        if attempts <= 1:
            clear_write_deadline(container, lease)
        raise
    hooks.at("after_write", key)
    _record_step(container, lease, write, zid, cfg, pending)
    hooks.at("after_record_step", key)


def _record_step(container: Transactional, lease: Lease, write: rules.ZohoWrite, zoho_id: str | None,
                 cfg: PushConfig, pending: PendingPlan, *, adopted: bool = False) -> None:
    with container.uow() as uow:
        intent = held(uow.session, lease, lock=True)
        pending.apply(intent)
        detail = _detail(intent)
        sent = detail.step(write.step) or StepRecord("uncertain", op=write.op, reference=write.reference_number)
        detail = detail.with_step(write.step, replace(sent, state="done", zoho_id=zoho_id, adopted=adopted))
        amount = rules.money(write.payload["amount"]) if write.payload.get("amount") is not None else None
        if write.step == "payment":
            detail = detail.with_changes(payment_amount=amount)
        if write.step == "deposit":
            detail = detail.with_changes(deposit_amount=amount)
        _store(intent, detail)
        intent.lease_until = cfg.now() + timedelta(seconds=cfg.lease_seconds)
        intent.write_deadline = None  # the write is over: its answer is recorded
        intent.state = "in_flight"
        uow.commit()
    pending.stored()


ENTITY_BY_KIND = {
    outbox.KIND_PAYMENT: "payment",
    outbox.KIND_STANDALONE: "payment",
    outbox.KIND_DEPOSIT: "payout",
    outbox.KIND_REVERSAL: "payment_reversal",
}


def _finish(container: Transactional, lease: Lease, pending: PendingPlan, *, cfg: PushConfig) -> None:
    """Zoho id + mapping + `done` in one transaction (the intent's turn on its invoices ends here)."""
    with container.uow() as uow:
        s = uow.session
        intent = held(s, lease, lock=True)
        pending.apply(intent)
        detail = _detail(intent)
        main = detail.main_zoho_id
        intent.zoho_id = main
        intent.state = "done"
        intent.done_at = cfg.now()
        intent.last_error = None
        _store(intent, detail.with_changes(holds_invoices=False))
        release(s, intent)
        if main and intent.connection_id:
            entity = ENTITY_BY_KIND.get(intent.kind, intent.kind)
            if _ref(s, intent.connection_id, entity, intent.subject_id) is None:
                s.add(ExternalRef(connection_id=intent.connection_id, entity=entity, local_id=intent.subject_id,
                                  zoho_id=main, extra={"steps": detail.to_json()["steps"], "key": intent.key}))
        if intent.kind == outbox.KIND_REVERSAL and intent.connection_id:
            # the payment is no longer in Zoho as a live payment: drop its mapping
            old = _ref(s, intent.connection_id, "payment", intent.subject_id)
            if old is not None:
                s.delete(old)
        s.execute(update(SyncError).where(SyncError.local_id == intent.subject_id, SyncError.stream == "push",
                                          SyncError.resolved_at.is_(None)).values(resolved_at=cfg.now()))
        uow.commit()
    pending.stored()


def _attempts(container: Transactional, intent_id: str) -> int:
    with container.uow() as uow:
        intent = uow.session.get(PushIntent, intent_id)
        return intent.attempts if intent else 0


def _park(container: Transactional, lease: Lease, pending: PendingPlan, state: str | None, reason: str,
          next_at: datetime, *, count_attempt: bool = False) -> None:
    """Give the intent back (lease released) with the reason and when to look again.

    `state=None` keeps `uncertain` (a look-up is still owed) and turns anything else to `pending`.
    """
    with container.uow() as uow:
        intent = uow.session.get(PushIntent, lease.intent_id, populate_existing=True, with_for_update=True)
        if intent is None or intent.lease_owner != lease.worker or intent.fence != lease.fence:
            return
        pending.apply(intent)
        if state is None:
            state = "uncertain" if _detail(intent).uncertain else "pending"
        intent.state = state
        intent.last_error = reason[:2000]
        intent.next_attempt_at = next_at
        if count_attempt:
            intent.attempts += 1
        release(uow.session, intent)
        uow.commit()
    pending.stored()


def _fail(container: Transactional, lease: Lease, pending: PendingPlan, reason: str) -> None:
    with container.uow() as uow:
        s = uow.session
        intent = s.get(PushIntent, lease.intent_id, populate_existing=True, with_for_update=True)
        if intent is None or intent.lease_owner != lease.worker or intent.fence != lease.fence:
            return
        pending.apply(intent)
        intent.state = "failed"
        intent.last_error = reason[:2000]
        intent.attempts += 1
        release(s, intent)
        if intent.connection_id:
            s.add(SyncError(connection_id=intent.connection_id, stream="push", local_id=intent.subject_id,
                            message=f"{intent.kind} {intent.key}: {reason}"[:4000]))
        uow.commit()
    pending.stored()


# --------------------------------------------------------------------------- manual retry


def retry_intent(container: Transactional, intent_id: str) -> None:
    """The dashboard's Retry: a failed (or waiting) intent goes back to the queue, due now."""
    with container.uow() as uow:
        intent = uow.session.get(PushIntent, intent_id)
        if intent is None or intent.state not in ("failed", "waiting", "pending", "uncertain"):
            return
        detail = _detail(intent)
        if intent.state == "failed" or not detail.started:
            # a failed push gave its invoices up (others went on meanwhile): it takes its turn
            # again, behind whatever holds them now
            _store(intent, detail.with_changes(holds_invoices=False))
        intent.state = "uncertain" if detail.uncertain else "pending"
        intent.next_attempt_at = utcnow()
        intent.attempts = 0
        uow.commit()


def new_worker_id() -> str:
    return f"w-{uuid.uuid4().hex[:12]}"


def adopt_orphans(session: Session, connection: Connection) -> None:
    """Intents enqueued before the partner had a connection row get attached to it."""
    session.execute(
        update(PushIntent)
        .where(PushIntent.partner_id == connection.partner_id, PushIntent.connection_id.is_(None))
        .values(connection_id=connection.id)
        .execution_options(synchronize_session=False)
    )


def today() -> date:
    return utcnow().date()
