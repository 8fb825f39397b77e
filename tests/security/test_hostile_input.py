"""Hostile input through the REST API, the dashboard's Pay form and the services: bounded,
ISO 4217 only, unique invoice numbers without a race, payments never larger than their allocations.

Each case was a 500 (or a silent acceptance) before; each answer now is a 4xx naming the field.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.domain.money import MAX_AMOUNT
from ledgersync.services import customers, invoices, payments
from ledgersync.services.errors import InvalidInput
from ledgersync.services.invoices import LineItemInput
from ledgersync.store import orm
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD


@pytest.fixture
def api(container: Container, api_key: str) -> TestClient:
    from ledgersync.web.app import create_app

    return TestClient(create_app(container), headers={"Authorization": f"Bearer {api_key}"},
                      raise_server_exceptions=False)


@pytest.fixture
def customer(container: Container, partner: orm.Partner) -> orm.Customer:
    return customers.create_customer(container, partner.id, name="Acme", currency="USD")


def _invoice(api: TestClient, customer_id: str, quantity: object, rate: object, tax: object = "0", **extra: object) -> int:
    body = {"customer_id": customer_id, "line_items": [{"name": "x", "quantity": quantity, "rate": rate,
                                                       "tax_amount": tax}], **extra}
    return api.post("/api/v1/invoices", json=body).status_code


@pytest.mark.parametrize(("quantity", "rate", "tax"), [
    ("1e30", "1", "0"), ("1", "1e30", "0"), ("99999999999", "99999999999", "0"), ("1", 1e308, "0"),
    ("1", "1", "1e30"), ("NaN", "1", "0"), ("1", "Infinity", "0"), ("1e-30", "1", "0"), ("1", "-1", "0"),
    ("1000000000", "1000000000000", "0"),  # each within its bound, the product not
])
def test_out_of_range_line_items_are_422(api: TestClient, customer: orm.Customer, quantity: object, rate: object,
                                         tax: object) -> None:
    assert _invoice(api, customer.id, quantity, rate, tax) == 422


def test_the_largest_accepted_invoice_fits_the_database(api: TestClient, customer: orm.Customer,
                                                        container: Container) -> None:
    assert _invoice(api, customer.id, "1", str(MAX_AMOUNT)) == 201
    with container.uow() as uow:
        assert uow.session.query(orm.Invoice).one().total == MAX_AMOUNT  # stored and read back exactly


def test_services_bound_what_bypasses_the_api(container: Container, partner: orm.Partner, customer: orm.Customer) -> None:
    with pytest.raises(InvalidInput, match="quantity"):
        invoices.create_invoice(container, partner.id, customer_id=customer.id,
                                line_items=[LineItemInput("x", Decimal("1e30"), Decimal("1"))])
    with pytest.raises(InvalidInput, match="over the maximum"):
        invoices.create_invoice(container, partner.id, customer_id=customer.id,
                                line_items=[LineItemInput("x", Decimal("2"), Decimal(MAX_AMOUNT))])


@pytest.mark.parametrize(("code", "status"), [("XYZ", 422), ("ZZZ", 422), ("usd", 201), ("EUR", 201), ("US", 422)])
def test_only_iso_4217_currencies(api: TestClient, code: str, status: int) -> None:
    assert api.post("/api/v1/customers", json={"name": "C", "currency_code": code}).status_code == status
    if status == 422:
        assert api.post("/api/v1/payouts", json={"currency_code": code}).status_code == 422


@pytest.mark.parametrize("query", ["offset=99999999999999999999", "offset=-1", "limit=0", "limit=100000", "limit=abc"])
def test_offset_and_limit_are_bounded(api: TestClient, query: str) -> None:
    for path in ("/api/v1/invoices", "/api/v1/customers", "/api/v1/payments", "/api/v1/payouts"):
        assert api.get(f"{path}?{query}").status_code == 422


def test_invoice_numbers_are_unique_per_partner(api: TestClient, customer: orm.Customer, container: Container,
                                                partner: orm.Partner) -> None:
    assert _invoice(api, customer.id, "1", "1", number="N-1") == 201
    r = api.post("/api/v1/invoices", json={"customer_id": customer.id, "number": "N-1",
                                           "line_items": [{"name": "x", "quantity": "1", "rate": "1"}]})
    assert r.status_code == 422 and "already used" in r.text


def test_concurrent_invoices_never_share_a_number(container: Container, partner: orm.Partner,
                                                  customer: orm.Customer) -> None:
    """The old count+1 gave two simultaneous invoices the same number; the unique index + retry cannot."""
    made: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def create() -> None:
        try:
            start.wait()
            inv = invoices.create_invoice(container, partner.id, customer_id=customer.id,
                                          line_items=[LineItemInput("x", Decimal("1"), Decimal("5"))])
            made.append(inv.number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(made) == [f"PL-{n:05d}" for n in range(1, 7)]


def test_unique_index_is_in_the_database(container: Container, partner: orm.Partner, customer: orm.Customer) -> None:
    """Even a writer that skips the service's check cannot store a second platform PL-00001."""
    from sqlalchemy.exc import IntegrityError

    invoices.create_invoice(container, partner.id, customer_id=customer.id,
                            line_items=[LineItemInput("x", Decimal("1"), Decimal("5"))])
    with pytest.raises(IntegrityError), container.uow() as uow:
        uow.session.add(orm.Invoice(partner_id=partner.id, customer_id=customer.id, number="PL-00001",
                                    currency_code="USD", issue_date=invoices.today_utc(), total=Decimal("1.00"),
                                    outstanding=Decimal("1.00"), status="open", origin="platform"))
        uow.commit()


def test_a_payment_larger_than_its_allocations_is_refused(api: TestClient, container: Container,
                                                          partner: orm.Partner, customer: orm.Customer) -> None:
    inv = invoices.create_invoice(container, partner.id, customer_id=customer.id,
                                  line_items=[LineItemInput("x", Decimal("1"), Decimal("100"))])
    body = {"allocations": [{"invoice_id": inv.id, "amount": "10.00"}], "amount": "1000.00"}
    r = api.post("/api/v1/payments", json=body)
    assert r.status_code == 422 and "more than its allocations" in r.text
    assert api.post("/api/v1/payments", json={**body, "amount": "10.00"}).status_code == 201
    with pytest.raises(InvalidInput, match="more than its allocations"):
        payments.pay_invoices(container, partner.id, amount=Decimal("20.00"),
                              allocations=[payments.AllocationInput(inv.id, Decimal("10.00"))])


@pytest.mark.parametrize("typed", ["1e30", "99999999999999999999", "1E+400", "-5", "abc", "0.001"])
def test_pay_form_answers_every_typo_with_a_sentence(container: Container, partner: orm.Partner,
                                                     customer: orm.Customer, typed: str) -> None:
    from ledgersync.web.app import create_app

    inv = invoices.create_invoice(container, partner.id, customer_id=customer.id,
                                  line_items=[LineItemInput("x", Decimal("1"), Decimal("100"))])
    web = TestClient(create_app(container), raise_server_exceptions=False)
    assert web.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD},
                    follow_redirects=False).status_code == 303
    r = web.post("/payments/pay", data={"invoice_id": inv.id, "amount": typed, "outcome": "none"})
    assert r.status_code == 200, r.status_code  # back on the form (after its redirect), with the message
    assert "Amount" in r.text and "Something went wrong" not in r.text
    with container.uow() as uow:
        assert uow.session.query(orm.Payment).count() == 0
