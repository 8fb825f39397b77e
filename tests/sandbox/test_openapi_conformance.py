"""Every Books endpoint the sandbox implements answers in the shape Zoho's official OpenAPI
files document (quirks of the files widened as SOURCE.md says; see zoho_openapi.py).

This test drives each implemented operation at least once on its own app (recording with
``SandboxConfig.record_responses``) and validates every reply; the session-finish hook in
conftest.py does the same for every reply of the whole sandbox test session.
"""
from __future__ import annotations

import pytest

from tests.sandbox.zoho_openapi import ZohoOpenAPI, openapi_dir
from zohobooks_sandbox import SandboxConfig, create_app
from zohobooks_sandbox.testing import books_client

pytestmark = pytest.mark.skipif(not openapi_dir().is_dir(), reason="Zoho OpenAPI files not available")

ORG = "700000001"

#: operations of Zoho's files the sandbox implements and this test must cover
EXPECTED = {
    "GET /organizations", "GET /organizations/{organization_id}",
    "GET /contacts", "POST /contacts", "GET /contacts/{contact_id}", "PUT /contacts/{contact_id}",
    "DELETE /contacts/{contact_id}", "POST /contacts/{contact_id}/active", "POST /contacts/{contact_id}/inactive",
    "GET /invoices", "POST /invoices", "GET /invoices/{invoice_id}", "PUT /invoices/{invoice_id}",
    "DELETE /invoices/{invoice_id}", "POST /invoices/{invoice_id}/status/sent",
    "POST /invoices/{invoice_id}/status/void", "POST /invoices/{invoice_id}/status/draft",
    "POST /invoices/{invoice_id}/writeoff", "GET /invoices/{invoice_id}/payments",
    "GET /invoices/{invoice_id}/creditsapplied", "POST /invoices/{invoice_id}/credits",
    "GET /customerpayments", "POST /customerpayments", "GET /customerpayments/{payment_id}",
    "PUT /customerpayments/{payment_id}", "DELETE /customerpayments/{payment_id}",
    "GET /creditnotes", "POST /creditnotes", "GET /creditnotes/{creditnote_id}",
    "POST /creditnotes/{creditnote_id}/invoices", "GET /creditnotes/{creditnote_id}/invoices",
    "GET /chartofaccounts", "POST /chartofaccounts", "GET /chartofaccounts/{account_id}",
    "GET /bankaccounts", "POST /bankaccounts", "GET /bankaccounts/{account_id}",
    "GET /banktransactions", "POST /banktransactions", "GET /banktransactions/{bank_transaction_id}",
}


