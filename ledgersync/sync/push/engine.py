"""The push state machine: one outbox intent at a time, every step durable, exactly once.

Life of an intent (`push_intents.state`): `pending` → claimed (`in_flight`, a lease taken by a
conditional UPDATE, so two workers never work the same intent) → preconditions (connection
connected, accounts set up, token valid; otherwise `waiting` with the reason, re-checked on
every drain) → build the plan (pure rules, fresh Zoho balances) → for each write of the plan:

1. if the step's previous attempt had an unknown outcome (`uncertain`), **look before
   writing**: search Zoho by the step's reference number; found → adopt its id, not found →
   write;
2. persist the step as `uncertain` (and the intent as `uncertain`) and COMMIT — before the
   write leaves the process, so a crash after Zoho applied it is always followed by a look-up;
   the same commit extends the lease to `PushConfig.write_timeout_s`, so no other worker looks
   up (and re-sends) while this write could still land;
3. write; 4. commit the step's Zoho id.

When every step is recorded, the affected invoices are refreshed from Zoho (so the platform
shows Zoho's result; a failed read retries the intent: it is part of the push), then the
mapping (`external_refs`), the Zoho id and `done` commit in one transaction. Only then may a
dependent intent (a reversal) write to the same invoice. Transient failures (429, 5xx,
transport, budget) back off; permanent refusals become `failed` with Zoho's message and wait
for a manual Retry.

Crash points: `Hooks.at(point, intent_key)` is called at every named step; the fault campaign
raises `SimulatedCrash` from it to prove a crash anywhere leaves nothing lost or doubled.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ledgersync.domain import push_rules as rules
from ledgersync.store.orm import (
    Connection,
    Customer,
    ExternalRef,
    Invoice,
    Payment,
    Payout,
    PushIntent,
    SyncError,
)
from ledgersync.sync import outbox
from ledgersync.sync.push.zoho_writes import Books, find_existing, perform
from ledgersync.zoho.errors import (
    BudgetExhausted,
    ZohoAPIError,
    ZohoAuthError,
    ZohoError,
    ZohoNotFound,
    ZohoRateLimited,
    ZohoRejected,
    ZohoReauthorizationRequired,
    ZohoScopeError,
    ZohoServerError,
    ZohoTransportError,
)

log = logging.getLogger(__name__)

KIND_ORDER = {
    outbox.KIND_PAYMENT: 0,
    outbox.KIND_STANDALONE: 0,
    outbox.KIND_DEPOSIT: 1,
    outbox.KIND_REVERSAL: 2,
}
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


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class PushConfig:
    """Engine timing. `now` is the clock of every lease and schedule decision (tests move it).

    `lease_seconds` is how long a claimed intent is ours between steps. While a Zoho WRITE is on
    its way the lease is extended to `write_timeout_s`: the longest one connector call can take
    (5 attempts x (limiter wait <= 60 s + HTTP timeout 30 s) + backoff <= 600 s). Another worker
    may only take an uncertain step over (look Zoho up, then re-send) once that write can no
    longer land, otherwise a slow first POST and the second worker's POST both arrive: a duplicate.
    """

    lease_seconds: float = 120.0
    write_timeout_s: float = 600.0
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    defer_s: float = 2.0
    waiting_recheck_s: float = 60.0
    now: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempts: int) -> timedelta:
        base = min(self.backoff_max_s, self.backoff_base_s * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=base * (0.5 + self.rng.random() / 2))


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

    @property
    def processed(self) -> int:
        return self.done + self.waiting + self.failed + self.retried + self.deferred


# --------------------------------------------------------------------------- claiming


def claim(container: Any, intent_id: str, worker: str, cfg: PushConfig, *, include_waiting: bool = True) -> bool:
    """Take the intent's lease with one conditional UPDATE (atomic on SQLite and PostgreSQL)."""
    now = cfg.now()
    states = ("pending", "uncertain", "in_flight") + (("waiting",) if include_waiting else ())
    with container.uow() as uow:
        res = uow.session.execute(
            update(PushIntent)
            .where(
                PushIntent.id == intent_id,
                PushIntent.state.in_(states),
                or_(PushIntent.lease_until.is_(None), PushIntent.lease_until < now),
                or_(PushIntent.state == "waiting", PushIntent.next_attempt_at <= now),
            )
            .values(lease_owner=worker, lease_until=now + timedelta(seconds=cfg.lease_seconds))
            .execution_options(synchronize_session=False)
        )
        uow.commit()
        return res.rowcount == 1


