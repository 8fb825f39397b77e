"""Issue 14: lists paginate on the server with totals; the Pay form's picker searches and never
offers an archived invoice or an archived customer's invoice."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.services import customers as customer_svc
from ledgersync.services import invoices as invoice_svc
from ledgersync.services import payments as pay_svc
from ledgersync.services.errors import ServiceError
from ledgersync.store import orm
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD

N_ACTIVE = 121


@pytest.fixture
def web(container: Container, partner: orm.Partner) -> TestClient:
    from ledgersync.web.app import create_app

    c = TestClient(create_app(container), base_url="http://testserver")
    assert c.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD},
                  follow_redirects=False).status_code == 303
    return c


@pytest.fixture
def data(container: Container, partner: orm.Partner) -> dict[str, str]:
    acme = customer_svc.create_customer(container, partner.id, name="Acme Dental")
    gone = customer_svc.create_customer(container, partner.id, name="Zed Archived Ltd")
    item = [invoice_svc.LineItemInput("Service", Decimal("1"), Decimal("10.00"))]
    for _ in range(N_ACTIVE):
        invoice_svc.create_invoice(container, partner.id, customer_id=acme.id, line_items=item)
    orphan = invoice_svc.create_invoice(container, partner.id, customer_id=gone.id, line_items=item, number="ZED-1")
    archived_inv = invoice_svc.create_invoice(container, partner.id, customer_id=acme.id, line_items=item,
                                              number="ARCH-1")
    with container.uow() as uow:
        uow.session.get(orm.Customer, gone.id).archived = True
        uow.session.get(orm.Invoice, archived_inv.id).archived = True
        uow.commit()
    first = invoice_svc.page_invoices(container, partner.id, customer_id=acme.id, limit=1).items[0]
    return {"orphan": orphan.id, "archived": archived_inv.id, "acme": acme.id, "acme_invoice": first.id}


def _ids(html: str) -> list[str]:
    return re.findall(r'data-invoice-id="(\w+)"', html)


def test_invoice_list_pages_on_the_server_with_the_total(web: TestClient, data: dict[str, str]) -> None:
    total = N_ACTIVE + 1  # the archived customer's invoice is itself active
    first = web.get("/invoices").text
    assert f"Showing 1–50 of {total} invoices" in first and len(_ids(first)) == 50
    last = web.get("/invoices", params={"page": 3}).text
    assert f"Showing 101–{total} of {total}" in last and len(_ids(last)) == total - 100
    assert 'rel="next"' not in last and 'rel="prev"' in last
    seen = set(_ids(first)) | set(_ids(web.get("/invoices", params={"page": 2}).text)) | set(_ids(last))
    assert len(seen) == total  # no invoice on two pages, none skipped
    assert "There is no page 9" in web.get("/invoices", params={"page": 9}).text


def test_picker_searches_and_hides_archived(web: TestClient, data: dict[str, str]) -> None:
    def options(**params: str) -> list[str]:
        html = web.get("/payments", params=params).text
        select = html.split('id="pay-invoice-select"')[1].split("</select>")[0] if "pay-invoice-select" in html else ""
        return re.findall(r'<option value="(\w+)"', select)

    everything = options()
    assert len(everything) == 50 and data["orphan"] not in everything and data["archived"] not in everything
    assert options(pick="ZED") == [] and options(pick="ARCH") == []
    assert options(pick="PL-00007") and all(len(o) == 32 for o in options(pick="PL-00007"))
    page = web.get("/payments").text
    assert f"{N_ACTIVE} payable invoices" in page and "search to narrow" in page
    assert data["orphan"] not in options(invoice_id=data["orphan"])  # "Pay this invoice" cannot smuggle it in


def test_an_archived_customers_invoice_cannot_be_paid(container: Container, partner: orm.Partner,
                                                      data: dict[str, str]) -> None:
    with pytest.raises(ServiceError, match="archived"):
        pay_svc.pay_invoices(container, partner.id, method="card",
                             allocations=[pay_svc.AllocationInput(data["orphan"], Decimal("10.00"))])


def test_customers_list_pages(web: TestClient, container: Container, partner: orm.Partner) -> None:
    for i in range(55):
        customer_svc.create_customer(container, partner.id, name=f"Customer {i:03d}")
    first = web.get("/customers").text
    assert "Showing 1–50 of 55 customers" in first and 'rel="next"' in first
    second = web.get("/customers", params={"page": 2}).text
    assert len(re.findall(r'data-customer-id="', second)) == 5


def test_payouts_and_sync_log_page(web: TestClient, container: Container, partner: orm.Partner) -> None:
    from datetime import date

    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner.id, provider="zoho_books", status="connected",
                              organization_id="700000001")
        uow.session.add(conn)
        uow.session.flush()
        for i in range(53):
            uow.session.add(orm.Payout(partner_id=partner.id, gross=Decimal("10.00"), fees=Decimal("0.59"),
                                       net=Decimal("9.41"), arrival_date=date(2026, 1, 1 + i % 28)))
            uow.session.add(orm.SyncRun(connection_id=conn.id, stream="invoices", status="succeeded"))
        uow.commit()
    assert "Showing 1–50 of 53 payouts" in web.get("/payouts").text
    assert len(re.findall(r"data-payout-id=", web.get("/payouts", params={"page": 2}).text)) == 3
    assert "Runs 51–53 of 53" in web.get("/sync-log", params={"page": 2}).text


def _numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/invoices/\w+">([^<]+)</a>', html.split('id="invoices"')[1])


def test_invoice_columns_sort_on_the_server_across_pages(web: TestClient, data: dict[str, str],
                                                         container: Container, partner: orm.Partner) -> None:
    """Sorting is the database's: page 2 of "Number, descending" continues page 1, the sorted
    header carries aria-sort, the pager and the filter form keep the sort."""
    first = web.get("/invoices", params={"sort": "number", "dir": "desc"}).text
    second = web.get("/invoices", params={"sort": "number", "dir": "desc", "page": 2}).text
    numbers = _numbers(first) + _numbers(second)
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == 100
    assert re.search(r'<th scope="col" aria-sort="descending"><a class="sort" href="[^"]*sort=number&amp;dir=asc"', first)
    assert first.count("aria-sort=") == 1
    assert "sort=number&amp;dir=desc&amp;page=2" in first  # the pager keeps the sort
    assert '<input type="hidden" name="sort" value="number">' in first  # so does the filter form
    ascending = _numbers(web.get("/invoices", params={"sort": "number", "dir": "asc"}).text)
    assert ascending == sorted(ascending) and ascending[0] != numbers[0]
    # by customer: the archived customer's invoice (Zed…) comes last ascending, first descending
    by_customer = web.get("/invoices", params={"sort": "customer", "dir": "desc"}).text
    assert _numbers(by_customer)[0] == "ZED-1"
    # an unknown column falls back to the default order (newest first), no error
    assert web.get("/invoices", params={"sort": "nope"}).status_code == 200
    with pytest.raises(ServiceError):
        invoice_svc.page_invoices(container, partner.id, sort="nope")


@pytest.mark.parametrize("path,column,header", [
    ("/customers", "outstanding", "Outstanding"), ("/payments", "amount", "Amount"),
    ("/payouts", "net", "Net"), ("/sync-log", "calls", "Zoho calls"),
])
def test_every_list_has_sortable_headers(web: TestClient, data: dict[str, str], path: str, column: str,
                                         header: str, container: Container, partner: orm.Partner) -> None:
    for amount in ("3.00", "7.00"):
        pay_svc.pay_invoices(container, partner.id, method="card",
                             allocations=[pay_svc.AllocationInput(data["acme_invoice"], Decimal(amount))])
    html = web.get(path, params={"sort": column, "dir": "desc"}).text
    if path in ("/customers", "/payments"):  # lists with rows here (payouts and runs: the browser tests)
        assert 'class="data"' in html
    if 'class="data"' in html:  # the list has rows: its header links sort
        assert re.search(rf'aria-sort="descending"><a class="sort" href="[^"]*sort={column}&amp;dir=asc">{header}',
                         html), path
    assert web.get(path, params={"sort": "'; drop table x", "dir": "sideways"}).status_code == 200
    if path == "/payments":  # paid 3.00 then 7.00: newest first would show 7.00 first
        html = web.get(path, params={"sort": "amount", "dir": "asc"}).text
        amounts = re.findall(r'<td class="num">\$?([\d.,]+)', html.split('id="payments"')[1])
        assert amounts[:2] == ["3.00", "7.00"], amounts


def test_customers_sort_by_what_they_owe(web: TestClient, data: dict[str, str]) -> None:
    html = web.get("/customers", params={"sort": "outstanding", "dir": "desc"}).text
    names = re.findall(r'<tr data-customer-id="\w+">\s*<td>([^<]+)</td>', html)
    assert names[0] == "Acme Dental"  # 121 open invoices
    html = web.get("/customers", params={"sort": "outstanding", "dir": "asc", "archived": "all"}).text
    assert re.findall(r'<tr data-customer-id="\w+">\s*<td>([^<]+)</td>', html)[-1] == "Acme Dental"
