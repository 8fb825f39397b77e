"""Webhook de-duplication never discards a new event: a repeat is the same delivery id WITH
the same body inside a bounded window; a sender that restarts and numbers its deliveries from
1 again is heard; every discarded delivery leaves a row in the sync log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgersync.domain.webhook_auth import connection_webhook_secret
from ledgersync.store.orm import Connection, SyncRun, WebhookEvent
from ledgersync.sync.pull import webhook_events
from ledgersync.web.routes import webhooks


def _secret(container, connection_id) -> dict[str, str]:
    """The connection's own webhook secret header (derived from the deployment's, issue 8)."""
    with container.uow() as uow:
        token = uow.session.get(Connection, connection_id).webhook_token
    return {"X-Ledgersync-Webhook-Secret": connection_webhook_secret("demo-webhook-secret", token, 0)}


@pytest.fixture
def receiver(container):
    app = FastAPI()
    app.state.container = container
    app.include_router(webhooks.router)
    recorded: list[tuple] = []
    container.dispatcher = type("D", (), {"pull_requested": lambda self, *a: recorded.append(a),
                                                    "push_requested": lambda self, *a: None})()
    with TestClient(app) as client:
        client.recorded = recorded  # type: ignore[attr-defined]
        yield client


def _path(container, connection_id):
    with container.uow() as uow:
        return f"/webhooks/zoho/{uow.session.get(Connection, connection_id).webhook_token}"


def _body(zoho, delivery: str, invoice_id: str) -> dict:
    return {"module": "invoice", "event": "update", "delivery_id": delivery,
            "event_time": zoho.now().strftime("%Y-%m-%dT%H:%M:%S+0000"), "invoice": {"invoice_id": invoice_id}}


def _discarded(container) -> list[str]:
    with container.uow() as uow:
        return list(uow.session.execute(select(SyncRun.message).where(SyncRun.status == "discarded")).scalars())


def test_a_restarted_sender_reusing_delivery_ids_is_heard(container, connection_id, zoho, receiver):
    path = _path(container, connection_id)
    headers = _secret(container, connection_id)
    first = [receiver.post(path, json=_body(zoho, f"wh-{n}", f"10{n}"), headers=headers) for n in range(1, 4)]
    assert [r.status_code for r in first] == [202, 202, 202]
    # the sender restarts: ids from 1 again, for other changes — all are new events
    zoho.advance(30)
    again = [receiver.post(path, json=_body(zoho, f"wh-{n}", f"20{n}"), headers=headers) for n in range(1, 4)]
    assert [r.status_code for r in again] == [202, 202, 202]
    assert [w for _c, w, _t in receiver.recorded] == [f"record:invoice:10{n}" for n in range(1, 4)] + \
        [f"record:invoice:20{n}" for n in range(1, 4)]
    assert _discarded(container) == []


def test_a_true_repeat_is_discarded_with_a_trace(container, connection_id, zoho, receiver):
    path = _path(container, connection_id)
    body = _body(zoho, "wh-7", "777")
    assert receiver.post(path, json=body, headers=_secret(container, connection_id)).status_code == 202
    repeat = receiver.post(path, json=body, headers=_secret(container, connection_id))
    assert repeat.status_code == 200 and repeat.json()["status"] == "duplicate"
    assert len(receiver.recorded) == 1
    stale = {**body, "delivery_id": "wh-8", "event_time": "2001-01-01T00:00:00+0000"}
    assert receiver.post(path, json=stale, headers=_secret(container, connection_id)).status_code == 400
    traces = _discarded(container)
    assert len(traces) == 2
    assert "(wh-7) not acted on: the same delivery" in traces[0] or "(wh-7) not acted on: the same delivery" in traces[1]
    assert any("(wh-8) not acted on: its event_time" in t for t in traces)


def test_the_window_is_bounded(container, connection_id):
    now = datetime.now(timezone.utc)
    with container.uow() as uow:
        assert webhook_events.admit(uow, connection_id, "1", b"{}", {}, now - webhook_events.WINDOW - timedelta(1))
    with container.uow() as uow:  # the same id and body after the window: remembered no more
        assert webhook_events.admit(uow, connection_id, "1", b"{}", {}, now)
    with container.uow() as uow:
        assert not webhook_events.admit(uow, connection_id, "1", b"{}", {}, now + timedelta(minutes=1))
        assert webhook_events.admit(uow, connection_id, "1", b'{"other": 1}', {}, now + timedelta(minutes=1))
    with container.uow() as uow:
        assert len(uow.session.execute(select(WebhookEvent)).scalars().all()) == 2
