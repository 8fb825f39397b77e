"""Webhooks like Zoho workflow rules: payload, secret header, retries, duplicates."""
from __future__ import annotations

import json
import threading

import httpx
import pytest

from zohobooks_sandbox import SandboxConfig, SandboxTransport, create_app
from zohobooks_sandbox.testing import books_client

ORG = "700000001"


class Receiver:
    """An injectable sender that records deliveries and can fail the first N attempts."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls: list[tuple[str, dict[str, str], dict]] = []
        self.lock = threading.Lock()

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.calls.append((url, headers, json.loads(body)))
            if self.fail_first > 0:
                self.fail_first -= 1
                return 503
            return 200


@pytest.fixture()
def app():
    return create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False))


@pytest.fixture()
def hooks(app):
    dispatcher = app.state.sandbox.webhooks
    dispatcher.sleep = lambda seconds: None  # retries without waiting
    return dispatcher


@pytest.fixture()
def api(app):
    c = books_client(app)
    yield c
    c.close()


def _register(app, modules=("invoice", "contact", "customerpayment")) -> None:
    with httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900") as admin:
        r = admin.post(f"/_sandbox/orgs/{ORG}/webhooks", json={
            "url": "https://partner.test/hooks/zoho", "modules": list(modules),
            "headers": {"X-Webhook-Secret": "s3cr3t"}, "params": {"source": "sandbox"}})
        assert r.status_code == 201, r.text


def test_invoice_contact_payment_events_carry_secret_and_summary(app, api, hooks) -> None:
    hooks.sender = receiver = Receiver()
    _register(app)
    cust = api.post("/contacts", json={"contact_name": "Hook Co"}).json()["contact"]["contact_id"]
    inv = api.post("/invoices", params={"send": "true"}, json={
        "customer_id": cust, "line_items": [{"name": "X", "rate": "40.60", "quantity": 1}]}).json()["invoice"]
    api.post("/customerpayments", json={"customer_id": cust, "payment_mode": "cash", "amount": "40.60",
                                        "date": "2026-01-02", "invoices": [{"invoice_id": inv["invoice_id"],
                                                                            "amount_applied": "40.60"}]})
    assert hooks.flush(timeout=10)
    events = [(p["module"], p["event"]) for _, _, p in receiver.calls]
    assert ("contact", "create") in events and ("invoice", "create") in events
    assert ("customerpayment", "create") in events and ("invoice", "update") in events
    url, headers, payload = next(c for c in receiver.calls if c[2]["module"] == "invoice" and c[2]["event"] == "update")
    assert url == "https://partner.test/hooks/zoho" and headers["X-Webhook-Secret"] == "s3cr3t"
    assert payload["organization_id"] == ORG and payload["source"] == "sandbox"
    assert payload["invoice"]["invoice_id"] == inv["invoice_id"]
    assert payload["invoice"]["status"] == "paid" and payload["invoice"]["balance"] == 0


def test_delete_event_carries_only_the_id(app, api, hooks) -> None:
    hooks.sender = receiver = Receiver()
    _register(app, modules=("contact",))
    cust = api.post("/contacts", json={"contact_name": "Short Lived"}).json()["contact"]["contact_id"]
    api.delete(f"/contacts/{cust}")
    assert hooks.flush(timeout=10)
    last = receiver.calls[-1][2]
    assert (last["event"], last["contact"]) == ("delete", {"contact_id": cust})


def test_retries_until_delivered(app, api, hooks) -> None:
    hooks.sender = receiver = Receiver(fail_first=2)
    _register(app, modules=("contact",))
    api.post("/contacts", json={"contact_name": "Flaky Receiver"})
    assert hooks.flush(timeout=10)
    assert len(receiver.calls) == 3
    delivery = hooks.deliveries[-1]
    assert delivery.status == "delivered" and delivery.attempts == 3 and delivery.history == [503, 503, 200]


def test_duplicate_fault_delivers_twice(app, api, hooks) -> None:
    hooks.sender = receiver = Receiver()
    _register(app, modules=("contact",))
    with httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900") as admin:
        admin.put("/_sandbox/webhooks/faults", json={"duplicate_probability": 1.0, "seed": 1})
    api.post("/contacts", json={"contact_name": "Twice"})
    assert hooks.flush(timeout=10)
    ids = [p["delivery_id"] for _, _, p in receiver.calls]
    assert len(ids) == 2 and ids[0] == ids[1]  # same delivery id: receivers dedupe on it


def test_reorder_fault_delivers_out_of_order(app, api, hooks) -> None:
    hooks.sender = receiver = Receiver()
    _register(app, modules=("contact",))
    hooks.set_faults(type(hooks.faults)(reorder_probability=1.0, seed=2))
    api.post("/contacts", json={"contact_name": "First"})
    hooks.set_faults(type(hooks.faults)())
    api.post("/contacts", json={"contact_name": "Second"})
    assert hooks.flush(timeout=10)
    names = [p["contact"]["contact_name"] for _, _, p in receiver.calls]
    assert names == ["Second", "First"]


def test_default_sender_posts_with_httpx_transport(app) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    from zohobooks_sandbox.webhooks import default_sender
    send = default_sender(transport=httpx.MockTransport(handler))
    assert send("https://x.test/h", {"X-Webhook-Secret": "k"}, b'{"a": 1}') == 204
    assert seen[0].headers["X-Webhook-Secret"] == "k" and seen[0].content == b'{"a": 1}'
