"""Invoice money movements through the HTTP API: payments, credits, write-off, void, delete."""
from __future__ import annotations

import json
from datetime import date, timedelta
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


@pytest.fixture()
def customer(api):
    r = api.post("/contacts", json={"contact_name": "Lifecycle Test Co", "payment_terms": 15})
    assert r.status_code == 201, r.text
    return j(r)["contact"]["contact_id"]


def make_invoice(api, customer, rate="100.00", qty=1, send=True, **extra):
    r = api.post("/invoices", params={"send": "true"} if send else {},
                 json={"customer_id": customer, "line_items": [{"name": "Support", "rate": rate, "quantity": qty}], **extra})
    assert r.status_code == 201, r.text
    body = j(r)
    assert body["message"] == "The invoice has been created."
    return body["invoice"]


def get_inv(api, invoice_id):
    return j(api.get(f"/invoices/{invoice_id}"))["invoice"]


def pay(api, customer, invoice_id, amount, **extra):
    return api.post("/customerpayments", json={
        "customer_id": customer, "payment_mode": "banktransfer", "amount": amount, "date": "2026-01-15",
        "reference_number": extra.pop("ref", "ls:pay-1"), "invoices": [{"invoice_id": invoice_id, "amount_applied": amount}],
        **extra})


def test_create_draft_then_sent_with_totals_and_taxes(api, app, customer):
    tax_id = next(iter(app.state.sandbox.orgs["700000001"].taxes))
    inv = make_invoice(api, customer, send=False, line_items=[
        {"name": "A", "rate": "19.99", "quantity": 3, "tax_id": tax_id},
        {"name": "B", "rate": 10, "quantity": "2.5", "discount": "10%"}])
    assert inv["status"] == "draft"
    assert inv["sub_total"] == Decimal("82.47")  # 59.97 + 22.50
    assert inv["tax_total"] == Decimal("4.95")  # 8.25% of 59.97
    assert inv["total"] == Decimal("87.42") and inv["balance"] == Decimal("87.42")
    assert len(inv["line_items"]) == 2 and inv["due_date"] == (date.fromisoformat(inv["date"]) + timedelta(days=15)).isoformat()
    assert api.post(f"/invoices/{inv['invoice_id']}/status/sent").json()["code"] == 0
    assert get_inv(api, inv["invoice_id"])["status"] == "sent"


def test_partial_then_full_payment_and_delete_restores(api, app, customer):
    inv = make_invoice(api, customer, rate="250.00")
    iid = inv["invoice_id"]
    before = inv["last_modified_time"]
    app.state.sandbox.clock.advance(5)
    r = pay(api, customer, iid, "100.00", bank_charges="2.50")
    assert r.status_code == 201 and j(r)["message"] == "The payment has been created."
    p1 = j(r)["payment"]
    after = get_inv(api, iid)
    assert after["status"] == "partially_paid" and after["balance"] == Decimal("150.00")
    assert after["payment_made"] == Decimal("100.00") and after["last_modified_time"] > before
    p2 = j(pay(api, customer, iid, "150.00", ref="ls:pay-2"))["payment"]
    paid = get_inv(api, iid)
    assert paid["status"] == "paid" and paid["balance"] == 0
    pays = j(api.get(f"/invoices/{iid}/payments"))["payments"]
    assert {p["payment_id"] for p in pays} == {p1["payment_id"], p2["payment_id"]}
    assert api.delete(f"/customerpayments/{p2['payment_id']}").json()["message"] == "The payment has been deleted."
    restored = get_inv(api, iid)
    assert restored["status"] == "partially_paid" and restored["balance"] == Decimal("150.00")
    assert api.get(f"/customerpayments/{p2['payment_id']}").status_code == 404


def test_over_application_and_amount_below_applied_refused(api, customer):
    iid = make_invoice(api, customer, rate="80.00")["invoice_id"]
    r = pay(api, customer, iid, "80.01")
    assert r.status_code == 400 and r.json()["code"] == 36023
    r = api.post("/customerpayments", json={"customer_id": customer, "amount": "10.00", "date": "2026-01-15",
                                            "invoices": [{"invoice_id": iid, "amount_applied": "20.00"}]})
    assert r.status_code == 400 and r.json()["code"] == 36022
    assert get_inv(api, iid)["balance"] == Decimal("80.00")  # nothing half-applied


