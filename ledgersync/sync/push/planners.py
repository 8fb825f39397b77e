"""One planner per intent kind: what to write to Zoho for a payment, a payout or a reversal.

A planner works in two halves so that no database transaction is open while Zoho is called:

* `load(session, intent, ctx)` — database reads only, inside the engine's short "prepare"
  transaction. It returns a typed snapshot of the facts, or a decision of the pure rules in
  `ledgersync.domain.push_rules` (`Cancel`, `Defer`, `CancelPaymentPush`) when there is
  nothing to plan now.
* `plan(snapshot, books, ctx)` — after that transaction ended: the Zoho reads the plan needs
  (an invoice's current balance), then the pure rules build the writes. It returns a `Plan`.

`invoices(session, intent)` names the platform invoices the intent touches in Zoho, which the
engine's turn rule (`push_rules.invoice_turn`) serialises on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgersync.domain import push_rules as rules
from ledgersync.domain.push_intent import AppliedInvoice, IntentDetail
from ledgersync.store.orm import Customer, ExternalRef, Invoice, Payment, PaymentAllocation, Payout, PushIntent
from ledgersync.sync import outbox
from ledgersync.sync.ports import BooksGateway
from ledgersync.sync.push.zoho_writes import PRIORITY
from ledgersync.zoho.errors import ZohoNotFound


@dataclass(frozen=True)
class PlanContext:
    """What every planner needs besides its facts: the connection's accounts and the date."""

    connection_id: str
    accounts: rules.Accounts
    today: date


@dataclass(frozen=True)
class IntentFacts:
    """The intent being planned, copied out of its row."""

    id: str
    key: str
    kind: str
    subject_id: str
    detail: IntentDetail


@dataclass(frozen=True)
class Plan:
    """The writes of one intent, the detail to store before the first one, the invoices to re-read."""

    writes: tuple[rules.ZohoWrite, ...]
    detail: IntentDetail
    refresh_invoices: tuple[str, ...] = ()


Loaded = Any  # a planner's own snapshot type, or a push_rules decision


class Planner(Protocol):
    def invoices(self, session: Session, intent: IntentFacts) -> tuple[str, ...]: ...
    def load(self, session: Session, intent: IntentFacts, ctx: PlanContext) -> Loaded: ...
    def plan(self, snapshot: Any, books: BooksGateway, ctx: PlanContext) -> Plan: ...


# --------------------------------------------------------------------------- shared reads


def zoho_id(session: Session, connection_id: str, entity: str, local_id: str) -> str | None:
    ref = session.scalars(select(ExternalRef).where(
        ExternalRef.connection_id == connection_id, ExternalRef.entity == entity,
        ExternalRef.local_id == local_id)).first()
    return ref.zoho_id if ref else None


def intent_status(session: Session, key: str) -> rules.IntentStatus | None:
    row = session.scalars(select(PushIntent).where(PushIntent.key == key)).first()
    if row is None:
        return None
    return rules.IntentStatus(row.key, row.state, IntentDetail.from_json(row.detail).started)


def intent_detail(session: Session, key: str) -> IntentDetail:
    row = session.scalars(select(PushIntent).where(PushIntent.key == key)).first()
    return IntentDetail.from_json(row.detail if row is not None else None)


def payment_invoices(session: Session, payment_id: str) -> tuple[str, ...]:
    """The Zoho-origin invoices a payment is allocated to (platform invoices are not in Zoho)."""
    rows = session.scalars(
        select(Invoice.id).join(PaymentAllocation, PaymentAllocation.invoice_id == Invoice.id)
        .where(PaymentAllocation.payment_id == payment_id, Invoice.origin == "zoho")).all()
    return tuple(sorted(set(rows)))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- payment


@dataclass(frozen=True)
class InvoiceSnapshot:
    local_id: str
    allocated: Decimal
    origin: str
    currency_code: str
    zoho_id: str | None
    exchange_rate: Decimal
    platform_outstanding: Decimal


@dataclass(frozen=True)
class PaymentSnapshot:
    payment_id: str
    reference_number: str
    amount: Decimal
    currency_code: str
    method: str
    fee: Decimal
    paid_on: date
    customer_name: str
    customer_zoho_id: str | None
    invoices: tuple[InvoiceSnapshot, ...]
    detail: IntentDetail
    first_attempt: bool


