"""Invoices, customers and sync-log pages over the synced data (the web part's app)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgersync.store.orm import Invoice, SyncError
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.web.app import create_app
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD


def test_pages_show_synced_data_errors_and_pdf(container, connection_id, zoho):
    victim = next(iter(zoho.org.invoices.values()))
    with zoho.sandbox.lock:
        victim.currency_code = "XYZ"
    run_initial_sync(container, connection_id)
    with TestClient(create_app(container)) as client:
        r = client.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
        page = client.get("/invoices")
        assert page.status_code == 200 and 'id="invoices"' in page.text
        some = next(i for i in zoho.org.invoices.values() if i.invoice_id != victim.invoice_id)
        assert some.invoice_number in page.text
        assert some.invoice_number in client.get("/invoices", params={"q": some.invoice_number}).text
        assert 'id="invoices"' not in client.get("/invoices", params={"archived": "1"}).text
        customers = client.get("/customers")
        assert customers.status_code == 200 and some.customer_name in customers.text
        from decimal import Decimal

        owed = sum((i.balance for i in zoho.org.invoices.values()
                    if i.customer_id == some.customer_id and i.base_status != "void"), Decimal("0.00"))
        assert f"{owed:,.2f} USD" in customers.text
        log = client.get("/sync-log")
        assert log.status_code == 200 and victim.invoice_id in log.text and "unknown currency" in log.text
        assert "Sync now" in log.text
        with container.uow() as uow:
            inv_id = uow.session.execute(select(Invoice.id).where(Invoice.number == some.invoice_number)).scalar_one()
        pdf = client.get(f"/invoices/{inv_id}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        import re

        share = re.search(r'href="(/p/invoices/' + inv_id + r'/pdf\?[^"]+)"', page.text)
        assert share, "share link shown"
        anonymous = TestClient(create_app(container))
        assert anonymous.get(share.group(1).replace("&amp;", "&")).status_code == 200
        assert anonymous.get(f"/p/invoices/{inv_id}/pdf?e=9999999999&s=forged").status_code == 403
        assert anonymous.get(f"/invoices/{inv_id}/pdf", follow_redirects=False).status_code == 303
        # Sync now: retried and fixed
        with zoho.sandbox.lock:
            victim.currency_code = "USD"
        from ledgersync.workers.dispatch import InlineDispatcher

        container.dispatcher = InlineDispatcher(container)
        assert client.post("/sync-log/sync-now", follow_redirects=False).status_code == 303
        with container.uow() as uow:
            assert uow.session.execute(select(SyncError).where(SyncError.resolved_at.is_(None))).first() is None
