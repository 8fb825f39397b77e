"""Bank transactions, credit-note life cycle, unapplying payments/credits, upsert headers."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from zohobooks_sandbox import SandboxConfig, create_app
from zohobooks_sandbox.testing import books_client


@pytest.fixture()
def app():
    return create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False))


@pytest.fixture()
def api(app):
    c = books_client(app)
    yield c
    c.close()


def j(resp):
    return json.loads(resp.text, parse_float=Decimal)


def accounts(api):
    return {a["account_name"]: a for a in j(api.get("/chartofaccounts"))["chartofaccounts"]}


@pytest.fixture()
def customer(api):
    return j(api.post("/contacts", json={"contact_name": "Banking Test Co"}))["contact"]["contact_id"]


def invoice(api, customer, rate):
    return j(api.post("/invoices", params={"send": "true"}, json={
        "customer_id": customer, "line_items": [{"name": "Work", "rate": rate}]}))["invoice"]["invoice_id"]


def test_standalone_deposit_and_expense(api, customer):
    acc = accounts(api)
    bank, sales, office = acc["Business Checking"], acc["Sales"], acc["Office Supplies"]
    dep = api.post("/banktransactions", json={"transaction_type": "deposit", "to_account_id": bank["account_id"],
                                              "from_account_id": sales["account_id"], "amount": "250.00",
                                              "customer_id": customer, "date": "2026-02-01",
                                              "reference_number": "ls:dep-1", "payment_mode": "banktransfer"})
    assert dep.status_code == 201
    row = j(dep)["banktransaction"]
    assert row["transaction_type"] == "deposit" and row["to_account_name"] == "Business Checking"
    exp = api.post("/banktransactions", json={"transaction_type": "expense", "from_account_id": bank["account_id"],
                                              "to_account_id": office["account_id"], "amount": "40.00",
                                              "date": "2026-02-02"})
    assert exp.status_code == 201
    after = accounts(api)
    assert after["Business Checking"]["current_balance"] == bank["current_balance"] + Decimal("210.00")
    assert after["Sales"]["current_balance"] == sales["current_balance"] + Decimal("250.00")
    assert after["Office Supplies"]["current_balance"] == office["current_balance"] + Decimal("40.00")
    listed = j(api.get("/banktransactions", params={"transaction_type": "deposit", "reference_number": "ls:dep-1"}))
    assert [t["transaction_id"] for t in listed["banktransactions"]] == [row["transaction_id"]]
    got = j(api.get(f"/banktransactions/{row['transaction_id']}"))["banktransaction"]
    assert got["amount"] == Decimal("250.00")


def test_bank_transaction_validation(api):
    acc = accounts(api)
    missing = api.post("/banktransactions", json={"transaction_type": "transfer_fund", "amount": 5, "date": "2026-02-01",
                                                  "to_account_id": acc["Business Checking"]["account_id"]})
    assert missing.status_code == 400 and missing.json() == {"code": 4, "message": "from_account_id is required"}
    wrong = api.post("/banktransactions", json={"transaction_type": "transfer_fund", "amount": 5, "date": "2026-02-01",
                                                "from_account_id": acc["Sales"]["account_id"],
                                                "to_account_id": acc["Business Checking"]["account_id"]})
    assert wrong.json()["code"] == 2 and "from_account_id" in wrong.json()["message"]
    assert api.post("/banktransactions", json={"transaction_type": "teleport", "amount": 5,
                                               "date": "2026-02-01"}).json()["code"] == 2


def test_payment_deposit_account_and_bank_charges(api, customer):
    acc = accounts(api)
    iid = invoice(api, customer, "500.00")
    r = api.post("/customerpayments", json={"customer_id": customer, "amount": "500.00", "date": "2026-02-03",
                                            "payment_mode": "creditcard", "bank_charges": "14.80",
                                            "account_id": acc["Business Checking"]["account_id"],
                                            "invoices": [{"invoice_id": iid, "amount_applied": "500.00"}]})
    assert r.status_code == 201
    after = accounts(api)
    assert after["Business Checking"]["current_balance"] == acc["Business Checking"]["current_balance"] + Decimal("485.20")
    assert after["Bank Fees and Charges"]["current_balance"] == acc["Bank Fees and Charges"]["current_balance"] + Decimal("14.80")
    default = j(api.post("/customerpayments", json={"customer_id": customer, "amount": "1.00", "date": "2026-02-03"}))
    assert default["payment"]["account_name"] == "Undeposited Funds" and default["payment"]["unused_amount"] == Decimal("1.00")
    bad = api.post("/customerpayments", json={"customer_id": customer, "amount": "1.00", "date": "2026-02-03",
                                              "account_id": acc["Sales"]["account_id"]})
    assert bad.json() == {"code": 2, "message": "Invalid value passed for account_id"}


def test_unapply_payment_and_credit_from_invoice(api, customer):
    iid = invoice(api, customer, "100.00")
    pay = j(api.post("/customerpayments", json={"customer_id": customer, "amount": "30.00", "date": "2026-02-03",
                                                "invoices": [{"invoice_id": iid, "amount_applied": "30.00"}]}))["payment"]
    ipid = j(api.get(f"/invoices/{iid}/payments"))["payments"][0]["invoice_payment_id"]
    assert api.delete(f"/invoices/{iid}/payments/{ipid}").json()["code"] == 0
    inv = j(api.get(f"/invoices/{iid}"))["invoice"]
    assert inv["balance"] == Decimal("100.00") and inv["status"] == "sent"
    assert j(api.get(f"/customerpayments/{pay['payment_id']}"))["payment"]["unused_amount"] == Decimal("30.00")
    # the unused amount can be applied again through the invoice's credits endpoint
    applied = [{"payment_id": pay["payment_id"], "amount_applied": "30.00"}]
    r = api.post(f"/invoices/{iid}/credits", json={"invoice_payments": applied})
    assert r.status_code == 200 and j(api.get(f"/invoices/{iid}"))["invoice"]["payment_made"] == Decimal("30.00")
    cn = j(api.post("/creditnotes", json={"customer_id": customer, "line_items": [{"name": "Credit", "rate": "20"}]}))
    cnid = cn["creditnote"]["creditnote_id"]
    api.post(f"/creditnotes/{cnid}/invoices", json={"invoices": [{"invoice_id": iid, "amount_applied": "20"}]})
    assert api.post(f"/creditnotes/{cnid}/void").status_code == 400  # applied: void refused
    applied = j(api.get(f"/invoices/{iid}/creditsapplied"))["credits"][0]
    assert api.delete(f"/invoices/{iid}/creditsapplied/{applied['creditnotes_invoice_id']}").json()["code"] == 0
    assert j(api.get(f"/invoices/{iid}"))["invoice"]["balance"] == Decimal("70.00")
    assert api.post(f"/creditnotes/{cnid}/void").json()["code"] == 0
    assert j(api.get(f"/creditnotes/{cnid}"))["creditnote"]["status"] == "void"
    assert api.delete(f"/creditnotes/{cnid}").json()["code"] == 0


def test_unique_identifier_headers_make_payment_create_an_upsert(api, customer):
    iid = invoice(api, customer, "90.00")
    body = {"customer_id": customer, "amount": "40.00", "date": "2026-02-05",
            "custom_fields": [{"label": "ls_payment_id", "value": "pay_777"}],
            "invoices": [{"invoice_id": iid, "amount_applied": "40.00"}]}
    headers = {"X-Unique-Identifier-Key": "ls_payment_id", "X-Unique-Identifier-Value": "pay_777"}
    first = api.post("/customerpayments", json=body, headers=headers)
    assert first.status_code == 201
    dup = api.post("/customerpayments", json=body, headers=headers)
    assert dup.status_code == 400 and dup.json()["code"] == 1070
    upsert = api.post("/customerpayments", json=body, headers={**headers, "X-Upsert": "true"})
    assert upsert.status_code == 201 and upsert.json()["payment"]["payment_id"] == first.json()["payment"]["payment_id"]
    assert j(api.get(f"/invoices/{iid}"))["invoice"]["balance"] == Decimal("50.00")  # applied once, not twice


def test_line_item_ids_survive_updates(api, customer):
    inv = j(api.post("/invoices", json={"customer_id": customer, "line_items": [{"name": "A", "rate": 1},
                                                                                  {"name": "B", "rate": 2}]}))["invoice"]
    a, b = inv["line_items"]
    upd = j(api.put(f"/invoices/{inv['invoice_id']}", json={"line_items": [
        {"line_item_id": a["line_item_id"], "name": "A", "rate": 5}, {"name": "C", "rate": 3}]}))["invoice"]
    ids = [li["line_item_id"] for li in upd["line_items"]]
    assert ids[0] == a["line_item_id"] and b["line_item_id"] not in ids and upd["total"] == Decimal("8.00")
