"""Crash-and-resume, deletion detection by counts, and the daily budget (manual clock)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from ledgersync.store.orm import ExternalRef, Invoice, SyncCursor, SyncRun
from ledgersync.sync.pull import leases
from ledgersync.sync.pull.context import PullOptions
from ledgersync.sync.pull.engine import run_stream
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.service import sync_connection


class Crash(Exception):
    """Stands for kill -9 at a precise point of the engine."""


def crash_at(stream: str, event: str, page: int):
    def hook(s: str, e: str, n: int) -> None:
        if s == stream and e == event and n == page:
            raise Crash(f"{s} {e} page {n}")
    return hook


def counts(container):
    with container.uow() as uow:
        s = uow.session
        return (s.execute(select(func.count()).select_from(Invoice)).scalar_one(),
                s.execute(select(func.count()).select_from(ExternalRef).where(ExternalRef.entity == "invoice")).scalar_one(),
                s.execute(select(func.count(func.distinct(ExternalRef.zoho_id)))
                          .where(ExternalRef.entity == "invoice")).scalar_one())


def expire_leases(container):
    """What time does for a worker killed with -9: its leases run out."""
    with container.uow() as uow:
        uow.session.execute(update(SyncCursor).values(lease_until=None))
        uow.commit()


@pytest.mark.parametrize("stream,event,page", [
    ("invoices", "page_committed", 2),
    ("invoices", "before_commit", 3),
    ("invoice_details", "page_committed", 1),
    ("invoice_details", "before_commit", 2),
    ("customers", "before_commit", 0),
])
def test_crash_anywhere_then_restart_loses_and_duplicates_nothing(container, connection_id, zoho, stream, event, page):
    container.pull_options = PullOptions(per_page=10, detail_batch=10)
    container.pull_fault_hook = crash_at(stream, event, page)
    with pytest.raises(Crash):
        run_initial_sync(container, connection_id)
    with container.uow() as uow:
        cursor = uow.session.get(SyncCursor, (connection_id, stream))
        saved = dict(cursor.state)
    container.pull_fault_hook = None
    expire_leases(container)
    lists_before = zoho.calls_by_op().get("invoices.list", 0)
    run_initial_sync(container, connection_id)
    n_inv, n_refs, n_distinct = counts(container)
    assert n_inv == n_refs == n_distinct == len(zoho.org.invoices)
    if stream == "invoices" and event == "page_committed":
        # cursor continuity: the restart resumed from the committed bookmark, not from page 1
        assert saved.get("since") and saved.get("mode") == "recent"
        with container.uow() as uow:
            done = uow.session.get(SyncCursor, (connection_id, "invoices")).state
        assert done["mode"] == "incremental"
        total_pages = -(-len(zoho.org.invoices) // 10)
        assert zoho.calls_by_op()["invoices.list"] - lists_before < total_pages + 4
    with container.uow() as uow:
        unsynced = select(func.count()).select_from(Invoice).where(Invoice.line_items_synced.is_(False))
        assert uow.session.execute(unsynced).scalar_one() == 0
        crashed = uow.session.execute(select(SyncRun).where(SyncRun.stream == stream, SyncRun.status == "failed")).scalars().all()
        assert crashed and "interrupted" in crashed[0].message


def test_lease_keeps_one_run_per_stream(container, connection_id, zoho):
    owner = leases.new_owner()
    assert leases.acquire(container.session_factory, connection_id, "invoices", owner)
    assert not leases.acquire(container.session_factory, connection_id, "invoices", leases.new_owner())
    result = run_stream(container, connection_id, "invoices")
    assert result.skipped and zoho.calls() == 0
    leases.release(container.session_factory, connection_id, "invoices", owner)
    assert run_stream(container, connection_id, "invoices").status == "succeeded"


def test_deletions_no_change_costs_one_count(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    before = zoho.calls()
    result = run_stream(container, connection_id, "invoice_deletions")
    assert zoho.calls() - before == 1 and result.archived == 0


def test_deleted_invoices_archived_by_bisection(container, connection_id, zoho):
    container.pull_options = PullOptions(leaf_size=8)
    run_initial_sync(container, connection_id)
    deletable = sorted((i for i in zoho.org.invoices.values() if i.payment_made == 0 and i.credits_applied == 0),
                       key=lambda i: i.date)
    victims = [deletable[0], deletable[len(deletable) // 2], deletable[-1]]
    for v in victims:
        zoho.admin("DELETE", f"/orgs/{zoho.org_id}/invoices/{v.invoice_id}")
    before = dict(zoho.calls_by_op())
    result = run_stream(container, connection_id, "invoice_deletions")
    spent = sum(zoho.calls_by_op().values()) - sum(before.values())
    assert result.archived == 3
    with container.uow() as uow:
        archived = uow.session.execute(
            select(ExternalRef.zoho_id).join(Invoice, Invoice.id == ExternalRef.local_id)
            .where(ExternalRef.entity == "invoice", Invoice.archived.is_(True))).scalars().all()
        assert set(archived) == {v.invoice_id for v in victims}
    n = len(zoho.org.invoices) + 3
    assert spent <= 3 * 2 * (n // 8).bit_length() + 3  # ~d·log2(n/leaf) counts + d small listings
    assert spent < n // 4  # far from one call per invoice
    state_calls = result.state["last_checks"]
    assert state_calls["counts"] + state_calls["listed"] == spent
    # next hour, nothing changed: one count again
    before_total = zoho.calls()
    assert run_stream(container, connection_id, "invoice_deletions").archived == 0
    assert zoho.calls() - before_total == 1


def test_budget_exhaustion_resumes_next_day_and_pushes_keep_their_reserve(container, connection_id, zoho):
    zoho.limiter.set_daily_limit(zoho.org_id, 60)  # a tiny plan: the 80-invoice history needs two days
    progress = run_initial_sync(container, connection_id)
    assert progress["phase"] != "done" and progress["budget_exhausted_until"]
    with container.uow() as uow:
        runs = uow.session.execute(select(SyncRun).where(SyncRun.status == "partial")).scalars().all()
        assert any("budget" in (r.message or "") for r in runs)
        next_runs = [c.next_run_at for c in uow.session.execute(select(SyncCursor)).scalars() if c.next_run_at]
        assert next_runs
    zoho.limiter.acquire(zoho.org_id, "push")  # the reserve: a payment push still goes through today
    zoho.limiter.release(zoho.org_id)
    days = 0
    while progress["phase"] != "done":
        zoho.advance(86400)
        days += 1
        progress = run_initial_sync(container, connection_id)
        assert days < 6
    assert days >= 1 and zoho.http_429() == 0
    n_inv, _, _ = counts(container)
    assert n_inv == len(zoho.org.invoices)
    results = sync_connection(container, connection_id)
    assert all(r.status == "succeeded" for r in results)


def test_on_demand_policy_skips_old_paid_line_items_until_opened(container, connection_id, zoho):
    from ledgersync.sync.pull.context import recent_cutoff
    from ledgersync.sync.pull.records import ensure_line_items

    container.pull_options = PullOptions(history_line_items="on_demand")
    progress = run_initial_sync(container, connection_id)
    assert progress["phase"] == "done"
    cutoff = recent_cutoff(container)
    old_paid = [i for i in zoho.org.invoices.values() if i.date < cutoff and (i.balance == 0 or i.base_status == "void")]
    assert old_paid
    assert zoho.calls_by_op()["invoices.get"] == len(zoho.org.invoices) - len(old_paid)
    with container.uow() as uow:
        skipped = uow.session.execute(select(Invoice.id).where(Invoice.line_items_synced.is_(False))).scalars().all()
    assert len(skipped) == len(old_paid)
    before = zoho.calls()
    assert ensure_line_items(container, skipped[0]) is True
    assert zoho.calls() - before == 1
    assert ensure_line_items(container, skipped[0]) is True and zoho.calls() - before == 1
