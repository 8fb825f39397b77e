"""Acting as the Zoho user through /_sandbox: every action moves the books like the API does."""
from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from zohobooks_sandbox import SandboxConfig, SandboxTransport, create_app
from zohobooks_sandbox.testing import books_client

ORG = "700000001"
BASE = "http://127.0.0.1:8900"


@pytest.fixture()
def app():
    return create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False))


@pytest.fixture()
def admin(app):
    with httpx.Client(transport=SandboxTransport(app), base_url=BASE + "/_sandbox") as c:
        yield c


@pytest.fixture()
def api(app):
    c = books_client(app)
    yield c
    c.close()


def j(resp: httpx.Response):
    return json.loads(resp.text, parse_float=Decimal)


def _fresh_invoice(api, total: str = "300.00") -> dict:
    cust = j(api.post("/contacts", json={"contact_name": f"Admin Test {total}"}))["contact"]["contact_id"]
    r = api.post("/invoices", params={"send": "true"},
                 json={"customer_id": cust, "line_items": [{"name": "Work", "rate": total, "quantity": 1}]})
    assert r.status_code == 201, r.text
    return j(r)["invoice"]


def test_create_org_and_generate(admin, app) -> None:
    r = admin.post("/orgs", json={"name": "Bench Org", "plan": "standard", "currency_code": "EUR", "dc": "eu"})
    assert r.status_code == 201, r.text
    org_id = r.json()["organization_id"]
    assert r.json()["limits"]["daily"] == 2000 and "demo@zylker.test" in r.json()["owners"]
    g = admin.post(f"/orgs/{org_id}/generate", json={"customers": 5, "invoices": 40, "seed": 3}).json()
    assert g["invoices"] == 40 and g["customers"] == 5
    assert admin.get(f"/orgs/{org_id}").json()["invoices"] == 40
    assert any(o["organization_id"] == org_id for o in admin.get("/orgs").json())


def test_edit_amount_and_due_date_bumps_last_modified(admin, api, app) -> None:
    inv = _fresh_invoice(api)
    app.state.sandbox.clock.advance(5)
    r = admin.patch(f"/orgs/{ORG}/invoices/{inv['invoice_id']}", json={"amount": "250.00", "due_date": "2027-01-31"})
    assert r.status_code == 200, r.text
    after = j(api.get(f"/invoices/{inv['invoice_id']}"))["invoice"]
    assert after["total"] == Decimal("250.00") and after["balance"] == Decimal("250.00")
    assert after["due_date"] == "2027-01-31"
    assert after["last_modified_time"] > inv["last_modified_time"]


def test_payment_credit_writeoff_move_balance_and_status(admin, api) -> None:
    inv = _fresh_invoice(api, "300.00")
    iid = inv["invoice_id"]
    r = admin.post(f"/orgs/{ORG}/invoices/{iid}/payments", json={"amount": "100.00", "reference_number": "desk-1"})
    assert r.status_code == 200, r.text
    got = j(api.get(f"/invoices/{iid}"))["invoice"]
    assert (got["status"], got["balance"], got["payment_made"]) == ("partially_paid", Decimal("200.00"), Decimal("100.00"))
    assert api.get("/customerpayments", params={"reference_number": "desk-1"}).json()["customerpayments"]
    r = admin.post(f"/orgs/{ORG}/invoices/{iid}/credits", json={"amount": "50.00"})
    assert r.status_code == 200, r.text
    got = j(api.get(f"/invoices/{iid}"))["invoice"]
    assert got["credits_applied"] == Decimal("50.00") and got["balance"] == Decimal("150.00")
    assert admin.post(f"/orgs/{ORG}/invoices/{iid}/writeoff").status_code == 200
    got = j(api.get(f"/invoices/{iid}"))["invoice"]
    assert got["balance"] == Decimal("0.00") and got["status"] == "paid"
    # over-application is refused the way the API refuses it
    other = _fresh_invoice(api, "20.00")
    r = admin.post(f"/orgs/{ORG}/invoices/{other['invoice_id']}/payments", json={"amount": "25.00"})
    assert r.status_code == 400 and r.json()["code"] == 36023


def test_void_and_delete_invoice_delete_and_deactivate_customer(admin, api) -> None:
    inv = _fresh_invoice(api, "80.00")
    assert admin.post(f"/orgs/{ORG}/invoices/{inv['invoice_id']}/void").status_code == 200
    assert j(api.get(f"/invoices/{inv['invoice_id']}"))["invoice"]["status"] == "void"
    assert admin.delete(f"/orgs/{ORG}/invoices/{inv['invoice_id']}").status_code == 200
    assert api.get(f"/invoices/{inv['invoice_id']}").status_code == 404  # gone, no tombstone
    cust = inv["customer_id"]
    assert admin.post(f"/orgs/{ORG}/contacts/{cust}/inactive").status_code == 200
    assert j(api.get(f"/contacts/{cust}"))["contact"]["status"] == "inactive"
    assert admin.delete(f"/orgs/{ORG}/contacts/{cust}").status_code == 200
    assert api.get(f"/contacts/{cust}").status_code == 404
    paid = _fresh_invoice(api, "10.00")
    admin.post(f"/orgs/{ORG}/invoices/{paid['invoice_id']}/payments", json={})
    r = admin.delete(f"/orgs/{ORG}/contacts/{paid['customer_id']}")
    assert r.status_code == 400 and r.json()["code"] == 1040


def test_stats_requests_and_reset(admin, api) -> None:
    api.get("/invoices")
    api.get("/invoices")
    api.get("/contacts")
    stats = admin.get(f"/orgs/{ORG}/stats").json()
    assert stats["api_calls"]["invoices.list"] == 2 and stats["api_calls"]["contacts.list"] == 1
    last = admin.get("/requests", params={"n": 2}).json()
    assert [e["op_name"] for e in last] == ["invoices.list", "contacts.list"]
    assert admin.post(f"/orgs/{ORG}/stats/reset").json()["total_calls"] == 0


def test_revoke_user_tokens_and_register_client(admin, api) -> None:
    assert api.get("/contacts").status_code == 200
    assert admin.post("/users/revoke", json={"email": "demo@zylker.test"}).json()["revoked"] >= 2
    assert api.get("/contacts").status_code == 401
    r = admin.post("/clients", json={"name": "Other app", "redirect_uris": ["https://other.test/cb"]})
    assert r.status_code == 201 and r.json()["client_id"].startswith("1000.")


def test_html_page_lists_orgs_and_forms_act(admin, api, app) -> None:
    page = admin.get("")
    assert page.status_code == 200 and "Zylker IT Services" in page.text and "Record payment" in page.text
    inv = _fresh_invoice(api, "40.00")
    r = admin.post("/ui", data={"action": "payment", "org_id": ORG, "invoice_id": inv["invoice_id"], "amount": ""})
    assert r.status_code == 303 and "Payment%20recorded" in r.headers["location"]
    assert j(api.get(f"/invoices/{inv['invoice_id']}"))["invoice"]["status"] == "paid"


def test_admin_api_is_in_openapi(admin) -> None:
    paths = admin.get(BASE + "/openapi.json").json()["paths"]
    for p in ("/_sandbox/orgs", "/_sandbox/orgs/{org_id}/stats", "/_sandbox/orgs/{org_id}/faults",
              "/_sandbox/orgs/{org_id}/webhooks", "/_sandbox/orgs/{org_id}/invoices/{invoice_id}/payments"):
        assert p in paths
