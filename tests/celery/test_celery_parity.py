"""Celery mode at parity with the demo: a settled payment and a Zoho webhook reach a real worker
through the Celery dispatcher (no drain or sync called by the test), backfills wait for their own
slots without delaying another connection's pull, and beat's staggered tick queues each hourly
slot once."""

from __future__ import annotations

import time
from decimal import Decimal as D

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgersync.domain.webhook_auth import connection_webhook_secret
from ledgersync.services import payments as pay_svc
from ledgersync.store.orm import Connection, ExternalRef, Invoice
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.web.routes import webhooks
from ledgersync.workers import tasks
from ledgersync.workers.schedule import due_at, phase_s, slot_index
from tests.push.world import build_world

pytestmark = pytest.mark.celery


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it is truthy (a worker in another thread does the work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_settled_payment_is_pushed_by_a_worker_without_any_drain_call(container, sandbox_app, celery_worker):
    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("40.00")
    p = pay_svc.pay_invoices(container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D("40.00"))])
    pay_svc.settle(container, w.partner_id, p.id, "succeeded")  # outbox.notify -> CeleryDispatcher -> worker
    found = wait_for(lambda: [z for z in w.org.payments.values() if z.reference_number == f"ls:pay:{p.id}"],
                     what="the payment in Zoho")
    assert len(found) == 1 and found[0].amount == D("40.00")


def test_webhook_received_by_the_web_app_is_reread_by_a_worker(container, connection_id, zoho, celery_worker):
    run_initial_sync(container, connection_id)
    web = FastAPI()
    web.state.container = container
    web.include_router(webhooks.router)
    target = next(i for i in zoho.org.invoices.values() if i.base_status == "sent" and i.balance == i.total)
    zoho.advance(5)
    zoho.admin("POST", f"/orgs/{zoho.org_id}/invoices/{target.invoice_id}/writeoff")
    with container.uow() as uow:
        token = uow.session.get(Connection, connection_id).webhook_token
    body = {"module": "invoice", "event": "update", "delivery_id": "celery-1",
            "event_time": zoho.now().strftime("%Y-%m-%dT%H:%M:%S+0000"), "invoice": {"invoice_id": target.invoice_id}}
    with TestClient(web) as client:
        reply = client.post(f"/webhooks/zoho/{token}", json=body,
                            headers={"X-Ledgersync-Webhook-Secret": connection_webhook_secret(
                                container.settings.webhook_secret.get_secret_value(), token, 0)})
    assert reply.status_code == 202

    def local_outstanding() -> bool:
        with container.uow() as uow:
            ref = uow.session.execute(select(ExternalRef).where(ExternalRef.zoho_id == target.invoice_id)).scalar_one()
            return uow.session.get(Invoice, ref.local_id).outstanding == D("0.00")

    assert wait_for(local_outstanding, what="the written-off invoice re-read")


def test_a_backfill_waits_for_its_slot_while_another_pull_runs(container, connection_id, zoho, celery_worker,
                                                              monkeypatch):
    app = celery_worker
    monkeypatch.setitem(tasks.SLOT_RETRY_S, "backfill", 0.5)
    coord = container.dispatcher.coordination
    container.settings.backfill_slots = 1
    container.settings.inline_history_max_invoices = 10  # this organisation's 80 invoices are a "big" history
    holder = coord.try_slot("backfill", 1, 60)  # someone else's backfill holds the only slot
    assert holder is not None

    def phase() -> str | None:
        with container.uow() as uow:
            return uow.session.get(Connection, connection_id).initial_sync_phase

    first = app.send_task("ledgersync.pull_stream", args=[connection_id, "initial", "initial"]).get(timeout=60)
    # the last 12 months do not wait for a backfill slot: the connection is usable at once
    assert first["stream"] == "initial:recent" and phase() == "history"
    pull = app.send_task("ledgersync.pull_stream", args=[connection_id, "customers", "schedule"]).get(timeout=60)
    assert pull["status"] == "succeeded"  # not delayed by the history waiting for its slot
    assert phase() == "history"  # the history cannot have run: its only slot is held
    coord.release_slot("backfill", holder)
    assert wait_for(lambda: phase() == "done", timeout=120, what="the history backfill")


def test_a_small_history_does_not_wait_for_the_backfill_slots(container, connection_id, zoho, celery_worker):
    """Large histories holding every backfill slot must not keep a small partner from finishing."""
    app = celery_worker
    coord = container.dispatcher.coordination
    container.settings.backfill_slots = 1
    holder = coord.try_slot("backfill", 1, 60)  # a large history holds the only slot
    assert holder is not None and len(zoho.org.invoices) <= container.settings.inline_history_max_invoices
    try:
        first = app.send_task("ledgersync.pull_stream", args=[connection_id, "initial", "initial"]).get(timeout=60)
        with container.uow() as uow:
            conn = uow.session.get(Connection, connection_id)
            assert first["stream"] == "initial:recent" and conn.initial_sync_phase == "done"
            assert conn.status == "connected"
    finally:
        coord.release_slot("backfill", holder)


