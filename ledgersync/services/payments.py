"""Collecting on the platform: paying invoices, and the simulated processor settling payments.

A payment is created `pending` with its allocations; only when the processor reports success do
the invoices' outstanding amounts drop (and the push to Zoho is enqueued, in the same
transaction). An ACH payment may fail after it succeeded: outstanding is restored and a reversal
is enqueued. Rows are locked (`FOR UPDATE` on PostgreSQL; SQLite serialises writers) so two
settlements or two payments of one invoice cannot interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ledgersync.domain import invoices as inv_rules
from ledgersync.domain import payments as pay_rules
from ledgersync.domain.money import ZERO
from ledgersync.services._session import detached
from ledgersync.services.errors import Conflict, InvalidInput, NotFound
from ledgersync.services.paging import Page, fetch, sorted_by
from ledgersync.store import orm
from ledgersync.sync import outbox
from ledgersync.sync.ports import Dispatching, UnitOfWork

NO_STATUS_CHANGE = (inv_rules.VOID, inv_rules.WRITTEN_OFF, inv_rules.DRAFT)


@dataclass(frozen=True)
class AllocationInput:
    invoice_id: str
    amount: Decimal


def _now() -> datetime:
    return datetime.now(timezone.utc)


def pay_invoices(
    container: Dispatching,
    partner_id: str,
    *,
    allocations: list[AllocationInput],
    method: str = pay_rules.CARD,
    amount: Decimal | None = None,
) -> orm.Payment:
    """A pending payment of one customer applied to one or several invoices, in full or in part.

    `amount` defaults to the sum of the allocations; a larger amount leaves unapplied credit.
    Each allocation may take at most what the invoice still owes minus what other pending
    payments already claim on it.
    """
    if method not in pay_rules.METHODS:
        raise InvalidInput("method", f"must be one of {', '.join(pay_rules.METHODS)}")
    requested = [inv_rules.Allocation(a.invoice_id, a.amount) for a in allocations]
    total = amount if amount is not None else sum((a.amount for a in requested), ZERO)
    with container.uow() as uow:
        balances = _balances(uow, partner_id, [a.invoice_id for a in requested])
        currency = next(iter(balances.values())).currency if balances else "USD"
        try:
            inv_rules.validate_allocations(total, currency, requested, balances)
        except inv_rules.AllocationError as err:
            raise InvalidInput(err.field, err.message) from err
        payment = orm.Payment(
            partner_id=partner_id,
            customer_id=balances[requested[0].invoice_id].customer_id,
            amount=total,
            currency_code=currency,
            method=method,
            status=pay_rules.PENDING,
            fee=ZERO,
            allocations=[orm.PaymentAllocation(invoice_id=a.invoice_id, amount=a.amount) for a in requested],
        )
        uow.payments.add(payment)
        uow.commit()
        return detached(uow, payment)


def _balances(uow: UnitOfWork, partner_id: str, invoice_ids: list[str]) -> dict[str, inv_rules.InvoiceBalance]:
    """The partner's invoices among `invoice_ids` (locked), with what pending payments claim."""
    rows = uow.invoices.for_update(invoice_ids, partner_id=partner_id)
    claimed = uow.invoices.pending_claims(invoice_ids, pay_rules.PENDING)
    archived_customers = uow.customers.archived_among(r.customer_id for r in rows)
    return {
        r.id: inv_rules.InvoiceBalance(
            r.id, r.currency_code, r.outstanding - (claimed.get(r.id) or ZERO), r.status, r.customer_id,
            bool(r.archived) or r.customer_id in archived_customers,  # an archived customer's invoices too
        )
        for r in rows
    }


def settle(
    container: Dispatching,
    partner_id: str,
    payment_id: str,
    outcome: str,
    *,
    reason: str | None = None,
    today: date | None = None,
) -> orm.Payment:
    """The simulated processor reports `outcome` ("succeeded" | "failed") for a payment.

    Success: fee charged, invoices' outstanding reduced, push enqueued. Failure of a pending
    payment: nothing else changes. Failure after success (ACH return): outstanding restored,
    reversal enqueued. The outbox row commits with the state change; the dispatcher is woken
    after the commit.
    """
    day = today or _now().date()
    with container.uow() as uow:
        payment = _locked_payment(uow, partner_id, payment_id)
        try:
            new_status = pay_rules.next_status(payment.status, outcome, payment.method)
        except pay_rules.IllegalTransition as err:
            raise Conflict(str(err)) from err
        if new_status == pay_rules.SUCCEEDED:
            refusal = pay_rules.settle_refusal(
                (inv.number, bool(inv.archived), inv.archived_reason) for _, inv in _locked_invoices(uow, payment))
            if refusal is not None:  # nothing written: the payment stays pending
                raise Conflict(refusal)
            _succeed(uow, payment, day)
        elif payment.status == pay_rules.SUCCEEDED:
            _fail_after_success(uow, payment, reason, day)
        else:
            _mark_failed(payment, reason)
        uow.commit()
        result = detached(uow, payment)
    outbox.notify(container, partner_id)
    return result


