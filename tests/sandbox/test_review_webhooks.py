"""Review: webhook payloads carry the whole record under the Books API's key, like Zoho's
workflow-rule webhooks with the default payload."""
from __future__ import annotations

from tests.sandbox.test_ops_webhooks import ORG, Receiver, _register, api, app, hooks  # noqa: F401 - fixtures


def test_payload_has_the_full_record_under_the_api_key(app, api, hooks) -> None:  # noqa: F811
    hooks.sender = receiver = Receiver()
    _register(app)
    cust = api.post("/contacts", json={"contact_name": "Full Payload Co"}).json()["contact"]["contact_id"]
    inv = api.post("/invoices", params={"send": "true"}, json={
        "customer_id": cust, "line_items": [{"name": "X", "rate": "40.60"}]}).json()["invoice"]
    pay = api.post("/customerpayments", json={"customer_id": cust, "payment_mode": "cash", "amount": "40.60",
                                              "date": "2026-01-02", "invoices": [{"invoice_id": inv["invoice_id"],
                                                                                  "amount_applied": "40.60"}]})
    payment_id = pay.json()["payment"]["payment_id"]
    api.delete(f"/customerpayments/{payment_id}")
    assert hooks.flush(timeout=10)
    by_event = {(p["module"], p["event"]): p for _, _, p in receiver.calls}
    created = by_event[("invoice", "create")]["invoice"]
    assert created["invoice_id"] == inv["invoice_id"] and created["line_items"][0]["name"] == "X"
    assert created["total"] == 40.6 and created["customer_name"] == "Full Payload Co"
    paid = by_event[("customerpayment", "create")]
    assert paid["payment"]["payment_id"] == payment_id and paid["payment"]["invoices"][0]["invoice_id"] == inv["invoice_id"]
    assert paid["customerpayment"]["payment_id"] == payment_id  # the summary under the module name stays
    assert by_event[("contact", "create")]["contact"]["contact_name"] == "Full Payload Co"
    gone = by_event[("customerpayment", "delete")]
    assert gone["customerpayment"] == {"customerpayment_id": payment_id} and "payment" not in gone
