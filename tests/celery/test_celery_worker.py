"""A real Celery worker runs pulls and push drains; two triggers of one stream -> one run."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from ledgersync.store.orm import Connection, Invoice, SyncRun

pytestmark = pytest.mark.celery


def test_worker_runs_initial_pull_and_push_drain(container, connection_id, zoho, celery_worker):
    app = celery_worker
    result = app.send_task("ledgersync.pull_stream", args=[connection_id, "initial", "initial"]).get(timeout=120)
    assert result["status"] == "done" and result["stream"] == "initial:recent"  # then the history, queued

    def done() -> bool:  # the phase is written first, then the status (two transactions)
        with container.uow() as uow:
            conn = uow.session.get(Connection, connection_id)
            return conn.initial_sync_phase == "done" and conn.status == "connected"

    deadline = time.monotonic() + 120
    while not done():
        assert time.monotonic() < deadline, "the history backfill did not finish"
        time.sleep(0.05)
    with container.uow() as uow:
        assert uow.session.get(Connection, connection_id).status == "connected"
        assert uow.session.execute(select(func.count()).select_from(Invoice)).scalar_one() == len(zoho.org.invoices)
    before = zoho.calls()
    summary = app.send_task("ledgersync.pull_stream", args=[connection_id, "invoices", "schedule"]).get(timeout=60)
    assert summary["status"] == "succeeded" and zoho.calls() - before == 1
    drained = app.send_task("ledgersync.push_drain", args=[connection_id]).get(timeout=60)
    assert drained.get("failed", 0) in (0, None)


def test_two_concurrent_triggers_of_one_stream_make_one_run(container, connection_id, zoho, celery_worker):
    app = celery_worker
    first_inside = threading.Event()
    release_first = threading.Event()

    def hold(stream: str, event: str, page: int) -> None:
        if stream == "customers" and event == "page_committed" and not first_inside.is_set():
            first_inside.set()
            assert release_first.wait(60)

    container.pull_fault_hook = hold
    first = app.send_task("ledgersync.pull_stream", args=[connection_id, "customers", "manual"])
    assert first_inside.wait(60)  # the first run holds the lease between two pages
    second = app.send_task("ledgersync.pull_stream", args=[connection_id, "customers", "webhook"]).get(timeout=60)
    release_first.set()
    done = first.get(timeout=60)
    assert second["skipped"] is True and second["status"] == "skipped"
    assert done["status"] == "succeeded" and done["created"] > 0
    with container.uow() as uow:
        runs = uow.session.execute(select(SyncRun).where(SyncRun.stream == "customers")).scalars().all()
        assert len(runs) == 1
