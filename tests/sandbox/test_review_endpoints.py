"""Review: endpoints a real integration calls that were missing, and the documented ones the
sandbox does not emulate (each answers 405/37 consistently)."""
from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from tests.sandbox.zoho_openapi import openapi_dir
from zohobooks_sandbox import SandboxConfig, create_app
from zohobooks_sandbox.books import load_all
from zohobooks_sandbox.books.registry import match
from zohobooks_sandbox.books.unsupported import NOT_EMULATED
from zohobooks_sandbox.testing import books_client

MODULES = ["contacts", "invoices", "customer-payments", "credit-notes", "chart-of-accounts", "bank-accounts",
           "bank-transactions", "organizations"]


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
    return j(api.post("/contacts", json={"contact_name": "Review Endpoints Co"}))["contact"]["contact_id"]


def unique(key: str, value: str, upsert: bool = True) -> dict[str, str]:
    h = {"X-Unique-Identifier-Key": key, "X-Unique-Identifier-Value": value}
    if upsert:
        h["X-Upsert"] = "true"
    return h


# ----------------------------------------------------------------------------- coverage of the OpenAPI files
def test_every_documented_operation_works_or_is_listed_as_not_emulated() -> None:
    yaml = pytest.importorskip("yaml")
    load_all()
    missing, listed = [], set(NOT_EMULATED)
    for module in MODULES:
        spec = yaml.safe_load((openapi_dir() / f"{module}.yml").read_text())
        for path, item in spec["paths"].items():
            for method in item:
                if method.upper() not in ("GET", "POST", "PUT", "DELETE"):
                    continue
                route, _, _ = match(method.upper(), re.sub(r"\{[^}]+\}", "460000000000999", path))
                if route is None:
                    missing.append(f"{method.upper()} {path}")
                elif not route.emulated:
                    listed.discard((method.upper(), path))
    assert missing == []
    assert listed == set(), "NOT_EMULATED lists operations the files do not document"


def test_not_emulated_operation_answers_405_code_37_before_auth(app) -> None:
    import httpx

    from zohobooks_sandbox.transport import SandboxTransport
    with httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900") as raw:
        r = raw.post("/books/v3/invoices/460000000000001/comments", json={"description": "hi"})
    assert r.status_code == 405 and r.json()["code"] == 37
    assert r.headers["X-Sandbox-Not-Emulated"] == "true"


def test_not_emulated_with_a_token_too(api) -> None:
    r = api.post("/invoices/460000000000001/email", json={})
    assert r.status_code == 405 and j(r)["code"] == 37


# ----------------------------------------------------------------------------- upserts by unique custom field
def test_put_collection_upserts_payments_invoices_contacts_and_creditnotes(api, customer) -> None:
    cf = [{"label": "platform_id", "value": "pl-1"}]
    # contacts
    c1 = api.put("/contacts", json={"contact_name": "Upsert Co", "custom_fields": cf}, headers=unique("platform_id", "pl-1"))
    assert c1.status_code == 200
    contact_id = j(c1)["contact"]["contact_id"]
    c2 = api.put("/contacts", json={"contact_name": "Upsert Co Renamed", "custom_fields": cf},
                 headers=unique("platform_id", "pl-1"))
    assert c2.status_code == 200 and j(c2)["contact"]["contact_id"] == contact_id
    assert j(c2)["contact"]["contact_name"] == "Upsert Co Renamed"
    # invoices
    body = {"customer_id": contact_id, "line_items": [{"name": "Work", "rate": "100.00"}], "custom_fields": cf}
    i1 = api.put("/invoices", json=body, headers=unique("platform_id", "pl-1"))
    i2 = api.put("/invoices", json={**body, "line_items": [{"name": "Work", "rate": "120.00"}]},
                 headers=unique("platform_id", "pl-1"))
    assert i1.status_code == i2.status_code == 200
    assert j(i1)["invoice"]["invoice_id"] == j(i2)["invoice"]["invoice_id"]
    assert j(i2)["invoice"]["total"] == Decimal("120.00")
    assert j(api.get("/invoices", params={"customer_id": contact_id}))["invoices"].__len__() == 1
    # credit notes
    cn = {"customer_id": contact_id, "line_items": [{"name": "Credit", "rate": "10.00"}], "custom_fields": cf}
    n1 = api.put("/creditnotes", json=cn, headers=unique("platform_id", "pl-1"))
    n2 = api.put("/creditnotes", json={**cn, "reference_number": "R2"}, headers=unique("platform_id", "pl-1"))
    assert n1.status_code == n2.status_code == 200
    assert j(n1)["creditnote"]["creditnote_id"] == j(n2)["creditnote"]["creditnote_id"]
    # customer payments (the product's upsert_customer_payment calls PUT /customerpayments)
    pay = {"customer_id": contact_id, "payment_mode": "banktransfer", "amount": "50.00", "date": "2026-01-05",
           "invoices": [], "custom_fields": cf}
    p1 = api.put("/customerpayments", json=pay, headers=unique("platform_id", "pl-1"))
    p2 = api.put("/customerpayments", json={**pay, "amount": "55.00"}, headers=unique("platform_id", "pl-1"))
    assert p1.status_code == p2.status_code == 200
    assert j(p1)["payment"]["payment_id"] == j(p2)["payment"]["payment_id"]
    assert j(p2)["payment"]["amount"] == Decimal("55.00")


