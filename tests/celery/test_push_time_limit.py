"""Push drains get a task time limit under the threads pool too (`PUSH_TASK_SOFT_TIME_LIMIT_S`).

Past the deadline no further Zoho request leaves; the intent being worked goes back to the
outbox due now with its lease released; a write stopped before it left is not in doubt (no
write deadline to wait for), yet the step stays `uncertain`, so the next drain looks it up by
reference before posting — never a blind re-post; the next drain finishes the push.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest

from ledgersync.observability import logs
from ledgersync.services import payments as pay_svc
from ledgersync.store.orm import PushIntent, SyncRun
from ledgersync.sync.books_factory import books_for
from ledgersync.sync.push import Hooks, PushConfig, drain_outbox
from ledgersync.sync.push.engine import DrainResult
from ledgersync.workers import deadline, tasks
from tests.push.world import build_world
from zohobooks_sandbox.faults import FaultKind, FaultRule


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Asked:
    """A dispatcher recording the pushes asked for (the task queues the next drain)."""

    def __init__(self) -> None:
        self.pushes: list[str] = []

    def push_requested(self, connection_id: str) -> None:
        self.pushes.append(connection_id)

    def pull_requested(self, *_: Any) -> None:
        return None


@pytest.fixture
def world(container, sandbox_app):  # type: ignore[no-untyped-def]
    w = build_world(container, sandbox_app)
    deadline.enforce_on_container(container)  # what a worker's install_celery does
    container.dispatcher = Asked()
    tasks.set_container(container)
    yield w
    tasks.set_container(None)
    logs.clear()


def _settled_payment(container, w, amount: str) -> str:  # type: ignore[no-untyped-def]
    inv = w.zoho_invoice(amount)
    p = pay_svc.pay_invoices(container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D(amount))])
    pay_svc.settle(container, w.partner_id, p.id, "succeeded")
    return p.id


def _intent(container, payment_id: str) -> PushIntent:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        row = uow.session.query(PushIntent).filter(PushIntent.key == f"ls:pay:{payment_id}").one()
        uow.session.expunge(row)
        return row


def _in_zoho(w, payment_id: str) -> list[Any]:  # type: ignore[no-untyped-def]
    return [z for z in w.org.payments.values() if z.reference_number == f"ls:pay:{payment_id}"]


def _requests(sandbox_app, org_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(e.method, e.path) for e in sandbox_app.state.sandbox.guard.log if e.org_id == org_id]


def test_a_push_task_past_its_time_limit_sends_nothing_and_the_next_drain_pushes(container, world, sandbox_app):
    w = world
    payment_id = _settled_payment(container, w, "40.00")
    container.dispatcher.pushes.clear()  # settle's own wake-up
    sent_before = len(_requests(sandbox_app, w.org.organization_id))
    container.settings.push_task_soft_time_limit_s = 0.0  # over before the first call
    try:
        result = tasks.push_drain.apply(args=[w.connection_id]).get()
    finally:
        container.settings.push_task_soft_time_limit_s = 120.0
    assert result["status"] == "timed_out" and result["done"] == 0
    assert len(_requests(sandbox_app, w.org.organization_id)) == sent_before  # nothing was sent past the limit
    intent = _intent(container, payment_id)
    assert intent.lease_owner is None and intent.lease_until is None  # released: the next drain is not blocked
    assert intent.state == "pending" and intent.write_deadline is None
    assert intent.next_attempt_at.replace(tzinfo=timezone.utc) <= datetime.now(timezone.utc)  # due now
    assert intent.attempts == 0  # not Zoho's failure: no back-off grows
    assert container.dispatcher.pushes == []  # no progress at all: beat's due-push tick brings the next drain
    with container.uow() as uow:
        run = uow.session.query(SyncRun).filter(SyncRun.connection_id == w.connection_id,
                                                SyncRun.stream == "push").one()
        assert run.status == "partial" and "time limit" in (run.message or "")
    again = tasks.push_drain.apply(args=[w.connection_id]).get()
    assert again["done"] == 1 and "status" not in again
    assert len(_in_zoho(w, payment_id)) == 1


class AtWrite(Hooks):
    """The task's deadline passes right before a write leaves (after the step was committed as
    `uncertain`): the worst moment, a write whose outcome the engine must not assume."""

    def __init__(self, clock: FakeClock, point: str = "before_write") -> None:
        self.clock, self.point = clock, point

    def at(self, point: str, intent_key: str) -> None:
        if point == self.point:
            self.clock.now += 1000.0


def test_a_write_stopped_by_the_deadline_is_looked_up_by_reference_then_posted_once(container, world, sandbox_app):
    w = world
    first = _settled_payment(container, w, "40.00")
    second = _settled_payment(container, w, "15.00")  # not reached: the drain stops at the first
    org = w.org.organization_id
    clock = FakeClock()
    cfg = PushConfig(backoff_base_s=0.0, defer_s=0.0)
    with deadline.task_deadline(60.0, clock=clock):
        result = drain_outbox(container, w.connection_id, hooks=AtWrite(clock), cfg=cfg)
    assert isinstance(result, DrainResult) and result.stopped and result.done == 0
    assert ("POST", "/books/v3/customerpayments") not in _requests(sandbox_app, org)  # the write never left
    assert _in_zoho(w, first) == [] and _in_zoho(w, second) == []
    stopped = _intent(container, first)
    assert stopped.state == "uncertain"  # a look-up is owed before any re-send
    assert stopped.lease_owner is None and stopped.write_deadline is None  # nothing can land: no wait
    assert _intent(container, second).state == "pending" and _intent(container, second).lease_owner is None
    before = len(_requests(sandbox_app, org))
    resumed = drain_outbox(container, w.connection_id, cfg=cfg)
    assert resumed.done == 2 and not resumed.stopped
    after = _requests(sandbox_app, org)[before:]
    look_up = after.index(("GET", "/books/v3/customerpayments"))
    assert look_up < after.index(("POST", "/books/v3/customerpayments"))  # looked up before posting
    assert len(_in_zoho(w, first)) == 1 and len(_in_zoho(w, second)) == 1


def test_a_retry_stopped_by_the_deadline_keeps_the_write_deadline(container, world, sandbox_app):
    """Zoho refused the first attempt (429) and the deadline passed during the connector's
    back-off: the retry is not sent. The first attempt was answered, but the engine does not
    count on that: after more than one attempt the write deadline stays, like after a timeout,
    and the next drain takes the intent only once it passed, then looks up before posting."""
    w = world
    payment_id = _settled_payment(container, w, "61.00")
    org = w.org.organization_id
    w.guard.faults.add_script(org, [FaultRule(kind=FaultKind.RATE_LIMIT, ops=["customerpayments.create"], burst=1)])
    clock = FakeClock()
    engine_now = [datetime.now(timezone.utc)]
    cfg = PushConfig(heartbeat_s=None, write_timeout_s=60, backoff_base_s=0.0, defer_s=0.0,
                     now=lambda: engine_now[0])

    def back_off(_seconds: float) -> None:  # the connector's wait before its retry
        clock.now += 1000.0

    books = books_for(container, w.connection_id, sleep=back_off)
    with deadline.task_deadline(60.0, clock=clock):
        result = drain_outbox(container, w.connection_id, books=books, cfg=cfg)
    assert result.stopped and result.done == 0
    assert _requests(sandbox_app, org).count(("POST", "/books/v3/customerpayments")) == 1  # the 429'd one only
    intent = _intent(container, payment_id)
    assert intent.state == "uncertain" and intent.lease_owner is None and intent.write_deadline is not None
    assert drain_outbox(container, w.connection_id, cfg=cfg).processed == 0  # not before the write deadline
    engine_now[0] += timedelta(seconds=61)
    resumed = drain_outbox(container, w.connection_id, cfg=cfg)
    assert resumed.done == 1
    assert len(_in_zoho(w, payment_id)) == 1
