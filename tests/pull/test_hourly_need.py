"""The pull engine tells the limiter what the hourly work needs (`runlog.hourly_need`), so
backfill — the daily sweep, history — leaves it for the rest of the day. The expectation is
computed from Zoho's own call counter, not from the run log the engine wrote."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ledgersync.store.orm import SyncRun
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.runlog import NEED_MARGIN
from ledgersync.sync.pull.service import sync_connection
from tests.pull import zoho_changes as zc


def _need(zoho) -> float:
    return zoho.limiter.budget_status(zoho.org_id).hourly_need


def test_the_need_is_the_scheduled_cycles_calls_per_hour_without_the_initial_sync_or_the_sweep(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    zoho.advance(3600)
    invoice_ids = sorted(zoho.org.invoices)
    before = zoho.calls()
    for hour in range(3):  # three hourly cycles, each after a few Zoho-side changes
        zc.amount_edit(zoho, invoice_ids[hour])
        zc.payment(zoho, invoice_ids[10 + hour])
        zoho.advance(3600)
        contacts_before = zoho.calls_by_op().get("contacts.list", 0)
        sync_connection(container, connection_id)
        if hour == 0:  # a cycle is counted from its `invoices` run: the first one's customers run is before it
            first_customers = zoho.calls_by_op().get("contacts.list", 0) - contacts_before
    spent = zoho.calls() - before - first_customers
    assert spent > 0
    with container.uow() as uow:  # runs that are not hourly pull work must not count
        for stream, trigger in [("invoice_details_sweep", "schedule"), ("push", "schedule"), ("reconciliation", "dashboard"),
                                ("invoices", "manual"), ("invoices", "initial")]:
            uow.session.add(SyncRun(connection_id=connection_id, stream=stream, trigger=trigger,
                                    status="succeeded", calls=5_000))
        uow.commit()
    zoho.advance(3600)
    sync_connection(container, connection_id, streams=["invoice_details_sweep"])  # the sweep sets the need
    assert _need(zoho) == NEED_MARGIN * spent / 3


def test_the_need_scales_with_the_pull_interval(container, connection_id, zoho):
    """Cycles every half hour spend their calls twice an hour."""
    run_initial_sync(container, connection_id)
    container.settings.pull_interval_s = 1800.0
    try:
        zc.amount_edit(zoho, sorted(zoho.org.invoices)[0])
        zoho.advance(1800)
        before = zoho.calls()
        sync_connection(container, connection_id, streams=["invoices", "invoice_details"])
        spent = zoho.calls() - before
        zoho.advance(1800)
        sync_connection(container, connection_id, streams=["invoice_details_sweep"])
        assert spent > 0
        assert _need(zoho) == NEED_MARGIN * spent * 2
    finally:
        container.settings.pull_interval_s = 3600.0


def test_no_scheduled_cycle_yet_means_no_need(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    assert _need(zoho) == 0.0


def _claim_a_huge_need(container, connection_id) -> None:
    """A run log whose one scheduled cycle spent a day's budget: backfill is refused all day."""
    with container.uow() as uow:
        uow.session.add(SyncRun(connection_id=connection_id, stream="invoices", trigger="schedule",
                                status="succeeded", calls=100_000))
        uow.commit()


def test_an_hourly_read_of_an_old_paid_invoice_is_hourly_work_not_backfill(container, connection_id, zoho):
    """Old paid invoices are read at `backfill` in the initial sync only. Hourly, a moved old
    invoice is hourly work: the need must not refuse it (it did: the run ended 'partial' with a
    false "budget used up", and the scheduler retried it all day)."""
    run_initial_sync(container, connection_id)
    cutoff = (zoho.now() - timedelta(days=400)).date()
    old_paid = sorted(i.invoice_id for i in zoho.org.invoices.values()
                      if i.status_on(zoho.now().date()) == "paid" and i.date < cutoff)
    assert old_paid, "the generated organisation has old paid invoices"
    _claim_a_huge_need(container, connection_id)
    zc.exchange_rate(zoho, old_paid[0])
    zoho.advance(3600)
    gets = zoho.calls_by_op().get("invoices.get", 0)
    results = {r.stream: r for r in sync_connection(container, connection_id)}
    assert _need(zoho) > 1_000  # the need is in force ...
    assert results["invoice_details"].status == "succeeded"  # ... and the hourly read went through
    assert zoho.calls_by_op()["invoices.get"] == gets + 1


def test_a_refused_history_read_says_the_budget_is_kept_not_used_up(container, connection_id, zoho):
    from ledgersync.sync.pull.engine import budget_text
    from ledgersync.zoho.errors import BudgetExhausted

    at = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    assert "kept for hourly pulls" in budget_text(BudgetExhausted("org", "backfill", at))
    assert "used up" in budget_text(BudgetExhausted("org", "pull", at))