def _held(session: Session, intent_id: str, worker: str, *, lock: bool = False) -> PushIntent:
    """Re-read our intent; raise if the lease was lost (another worker may be on it).

    `lock=True` (every transaction that writes the intent) reads it `FOR UPDATE`: on PostgreSQL
    (READ COMMITTED) a plain read could see our lease, let another worker's claim commit, and
    then overwrite that worker's state with ours; the row lock makes the ownership check and
    the write one atomic step (SQLite serialises writers anyway).
    """
    intent = session.get(PushIntent, intent_id, populate_existing=True, with_for_update=lock or None)
    if intent is None or intent.lease_owner != worker:
        raise LeaseLost(intent_id)
    return intent


class LeaseLost(Exception):
    pass


def _release(session: Session, intent: PushIntent) -> None:
    intent.lease_owner = None
    intent.lease_until = None


# --------------------------------------------------------------------------- facts


def _accounts(conn: Connection) -> rules.Accounts:
    return rules.Accounts(
        undeposited_account_id=conn.undeposited_account_id or "",
        bank_account_id=conn.bank_account_id or "",
        fees_account_id=conn.fees_account_id or "",
        base_currency=conn.currency_code or "USD",
    )


def _ref(session: Session, connection_id: str, entity: str, local_id: str) -> ExternalRef | None:
    return session.scalars(
        select(ExternalRef).where(
            ExternalRef.connection_id == connection_id,
            ExternalRef.entity == entity,
            ExternalRef.local_id == local_id,
        )
    ).first()


def _zoho_id(session: Session, connection_id: str, entity: str, local_id: str) -> str | None:
    ref = _ref(session, connection_id, entity, local_id)
    return ref.zoho_id if ref else None


def _payment_facts(session: Session, books: Books, conn: Connection, payment: Payment, key: str) -> rules.PaymentFacts:
    customer = session.get(Customer, payment.customer_id)
    invs: list[rules.InvoiceFacts] = []
    for alloc in payment.allocations:
        inv = session.get(Invoice, alloc.invoice_id)
        assert inv is not None
        zid = _zoho_id(session, conn.id, "invoice", inv.id) if inv.origin == "zoho" else None
        balance = status = None
        rate = inv.exchange_rate or Decimal("1")
        if zid:
            try:
                zinv = books.get(f"/invoices/{zid}", priority="push")["invoice"]
                balance = Decimal(str(zinv.get("balance", "0")))
                status = str(zinv.get("status", ""))
                rate = Decimal(str(zinv.get("exchange_rate") or rate))
            except ZohoNotFound:
                balance, status = Decimal("0"), "void"  # deleted in Zoho: nothing can be applied
        invs.append(rules.InvoiceFacts(inv.id, alloc.amount, inv.origin, inv.currency_code, zid, balance, status, rate))
    paid_on = (payment.settled_at or payment.created_at or utcnow()).date()
    return rules.PaymentFacts(
        payment_id=payment.id,
        reference_number=key,
        amount=payment.amount,
        currency_code=payment.currency_code,
        method=payment.method,
        fee=payment.fee,
        paid_on=paid_on,
        customer_name=customer.name if customer else "",
        customer_zoho_id=_zoho_id(session, conn.id, "customer", payment.customer_id),
        invoices=tuple(invs),
    )


def _intent_for(session: Session, key: str) -> PushIntent | None:
    return session.scalars(select(PushIntent).where(PushIntent.key == key)).first()


# --------------------------------------------------------------------------- planning


@dataclass
class Plan:
    writes: tuple[rules.ZohoWrite, ...]
    detail: dict[str, Any] = field(default_factory=dict)
    cancel_reason: str | None = None  # nothing to write: the intent is closed as `cancelled`
    refresh_invoices: tuple[str, ...] = ()  # Zoho invoice ids to re-read afterwards


def _needs_refresh(session: Session, facts: rules.PaymentFacts, apps: tuple[rules.Application, ...], *,
                   fresh: bool) -> tuple[str, ...]:
    """Zoho invoices to re-read after the write, so the platform shows Zoho's result.

    Skipped (one API call saved per invoice — the budget is what push latency is made of) when
    arithmetic already proves the platform right: on a first attempt, Zoho's balance read just
    before the write minus what we apply equals the platform's outstanding. Any other case
    (capped application, Zoho-side changes, a retry whose earlier write may have landed) is
    re-read.
    """
    before = {f.zoho_id: f.zoho_balance for f in facts.invoices if f.zoho_id}
    out: list[str] = []
    for a in apps:
        inv = session.get(Invoice, a.invoice_local_id)
        zbal = before.get(a.invoice_zoho_id)
        if fresh and inv is not None and zbal is not None and zbal - a.applied == inv.outstanding:
            continue
        out.append(a.invoice_zoho_id)
    return tuple(out)


