"""Task time limits under the threads pool (Celery enforces its own only in prefork): a pull task
past its soft limit sends no further Zoho request, closes its run as interrupted, releases the
stream's lease and keeps the cursor, so the next run resumes; threads without a deadline are
not affected."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from ledgersync.observability import logs
from ledgersync.store.orm import SyncCursor, SyncRun
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.workers import deadline, tasks


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requests_pass_before_the_deadline_and_are_refused_after_it():
    sent: list[str] = []
    client = deadline.enforce_on(httpx.Client(transport=httpx.MockTransport(
        lambda request: (sent.append(request.url.path), httpx.Response(200))[1])))
    clock = FakeClock()
    client.get("http://zoho.test/free")  # no deadline on this thread: sent
    with deadline.task_deadline(10.0, clock=clock):
        client.get("http://zoho.test/before")
        clock.now += 10.0
        with pytest.raises(deadline.TaskTimeLimitExceeded):
            client.get("http://zoho.test/after")
    client.get("http://zoho.test/later")  # the deadline ended with the task
    assert sent == ["/free", "/before", "/later"]
    assert deadline.enforce_on(client).event_hooks["request"].count(deadline.refuse_past_deadline) == 1


@pytest.fixture
def worker_container(container):  # type: ignore[no-untyped-def]
    tasks.set_container(container)
    yield container
    tasks.set_container(None)
    logs.clear()  # the task ran in this thread: its bound ids must not reach later tests' log lines


def test_a_pull_task_past_its_time_limit_stops_and_the_next_run_resumes(worker_container, connection_id, zoho):
    container = worker_container
    run_initial_sync(container, connection_id)
    deadline.enforce_on(zoho.http)  # the harness's Books client uses its own HTTP client
    log = zoho.app.state.sandbox.guard.log
    sent_before = len(log)
    container.settings.task_soft_time_limit_s = 0.0  # the limit is over before the first call
    try:
        result = tasks.pull_stream.apply(args=[connection_id, "invoices", "schedule"]).get()
    finally:
        container.settings.task_soft_time_limit_s = 900.0
    assert result["status"] == "timed_out"
    assert len(log) == sent_before  # nothing was sent past the limit
    with container.uow() as uow:
        run = uow.session.scalars(select(SyncRun).where(SyncRun.connection_id == connection_id,
                                                        SyncRun.stream == "invoices")
                                  .order_by(SyncRun.started_at.desc())).first()
        assert run.status == "failed" and "TaskTimeLimitExceeded" in (run.message or "")
        cursor = uow.session.scalars(select(SyncCursor).where(SyncCursor.connection_id == connection_id,
                                                              SyncCursor.stream == "invoices")).one()
        assert cursor.lease_owner is None  # released: the next run is not blocked
    again = tasks.pull_stream.apply(args=[connection_id, "invoices", "schedule"]).get()
    assert again["status"] == "succeeded" and not again["skipped"]


def test_a_worker_shortens_the_interpreters_switch_interval(container):  # type: ignore[no-untyped-def]
    """Pushes (I/O) share a worker process with pulls parsing pages (CPU): the worker asks for
    shorter GIL turns when it starts (Celery's worker_init signal)."""
    import sys

    from celery import signals

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        signals.worker_init.send(sender=None)
        assert sys.getswitchinterval() == pytest.approx(tasks.get_settings().worker_switch_interval_s)
        assert sys.getswitchinterval() < 0.005
    finally:
        sys.setswitchinterval(before)


def test_the_containers_client_carries_the_deadline_whenever_it_is_built(container):  # type: ignore[no-untyped-def]
    deadline.enforce_on_container(container)
    deadline.enforce_on_container(container)  # once
    assert container.http.event_hooks["request"].count(deadline.refuse_past_deadline) == 1