@dataclass(frozen=True)
class ZohoInvoiceState:
    balance: Decimal | None
    status: str | None
    exchange_rate: Decimal | None


def read_zoho_invoice(books: BooksGateway, zoho_invoice_id: str) -> ZohoInvoiceState:
    """An invoice's balance and status in Zoho now; a deleted one can take nothing (void, 0)."""
    try:
        zinv = books.get_invoice_raw(zoho_invoice_id, priority=PRIORITY)
    except ZohoNotFound:
        return ZohoInvoiceState(Decimal("0"), "void", None)
    rate = zinv.get("exchange_rate")
    return ZohoInvoiceState(Decimal(str(zinv.get("balance", "0"))), str(zinv.get("status", "")),
                            Decimal(str(rate)) if rate else None)


class PaymentPlanner:
    """A succeeded payment → one Zoho customer payment and/or a stand-alone deposit."""

    def invoices(self, session: Session, intent: IntentFacts) -> tuple[str, ...]:
        return payment_invoices(session, intent.subject_id)

    def load(self, session: Session, intent: IntentFacts, ctx: PlanContext) -> PaymentSnapshot | rules.Gate:
        payment = session.get(Payment, intent.subject_id)
        if payment is None:
            raise rules.PushRuleError("payment no longer exists")
        gate = rules.payment_push_gate(payment.status, paid_out=payment.payout_id is not None,
                                       started=intent.detail.started)
        if not isinstance(gate, rules.Proceed):
            return gate
        customer = session.get(Customer, payment.customer_id)
        invs: list[InvoiceSnapshot] = []
        for alloc in payment.allocations:
            inv = session.get(Invoice, alloc.invoice_id)
            if inv is None:
                raise rules.PushRuleError(f"invoice {alloc.invoice_id} no longer exists")
            zid = zoho_id(session, ctx.connection_id, "invoice", inv.id) if inv.origin == "zoho" else None
            invs.append(InvoiceSnapshot(inv.id, alloc.amount, inv.origin, inv.currency_code, zid,
                                        inv.exchange_rate or Decimal("1"), inv.outstanding))
        return PaymentSnapshot(
            payment_id=payment.id, reference_number=intent.key, amount=payment.amount,
            currency_code=payment.currency_code, method=payment.method, fee=payment.fee,
            paid_on=(payment.settled_at or payment.created_at or _utcnow()).date(),
            customer_name=customer.name if customer else "",
            customer_zoho_id=zoho_id(session, ctx.connection_id, "customer", payment.customer_id),
            invoices=tuple(invs), detail=intent.detail, first_attempt=not intent.detail.started)

    def plan(self, snapshot: PaymentSnapshot, books: BooksGateway, ctx: PlanContext) -> Plan:
        facts: list[rules.InvoiceFacts] = []
        for inv in snapshot.invoices:
            state = read_zoho_invoice(books, inv.zoho_id) if inv.zoho_id else None
            facts.append(rules.InvoiceFacts(
                inv.local_id, inv.allocated, inv.origin, inv.currency_code, inv.zoho_id,
                state.balance if state else None, state.status if state else None,
                (state.exchange_rate if state and state.exchange_rate else inv.exchange_rate)))
        payment_facts = rules.PaymentFacts(
            payment_id=snapshot.payment_id, reference_number=snapshot.reference_number,
            amount=snapshot.amount, currency_code=snapshot.currency_code, method=snapshot.method,
            fee=snapshot.fee, paid_on=snapshot.paid_on, customer_name=snapshot.customer_name,
            customer_zoho_id=snapshot.customer_zoho_id, invoices=tuple(facts))
        planned = rules.plan_payment(payment_facts, ctx.accounts)
        before = {f.zoho_id: f.zoho_balance for f in facts if f.zoho_id}
        platform = {i.zoho_id: i.platform_outstanding for i in snapshot.invoices if i.zoho_id}
        detail = snapshot.detail.with_changes(
            applications=tuple(AppliedInvoice(a.invoice_local_id, a.invoice_zoho_id, a.asked, a.applied)
                               for a in planned.applications),
            unused_credit=planned.unused_credit, flags=planned.flags)
        refresh = rules.invoices_to_refresh([(a.invoice_zoho_id, a.applied) for a in planned.applications],
                                            before, platform, first_attempt=snapshot.first_attempt)
        return Plan(planned.writes, detail, refresh)