def test_excess_payment_becomes_unused_credit_then_refund(api, customer):
    iid = make_invoice(api, customer, rate="60.00")["invoice_id"]
    r = api.post("/customerpayments", json={"customer_id": customer, "amount": "100.00", "date": "2026-01-15",
                                            "payment_mode": "cash",
                                            "invoices": [{"invoice_id": iid, "amount_applied": "60.00"}]})
    p = j(r)["payment"]
    assert p["unused_amount"] == Decimal("40.00")
    assert j(api.get(f"/contacts/{customer}"))["contact"]["unused_credits_receivable_amount"] == Decimal("40.00")
    too_much = api.post(f"/customerpayments/{p['payment_id']}/refunds", json={"amount": "40.01", "date": "2026-01-16"})
    assert too_much.status_code == 400
    ok = api.post(f"/customerpayments/{p['payment_id']}/refunds", json={"amount": "15.00", "date": "2026-01-16",
                                                                        "refund_mode": "cash"})
    assert ok.status_code == 200  # Zoho documents 200 for this create
    refunds = j(api.get(f"/customerpayments/{p['payment_id']}/refunds"))["payment_refunds"]
    assert [r["amount"] for r in refunds] == [Decimal("15.00")]
    assert j(api.get(f"/customerpayments/{p['payment_id']}"))["payment"]["unused_amount"] == Decimal("25.00")
    rid = refunds[0]["payment_refund_id"]
    assert j(api.get(f"/customerpayments/{p['payment_id']}/refunds/{rid}"))["payment_refund"]["amount"] == Decimal("15.00")
    assert api.delete(f"/customerpayments/{p['payment_id']}/refunds/{rid}").json()["code"] == 0
    assert j(api.get(f"/customerpayments/{p['payment_id']}"))["payment"]["unused_amount"] == Decimal("40.00")


def test_update_payment_reapplies(api, customer):
    iid = make_invoice(api, customer, rate="300.00")["invoice_id"]
    p = j(pay(api, customer, iid, "100.00"))["payment"]
    r = api.put(f"/customerpayments/{p['payment_id']}", json={"amount": "300.00",
                                                              "invoices": [{"invoice_id": iid, "amount_applied": "300.00"}]})
    assert r.status_code == 200, r.text
    assert get_inv(api, iid)["status"] == "paid"
    r = api.put(f"/customerpayments/{p['payment_id']}", json={"invoices": [{"invoice_id": iid, "amount_applied": "301"}]})
    assert r.status_code == 400 and get_inv(api, iid)["balance"] == 0


def test_credit_note_applied_both_ways(api, customer):
    iid = make_invoice(api, customer, rate="500.00")["invoice_id"]
    cn = j(api.post("/creditnotes", json={"customer_id": customer, "line_items": [{"name": "Goodwill", "rate": "120.00"}]}))
    cn = cn["creditnote"]
    assert cn["status"] == "open" and cn["balance"] == Decimal("120.00")
    r = api.post(f"/creditnotes/{cn['creditnote_id']}/invoices",
                 json={"invoices": [{"invoice_id": iid, "amount_applied": "70.00"}]})
    assert r.status_code == 200 and r.json()["message"] == "Credits have been applied to the invoice(s)."
    r = api.post(f"/invoices/{iid}/credits",
                 json={"apply_creditnotes": [{"creditnote_id": cn["creditnote_id"], "amount_applied": "50.00"}]})
    assert r.status_code == 200
    inv = get_inv(api, iid)
    assert inv["credits_applied"] == Decimal("120.00") and inv["balance"] == Decimal("380.00")
    assert inv["status"] == "partially_paid"
    applied = j(api.get(f"/invoices/{iid}/creditsapplied"))["credits"]
    assert sum(c["amount_applied"] for c in applied) == Decimal("120.00")
    assert j(api.get(f"/creditnotes/{cn['creditnote_id']}"))["creditnote"]["status"] == "closed"
    more = api.post(f"/creditnotes/{cn['creditnote_id']}/invoices", json={"invoices": [{"invoice_id": iid, "amount_applied": 1}]})
    assert more.status_code == 400
    assert api.delete(f"/invoices/{iid}").json()["code"] == 9007  # credits applied: delete refused
    assert api.delete(f"/creditnotes/{cn['creditnote_id']}").status_code == 400


def test_write_off_and_cancel(api, customer):
    iid = make_invoice(api, customer, rate="90.00")["invoice_id"]
    pay(api, customer, iid, "40.00")
    assert api.post(f"/invoices/{iid}/writeoff").json() == {"code": 0, "message": "Invoice has been written off"}
    inv = get_inv(api, iid)
    assert inv["write_off_amount"] == Decimal("50.00") and inv["balance"] == 0 and inv["status"] == "paid"
    assert api.post(f"/invoices/{iid}/writeoff/cancel").json()["code"] == 0
    inv = get_inv(api, iid)
    assert inv["write_off_amount"] == 0 and inv["balance"] == Decimal("50.00") and inv["status"] == "partially_paid"