def _exercise(api) -> None:
    """Call every implemented operation with valid input (and a few error cases)."""
    ok = lambda r, *codes: r if r.status_code in (codes or (200, 201)) else pytest.fail(  # noqa: E731
        f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:300]}")
    ok(api.get("/organizations"))
    ok(api.get(f"/organizations/{ORG}"))
    # contacts
    cust = ok(api.post("/contacts", json={"contact_name": "Conformance Co", "email": "a@conf.test"})).json()["contact"]
    cid = cust["contact_id"]
    ok(api.get("/contacts", params={"per_page": 5}))
    ok(api.get(f"/contacts/{cid}"))
    ok(api.put(f"/contacts/{cid}", json={"website": "https://conf.test"}))
    ok(api.post(f"/contacts/{cid}/inactive"))
    ok(api.post(f"/contacts/{cid}/active"))
    spare = ok(api.post("/contacts", json={"contact_name": "Conformance Spare"})).json()["contact"]["contact_id"]
    ok(api.delete(f"/contacts/{spare}"))
    # invoices
    line = [{"name": "Support", "rate": "120.50", "quantity": 2}]
    inv = ok(api.post("/invoices", json={"customer_id": cid, "line_items": line})).json()["invoice"]
    iid = inv["invoice_id"]
    ok(api.get("/invoices", params={"per_page": 5}))
    ok(api.get(f"/invoices/{iid}"))
    ok(api.put(f"/invoices/{iid}", json={"reference_number": "CONF-1"}))
    ok(api.post(f"/invoices/{iid}/status/sent"))
    ok(api.get(f"/invoices/{iid}", params={"accept": "pdf"}))
    # payments
    pay = ok(api.post("/customerpayments", json={
        "customer_id": cid, "payment_mode": "banktransfer", "amount": "100.00", "date": "2026-01-10",
        "reference_number": "ls:conf-1", "invoices": [{"invoice_id": iid, "amount_applied": "100.00"}]})).json()["payment"]
    pid = pay["payment_id"]
    ok(api.get("/customerpayments", params={"reference_number": "ls:conf-1"}))
    ok(api.get(f"/customerpayments/{pid}"))
    ok(api.put(f"/customerpayments/{pid}", json={"description": "updated", "customer_id": cid, "amount": "100.00",
                                                 "date": "2026-01-10", "payment_mode": "banktransfer",
                                                 "invoices": [{"invoice_id": iid, "amount_applied": "100.00"}]}))
    ok(api.get(f"/invoices/{iid}/payments"))
    # credit notes
    cn = ok(api.post("/creditnotes", json={"customer_id": cid, "date": "2026-01-11",
                                           "line_items": [{"name": "Credit", "rate": "30.00", "quantity": 1}]})).json()
    cnid = cn["creditnote"]["creditnote_id"]
    ok(api.get("/creditnotes"))
    ok(api.get(f"/creditnotes/{cnid}"))
    ok(api.post(f"/creditnotes/{cnid}/invoices", json={"invoices": [{"invoice_id": iid, "amount_applied": "10.00"}]}))
    ok(api.get(f"/creditnotes/{cnid}/invoices"))
    ok(api.post(f"/invoices/{iid}/credits", json={"apply_creditnotes": [{"creditnote_id": cnid, "amount_applied": "5.00"}]}))
    ok(api.get(f"/invoices/{iid}/creditsapplied"))
    ok(api.post(f"/invoices/{iid}/writeoff"))
    ok(api.delete(f"/customerpayments/{pid}"))
    # void / draft / delete on a fresh invoice
    other = ok(api.post("/invoices", json={"customer_id": cid, "line_items": line})).json()["invoice"]["invoice_id"]
    ok(api.post(f"/invoices/{other}/status/void"))
    ok(api.post(f"/invoices/{other}/status/draft"))
    ok(api.delete(f"/invoices/{other}"))
    # accounts and banking
    accounts = ok(api.get("/chartofaccounts")).json()["chartofaccounts"]
    ok(api.get(f"/chartofaccounts/{accounts[0]['account_id']}"))
    ok(api.post("/chartofaccounts", json={"account_name": "Conformance Income", "account_type": "income"}))
    bank = ok(api.post("/bankaccounts", json={"account_name": "Conformance Bank", "account_type": "bank"})).json()
    bank_id = bank["bankaccount"]["account_id"]
    ok(api.get("/bankaccounts"))
    ok(api.get(f"/bankaccounts/{bank_id}"))
    undeposited = next(a["account_id"] for a in accounts if a["account_name"] == "Undeposited Funds")
    tx = ok(api.post("/banktransactions", json={"transaction_type": "deposit", "to_account_id": bank_id,
                                                "amount": "50.00", "date": "2026-01-12", "reference_number": "dep-1"}))
    txid = tx.json()["banktransaction"]["transaction_id"]
    ok(api.post("/banktransactions", json={"transaction_type": "transfer_fund", "from_account_id": undeposited,
                                           "to_account_id": bank_id, "amount": "10.00", "date": "2026-01-12"}))
    ok(api.get("/banktransactions"))
    ok(api.get(f"/banktransactions/{txid}"))
    # errors answer Zoho's envelope
    ok(api.get("/invoices/1"), 404)
    ok(api.post("/invoices", json={"line_items": line}), 400)


def test_every_implemented_operation_matches_zoho_openapi() -> None:
    spec = ZohoOpenAPI.load()
    assert spec is not None
    app = create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False, record_responses=True, demo_invoices=20))
    api = books_client(app)
    try:
        _exercise(api)
    finally:
        api.close()
    records = app.state.sandbox.guard.recorder.records
    problems = spec.summarize(spec.validate_all(records))
    assert not problems, "\n".join(problems)
    covered = spec.covered(records)
    assert EXPECTED <= covered, sorted(EXPECTED - covered)
    print(f"\ncovered {len(covered)} documented operations:", ", ".join(sorted(covered)))


def test_validator_catches_a_wrong_shape() -> None:
    """The validator is not vacuous: a list answered as an object, a string id as a list, fail."""
    spec = ZohoOpenAPI.load()
    assert spec.validate("GET", "/books/v3/invoices", 200, b'{"code": 0, "message": "success", "invoices": {}}')
    assert spec.validate("GET", "/books/v3/contacts/1", 200,
                         b'{"code": 0, "message": "success", "contact": {"contact_id": ["x"]}}')
    assert spec.validate("GET", "/books/v3/invoices/1", 404, b'{"code": 0, "message": "x"}')
    assert not spec.validate("GET", "/books/v3/invoices/1", 404, b'{"code": 1002, "message": "Invoice does not exist."}')
