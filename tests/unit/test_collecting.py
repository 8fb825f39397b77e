"""Customers, invoices, payments, settlement and payouts through the services, on the real DB."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from ledgersync.services import customers, demo, invoices, partners, payments, payouts
from ledgersync.services.errors import Conflict, InvalidInput, NotFound
from ledgersync.services.invoices import LineItemInput
from ledgersync.services.payments import AllocationInput
from ledgersync.store import orm
from ledgersync.sync import outbox

FUTURE = date(2099, 1, 31)


def _invoice(container, partner_id, customer_id, amount: str, **kw):
    return invoices.create_invoice(
        container, partner_id, customer_id=customer_id, due_date=FUTURE,
        line_items=[LineItemInput("Managed services", D("1"), D(amount))], **kw,
    )


@pytest.fixture
def acme(container, partner):
    return customers.create_customer(container, partner.id, name="Acme Corp", email="ap@acme.test")


@pytest.fixture
def other_partner(container):
    return partners.create_partner(container, name="Other MSP", email="o@other.test", password="other-pass-1").partner


def _intents(container):
    with container.uow() as uow:
        return [(i.kind, i.key, i.state) for i in uow.session.scalars(select(orm.PushIntent).order_by(orm.PushIntent.created_at))]


def test_invoice_totals_and_line_items(container, partner, acme) -> None:
    inv = invoices.create_invoice(
        container, partner.id, customer_id=acme.id, due_date=FUTURE,
        line_items=[
            LineItemInput("Hours", D("2.5"), D("120.333")),  # 300.8325 -> 300.83
            LineItemInput("Licence", D("3"), D("19.99"), tax_amount=D("4.80")),
        ],
    )
    assert inv.total == D("365.60") and inv.outstanding == D("365.60")
    assert inv.status == "open" and inv.origin == "platform" and inv.number == "PL-00001"
    got = invoices.get_invoice(container, partner.id, inv.id)
    assert [li.amount for li in got.line_items] == [D("300.83"), D("59.97")]
    assert got.line_items[0].quantity == D("2.5")


def test_invoice_input_errors_name_the_field(container, partner, acme) -> None:
    cases = [
        ({"line_items": []}, "line_items"),
        ({"line_items": [LineItemInput("x", D("0"), D("1"))]}, "line_items[0].quantity"),
        ({"line_items": [LineItemInput("x", D("1"), D("-1"))]}, "line_items[0].rate"),
        ({"customer_id": "nope"}, "customer_id"),
        ({"due_date": date(2000, 1, 1)}, "due_date"),
    ]
    for override, field in cases:
        kw = {"customer_id": acme.id, "line_items": [LineItemInput("x", D("1"), D("1"))], "due_date": FUTURE}
        kw.update(override)
        with pytest.raises(InvalidInput) as err:
            invoices.create_invoice(container, partner.id, **kw)
        assert err.value.field == field


def test_invoice_list_filters(container, partner, acme) -> None:
    beta = customers.create_customer(container, partner.id, name="Beta LLC")
    a = _invoice(container, partner.id, acme.id, "100.00")
    b = _invoice(container, partner.id, beta.id, "50.00")
    with container.uow() as uow:
        uow.session.get(orm.Invoice, b.id).archived = True
        uow.commit()
    ids = lambda rows: {r.id for r in rows}  # noqa: E731
    assert ids(invoices.list_invoices(container, partner.id)) == {a.id}
    assert ids(invoices.list_invoices(container, partner.id, archived=None)) == {a.id, b.id}
    assert ids(invoices.list_invoices(container, partner.id, archived=True)) == {b.id}
    assert ids(invoices.list_invoices(container, partner.id, search="acme")) == {a.id}
    assert ids(invoices.list_invoices(container, partner.id, search="pl-0000", archived=None)) == {a.id, b.id}
    assert ids(invoices.list_invoices(container, partner.id, customer_id=beta.id, archived=None)) == {b.id}
    assert ids(invoices.list_invoices(container, partner.id, status="paid")) == set()
    with pytest.raises(InvalidInput):
        invoices.list_invoices(container, partner.id, status="bogus")


def test_partial_then_full_payment_only_counts_when_succeeded(container, partner, acme) -> None:
    inv = _invoice(container, partner.id, acme.id, "100.00")
    p1 = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("40.00"))], method="card")
    assert p1.status == "pending" and p1.amount == D("40.00") and p1.customer_id == acme.id
    assert invoices.get_invoice(container, partner.id, inv.id).outstanding == D("100.00")
    # a pending payment's claim limits what another payment may take
    with pytest.raises(InvalidInput) as err:
        payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("60.01"))])
    assert err.value.field == "allocations[0].amount"

    settled = payments.settle(container, partner.id, p1.id, "succeeded")
    assert settled.status == "succeeded" and settled.fee == D("1.46") and settled.settled_at is not None
    got = invoices.get_invoice(container, partner.id, inv.id)
    assert (got.outstanding, got.status) == (D("60.00"), "partially_paid")
    assert _intents(container) == [("standalone_deposit", outbox.payment_key(p1.id), "waiting")]

    p2 = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("60.00"))], method="ach")
    payments.settle(container, partner.id, p2.id, "succeeded")
    got = invoices.get_invoice(container, partner.id, inv.id)
    assert (got.outstanding, got.status) == (D("0.00"), "paid")
    with pytest.raises(InvalidInput):
        payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("1.00"))])


def test_one_payment_over_several_invoices(container, partner, acme) -> None:
    a = _invoice(container, partner.id, acme.id, "100.00")
    b = _invoice(container, partner.id, acme.id, "30.00")
    p = payments.pay_invoices(
        container, partner.id, method="ach",
        allocations=[AllocationInput(a.id, D("100.00")), AllocationInput(b.id, D("10.00"))],
    )
    payments.settle(container, partner.id, p.id, "succeeded")
    assert invoices.get_invoice(container, partner.id, a.id).status == "paid"
    assert invoices.get_invoice(container, partner.id, b.id).outstanding == D("20.00")
    got = payments.get_payment(container, partner.id, p.id)
    assert sorted(x.amount for x in got.allocations) == [D("10.00"), D("100.00")] and got.fee == D("0.88")
    assert [x.id for x in payments.list_payments(container, partner.id, invoice_id=b.id)] == [p.id]


def test_failed_pending_payment_changes_nothing(container, partner, acme) -> None:
    inv = _invoice(container, partner.id, acme.id, "100.00")
    p = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("100.00"))])
    failed = payments.settle(container, partner.id, p.id, "failed", reason="card declined")
    assert failed.status == "failed" and failed.failure_reason == "card declined"
    assert invoices.get_invoice(container, partner.id, inv.id).outstanding == D("100.00")
    assert _intents(container) == []
    with pytest.raises(Conflict):
        payments.settle(container, partner.id, p.id, "succeeded")


def test_ach_failing_after_success_restores_and_enqueues_reversal(container, partner, acme) -> None:
    inv = _invoice(container, partner.id, acme.id, "100.00")
    p = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("100.00"))], method="ach")
    payments.settle(container, partner.id, p.id, "succeeded")
    assert invoices.get_invoice(container, partner.id, inv.id).status == "paid"
    payments.settle(container, partner.id, p.id, "failed", reason="R01 insufficient funds")
    got = invoices.get_invoice(container, partner.id, inv.id)
    assert (got.outstanding, got.status) == (D("100.00"), "open")
    assert [k for k, _, _ in _intents(container)] == ["standalone_deposit", "payment_reversal"]


def test_card_cannot_fail_after_success_and_settle_is_once(container, partner, acme) -> None:
    inv = _invoice(container, partner.id, acme.id, "10.00")
    p = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("10.00"))])
    payments.settle(container, partner.id, p.id, "succeeded")
    for outcome in ("succeeded", "failed", "refunded"):
        with pytest.raises(Conflict):
            payments.settle(container, partner.id, p.id, outcome)
    assert invoices.get_invoice(container, partner.id, inv.id).outstanding == D("0.00")


def test_notify_wakes_dispatcher_after_commit(container, partner, acme) -> None:
    woken: list[str] = []

    class Dispatcher:
        def push_requested(self, connection_id: str) -> None:
            woken.append(connection_id)

    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner.id, status="connected")
        uow.session.add(conn)
        uow.commit()
    container.dispatcher = Dispatcher()
    inv = _invoice(container, partner.id, acme.id, "10.00")
    p = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("10.00"))])
    payments.settle(container, partner.id, p.id, "succeeded")
    assert woken == [conn.id]


def test_payout_of_unpaid_out_payments(container, partner, acme) -> None:
    inv = _invoice(container, partner.id, acme.id, "1000.00")
    card = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("100.00"))])
    ach = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("700.00"))], method="ach")
    pending = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("5.00"))])
    payments.settle(container, partner.id, card.id, "succeeded")
    payments.settle(container, partner.id, ach.id, "succeeded")
    po = payouts.create_payout(container, partner.id)
    assert (po.gross, po.fees, po.net) == (D("800.00"), D("8.20"), D("791.80"))
    assert payouts.payout_payment_ids(container, partner.id, po.id) == sorted([card.id, ach.id])
    assert outbox.payout_key(po.id) in [k for _, k, _ in _intents(container)]
    with pytest.raises(Conflict):
        payouts.create_payout(container, partner.id)  # nothing left
    with pytest.raises(InvalidInput) as err:
        payouts.create_payout(container, partner.id, payment_ids=[pending.id])
    assert err.value.field == "payment_ids"
    assert [x.id for x in payouts.list_payouts(container, partner.id)] == [po.id]
    assert {x.id for x in payments.list_payments(container, partner.id, paid_out=False)} == {pending.id}


def test_partner_isolation(container, partner, acme, other_partner) -> None:
    inv = _invoice(container, partner.id, acme.id, "100.00")
    p = payments.pay_invoices(container, partner.id, allocations=[AllocationInput(inv.id, D("100.00"))])
    payments.settle(container, partner.id, p.id, "succeeded")
    po = payouts.create_payout(container, partner.id)
    oid = other_partner.id
    for getter, row_id in [
        (customers.get_customer, acme.id), (invoices.get_invoice, inv.id),
        (payments.get_payment, p.id), (payouts.get_payout, po.id),
    ]:
        with pytest.raises(NotFound):
            getter(container, oid, row_id)
    assert customers.list_customers(container, oid) == []
    assert invoices.list_invoices(container, oid, archived=None) == []
    assert payments.list_payments(container, oid) == [] and payouts.list_payouts(container, oid) == []
    with pytest.raises(NotFound):
        payments.settle(container, oid, p.id, "failed")
    with pytest.raises(InvalidInput) as err:
        payments.pay_invoices(container, oid, allocations=[AllocationInput(inv.id, D("1.00"))])
    assert err.value.field == "allocations[0].invoice_id"
    with pytest.raises(InvalidInput):
        invoices.create_invoice(container, oid, customer_id=acme.id, line_items=[LineItemInput("x", D("1"), D("1"))])
    with pytest.raises(InvalidInput):
        payouts.create_payout(container, oid, payment_ids=[p.id])


def test_seed_demo_partner_is_idempotent(container) -> None:
    first = demo.seed_demo_partner(container)
    assert demo.seed_demo_partner(container) == first
    assert partners.authenticate(container, demo.DEMO_EMAIL, demo.DEMO_PASSWORD).partner_id == first
    assert partners.get_partner(container, first).name == "Demo MSP"