def test_void_delete_and_refusals(api, customer):
    iid = make_invoice(api, customer)["invoice_id"]
    p = j(pay(api, customer, iid, "10.00"))["payment"]
    r = api.delete(f"/invoices/{iid}")
    assert r.status_code == 400 and r.json()["code"] == 9007
    assert api.post(f"/invoices/{iid}/status/void").json()["code"] == 9007
    api.delete(f"/customerpayments/{p['payment_id']}")
    assert api.post(f"/invoices/{iid}/status/void").json()["code"] == 0
    voided = get_inv(api, iid)
    assert voided["status"] == "void" and voided["balance"] == 0
    assert pay(api, customer, iid, "1.00").status_code == 400
    assert api.delete(f"/invoices/{iid}").json() == {"code": 0, "message": "The invoice has been deleted."}
    gone = api.get(f"/invoices/{iid}")
    assert gone.status_code == 404 and gone.json() == {"code": 1002, "message": "Invoice does not exist."}


def test_update_amount_and_due_date_refused_below_paid(api, customer):
    iid = make_invoice(api, customer, rate="200.00")["invoice_id"]
    pay(api, customer, iid, "150.00")
    low = api.put(f"/invoices/{iid}", json={"line_items": [{"name": "Support", "rate": "149.99"}]})
    assert low.status_code == 400 and low.json()["code"] == 36022
    r = api.put(f"/invoices/{iid}", json={"line_items": [{"name": "Support", "rate": "180.00"}], "due_date": "2099-01-01"})
    assert r.status_code == 200
    inv = j(r)["invoice"]
    assert inv["balance"] == Decimal("30.00") and inv["due_date"] == "2099-01-01"


def test_overdue_follows_the_sandbox_clock(api, app, customer):
    today = app.state.sandbox.clock.today("America/Los_Angeles")
    iid = make_invoice(api, customer, date=today.isoformat(), due_date=(today + timedelta(days=3)).isoformat())["invoice_id"]
    assert get_inv(api, iid)["status"] == "sent"
    app.state.sandbox.clock.advance(4 * 86400)
    assert api.get(f"/invoices/{iid}").json()["code"] == 14  # the access token expired meanwhile
    api = books_client(app)
    assert get_inv(api, iid)["status"] == "overdue"
    overdue = j(api.get("/invoices", params={"status": "overdue", "customer_id": customer}))["invoices"]
    assert iid in [i["invoice_id"] for i in overdue]
    api.close()


def test_contact_delete_refused_with_transactions(api, customer):
    make_invoice(api, customer)
    r = api.delete(f"/contacts/{customer}")
    assert r.status_code == 400 and r.json()["code"] == 1040
    assert api.post(f"/contacts/{customer}/inactive").json()["code"] == 0
    assert j(api.get(f"/contacts/{customer}"))["contact"]["status"] == "inactive"
    lonely = j(api.post("/contacts", json={"contact_name": "No Business Ltd"}))["contact"]["contact_id"]
    assert api.delete(f"/contacts/{lonely}").json()["message"] == "The contact has been deleted."


def test_payout_transfer_with_fees_moves_account_balances(api):
    accounts = j(api.get("/chartofaccounts", params={"per_page": 200}))["chartofaccounts"]
    by_name = {a["account_name"]: a for a in accounts}
    und, bank, fees = by_name["Undeposited Funds"], by_name["Business Checking"], by_name["Bank Fees and Charges"]
    r = api.post("/banktransactions", json={"transaction_type": "transfer_fund", "from_account_id": und["account_id"],
                                            "to_account_id": bank["account_id"], "amount": "1000.00",
                                            "bank_charges": "29.30", "date": "2026-01-20", "reference_number": "po_123"})
    assert r.status_code == 201 and r.json()["message"] == "The bank transaction has been recorded."
    after = {a["account_name"]: a for a in j(api.get("/chartofaccounts"))["chartofaccounts"]}
    assert after["Undeposited Funds"]["current_balance"] == und["current_balance"] - Decimal("1000.00")
    assert after["Business Checking"]["current_balance"] == bank["current_balance"] + Decimal("970.70")
    assert after["Bank Fees and Charges"]["current_balance"] == fees["current_balance"] + Decimal("29.30")
    txid = j(r)["banktransaction"]["transaction_id"]
    listed = j(api.get("/banktransactions", params={"account_id": bank["account_id"], "reference_number": "po_123"}))
    assert [t["transaction_id"] for t in listed["banktransactions"]] == [txid]
    assert api.delete(f"/banktransactions/{txid}").json()["code"] == 0
    back = {a["account_name"]: a for a in j(api.get("/chartofaccounts"))["chartofaccounts"]}
    assert back["Business Checking"]["current_balance"] == bank["current_balance"]


def test_pdf_single_and_bundle(api, customer):
    ids = [make_invoice(api, customer)["invoice_id"] for _ in range(2)]
    one = api.get(f"/invoices/{ids[0]}", params={"accept": "pdf"})
    assert one.status_code == 200 and one.headers["content-type"] == "application/pdf" and one.content.startswith(b"%PDF")
    bundle = api.get("/invoices/pdf", params={"invoice_ids": ",".join(ids)})
    assert bundle.content.startswith(b"%PDF")
    too_many = api.get("/invoices/pdf", params={"invoice_ids": ",".join(ids * 13)})
    assert too_many.status_code == 400