def test_one_queued_message_per_connection_and_stream(container, celery_session_prefix):
    from tests.celery.conftest import REDIS_URL
    from tests.services import redis_or_skip

    client = redis_or_skip(REDIS_URL)
    from ledgersync.workers.coordination import Coordination

    coord = Coordination(client, f"{celery_session_prefix}-dedup")
    sent: list[tuple[str, list[object]]] = []
    fake_celery = type("C", (), {"send_task": lambda self, name, args: sent.append((name, args))})()
    dispatcher = tasks.CeleryDispatcher(fake_celery, container=container, coordination=coord)
    for _ in range(3):
        dispatcher.push_requested("c1")
        dispatcher.pull_requested("c1", "record:invoice:9", "webhook")
    dispatcher.pull_requested("c2", None, "schedule")
    assert [s[0] for s in sent] == ["ledgersync.push_drain", "ledgersync.pull_stream", "ledgersync.pull_stream"]
    coord.clear_queued("push:c1")  # the task started: a new change queues a new drain
    dispatcher.push_requested("c1")
    assert len(sent) == 4
    coord.forget()


def test_slots_bound_concurrency_and_expire(celery_session_prefix):
    from ledgersync.workers.coordination import Coordination
    from tests.celery.conftest import REDIS_URL
    from tests.services import redis_or_skip

    coord = Coordination(redis_or_skip(REDIS_URL), f"{celery_session_prefix}-slots")
    a, b = coord.try_slot("conn:x", 2, 60), coord.try_slot("conn:x", 2, 60)
    assert a and b and coord.try_slot("conn:x", 2, 60) is None
    assert coord.try_slot("conn:y", 2, 60)  # another connection is not affected
    coord.release_slot("conn:x", a)
    assert coord.try_slot("conn:x", 2, 60)
    assert coord.try_slot("dead", 1, 0.01) and coord.try_slot("dead", 1, 60) is None
    time.sleep(0.05)  # the first holder's lease (10 ms) is over: a crashed worker leaks nothing
    assert coord.try_slot("dead", 1, 60)
    assert coord.claim_slot_index("c", 5) and not coord.claim_slot_index("c", 5) and not coord.claim_slot_index("c", 4)
    assert coord.claim_slot_index("c", 6)
    coord.forget()


def test_staggered_slots_spread_connections_over_the_hour():
    ids = [f"conn-{i}" for i in range(2000)]
    phases = sorted(phase_s(c, 3600.0) for c in ids)
    per_quarter = [sum(1 for p in phases if q * 900 <= p < (q + 1) * 900) for q in range(4)]
    assert min(per_quarter) > 400  # no burst at :00 (uniform would be 500 each)
    c = ids[0]
    k = slot_index(c, 10_000_000.0, 3600.0)
    assert due_at(c, k, 3600.0) <= 10_000_000.0 < due_at(c, k + 1, 3600.0)


def test_beat_tick_queues_each_due_slot_once(container, connection_id, zoho, celery_session_prefix):
    from ledgersync.workers.coordination import Coordination
    from tests.celery.conftest import REDIS_URL
    from tests.services import redis_or_skip

    run_initial_sync(container, connection_id)
    coord = Coordination(redis_or_skip(REDIS_URL), f"{celery_session_prefix}-beat")
    asked: list[tuple[str, str | None, str]] = []
    container.dispatcher = type("D", (), {
        "pull_requested": lambda self, *a: asked.append(a), "push_requested": lambda self, *a: None})()
    tasks.set_container(container, coordination=coord)
    try:
        interval = container.settings.pull_interval_s
        t0 = due_at(connection_id, 1000, interval)
        assert tasks.schedule_pulls.run(now_s=t0 + 1) == {"pulls": 1, "backfills": 0}
        assert tasks.schedule_pulls.run(now_s=t0 + 2) == {"pulls": 0, "backfills": 0}  # same slot
        assert tasks.schedule_pulls.run(now_s=t0 + interval) == {"pulls": 1, "backfills": 0}
        assert asked == [(connection_id, None, "schedule")] * 2
        tasks._claimed.clear()  # another worker (no local memory) ticks the same slot: Redis says no
        assert tasks.schedule_pulls.run(now_s=t0 + interval + 1) == {"pulls": 0, "backfills": 0}
    finally:
        tasks.set_container(None)
        coord.forget()