def test_put_collection_without_match_or_headers_is_refused(api, customer) -> None:
    body = {"contact_name": "Nobody"}
    r = api.put("/contacts", json=body, headers=unique("platform_id", "missing", upsert=False))
    assert r.status_code == 404 and j(r)["code"] == 1002
    r = api.put("/invoices", json={})
    assert r.status_code == 400 and j(r)["code"] == 4 and "X-Unique-Identifier-Key" in j(r)["message"]


def test_post_with_unique_header_refuses_duplicates_or_upserts(api, customer) -> None:
    cf = [{"label": "platform_id", "value": "inv-7"}]
    body = {"customer_id": customer, "line_items": [{"name": "Work", "rate": "10.00"}], "custom_fields": cf}
    first = api.post("/invoices", json=body, headers=unique("platform_id", "inv-7", upsert=False))
    assert first.status_code == 201
    dup = api.post("/invoices", json=body, headers=unique("platform_id", "inv-7", upsert=False))
    assert dup.status_code == 400 and j(dup)["code"] == 1070
    again = api.post("/invoices", json={**body, "notes": "second"}, headers=unique("platform_id", "inv-7"))
    assert again.status_code == 201 and j(again)["invoice"]["invoice_id"] == j(first)["invoice"]["invoice_id"]
    c = api.post("/contacts", json={"contact_name": "U1", "custom_fields": cf}, headers=unique("platform_id", "inv-7", False))
    assert c.status_code == 201
    assert api.post("/contacts", json={"contact_name": "U2", "custom_fields": cf},
                    headers=unique("platform_id", "inv-7", False)).status_code == 400


# ----------------------------------------------------------------------------- credit notes
def test_credit_note_update_respects_applied_amounts(api, customer) -> None:
    inv = j(api.post("/invoices", params={"send": "true"}, json={
        "customer_id": customer, "line_items": [{"name": "Work", "rate": "100.00"}]}))["invoice"]
    cn = j(api.post("/creditnotes", json={"customer_id": customer,
                                          "line_items": [{"name": "Credit", "rate": "40.00"}]}))["creditnote"]
    cid = cn["creditnote_id"]
    assert api.post(f"/creditnotes/{cid}/invoices",
                    json={"invoices": [{"invoice_id": inv["invoice_id"], "amount_applied": "30.00"}]}).status_code == 200
    up = api.put(f"/creditnotes/{cid}", json={"line_items": [{"name": "Credit", "rate": "35.00"}], "notes": "n"})
    assert up.status_code == 200
    assert j(up)["creditnote"]["total"] == Decimal("35.00") and j(up)["creditnote"]["balance"] == Decimal("5.00")
    low = api.put(f"/creditnotes/{cid}", json={"line_items": [{"name": "Credit", "rate": "20.00"}]})
    assert low.status_code == 400 and j(low)["code"] == 36022
    other = j(api.post("/contacts", json={"contact_name": "Other Co"}))["contact"]["contact_id"]
    moved = api.put(f"/creditnotes/{cid}", json={"customer_id": other})
    assert moved.status_code == 400 and j(moved)["code"] == 1001
    assert api.put("/creditnotes/460000000000999", json={"notes": "x"}).status_code == 404


def test_credit_note_refunds_move_money_and_balance(api, customer) -> None:
    acc = accounts(api)
    bank = acc["Business Checking"]["account_id"]
    before = acc["Business Checking"]["current_balance"]
    cid = j(api.post("/creditnotes", json={"customer_id": customer,
                                           "line_items": [{"name": "Credit", "rate": "80.00"}]}))["creditnote"]["creditnote_id"]
    r = api.post(f"/creditnotes/{cid}/refunds", json={"date": "2026-01-10", "amount": "30.00",
                                                      "from_account_id": bank, "refund_mode": "cash"})
    assert r.status_code == 200
    refund = j(r)["creditnote_refund"]
    rid = refund["creditnote_refund_id"]
    assert refund["amount"] == Decimal("30.00")
    assert j(api.get(f"/creditnotes/{cid}"))["creditnote"]["balance"] == Decimal("50.00")
    assert accounts(api)["Business Checking"]["current_balance"] == before - Decimal("30.00")
    too_much = api.post(f"/creditnotes/{cid}/refunds", json={"date": "2026-01-10", "amount": "60.00"})
    assert too_much.status_code == 400 and j(too_much)["code"] == 36025
    assert api.post(f"/creditnotes/{cid}/refunds", json={"amount": "1.00"}).status_code == 400  # date required
    upd = api.put(f"/creditnotes/{cid}/refunds/{rid}", json={"amount": "80.00"})
    assert upd.status_code == 200 and j(upd)["creditnote_refund"]["amount"] == Decimal("80.00")
    assert j(api.get(f"/creditnotes/{cid}"))["creditnote"]["status"] == "closed"
    listed = j(api.get(f"/creditnotes/{cid}/refunds"))["creditnote_refunds"]
    assert [x["creditnote_refund_id"] for x in listed] == [rid]
    assert j(api.get(f"/creditnotes/{cid}/refunds/{rid}"))["creditnote_refund"]["amount"] == Decimal("80.00")
    assert api.delete(f"/creditnotes/{cid}/refunds/{rid}").status_code == 200
    assert j(api.get(f"/creditnotes/{cid}"))["creditnote"]["balance"] == Decimal("80.00")
    assert accounts(api)["Business Checking"]["current_balance"] == before
    assert api.get(f"/creditnotes/{cid}/refunds/{rid}").status_code == 404


