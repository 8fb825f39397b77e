"""Budget per organisation (issues 13/14): calls used today by purpose, calls left, the daily
window's reset, the history ETA. Purposes are checked against Zoho's own count of the calls
(the sandbox's counter), not against what the engine reported."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from ledgersync.services.budget import (
    PURPOSES,
    LimiterView,
    budget_report,
    calls_by_purpose,
    purpose_of,
    window_start_from_runs,
)
from ledgersync.store.orm import SyncRun
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.progress import history_eta
from ledgersync.sync.pull.service import sync_connection
from tests.pull import zoho_changes as zc

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("stream,trigger,purpose", [
    ("invoices", "initial", "initial sync"), ("invoice_details", "initial", "initial sync"),
    ("customers", "schedule", "hourly"), ("invoices", "schedule", "hourly"),
    ("invoice_details", "schedule", "details"), ("record:invoice", "webhook", "details"),
    ("invoice_deletions", "schedule", "deletion checks"), ("customer_deletions", "schedule", "deletion checks"),
    ("push", "event", "pushes"), ("invoice_details_sweep", "schedule", "sweep"),
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
    assert report.history_calls_left == len(zoho.org.invoices)  # every listed invoice's details
    assert report.history_eta_seconds == pytest.approx(report.history_calls_left / 0.5)
