"""Review: the admin page lists the selected organisation's records with one-click actions,
and the consent page names what each requested scope allows."""
from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from zohobooks_sandbox import SandboxConfig, SandboxTransport, create_app
from zohobooks_sandbox.oauth import describe_scope

ORG = "700000001"


@pytest.fixture()
def app():
    return create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False, demo_invoices=30, demo_customers=6))


@pytest.fixture()
def web(app):
    with httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900") as c:
        yield c


def test_admin_page_lists_recent_records_with_actions(app, web) -> None:
    org = app.state.sandbox.orgs[ORG]
    page = web.get("/_sandbox/", params={"org": ORG})
    assert page.status_code == 200
    newest = max(org.invoices.values(), key=lambda i: (i.last_modified_time, i.invoice_id))
    assert newest.invoice_id in page.text and "Recent invoices of Zylker IT Services" in page.text
    for label in ("Pay balance", "Write off", "Void", "Deactivate", "Edit invoice", "Create organisation",
                  "Generate data", "Apply credit", "Delete customer", "Reset counters"):
        assert label in page.text
    eu = web.get("/_sandbox", params={"org": "700000002"})
    assert "Recent invoices of Zylker Europe GmbH" in eu.text


def test_one_click_pay_balance_keeps_the_selected_org(app, web) -> None:
    org = app.state.sandbox.orgs[ORG]
    today = app.state.sandbox.clock.today(org.org.time_zone)
    open_inv = next(i for i in org.invoices.values() if i.status_on(today) in ("sent", "overdue", "partially_paid"))
    r = web.post("/_sandbox/ui", data={"action": "payment", "org_id": ORG, "invoice_id": open_inv.invoice_id})
    assert r.status_code == 303 and f"org={ORG}" in r.headers["location"]
    assert open_inv.balance == Decimal("0.00") and open_inv.status_on(today) == "paid"
    page = web.get(r.headers["location"])
    assert "Payment recorded" in page.text
    bad = web.post("/_sandbox/ui", data={"action": "void", "org_id": ORG, "invoice_id": "460000000099999"})
    assert "Zoho%20error%201002" in bad.headers["location"]
    assert 'class="msg err"' in web.get(bad.headers["location"]).text


def test_consent_page_describes_scopes_and_offline_access(web) -> None:
    r = web.get("/oauth/v2/auth", params={
        "scope": "ZohoBooks.invoices.ALL,ZohoBooks.contacts.READ", "client_id": "1000.LEDGERSYNCDEMO0000000000000000",
        "response_type": "code", "redirect_uri": "http://127.0.0.1:8000/integrations/zoho/callback",
        "access_type": "offline", "prompt": "consent", "state": "s"})
    assert r.status_code == 200
    assert "Invoices — full access" in r.text and "ZohoBooks.contacts.READ" in r.text
    assert "id='offline'" in r.text and "Zoho Accounts" in r.text
    assert describe_scope("ZohoBooks.fullaccess.all") == "All Zoho Books data — full access"
    assert describe_scope("openid") == "openid"
