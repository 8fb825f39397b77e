"""The store under the services: exact money on both dialects, and row locks on PostgreSQL."""

from __future__ import annotations

import os
import threading
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from ledgersync.services import customers, invoices, payments
from ledgersync.services.errors import Conflict, InvalidInput
from ledgersync.services.invoices import LineItemInput
from ledgersync.services.payments import AllocationInput
from ledgersync.store import orm
from tests.conftest import TEST_DB_ENV


def test_suite_runs_on_the_configured_database(container) -> None:
    expected = "postgresql" if os.environ.get(TEST_DB_ENV) else "sqlite"
    assert container.engine.dialect.name == expected


def test_money_is_exact_in_sql_sums(container, partner) -> None:
    cust = customers.create_customer(container, partner.id, name="Acme")
    for _ in range(10):
        invoices.create_invoice(container, partner.id, customer_id=cust.id,
                                line_items=[LineItemInput("x", D("1"), D("0.10"))])
    with container.uow() as uow:
        total = uow.session.scalar(select(func.sum(orm.Invoice.total)))
    assert total == D("1.00")  # summed as integer cents, typed back to Decimal


def _race(*calls):  # type: ignore[no-untyped-def]
    """Run the calls at once (a barrier lines them up); returns each one's result or error."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, fn):  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
def test_concurrent_settlements_and_claims_apply_once(container, partner) -> None:
    cust = customers.create_customer(container, partner.id, name="Acme")
    inv = invoices.create_invoice(container, partner.id, customer_id=cust.id, due_date=date(2099, 1, 1),
                                  line_items=[LineItemInput("x", D("1"), D("100.00"))])
    pay = lambda: payments.pay_invoices(  # noqa: E731
        container, partner.id, allocations=[AllocationInput(inv.id, D("100.00"))])
    claims = _race(pay, pay, pay)
    made = [r for r in claims if isinstance(r, orm.Payment)]
    assert len(made) == 1 and all(isinstance(r, InvalidInput) for r in claims if r not in made)

    settle = lambda: payments.settle(container, partner.id, made[0].id, "succeeded")  # noqa: E731
    results = _race(settle, settle, settle)
    assert sum(isinstance(r, orm.Payment) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 2
    assert invoices.get_invoice(container, partner.id, inv.id).outstanding == D("0.00")
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.PushIntent)) == 1