def test_payment_refund_update(api, customer) -> None:
    p = j(api.post("/customerpayments", json={"customer_id": customer, "payment_mode": "cash", "amount": "40.00",
                                              "date": "2026-01-02", "invoices": []}))["payment"]
    r = j(api.post(f"/customerpayments/{p['payment_id']}/refunds",
                   json={"date": "2026-01-03", "amount": "10.00"}))["payment_refund"]
    rid = r.get("refund_id") or r.get("payment_refund_id")
    up = api.put(f"/customerpayments/{p['payment_id']}/refunds/{rid}", json={"amount": "40.00"})
    assert up.status_code == 200
    over = api.put(f"/customerpayments/{p['payment_id']}/refunds/{rid}", json={"amount": "40.01"})
    assert over.status_code == 400 and j(over)["code"] == 36025


# ----------------------------------------------------------------------------- accounts
def test_account_active_inactive_update_delete(api) -> None:
    new = j(api.post("/bankaccounts", json={"account_name": "Payout Account", "account_type": "bank"}))["bankaccount"]
    aid = new["account_id"]
    assert api.post(f"/bankaccounts/{aid}/inactive").status_code == 201  # as Zoho documents
    assert j(api.get(f"/chartofaccounts/{aid}"))["chart_of_account"]["is_active"] is False
    assert api.post(f"/chartofaccounts/{aid}/active").status_code == 201
    up = api.put(f"/bankaccounts/{aid}", json={"account_name": "Payouts", "bank_name": "First Bank"})
    assert up.status_code == 200 and j(up)["bankaccount"]["account_name"] == "Payouts"
    undeposited = accounts(api)["Undeposited Funds"]["account_id"]
    assert j(api.post(f"/chartofaccounts/{undeposited}/inactive"))["code"] == 1001
    assert j(api.delete(f"/chartofaccounts/{undeposited}"))["code"] == 1001
    assert api.delete(f"/bankaccounts/{undeposited}").status_code == 404  # not a bank account
    assert api.delete(f"/bankaccounts/{aid}").status_code == 200
    assert api.get(f"/chartofaccounts/{aid}").status_code == 404


def test_account_with_transactions_cannot_be_deleted(api, customer) -> None:
    created = j(api.post("/chartofaccounts", json={"account_name": "Clearing", "account_type": "cash"}))
    aid = created["chart_of_account"]["account_id"]
    api.post("/customerpayments", json={"customer_id": customer, "payment_mode": "cash", "amount": "5.00",
                                        "date": "2026-01-02", "invoices": [], "account_id": aid})
    r = api.delete(f"/chartofaccounts/{aid}")
    assert r.status_code == 400 and j(r)["code"] == 1001


# ----------------------------------------------------------------------------- contact PUT edge cases
def test_contact_put_edge_cases(api, customer) -> None:
    inv = j(api.post("/invoices", params={"send": "true"}, json={
        "customer_id": customer, "line_items": [{"name": "Work", "rate": "10.00"}]}))["invoice"]
    renamed = api.put(f"/contacts/{customer}", json={"contact_name": "Renamed Co"})
    assert renamed.status_code == 200
    assert j(api.get(f"/invoices/{inv['invoice_id']}"))["invoice"]["customer_name"] == "Renamed Co"
    assert j(api.put(f"/contacts/{customer}", json={"currency_code": "EUR"}))["code"] == 1001
    assert j(api.put(f"/contacts/{customer}", json={"contact_type": "vendor"}))["code"] == 1001
    empty = api.put(f"/contacts/{customer}", json={"contact_name": ""})
    assert empty.status_code == 400 and j(empty)["code"] == 4 and "contact_name" in j(empty)["message"]
    bad = api.put(f"/contacts/{customer}", json={"currency_code": "E1"})
    assert bad.status_code == 400 and "currency_code" in j(bad)["message"]
    other = j(api.post("/contacts", json={"contact_name": "Taken Name"}))["contact"]["contact_id"]
    assert other and j(api.put(f"/contacts/{customer}", json={"contact_name": "Taken Name"}))["code"] == 1070
    fresh = j(api.post("/contacts", json={"contact_name": "Fresh Co"}))["contact"]["contact_id"]
    ok = api.put(f"/contacts/{fresh}", json={"currency_code": "eur", "unknown_field": 1})  # unknown fields ignored
    assert ok.status_code == 200 and j(ok)["contact"]["currency_code"] == "EUR"