def _locked_payment(uow: UnitOfWork, partner_id: str, payment_id: str) -> orm.Payment:
    payment = uow.payments.for_update(partner_id, payment_id)
    if payment is None:
        raise NotFound("payment", payment_id)
    return payment


def _succeed(uow: UnitOfWork, payment: orm.Payment, day: date) -> None:
    payment.status = pay_rules.SUCCEEDED
    payment.fee = pay_rules.compute_fee(payment.amount, payment.method)
    payment.settled_at = _now()
    for alloc, invoice in _locked_invoices(uow, payment):
        invoice.outstanding = inv_rules.apply_to_outstanding(invoice.outstanding, alloc.amount)
        _refresh_status(invoice, day)
    outbox.enqueue_payment_push(uow, payment.id)


def _fail_after_success(uow: UnitOfWork, payment: orm.Payment, reason: str | None, day: date) -> None:
    _mark_failed(payment, reason)
    for alloc, invoice in _locked_invoices(uow, payment):
        invoice.outstanding = inv_rules.restore_outstanding(invoice.outstanding, alloc.amount, invoice.total)
        _refresh_status(invoice, day)
    outbox.enqueue_payment_reversal(uow, payment.id)


def _mark_failed(payment: orm.Payment, reason: str | None) -> None:
    payment.status = pay_rules.FAILED
    payment.failed_at = _now()
    payment.failure_reason = reason or "declined by the processor"


def _locked_invoices(uow: UnitOfWork, payment: orm.Payment) -> list[tuple[orm.PaymentAllocation, orm.Invoice]]:
    rows = {r.id: r for r in uow.invoices.for_update(a.invoice_id for a in payment.allocations)}
    return [(a, rows[a.invoice_id]) for a in sorted(payment.allocations, key=lambda a: a.invoice_id)]


def _refresh_status(invoice: orm.Invoice, day: date) -> None:
    if invoice.status in NO_STATUS_CHANGE:
        return
    invoice.status = inv_rules.invoice_status(invoice.total, invoice.outstanding, invoice.due_date, day)


#: what a list of payments may be sorted by (dashboard columns, API `sort`)
PAYMENT_SORTS: dict[str, Any] = {
    "date": orm.Payment.created_at, "customer": func.lower(orm.Customer.name), "method": orm.Payment.method,
    "amount": orm.Payment.amount, "fee": orm.Payment.fee, "status": orm.Payment.status,
}


def list_payments(container: Dispatching, partner_id: str, **filters: Any) -> list[orm.Payment]:
    """The partner's payments, newest first, with their allocations (one page: `page_payments`)."""
    return page_payments(container, partner_id, **filters).items


def page_payments(
    container: Dispatching,
    partner_id: str,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    invoice_id: str | None = None,
    paid_out: bool | None = None,
    sort: str | None = None,
    desc: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> Page[orm.Payment]:
    """One page of the partner's payments, newest first, with their allocations and the total."""
    if status is not None and status not in pay_rules.STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(pay_rules.STATUSES)}")
    stmt = (
        select(orm.Payment)
        .where(orm.Payment.partner_id == partner_id)
        .options(selectinload(orm.Payment.allocations))
    )
    if status is not None:
        stmt = stmt.where(orm.Payment.status == status)
    if customer_id is not None:
        stmt = stmt.where(orm.Payment.customer_id == customer_id)
    if invoice_id is not None:
        stmt = stmt.where(
            orm.Payment.id.in_(select(orm.PaymentAllocation.payment_id).where(orm.PaymentAllocation.invoice_id == invoice_id))
        )
    if paid_out is not None:
        stmt = stmt.where(orm.Payment.payout_id.is_not(None) if paid_out else orm.Payment.payout_id.is_(None))
    if sort is not None:
        if sort == "customer":
            stmt = stmt.join(orm.Customer, orm.Customer.id == orm.Payment.customer_id)
        stmt = sorted_by(stmt, PAYMENT_SORTS, sort, desc, orm.Payment.created_at.desc(), orm.Payment.id)
    else:
        stmt = stmt.order_by(orm.Payment.created_at.desc(), orm.Payment.id)
    with container.uow() as uow:
        rows, total = fetch(uow.session, stmt, limit, offset)
        return detached(uow, Page(rows, total, limit, offset))


def get_payment(container: Dispatching, partner_id: str, payment_id: str) -> orm.Payment:
    """One payment of the partner with its allocations; another partner's id is `NotFound`."""
    with container.uow() as uow:
        row = uow.payments.get(payment_id)
        if row is None or row.partner_id != partner_id:
            raise NotFound("payment", payment_id)
        return detached(uow, row)