def test_push_safety_net_drains_only_connections_with_due_intents(container, sandbox_app):
    from ledgersync.sync.push import PushConfig, drain_outbox

    w = build_world(container, sandbox_app)
    idle = build_world(container, sandbox_app)  # a second partner with nothing to push
    asked: list[str] = []
    container.dispatcher = type("D", (), {
        "pull_requested": lambda self, *a: None, "push_requested": lambda self, cid: asked.append(cid)})()
    tasks.set_container(container)
    try:
        assert tasks.schedule_pushes.run() == 0
        inv = w.zoho_invoice("12.00")
        p = pay_svc.pay_invoices(container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D("12.00"))])
        pay_svc.settle(container, w.partner_id, p.id, "succeeded")
        asked.clear()  # settle's own wake-up
        assert tasks.schedule_pushes.run() == 1 and asked == [w.connection_id] and idle.connection_id not in asked
        drain_outbox(container, w.connection_id, cfg=PushConfig(backoff_base_s=0.0, defer_s=0.0))
        assert tasks.schedule_pushes.run() == 0
    finally:
        tasks.set_container(None)


def test_beat_tick_queues_a_stream_whose_backoff_is_over(container, connection_id, zoho, celery_session_prefix):
    """Issue 9: a stream Zoho failed resumes at its `next_run_at` (seconds to minutes), not in
    the connection's next hourly slot."""
    from datetime import datetime, timedelta, timezone

    from ledgersync.store.orm import SyncCursor
    from ledgersync.workers.coordination import Coordination
    from tests.celery.conftest import REDIS_URL
    from tests.services import redis_or_skip

    run_initial_sync(container, connection_id)
    coord = Coordination(redis_or_skip(REDIS_URL), f"{celery_session_prefix}-retry")
    asked: list[tuple[str, str | None, str]] = []
    container.dispatcher = type("D", (), {
        "pull_requested": lambda self, *a: asked.append(a), "push_requested": lambda self, *a: None})()

    def set_retry(at):
        with container.uow() as uow:
            uow.session.get(SyncCursor, (connection_id, "invoices")).next_run_at = at
            uow.commit()

    tasks.set_container(container, coordination=coord)
    try:
        t0 = due_at(connection_id, 1000, container.settings.pull_interval_s)
        assert tasks.schedule_pulls.run(now_s=t0 + 1) == {"pulls": 1, "backfills": 0}
        set_retry(datetime.now(timezone.utc) + timedelta(minutes=5))  # backoff not over yet
        assert tasks.schedule_pulls.run(now_s=t0 + 2) == {"pulls": 0, "backfills": 0}
        set_retry(datetime.now(timezone.utc) - timedelta(seconds=1))  # over: queued within the hour
        assert tasks.schedule_pulls.run(now_s=t0 + 3) == {"pulls": 1, "backfills": 0}
        set_retry(None)  # the retry ran and cleared it
        assert tasks.schedule_pulls.run(now_s=t0 + 4) == {"pulls": 0, "backfills": 0}
        assert asked == [(connection_id, None, "schedule"), (connection_id, None, "retry")]
    finally:
        tasks.set_container(None)
        coord.forget()


def test_workers_take_pushes_then_pulls_then_backfills(container, celery_session_prefix):
    """Queued before the worker starts: a backfill, a pull and a push; one thread takes the push first."""
    from celery.contrib.testing.worker import start_worker

    from ledgersync.workers.celery_app import configure_celery
    from ledgersync.workers.schedule import queue_names
    from tests.celery.conftest import REDIS_URL
    from tests.services import redis_or_skip

    redis_or_skip(REDIS_URL)
    settings = container.settings
    settings.celery_queue_prefix = f"{celery_session_prefix}-order"
    app = configure_celery(tasks.app, settings, REDIS_URL)
    order: list[str] = []

    def record(label: str) -> None:
        order.append(label)

    probe = app.task(name="ledgersync.test_probe", ignore_result=True)(record)
    queues = queue_names(settings.celery_queue_prefix)
    app.control.purge()
    try:
        for label, kind in (("backfill-1", "backfill"), ("pull-1", "pull"), ("backfill-2", "backfill"),
                            ("push-1", "push"), ("pull-2", "pull")):
            probe.apply_async(args=[label], queue=queues[kind])
        with start_worker(app, concurrency=1, pool="threads", perform_ping_check=False,
                          queues=[queues["push"], queues["pull"], queues["backfill"]], shutdown_timeout=10):
            wait_for(lambda: len(order) == 5, what="the five probes")
    finally:
        app.control.purge()
    assert order == ["push-1", "pull-1", "pull-2", "backfill-1", "backfill-2"]
