"""Budget per organisation (issues 13/14): calls used today by purpose, calls left, the daily
window's reset, the history ETA. Purposes are checked against Zoho's own count of the calls
(the sandbox's counter), not against what the engine reported."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from ledgersync.services.budget import (
    PURPOSES,
    LimiterView,
    budget_report,
    calls_by_purpose,
    purpose_of,
    window_start_from_runs,
)
from ledgersync.store.orm import ExternalRef, SyncRun
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.progress import history_calls_left, history_eta
from ledgersync.sync.pull.service import sync_connection
from tests.pull import zoho_changes as zc

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("stream,trigger,purpose", [
    ("invoices", "initial", "initial sync"), ("invoice_details", "initial", "initial sync"),
    ("customers", "schedule", "hourly"), ("invoices", "schedule", "hourly"),
    ("invoice_details", "schedule", "details"), ("record:invoice", "webhook", "details"),
    ("invoice_deletions", "schedule", "deletion checks"), ("customer_deletions", "schedule", "deletion checks"),
    ("push", "event", "pushes"), ("invoice_details_sweep", "schedule", "sweep"),
    ("accounts", "dashboard", "account setup"), ("pdf", "dashboard", "PDFs"), ("invoice_page", "dashboard", "invoice page"),
    ("reconciliation", "dashboard", "reconciliation"), ("record:invoice", "manual", "details"),
])
def test_purpose_of_each_run(stream, trigger, purpose):
    assert purpose_of(stream, trigger) == purpose


def test_calls_by_purpose_add_up_to_zohos_count(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    initial = zoho.calls()
    zoho.advance(5)
    zc.amount_edit(zoho, zc.open_invoices(zoho)[0].invoice_id)
    zc.payment(zoho, zc.open_invoices(zoho)[1].invoice_id)
    sync_connection(container, connection_id)
    with container.uow() as uow:
        counts = calls_by_purpose(uow.session, connection_id, EPOCH)
    assert list(counts) == list(PURPOSES)
    assert counts["initial sync"] == initial
    assert sum(counts.values()) == zoho.calls()
    # invoice deletions: 1 count (the customer deletion check is daily and ran with the initial sync)
    assert counts["details"] == 1 and counts["hourly"] == 2 and counts["deletion checks"] == 1
    assert counts["pushes"] == counts["sweep"] == 0


def test_calls_outside_the_engines_are_counted_too(container, connection_id, partner, zoho):
    """The budget panel's total is Zoho's own count of the organisation's calls after a day of
    everything that calls Zoho: the engines, and the dashboard's PDF, invoice page (payments and
    credits; the re-read of details older than the invoice's modification) and reconciliation.
    A call made outside every counted path makes the totals differ."""
    from datetime import date

    from ledgersync.sync.pull import pdfs, settlement
    from ledgersync.sync.pull.records import ensure_line_items
    from ledgersync.sync.push.reconcile import reconcile_partner

    run_initial_sync(container, connection_id)
    zoho.advance(5)
    paid_id = zc.open_invoices(zoho)[0].invoice_id
    zc.payment(zoho, paid_id)
    edited_id = zc.line_edit_same_total(zoho, zc.open_invoices(zoho)[1].invoice_id, tag="opened")
    sync_connection(container, connection_id)
    side_before = zoho.calls()
    with container.uow() as uow:
        local = {r.zoho_id: r.local_id for r in uow.session.execute(
            select(ExternalRef).where(ExternalRef.connection_id == connection_id,
                                      ExternalRef.entity == "invoice")).scalars()}
    assert pdfs.invoice_pdf(container, local[paid_id]).startswith(b"%PDF")
    assert settlement.invoice_events(container, local[paid_id])  # the payment, read from Zoho
    assert ensure_line_items(container, local[edited_id]) is True
    today = zoho.now().date()
    reconcile_partner(container, partner.id, date(today.year - 1, 1, 1), today)
    assert zoho.calls() - side_before >= 4  # PDF, payments (no credits here), one re-read, reconciliation
    with container.uow() as uow:
        counts = calls_by_purpose(uow.session, connection_id, EPOCH)
    assert counts["PDFs"] == 1 and counts["invoice page"] == 1 and counts["reconciliation"] >= 1
    assert sum(counts.values()) == zoho.calls()


def test_a_call_outside_every_counted_path_shows_as_a_difference(container, connection_id, zoho):
    """The comparison above can fail: a call no run row counts (the planted bug) leaves the
    panel one short of Zoho's count."""
    run_initial_sync(container, connection_id)
    zoho.books.get("/invoices", {"per_page": 1})
    with container.uow() as uow:
        counts = calls_by_purpose(uow.session, connection_id, EPOCH)
    assert sum(counts.values()) == zoho.calls() - 1


