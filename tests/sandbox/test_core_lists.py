"""Lists as Zoho serves them: summaries, page_context, per_page cap, filters, sorting, counts."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from zohobooks_sandbox import SandboxConfig, create_app
from zohobooks_sandbox.testing import books_client


@pytest.fixture(scope="module")
def app():
    return create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False))


@pytest.fixture(scope="module")
def api(app):
    c = books_client(app)
    yield c
    c.close()


def j(resp):
    assert resp.status_code in (200, 201), resp.text
    return json.loads(resp.text, parse_float=Decimal)


@pytest.fixture(scope="module")
def seeded(api, app):
    """Two customers, 5 invoices created one sandbox second apart, one payment."""
    clock = app.state.sandbox.clock
    a = j(api.post("/contacts", json={"contact_name": "Listing Alpha", "company_name": "Alpha Inc",
                                      "email": "ap@alpha.test"}))["contact"]["contact_id"]
    b = j(api.post("/contacts", json={"contact_name": "Listing Beta"}))["contact"]["contact_id"]
    invs = []
    for n in range(5):
        clock.advance(1)
        invs.append(j(api.post("/invoices", params={"send": "true"} if n % 2 == 0 else {}, json={
            "customer_id": a if n < 3 else b, "date": f"2026-03-0{n + 1}", "reference_number": f"REF-{n}",
            "line_items": [{"name": "Line", "rate": 10 * (n + 1)}]}))["invoice"])
    clock.advance(1)
    pay = j(api.post("/customerpayments", json={"customer_id": a, "amount": "10.00", "date": "2026-03-10",
                                                "reference_number": "ls:pay_ABC123", "invoices": [
                                                    {"invoice_id": invs[0]["invoice_id"], "amount_applied": "10.00"}]}))
    return {"a": a, "b": b, "invoices": invs, "payment": pay["payment"]}


def test_invoice_list_rows_are_summaries_with_page_context(api, seeded):
    body = j(api.get("/invoices", params={"customer_id": seeded["a"]}))
    assert body["code"] == 0 and body["message"] == "success"
    assert len(body["invoices"]) == 3
    row = body["invoices"][0]
    assert "line_items" not in row and {"invoice_id", "status", "balance", "total", "last_modified_time"} <= row.keys()
    pc = body["page_context"]
    assert pc["page"] == 1 and pc["per_page"] == 200 and pc["has_more_page"] is False
    assert pc["report_name"] == "Invoices" and pc["sort_column"] == "created_time" and pc["sort_order"] == "D"
    assert [r["invoice_id"] for r in body["invoices"]] == [i["invoice_id"] for i in seeded["invoices"][:3]][::-1]


def test_pagination_and_per_page_cap(api):
    first = j(api.get("/invoices", params={"per_page": 2, "page": 1, "sort_column": "date", "sort_order": "A"}))
    second = j(api.get("/invoices", params={"per_page": 2, "page": 2, "sort_column": "date", "sort_order": "A"}))
    assert first["page_context"]["has_more_page"] is True and len(first["invoices"]) == 2
    assert not {r["invoice_id"] for r in first["invoices"]} & {r["invoice_id"] for r in second["invoices"]}
    capped = j(api.get("/invoices", params={"per_page": 500}))
    assert capped["page_context"]["per_page"] == 200 and len(capped["invoices"]) <= 200
    assert api.get("/invoices", params={"per_page": "lots"}).json()["code"] == 2


def test_response_option_2_counts(api, seeded):
    body = j(api.get("/invoices", params={"customer_id": seeded["a"], "response_option": 2}))
    assert body["page_context"]["total"] == 3 and "invoices" not in body


def test_invoice_filters(api, seeded):
    a = seeded["a"]
    assert len(j(api.get("/invoices", params={"customer_id": a, "status": "draft"}))["invoices"]) == 1
    assert len(j(api.get("/invoices", params={"customer_id": a, "filter_by": "Status.Paid"}))["invoices"]) == 1
    assert len(j(api.get("/invoices", params={"customer_id": a, "status": "unpaid"}))["invoices"]) == 1
    rows = j(api.get("/invoices", params={"date_start": "2026-03-02", "date_end": "2026-03-04",
                                          "reference_number_startswith": "REF-"}))["invoices"]
    assert sorted(r["reference_number"] for r in rows) == ["REF-1", "REF-2", "REF-3"]
    number = seeded["invoices"][4]["invoice_number"]
    assert [r["invoice_number"] for r in j(api.get("/invoices", params={"invoice_number": number}))["invoices"]] == [number]
    assert len(j(api.get("/invoices", params={"search_text": "Listing Beta"}))["invoices"]) == 2
    assert api.get("/invoices", params={"status": "bogus"}).json() == {"code": 2, "message": "Invalid value passed for status"}


def test_last_modified_time_is_inclusive_and_sortable(api, seeded):
    paid_inv = seeded["invoices"][0]
    mark = j(api.get(f"/invoices/{paid_inv['invoice_id']}"))["invoice"]["last_modified_time"]
    rows = j(api.get("/invoices", params={"last_modified_time": mark, "sort_column": "last_modified_time",
                                          "sort_order": "A"}))["invoices"]
    assert paid_inv["invoice_id"] in [r["invoice_id"] for r in rows]
    assert all(r["last_modified_time"] >= mark for r in rows)
    stamps = [r["last_modified_time"] for r in rows]
    assert stamps == sorted(stamps)


def test_contacts_filters(api, seeded):
    rows = j(api.get("/contacts", params={"search_text": "alpha"}))["contacts"]
    assert [r["contact_id"] for r in rows] == [seeded["a"]]
    assert rows[0]["outstanding_receivable_amount"] == Decimal("30.00")  # 10 paid, 20 draft (not counted), 30 sent
    api.post(f"/contacts/{seeded['b']}/inactive")
    inactive = j(api.get("/contacts", params={"filter_by": "Status.Inactive"}))["contacts"]
    assert seeded["b"] in [r["contact_id"] for r in inactive]
    active = j(api.get("/contacts", params={"filter_by": "Status.Active", "contact_type": "customer"}))["contacts"]
    assert seeded["b"] not in [r["contact_id"] for r in active]
    api.post(f"/contacts/{seeded['b']}/active")
    count = j(api.get("/contacts", params={"response_option": 2}))["page_context"]["total"]
    assert count >= 2
    dup = api.post("/contacts", json={"contact_name": "listing alpha"})
    assert dup.status_code == 400 and dup.json()["code"] == 1070


def test_customer_payment_lookup_by_reference_number(api, seeded):
    body = j(api.get("/customerpayments", params={"reference_number": "ls:pay_ABC123"}))
    assert [p["payment_id"] for p in body["customerpayments"]] == [seeded["payment"]["payment_id"]]
    assert body["page_context"]["applied_filter"] == "PaymentMode.All"
    assert j(api.get("/customerpayments", params={"search_text": "pay_abc"}))["customerpayments"]
    assert j(api.get("/customerpayments", params={"reference_number": "ls:nope"}))["customerpayments"] == []


def test_chart_of_accounts_defaults_and_filters(api):
    names = {a["account_name"]: a for a in j(api.get("/chartofaccounts"))["chartofaccounts"]}
    for needed in ("Undeposited Funds", "Petty Cash", "Business Checking", "Bank Fees and Charges", "Sales",
                   "Accounts Receivable"):
        assert needed in names
    banks = j(api.get("/chartofaccounts", params={"filter_by": "AccountType.Bank"}))["chartofaccounts"]
    assert {a["account_type"] for a in banks} == {"bank"}
    incomes = j(api.get("/chartofaccounts", params={"filter_by": "AccountType.Income"}))["chartofaccounts"]
    assert "Sales" in [a["account_name"] for a in incomes]
    created = api.post("/chartofaccounts", json={"account_name": "Stripe Clearing", "account_type": "other_current_asset"})
    assert created.status_code == 201 and created.json()["message"] == "The account has been created."
    assert api.post("/chartofaccounts", json={"account_name": "Stripe Clearing", "account_type": "cash"}).json()["code"] == 1070
    bank = api.post("/bankaccounts", json={"account_name": "Operating 2", "account_type": "bank", "account_number": "99"})
    assert bank.status_code == 201
    assert "Operating 2" in [b["account_name"] for b in j(api.get("/bankaccounts"))["bankaccounts"]]
