"""Repositories: the queries the payment path makes, named, over the unit of work's session.

A unit of work (`store/uow.py`) opens one of each on its session, so a service says
`uow.payments.for_update(partner_id, payment_id)` instead of composing SQL next to its rules.
They only read and stage rows; the unit of work commits. Locks (`FOR UPDATE` on PostgreSQL;
SQLite serialises writers) are taken where the name says so, always in id order so two
transactions touching the same rows cannot deadlock each other.

    payments       Payment (+ allocations)        add, get, for_update
    invoices       Invoice                        for_update, pending_claims, origins_paid_by
    customers      Customer                       archived_among
    push_intents   PushIntent (the outbox)        by_key, add_unique
    connections    Connection                     get, of_partner
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ledgersync.store.orm import Connection, Customer, Invoice, Payment, PaymentAllocation, PushIntent

PROVIDER = "zoho_books"


class PaymentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, payment: Payment) -> None:
        self.session.add(payment)

    def get(self, payment_id: str) -> Payment | None:
        """The payment with its allocations (any partner's: the caller checks the owner)."""
        return self.session.get(Payment, payment_id, options=[selectinload(Payment.allocations)])

    def for_update(self, partner_id: str, payment_id: str) -> Payment | None:
        """The partner's payment with its allocations, locked until the transaction ends."""
        return self.session.scalars(
            select(Payment)
            .where(Payment.id == payment_id, Payment.partner_id == partner_id)
            .options(selectinload(Payment.allocations))
            .with_for_update()
        ).first()


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_update(self, invoice_ids: Iterable[str], *, partner_id: str | None = None) -> list[Invoice]:
        """The invoices among `invoice_ids` (of `partner_id`, if given), locked, in id order."""
        stmt = select(Invoice).where(Invoice.id.in_(set(invoice_ids)))
        if partner_id is not None:
            stmt = stmt.where(Invoice.partner_id == partner_id)
        return list(self.session.scalars(stmt.order_by(Invoice.id).with_for_update()).all())

    def pending_claims(self, invoice_ids: Iterable[str], pending_status: str) -> dict[str, Decimal]:
        """What payments still in `pending_status` claim on each invoice (invoices they claim nothing on are absent)."""
        rows = self.session.execute(
            select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(Payment.status == pending_status, PaymentAllocation.invoice_id.in_(set(invoice_ids)))
            .group_by(PaymentAllocation.invoice_id)
        ).all()
        return {invoice_id: amount for invoice_id, amount in rows}

    def origins_paid_by(self, payment_id: str) -> list[str]:
        """The origin (`zoho` | `platform`) of every invoice the payment is allocated to."""
        return list(self.session.scalars(
            select(Invoice.origin)
            .join(PaymentAllocation, PaymentAllocation.invoice_id == Invoice.id)
            .where(PaymentAllocation.payment_id == payment_id)
        ).all())


class CustomerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def archived_among(self, customer_ids: Iterable[str]) -> set[str]:
        ids = set(customer_ids)
        if not ids:
            return set()
        return set(self.session.scalars(select(Customer.id).where(Customer.id.in_(ids), Customer.archived.is_(True))))


class PushIntentRepository:
    """The outbox's rows; the rules of what to enqueue live in `ledgersync.sync.outbox`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_key(self, key: str) -> PushIntent | None:
        return self.session.scalars(select(PushIntent).where(PushIntent.key == key)).first()

    def add_unique(self, intent: PushIntent) -> PushIntent:
        """Insert the intent; if another transaction inserted its key first, that row is the intent."""
        try:
            with self.session.begin_nested():
                self.session.add(intent)
                self.session.flush()
        except IntegrityError:
            found = self.by_key(intent.key)
            if found is None:  # pragma: no cover - the unique key is the only constraint that can fire
                raise
            return found
        return intent


class ConnectionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, connection_id: str) -> Connection | None:
        return self.session.get(Connection, connection_id)

    def of_partner(self, partner_id: str) -> Connection | None:
        """The partner's Zoho Books connection row, whatever its status (None if never started)."""
        return self.session.scalars(
            select(Connection).where(Connection.partner_id == partner_id, Connection.provider == PROVIDER)
        ).first()