def test_a_failed_call_outside_the_engines_is_counted_and_leaves_health_alone(container, connection_id, zoho):
    """A refused call spent budget all the same: counted (row `failed`); no row when nothing was
    called; such rows are no sync runs, so they never show as the connection's outage."""
    from ledgersync.sync.call_log import counted_calls
    from ledgersync.sync.health import outage
    from ledgersync.zoho.errors import ZohoNotFound

    run_initial_sync(container, connection_id)
    with pytest.raises(ZohoNotFound):
        with counted_calls(container, connection_id, "pdf", zoho.books) as books:
            books.get_pdf("999999999")
    with counted_calls(container, connection_id, "pdf", zoho.books):
        pass  # a cached PDF: no call, no row
    with pytest.raises(ValueError):
        with counted_calls(container, connection_id, "nonsense", zoho.books):
            pass
    with container.uow() as uow:
        rows = uow.session.execute(select(SyncRun).where(SyncRun.stream == "pdf")).scalars().all()
        assert [(r.status, r.calls, r.trigger) for r in rows] == [("failed", 1, "dashboard")]
        assert calls_by_purpose(uow.session, connection_id, EPOCH)["PDFs"] == 1
        assert outage(uow.session, connection_id) is None
    assert sum(calls_by_purpose_total(container, connection_id)) == zoho.calls()


def calls_by_purpose_total(container, connection_id):
    with container.uow() as uow:
        return calls_by_purpose(uow.session, connection_id, EPOCH).values()


def test_daily_window_follows_runs_and_reset(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    now = datetime.now(timezone.utc)
    with container.uow() as uow:
        # pretend the initial sync ran 30 h ago and one hourly run 2 h ago: the window opened then
        uow.session.execute(update(SyncRun).values(started_at=now - timedelta(hours=30)))
        uow.session.add(SyncRun(connection_id=connection_id, stream="invoices", trigger="schedule",
                                status="succeeded", started_at=now - timedelta(hours=2), finished_at=now, calls=7))
        uow.commit()
        assert window_start_from_runs(uow.session, connection_id, now) == now - timedelta(hours=2)
    report = budget_report(container, connection_id, now=lambda: now)
    assert report is not None
    assert report.by_purpose["initial sync"] == 0 and report.by_purpose["hourly"] == 7
    assert report.calls_left == 10_000 - 7
    assert report.resets_at == now + timedelta(hours=22)


def test_the_limiter_view_wins_when_it_saw_zohos_headers(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    now = datetime.now(timezone.utc)
    view = LimiterView(used_today=9_000, daily_limit=10_000, remaining_today=1_000, resets_at=now + timedelta(hours=3))
    report = budget_report(container, connection_id, limiter=view, now=lambda: now)
    assert report is not None
    assert report.calls_left == 1_000  # Zoho counts the partner's other apps too
    assert report.resets_at == now + timedelta(hours=3)
    assert report.by_purpose["initial sync"] == zoho.calls()


def test_history_eta_waits_for_the_reset_when_the_budget_is_short():
    assert history_eta(600, 1.5, 1_000, 3_600, 7_500) == pytest.approx(400)
    # 600 calls, 100 left before the reset in an hour: the rest after it
    assert history_eta(600, 1.5, 100, 3_600, 7_500) == pytest.approx(3_600 + 500 / 1.5)
    assert history_eta(20_000, 1.5, 0, 60, 7_500) == pytest.approx(60 + 2 * 86_400 + 5_000 / 1.5)


def test_history_eta_from_the_measured_pace(container, connection_id, zoho):
    """Half-way through the history the panel plans the calls left at the pace measured so far."""
    from ledgersync.sync.pull.engine import run_stream

    for stream, params in (("customers", {}), ("invoices", {})):
        run_stream(container, connection_id, stream, trigger="initial", **params)
    with container.uow() as uow:
        from ledgersync.store.orm import Connection

        uow.session.get(Connection, connection_id).initial_sync_phase = "history"
        # the runs so far: 30 calls in 60 s of running time
        uow.session.execute(update(SyncRun).values(calls=15))
        start = datetime.now(timezone.utc) - timedelta(minutes=5)
        uow.session.execute(update(SyncRun).values(started_at=start, finished_at=start + timedelta(seconds=30)))
        uow.commit()
    report = budget_report(container, connection_id)
    assert report is not None and report.phase == "history"
    assert report.pace_per_minute == pytest.approx(30.0)
    # every listed invoice's details and the closing deletion checks (nothing runs: none made since)
    with container.uow() as uow:
        assert report.history_calls_left == history_calls_left(uow.session, connection_id) >= len(zoho.org.invoices) - 3
    assert report.history_eta_seconds == pytest.approx(report.history_calls_left / 0.5)
