"""Webhooks (sandbox sender -> our receiver -> embedded scheduler -> one re-read), PDFs cached
and invalidated, signed links, and the embedded scheduler's event-driven wake-ups."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgersync.domain.webhook_auth import connection_webhook_secret
from ledgersync.store.orm import Connection, ExternalRef, Invoice, InvoicePdf, WebhookEvent
from ledgersync.sync.pull import pdfs
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.web.routes import webhooks
from ledgersync.workers.embedded import EmbeddedScheduler

DEPLOYMENT_SECRET = "demo-webhook-secret"


def secret_of(container, connection_id):
    """The connection's own webhook secret (derived from the deployment's)."""
    return connection_webhook_secret(DEPLOYMENT_SECRET, token_of(container, connection_id), 0)


@pytest.fixture
def receiver(container):
    app = FastAPI()
    app.state.container = container
    app.include_router(webhooks.router)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def scheduler(container):
    sched = EmbeddedScheduler(container, workers=2, tick_s=0.05, periodic=False).start()
    yield sched
    sched.stop()


def token_of(container, connection_id):
    with container.uow() as uow:
        return uow.session.get(Connection, connection_id).webhook_token


def local_invoice(container, zoho_id):
    with container.uow() as uow:
        ref = uow.session.execute(select(ExternalRef).where(ExternalRef.zoho_id == zoho_id)).scalar_one()
        inv = uow.session.get(Invoice, ref.local_id)
        uow.session.expunge(inv)
        return inv


def test_sandbox_webhook_syncs_the_record_within_seconds(container, connection_id, zoho, receiver, scheduler):
    run_initial_sync(container, connection_id)
    url = f"http://testserver/webhooks/zoho/{token_of(container, connection_id)}"
    zoho.sandbox.webhooks.sender = lambda u, headers, body: receiver.post(u.replace("http://testserver", ""),
                                                                            content=body, headers=headers).status_code
    zoho.admin("POST", f"/orgs/{zoho.org_id}/webhooks", {"url": url, "modules": ["invoice"],
                                                           "headers": {"X-Ledgersync-Webhook-Secret":
                                                                       secret_of(container, connection_id)}})
    target = next(i for i in zoho.org.invoices.values() if i.base_status == "sent" and i.balance == i.total)
    victim = next(i for i in zoho.org.invoices.values() if i.payment_made == 0 and i.credits_applied == 0
                  and i.invoice_id != target.invoice_id)
    before = zoho.calls()
    zoho.advance(5)
    zoho.admin("POST", f"/orgs/{zoho.org_id}/invoices/{target.invoice_id}/writeoff")
    zoho.admin("DELETE", f"/orgs/{zoho.org_id}/invoices/{victim.invoice_id}")
    assert zoho.sandbox.webhooks.flush(10)
    assert scheduler.wait_idle(10)
    inv = local_invoice(container, target.invoice_id)
    assert (inv.status, inv.outstanding) == ("written_off", Decimal("0.00"))
    assert local_invoice(container, victim.invoice_id).archived
    assert zoho.calls() - before == 2  # one re-read per hint, no list, no bisection


def test_webhook_auth_replay_and_staleness(container, connection_id, zoho, receiver):
    recorded = []
    container.dispatcher = type("D", (), {"pull_requested": lambda self, *a: recorded.append(a),
                                                    "push_requested": lambda self, *a: None})()
    path = f"/webhooks/zoho/{token_of(container, connection_id)}"
    SECRET = secret_of(container, connection_id)
    now = zoho.now().strftime("%Y-%m-%dT%H:%M:%S+0000")
    body = {"module": "invoice", "event": "update", "delivery_id": "d-1", "event_time": now,
            "invoice": {"invoice_id": "123", "balance": 1}}
    assert receiver.post(path, json=body).status_code == 401
    assert receiver.post(path, json=body, headers={"X-Ledgersync-Webhook-Secret": "wrong"}).status_code == 401
    assert receiver.post(path, json=body, headers={"X-Ledgersync-Webhook-Secret": DEPLOYMENT_SECRET}).status_code == 401
    assert receiver.post("/webhooks/zoho/nope", json=body, headers={"X-Ledgersync-Webhook-Secret": SECRET}).status_code == 404
    ok = receiver.post(path, json=body, headers={"X-Ledgersync-Webhook-Secret": SECRET})
    assert ok.status_code == 202 and ok.json()["work"] == "record:invoice:123"
    again = receiver.post(path, json=body, headers={"X-Ledgersync-Webhook-Secret": SECRET})
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    stale = {**body, "delivery_id": "d-2", "event_time": "2001-01-01T00:00:00+0000"}
    assert receiver.post(path, json=stale, headers={"X-Ledgersync-Webhook-Secret": SECRET}).status_code == 400
    payment = {"module": "customerpayment", "event": "create", "delivery_id": "d-3", "event_time": now,
               "customerpayment": {"payment_id": "9"}}
    reply = receiver.post(path, json=payment, headers={"X-Ledgersync-Webhook-Secret": SECRET})
    assert reply.json()["work"] == "invoices,invoice_details"
    assert [r[1] for r in recorded] == ["record:invoice:123", "invoices,invoice_details"]
    with container.uow() as uow:
        assert len(uow.session.execute(select(WebhookEvent)).scalars().all()) == 2


def test_pdf_fetched_once_cached_and_invalidated_on_change(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    target = next(i for i in zoho.org.invoices.values() if i.base_status == "sent" and i.balance == i.total)
    inv = local_invoice(container, target.invoice_id)
    first = pdfs.invoice_pdf(container, inv.id)
    assert first.startswith(b"%PDF")
    calls = zoho.calls()
    assert pdfs.invoice_pdf(container, inv.id) == first
    assert zoho.calls() == calls  # cached: no call
    zoho.advance(5)
    zoho.admin("POST", f"/orgs/{zoho.org_id}/invoices/{target.invoice_id}/payments", {"amount": "1.00"})
    from ledgersync.sync.pull.service import sync_connection

    sync_connection(container, connection_id)
    with container.uow() as uow:
        assert uow.session.get(InvoicePdf, inv.id) is None  # invalidated by the change
    calls = zoho.calls()
    pdfs.invoice_pdf(container, inv.id)
    assert zoho.calls() == calls + 1


def test_signed_pdf_links(container):
    path = pdfs.signed_pdf_path(container, "abc", ttl_s=60, now=1000)
    query = dict(p.split("=") for p in path.split("?")[1].split("&"))
    assert pdfs.verify_pdf_link(container, "abc", int(query["e"]), query["s"], now=1000)
    assert not pdfs.verify_pdf_link(container, "abd", int(query["e"]), query["s"], now=1000)
    assert not pdfs.verify_pdf_link(container, "abc", int(query["e"]), query["s"], now=2000)


def test_scheduler_runs_periodic_pulls_and_event_pushes(container, connection_id, zoho, monkeypatch):
    drained = []
    monkeypatch.setattr("ledgersync.workers.jobs.push_drain", lambda c, cid: drained.append(cid))
    sched = EmbeddedScheduler(container, workers=2, tick_s=0.05, clock=lambda: 0.0).start()
    try:
        assert sched.wait_idle(60)
        # the first tick scheduled one pull (the initial sync: phase None -> run) and one push
        with container.uow() as uow:
            assert uow.session.get(Connection, connection_id).status == "connected"
        assert drained == [connection_id]
        with container.uow() as uow:
            partner_id = uow.session.get(Connection, connection_id).partner_id
        container.dispatcher.notify(partner_id)
        assert sched.wait_idle(10)
        assert drained == [connection_id, connection_id]
    finally:
        sched.stop()


def test_start_initial_sync_hands_over_to_the_dispatcher(container, connection_id, zoho, scheduler):
    from ledgersync.sync.pull.initial import start_initial_sync

    start_initial_sync(container, connection_id)
    assert scheduler.wait_idle(60)
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        assert (conn.initial_sync_phase, conn.status) == ("done", "connected")
    assert ("pull", connection_id, "initial", "initial") in scheduler.completed