# --------------------------------------------------------------------------- payout


@dataclass(frozen=True)
class PayoutSnapshot:
    facts: rules.PayoutFacts
    detail: IntentDetail


class PayoutPlanner:
    """A payout → the transfer of its net to the bank and its fees to the Fees account."""

    def invoices(self, session: Session, intent: IntentFacts) -> tuple[str, ...]:
        return ()

    def load(self, session: Session, intent: IntentFacts, ctx: PlanContext) -> PayoutSnapshot | rules.Gate:
        payout = session.get(Payout, intent.subject_id)
        if payout is None:
            raise rules.PushRuleError("payout no longer exists")
        payment_ids = session.scalars(select(Payment.id).where(Payment.payout_id == payout.id)).all()
        gate = rules.payout_gate([intent_status(session, outbox.payment_key(pid)) for pid in payment_ids])
        if not isinstance(gate, rules.Proceed):
            return gate
        return PayoutSnapshot(rules.PayoutFacts(payout.id, intent.key, payout.gross, payout.fees, payout.net,
                                                payout.currency_code, payout.arrival_date, len(payment_ids)),
                              intent.detail)

    def plan(self, snapshot: PayoutSnapshot, books: BooksGateway, ctx: PlanContext) -> Plan:
        return Plan(rules.plan_payout(snapshot.facts, ctx.accounts), snapshot.detail)


# --------------------------------------------------------------------------- reversal


@dataclass(frozen=True)
class ReversalSnapshot:
    pushed: rules.PushedPayment
    reference_number: str
    failed_on: date
    refresh: tuple[str, ...]
    detail: IntentDetail


class ReversalPlanner:
    """A payment that failed after its push → delete it in Zoho, or un-apply and refund it."""

    def invoices(self, session: Session, intent: IntentFacts) -> tuple[str, ...]:
        return payment_invoices(session, intent.subject_id)

    def load(self, session: Session, intent: IntentFacts, ctx: PlanContext) -> ReversalSnapshot | rules.ReversalGate:
        payment = session.get(Payment, intent.subject_id)
        if payment is None:
            raise rules.PushRuleError("payment no longer exists")
        push = intent_status(session, outbox.payment_key(payment.id))
        payout = intent_status(session, outbox.payout_key(payment.payout_id)) if payment.payout_id else None
        gate = rules.reversal_gate(push, paid_out=payment.payout_id is not None, payout_push=payout)
        if not isinstance(gate, rules.ProceedReversal):
            return gate
        pushed_detail = intent_detail(session, outbox.payment_key(payment.id))
        pushed = rules.PushedPayment(
            payment.id, pushed_detail.payment_amount or Decimal("0"), (payment.settled_at or _utcnow()).date(),
            pushed_detail.zoho_id_of("payment"), pushed_detail.zoho_id_of("deposit"),
            pushed_detail.deposit_amount or Decimal("0"), gate.deposited)
        return ReversalSnapshot(pushed, intent.key, (payment.failed_at or _utcnow()).date(),
                                tuple(a.zoho_invoice for a in pushed_detail.applications),
                                intent.detail.with_changes(deposited=gate.deposited))

    def plan(self, snapshot: ReversalSnapshot, books: BooksGateway, ctx: PlanContext) -> Plan:
        writes = rules.plan_reversal(snapshot.pushed, snapshot.reference_number, ctx.accounts, on=snapshot.failed_on)
        return Plan(writes, snapshot.detail, snapshot.refresh)


PLANNERS: dict[str, Planner] = {
    outbox.KIND_PAYMENT: PaymentPlanner(),
    outbox.KIND_STANDALONE: PaymentPlanner(),
    outbox.KIND_DEPOSIT: PayoutPlanner(),
    outbox.KIND_REVERSAL: ReversalPlanner(),
}


def planner_for(kind: str) -> Planner:
    planner = PLANNERS.get(kind)
    if planner is None:
        raise rules.PushRuleError(f"unknown intent kind {kind}")
    return planner
