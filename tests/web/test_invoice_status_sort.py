"""The invoices' Status column sorts by the label it shows (issue 14 leftover).

The column reads the standing ("Collected", "Credited", "Partially credited", …), while the
database stores `paid`, `partially_paid`, …; sorting by the stored column put "Collected" and
"Credited" between "Overdue" and "Partially paid". The rows below stand for what the pull sync
stores for each standing (status and Zoho's settlement amounts).
"""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ledgersync.bootstrap import Container
from ledgersync.domain.invoices import STANDING_LABELS
from ledgersync.services import customers as customer_svc
from ledgersync.services import invoices as invoice_svc
from ledgersync.store import orm
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD

#: standing -> (stored status, outstanding, paid, credited, written off) of a 100.00 invoice
ROWS = {
    "open": ("open", "100", "0", "0", "0"),
    "collected": ("paid", "0", "100", "0", "0"),
    "void": ("void", "0", "0", "0", "0"),
    "draft": ("draft", "100", "0", "0", "0"),
    "partially_credited": ("partially_paid", "60", "0", "40", "0"),
    "credited": ("paid", "0", "0", "100", "0"),
    "written_off": ("written_off", "0", "0", "0", "100"),
    "overdue": ("overdue", "100", "0", "0", "0"),
    "collected_on_platform": ("paid", "0", "0", "0", "0"),  # no Zoho figures: paid on the platform
    "partially_paid": ("partially_paid", "60", "40", "0", "0"),
}
BY_LABEL = sorted(STANDING_LABELS.values(), key=str.casefold)


@pytest.fixture
def invoices(container: Container, partner: orm.Partner) -> dict[str, str]:
    """One invoice per row of ROWS, numbered in an order that is neither the labels' nor the stored statuses'."""
    customer = customer_svc.create_customer(container, partner.id, name="Acme Dental")
    item = [invoice_svc.LineItemInput("Service", D("1"), D("100.00"))]
    ids = {}
    for n, (name, (status, outstanding, paid, credited, written_off)) in enumerate(ROWS.items()):
        inv = invoice_svc.create_invoice(container, partner.id, customer_id=customer.id, line_items=item,
                                         number=f"INV-{n:02d}")
        with container.uow() as uow:
            uow.session.execute(update(orm.Invoice).where(orm.Invoice.id == inv.id).values(
                status=status, outstanding=D(outstanding), paid_amount=D(paid), credited_amount=D(credited),
                written_off_amount=D(written_off)))
            uow.commit()
        ids[name] = inv.id
    return ids


def test_each_row_reads_as_its_standing(container: Container, partner: orm.Partner,
                                        invoices: dict[str, str]) -> None:
    rows = invoice_svc.page_invoices(container, partner.id).items
    standing = {inv.id: inv.settlement_status for inv in rows}
    assert {name: standing[i] for name, i in invoices.items()} == {
        name: name.removesuffix("_on_platform") for name in invoices}
    assert {STANDING_LABELS[s] for s in standing.values()} == set(BY_LABEL)  # every label is on the list


@pytest.mark.parametrize("desc", [False, True])
def test_the_service_sorts_status_by_the_label(container: Container, partner: orm.Partner,
                                               invoices: dict[str, str], desc: bool) -> None:
    labels = [inv.settlement_label for inv in invoice_svc.page_invoices(container, partner.id, sort="status",
                                                                        desc=desc).items]
    assert labels == sorted(labels, key=str.casefold, reverse=desc)
    assert labels[0] == ("Written off" if desc else "Collected")
    pages = [invoice_svc.page_invoices(container, partner.id, sort="status", desc=desc, limit=4, offset=offset)
             for offset in (0, 4, 8)]
    assert [inv.settlement_label for page in pages for inv in page.items] == labels  # pages continue each other


def test_the_dashboard_column_reads_in_label_order(container: Container, partner: orm.Partner,
                                                   invoices: dict[str, str]) -> None:
    from ledgersync.web.app import create_app

    web = TestClient(create_app(container), base_url="http://testserver")
    assert web.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD},
                    follow_redirects=False).status_code == 303
    html = web.get("/invoices", params={"sort": "status", "dir": "asc"}).text
    shown = re.findall(r'<span class="badge badge-[a-z_]+">([A-Za-z ]+)</span>', html)
    assert shown == ["Collected", "Collected", *BY_LABEL[1:]]