def _plan(session: Session, books: Books, conn: Connection, intent: PushIntent, cfg: PushConfig) -> Plan:
    acc = _accounts(conn)
    steps = (intent.detail or {}).get("steps", {})
    if intent.kind in (outbox.KIND_PAYMENT, outbox.KIND_STANDALONE):
        payment = session.get(Payment, intent.subject_id)
        if payment is None:
            raise rules.PushRuleError("payment no longer exists")
        if payment.status != "succeeded":
            if any(s.get("state") in ("uncertain", "done") for s in steps.values()):
                # A write happened or may have (e.g. a crash after recording it, before `done`):
                # finish the push so the reversal, which waits for it, undoes it in Zoho.
                pass
            elif payment.payout_id is not None:
                # Paid out before it failed: the payout's transfer moves this money out of
                # Undeposited Funds, so it must be recorded there first; the reversal refunds it.
                pass
            else:
                return Plan((), cancel_reason=f"payment is {payment.status}; nothing to push")
        facts = _payment_facts(session, books, conn, payment, intent.key)
        plan = rules.plan_payment(facts, acc)
        return Plan(
            plan.writes,
            {"applications": [
                {"invoice": a.invoice_local_id, "zoho_invoice": a.invoice_zoho_id,
                 "asked": str(a.asked), "applied": str(a.applied)} for a in plan.applications],
             "unused_credit": str(plan.unused_credit), "flags": list(plan.flags)},
            refresh_invoices=_needs_refresh(session, facts, plan.applications, fresh=not steps),
        )
    if intent.kind == outbox.KIND_DEPOSIT:
        payout = session.get(Payout, intent.subject_id)
        if payout is None:
            raise rules.PushRuleError("payout no longer exists")
        payment_ids = session.scalars(select(Payment.id).where(Payment.payout_id == payout.id)).all()
        not_ready = []
        for pid in payment_ids:
            pi = _intent_for(session, outbox.payment_key(pid))
            if pi is None or pi.state not in ("done", "cancelled"):
                not_ready.append(pid)
        if not_ready:
            raise Deferred(f"waiting for {len(not_ready)} payment(s) of the payout to reach Zoho")
        facts = rules.PayoutFacts(payout.id, intent.key, payout.gross, payout.fees, payout.net,
                                  payout.currency_code, payout.arrival_date, len(payment_ids))
        return Plan(rules.plan_payout(facts, acc))
    if intent.kind == outbox.KIND_REVERSAL:
        payment = session.get(Payment, intent.subject_id)
        if payment is None:
            raise rules.PushRuleError("payment no longer exists")
        pi = _intent_for(session, outbox.payment_key(payment.id))
        if pi is None or pi.state == "cancelled":
            return Plan((), cancel_reason="the payment never reached Zoho; nothing to undo")
        if pi.state != "done":
            pi_steps = (pi.detail or {}).get("steps", {})
            started = any(s.get("state") in ("uncertain", "done") for s in pi_steps.values())
            if not started and payment.payout_id is None and pi.state in ("pending", "waiting", "failed"):
                now = cfg.now()  # the engine's clock, like every lease check (was the wall clock)
                res = session.execute(
                    update(PushIntent)
                    .where(PushIntent.id == pi.id, PushIntent.state.in_(("pending", "waiting", "failed")),
                           or_(PushIntent.lease_until.is_(None), PushIntent.lease_until < now))
                    .values(state="cancelled", last_error="payment failed before it was pushed", done_at=now)
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount == 1:
                    return Plan((), cancel_reason="the payment failed before it was pushed; push cancelled")
            raise Deferred("waiting for the payment's push to finish")
        deposited = False
        if payment.payout_id:
            po = _intent_for(session, outbox.payout_key(payment.payout_id))
            if po is not None and po.state not in ("done", "cancelled"):
                raise Deferred("waiting for the payout's deposit to reach Zoho")
            deposited = po is not None and po.state == "done"
        pi_steps = (pi.detail or {}).get("steps", {})
        cp = pi_steps.get("payment", {}).get("zoho_id")
        dep = pi_steps.get("deposit", {}).get("zoho_id")
        dep_amount = Decimal((pi.detail or {}).get("deposit_amount", "0"))
        cp_amount = Decimal((pi.detail or {}).get("payment_amount", "0"))
        pushed = rules.PushedPayment(payment.id, cp_amount, (payment.settled_at or utcnow()).date(),
                                     cp, dep, dep_amount, deposited)
        apps = (pi.detail or {}).get("applications", [])
        return Plan(
            rules.plan_reversal(pushed, intent.key, acc, on=(payment.failed_at or utcnow()).date()),
            {"deposited": deposited},
            refresh_invoices=tuple(a["zoho_invoice"] for a in apps),
        )
    raise rules.PushRuleError(f"unknown intent kind {intent.kind}")


# --------------------------------------------------------------------------- one intent


def _set_detail(intent: PushIntent, **changes: Any) -> None:
    detail = dict(intent.detail or {})
    detail.update(changes)
    intent.detail = detail


def _set_step(intent: PushIntent, step: str, **values: Any) -> None:
    detail = dict(intent.detail or {})
    steps = dict(detail.get("steps", {}))
    steps[step] = {**steps.get(step, {}), **values}
    detail["steps"] = steps
    intent.detail = detail


def process_intent(
    container: Any,
    books_factory: Callable[[], Books],
    intent_id: str,
    *,
    worker: str,
    cfg: PushConfig,
    hooks: Hooks,
    result: DrainResult,
) -> str:
    """Work one claimed intent to its next resting state; returns that state."""
    key = ""
    try:
        with container.uow() as uow:
            s = uow.session
            intent = _held(s, intent_id, worker, lock=True)
            key = intent.key
            hooks.at("claimed", key)
            conn = s.get(Connection, intent.connection_id) if intent.connection_id else outbox.find_connection(s, intent.partner_id)
            reason = outbox.waiting_reason(conn)
            if reason:
                raise Waiting(reason)
            assert conn is not None
            intent.connection_id = conn.id
            if intent.state in ("pending", "waiting"):
                intent.state = "in_flight"
            uow.commit()
        books = books_factory()
        with container.uow() as uow:
            s = uow.session
            intent = _held(s, intent_id, worker)
            conn = s.get(Connection, intent.connection_id)
            assert conn is not None
            plan = _plan(s, books, conn, intent, cfg)
            if plan.cancel_reason:
                intent.state, intent.last_error, intent.done_at = "cancelled", plan.cancel_reason, cfg.now()
                _release(s, intent)
                uow.commit()
                result.done += 1
                result.messages.append(f"{key}: {plan.cancel_reason}")
                return "cancelled"
            if plan.detail:
                _set_detail(intent, **plan.detail)
            uow.commit()
        hooks.at("planned", key)
        for write in plan.writes:
            _run_step(container, books, intent_id, write, worker=worker, cfg=cfg, hooks=hooks)
        hooks.at("before_done", key)
        # The refresh is part of the push (before `done`, retried like a step): done first and
        # refresh "best effort" after lost the platform's balance when a concurrent worker's
        # older read was committed and this refresh then failed (PostgreSQL campaign, seed 103).
        _refresh_invoices(container, books, plan.refresh_invoices, cfg)
        _finish(container, intent_id, plan, worker=worker, cfg=cfg)
        hooks.at("after_done", key)
        result.done += 1
        result.messages.append(f"{key}: " + "; ".join(describe_write(w) for w in plan.writes))
        return "done"
    except Waiting as w:
        _park(container, intent_id, worker, "waiting", str(w), cfg.now() + timedelta(seconds=cfg.waiting_recheck_s))
        result.waiting += 1
        return "waiting"
    except Deferred as d:
        _park(container, intent_id, worker, None, str(d), cfg.now() + timedelta(seconds=cfg.defer_s))
        result.deferred += 1
        return "deferred"
    except LeaseLost:
        result.skipped += 1
        return "lost"
    except (ZohoReauthorizationRequired, ZohoScopeError) as e:
        _park(container, intent_id, worker, "waiting", f"Zoho refused our access: {e}; reconnect Zoho Books",
              cfg.now() + timedelta(seconds=cfg.waiting_recheck_s))
        result.waiting += 1
        return "waiting"
    except BudgetExhausted as e:
        _park(container, intent_id, worker, None, f"daily Zoho API budget used up until {e.retry_at:%Y-%m-%d %H:%M}Z",
              e.retry_at, count_attempt=True)
        result.retried += 1
        return "retry"
    except (rules.PushRuleError, ZohoRejected) as e:
        _fail(container, intent_id, worker, str(e))
        result.failed += 1
        result.messages.append(f"{key}: failed: {e}")
        return "failed"
    except ZohoNotFound as e:
        _fail(container, intent_id, worker, f"Zoho record not found: {e}")
        result.failed += 1
        result.messages.append(f"{key}: failed: Zoho record not found: {e}")
        return "failed"
    except (ZohoRateLimited, ZohoServerError, ZohoTransportError, ZohoAuthError, ZohoAPIError, ZohoError) as e:
        attempts = _attempts(container, intent_id)
        _park(container, intent_id, worker, None, f"{type(e).__name__}: {e}", cfg.now() + cfg.backoff(attempts + 1),
              count_attempt=True)
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


def _run_step(container: Any, books: Books, intent_id: str, write: rules.ZohoWrite, *,
              worker: str, cfg: PushConfig, hooks: Hooks) -> None:
    with container.uow() as uow:
        intent = _held(uow.session, intent_id, worker)
        key = intent.key
        step = (intent.detail or {}).get("steps", {}).get(write.step, {})
    if step.get("state") == "done":
        return
    if step.get("state") == "uncertain":
        applied, zid = find_existing(books, write)
        if applied:
            _record_step(container, intent_id, write, zid, worker, cfg, adopted=True)
            hooks.at("after_record_step", key)
            return
    hooks.at("before_mark_uncertain", key)
    with container.uow() as uow:
        intent = _held(uow.session, intent_id, worker, lock=True)
        now = cfg.now()
        _set_step(intent, write.step, state="uncertain", op=write.op, reference=write.reference_number,
                  amount=str(write.payload.get("amount", "")), sent_at=now.isoformat())
        intent.state = "uncertain"
        # Nobody may take this intent over while the write can still land (see PushConfig).
        intent.lease_until = now + timedelta(seconds=max(cfg.lease_seconds, cfg.write_timeout_s))
        uow.commit()
    hooks.at("before_write", key)
    zid = perform(books, write)
    hooks.at("after_write", key)
    _record_step(container, intent_id, write, zid, worker, cfg)
    hooks.at("after_record_step", key)


def _record_step(container: Any, intent_id: str, write: rules.ZohoWrite, zoho_id: str | None,
                 worker: str, cfg: PushConfig, *, adopted: bool = False) -> None:
    with container.uow() as uow:
        intent = _held(uow.session, intent_id, worker, lock=True)
        _set_step(intent, write.step, state="done", zoho_id=zoho_id, adopted=adopted)
        intent.lease_until = cfg.now() + timedelta(seconds=cfg.lease_seconds)  # the write is over
        if write.step == "payment":
            _set_detail(intent, payment_amount=str(write.payload.get("amount")))
        if write.step == "deposit":
            _set_detail(intent, deposit_amount=str(write.payload.get("amount")))
        intent.state = "in_flight"
        uow.commit()


ENTITY_BY_KIND = {
    outbox.KIND_PAYMENT: "payment",
    outbox.KIND_STANDALONE: "payment",
    outbox.KIND_DEPOSIT: "payout",
    outbox.KIND_REVERSAL: "payment_reversal",
}


def _finish(container: Any, intent_id: str, plan: Plan, *, worker: str, cfg: PushConfig) -> None:
    """Zoho id + mapping + `done` in one transaction."""
    with container.uow() as uow:
        s = uow.session
        intent = _held(s, intent_id, worker, lock=True)
        steps = (intent.detail or {}).get("steps", {})
        main = next((v.get("zoho_id") for v in steps.values() if v.get("zoho_id")), None)
        intent.zoho_id = main
        intent.state = "done"
        intent.done_at = cfg.now()
        intent.last_error = None
        _release(s, intent)
        if main and intent.connection_id:
            entity = ENTITY_BY_KIND.get(intent.kind, intent.kind)
            if _ref(s, intent.connection_id, entity, intent.subject_id) is None:
                s.add(ExternalRef(connection_id=intent.connection_id, entity=entity, local_id=intent.subject_id,
                                  zoho_id=main, extra={"steps": steps, "key": intent.key}))
        if intent.kind == outbox.KIND_REVERSAL and intent.connection_id:
            # the payment is no longer in Zoho as a live payment: drop its mapping
            old = _ref(s, intent.connection_id, "payment", intent.subject_id)
            if old is not None:
                s.delete(old)
        s.execute(update(SyncError).where(SyncError.local_id == intent.subject_id, SyncError.stream == "push",
                                          SyncError.resolved_at.is_(None)).values(resolved_at=cfg.now()))
        uow.commit()


def _attempts(container: Any, intent_id: str) -> int:
    with container.uow() as uow:
        intent = uow.session.get(PushIntent, intent_id)
        return intent.attempts if intent else 0


def _park(container: Any, intent_id: str, worker: str, state: str | None, reason: str,
          next_at: datetime, *, count_attempt: bool = False) -> None:
    """Give the intent back (lease released) with the reason and when to look again.

    `state=None` keeps `uncertain` (a look-up is still owed) and turns anything else to `pending`.
    """
    with container.uow() as uow:
        intent = uow.session.get(PushIntent, intent_id, populate_existing=True, with_for_update=True)
        if intent is None or intent.lease_owner != worker:
            return
        steps = (intent.detail or {}).get("steps", {})
        uncertain = any(v.get("state") == "uncertain" for v in steps.values())
        if state is None:
            state = "uncertain" if uncertain else "pending"
        intent.state = state
        intent.last_error = reason[:2000]
        intent.next_attempt_at = next_at
        if count_attempt:
            intent.attempts += 1
        _release(uow.session, intent)
        uow.commit()


def _fail(container: Any, intent_id: str, worker: str, reason: str) -> None:
    with container.uow() as uow:
        s = uow.session
        intent = s.get(PushIntent, intent_id, populate_existing=True, with_for_update=True)
        if intent is None or intent.lease_owner != worker:
            return
        intent.state = "failed"
        intent.last_error = reason[:2000]
        intent.attempts += 1
        _release(s, intent)
        if intent.connection_id:
            s.add(SyncError(connection_id=intent.connection_id, stream="push", local_id=intent.subject_id,
                            message=f"{intent.kind} {intent.key}: {reason}"[:4000]))
        uow.commit()


def _refresh_invoices(container: Any, books: Books, zoho_ids: tuple[str, ...], cfg: PushConfig) -> None:
    """Make the platform's invoices show Zoho's balance and status after our write.

    Runs after every write of the intent and BEFORE it is `done`: a Zoho error here propagates
    and the intent is retried (its steps are recorded, so only the reads are repeated). Done
    first would let a dependent intent (the reversal of this payment) write to Zoho while this
    refresh still holds an older read; if the dependent's own refresh then failed, the older
    read stayed on the platform. An invoice deleted in Zoho is left to the pull.

    The read happens while this transaction holds the mapping row's write lock (a no-op UPDATE:
    row lock on PostgreSQL, the database write lock on SQLite), so two workers refreshing the
    same invoice serialise and the last writer always read Zoho after the last Zoho change it
    could race with — a stale read can never overwrite a fresher one.
    """
    for zid in zoho_ids:
        with container.uow() as uow:
            s = uow.session
            ref = s.scalars(select(ExternalRef).where(ExternalRef.entity == "invoice",
                                                      ExternalRef.zoho_id == zid)).first()
            if ref is None:
                continue
            s.execute(update(ExternalRef).where(ExternalRef.id == ref.id)
                      .values(zoho_last_modified=ExternalRef.zoho_last_modified)
                      .execution_options(synchronize_session=False))
            try:
                zinv = books.get(f"/invoices/{zid}", priority="push")["invoice"]
            except ZohoNotFound:
                continue  # deleted in Zoho: the pull archives it
            inv = s.get(Invoice, ref.local_id)
            if inv is None:
                continue
            inv.outstanding = Decimal(str(zinv.get("balance", inv.outstanding))).quantize(Decimal("0.01"))
            status = str(zinv.get("status", inv.status))
            inv.status = {"sent": "open", "viewed": "open", "unpaid": "open"}.get(status, status)
            uow.commit()


# --------------------------------------------------------------------------- manual retry


def retry_intent(container: Any, intent_id: str) -> None:
    """The dashboard's Retry: a failed (or waiting) intent goes back to the queue, due now."""
    with container.uow() as uow:
        intent = uow.session.get(PushIntent, intent_id)
        if intent is None or intent.state not in ("failed", "waiting", "pending", "uncertain"):
            return
        steps = (intent.detail or {}).get("steps", {})
        intent.state = "uncertain" if any(v.get("state") == "uncertain" for v in steps.values()) else "pending"
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
