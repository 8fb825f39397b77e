"""Reading ahead of the engine (`sync.pull.read_ahead`): calls overlap the engine's own work,
yet which calls are made depends only on how far the engine got, never on timing."""

from __future__ import annotations

import threading
from contextvars import ContextVar

import pytest
from sqlalchemy import func, select

from ledgersync.store.orm import Invoice
from ledgersync.sync.pull.context import PullOptions
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.read_ahead import CallThread, ReadAhead
from tests.pull.test_resume_deletions_budget import Crash, crash_at, expire_leases

#: bounded waits for the other thread (a hang fails the test instead of blocking CI)
WAIT_S = 10.0


class Boom(Exception):
    pass


def test_records_come_in_order_and_never_more_than_depth_reads_ahead() -> None:
    issued: list[int] = []
    taken: list[int] = []
    with ReadAhead(lambda k: (issued.append(k), {"id": k})[1], list(range(20)), depth=3) as reads:
        for key, record in reads:
            assert record == {"id": key}
            taken.append(key)
            assert len(issued) <= len(taken) + 3  # at most depth reads beyond those taken
    assert taken == issued == list(range(20))


def test_the_next_read_runs_while_the_engine_still_holds_the_previous_record() -> None:
    """The point of reading ahead: the call for key 2 is made while key 1 is being applied.
    A serial reader only calls when asked for the next record, so this waits in vain."""
    second_started = threading.Event()

    def read(key: int) -> dict[str, int]:
        if key == 2:
            second_started.set()
        return {"id": key}

    with ReadAhead(read, [1, 2], depth=1) as reads:
        it = iter(reads)
        assert next(it)[0] == 1
        assert second_started.wait(WAIT_S), "key 2 was not read while key 1 was being applied"
        assert next(it)[0] == 2


def test_after_a_failed_read_the_reads_behind_it_make_no_call() -> None:
    called: list[int] = []

    def read(key: int) -> dict[str, int]:
        called.append(key)
        if key == 3:
            raise Boom("budget spent")
        return {"id": key}

    taken: list[int] = []
    with pytest.raises(Boom):
        with ReadAhead(read, list(range(10)), depth=4) as reads:
            for key, _ in reads:
                taken.append(key)
    assert taken == [0, 1, 2]
    assert called == [0, 1, 2, 3]  # 4..7 were issued but never called Zoho


def test_leaving_early_finishes_exactly_the_reads_already_issued() -> None:
    called: list[int] = []
    with pytest.raises(Crash):
        with ReadAhead(lambda k: (called.append(k), {"id": k})[1], list(range(10)), depth=2) as reads:
            for key, _ in reads:
                if key == 1:
                    raise Crash("the engine died applying key 1")
    assert called == [0, 1, 2, 3]  # taking 0 and 1 issued up to 1 + depth: the same every run


def test_reads_see_the_callers_context_and_depth_zero_reads_on_the_callers_thread() -> None:
    marker: ContextVar[str] = ContextVar("marker", default="unset")
    token = marker.set("task 42")
    try:
        seen: list[tuple[str, int]] = []
        for depth in (0, 2):
            with ReadAhead(lambda k: (seen.append((marker.get(), threading.get_ident())), None)[1], [1], depth) as reads:
                list(reads)
    finally:
        marker.reset(token)
    assert [m for m, _ in seen] == ["task 42", "task 42"]
    assert seen[0][1] == threading.get_ident() != seen[1][1]


def test_a_call_thread_refuses_work_outside_its_block() -> None:
    calls = CallThread()
    with pytest.raises(RuntimeError):
        calls.submit(print)


def test_a_crash_while_reading_ahead_costs_exactly_the_reads_in_flight_and_loses_nothing(container, connection_id, zoho):
    """Details in batches of 10, 4 reads ahead; the engine dies before committing batch 2: that run
    made 20 + 4 detail calls (the same every time), the restart reads the rest, and every invoice
    ends up with its line items."""
    container.pull_options = PullOptions(per_page=10, detail_batch=10, detail_read_ahead=4)
    container.pull_fault_hook = crash_at("invoice_details", "before_commit", 1)
    with pytest.raises(Crash):
        run_initial_sync(container, connection_id)
    assert zoho.calls_by_op()["invoices.get"] == 10 + 10 + 4
    container.pull_fault_hook = None
    expire_leases(container)
    run_initial_sync(container, connection_id)
    live = len(zoho.org.invoices)
    # batch 1 was kept; batch 2 and the 4 read ahead are read again
    assert zoho.calls_by_op()["invoices.get"] == live + 10 + 4
    with container.uow() as uow:
        unsynced = select(func.count()).select_from(Invoice).where(Invoice.line_items_synced.is_(False))
        assert uow.session.execute(unsynced).scalar_one() == 0
        assert uow.session.execute(select(func.count()).select_from(Invoice)).scalar_one() == live


def test_a_list_stream_asks_for_its_next_page_before_applying_and_a_crash_costs_that_one_page(container, connection_id, zoho):
    """Pages of 10; the engine dies before committing the third page: that run asked for 3 + 1
    pages (the next one is asked for while a page is applied), the same every time; the
    restart resumes from the second page's bookmark and nothing is lost or doubled."""
    container.pull_options = PullOptions(per_page=10, detail_batch=10)
    container.pull_fault_hook = crash_at("invoices", "before_commit", 2)
    with pytest.raises(Crash):
        run_initial_sync(container, connection_id)
    # (plus the initial sync's one count call for its progress bar)
    assert zoho.calls_by_op()["invoices.list"] == 1 + 3 + 1
    container.pull_fault_hook = None
    expire_leases(container)
    run_initial_sync(container, connection_id)
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(Invoice)).scalar_one() == len(zoho.org.invoices)
