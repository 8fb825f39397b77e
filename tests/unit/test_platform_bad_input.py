"""Bad input from the platform side gets a clear refusal and leaves nothing half-written:
a payment whose invoice was archived meanwhile, a payout of payments in two currencies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from ledgersync.services import customers, invoices, payments, payouts
from ledgersync.services.errors import Conflict, InvalidInput
from ledgersync.services.invoices import LineItemInput
from ledgersync.services.payments import AllocationInput
from ledgersync.store import orm


def _invoice(container, partner_id, customer_id, amount: str):
    return invoices.create_invoice(container, partner_id, customer_id=customer_id, due_date=date(2099, 1, 31),
                                   line_items=[LineItemInput("Managed services", D("1"), D(amount))])


def _count(container, model) -> int:
    with container.uow() as uow:
        return uow.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_payment_on_an_invoice_archived_meanwhile_is_refused_whole(container, partner):
    acme = customers.create_customer(container, partner.id, name="Acme", email="ap@acme.test")
    a = _invoice(container, partner.id, acme.id, "100.00")
    b = _invoice(container, partner.id, acme.id, "50.00")
    p = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(a.id, D("100.00")),
                                                                  AllocationInput(b.id, D("50.00"))])
    with container.uow() as uow:  # deleted in Zoho meanwhile: the pull archives it
        inv = uow.session.get(orm.Invoice, b.id)
        inv.archived, inv.archived_reason = True, "deleted in Zoho Books"
        uow.commit()
    intents = _count(container, orm.PushIntent)
    with pytest.raises(Conflict) as err:
        payments.settle(container, partner.id, p.id, "succeeded")
    assert f"invoice {b.number} was archived (deleted in Zoho Books)" in str(err.value)
    # nothing half-written: the payment pending, both invoices untouched, no push queued
    assert payments.get_payment(container, partner.id, p.id).status == "pending"
    assert invoices.get_invoice(container, partner.id, a.id).outstanding == D("100.00")
    assert invoices.get_invoice(container, partner.id, b.id).outstanding == D("50.00")
    assert _count(container, orm.PushIntent) == intents
    # the way out stays open: report it failed (and refund)
    assert payments.settle(container, partner.id, p.id, "failed", reason="refunded").status == "failed"


def test_a_payout_of_payments_in_two_currencies_is_refused_whole(container, partner):
    acme = customers.create_customer(container, partner.id, name="Acme", email="ap@acme.test", currency="USD")
    euro = customers.create_customer(container, partner.id, name="Euro GmbH", email="ap@euro.test", currency="EUR")
    usd = _invoice(container, partner.id, acme.id, "100.00")
    eur = _invoice(container, partner.id, euro.id, "80.00")
    ids = []
    for inv, amount in ((usd, "100.00"), (eur, "80.00")):
        p = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D(amount))])
        payments.settle(container, partner.id, p.id, "succeeded")
        ids.append(p.id)
    intents = _count(container, orm.PushIntent)
    with pytest.raises(InvalidInput) as err:
        payouts.create_payout(container, partner.id, payment_ids=ids)
    assert "several currencies" in str(err.value) and "EUR" in str(err.value) and "USD" in str(err.value)
    assert _count(container, orm.Payout) == 0 and _count(container, orm.PushIntent) == intents
    assert all(payments.get_payment(container, partner.id, i).payout_id is None for i in ids)
