"""Retention of the run log (`sync_runs`): superseded runs older than the cutoff go, each
stream's last good run and everything after it stay, whatever their age; per-record errors
keep existing (their run reference cleared), resolved old ones go."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from ledgersync.store.orm import Connection, SyncError, SyncRun
from ledgersync.sync.pull.runlog import prune_runs
from ledgersync.workers import tasks

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def _conn(container, partner_id: str) -> str:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        conn = Connection(partner_id=partner_id, status="connected", organization_id="1", currency_code="USD")
        uow.session.add(conn)
        uow.commit()
        return conn.id


def _run(uow, cid: str, stream: str, days_ago: float, status: str) -> str:  # type: ignore[no-untyped-def]
    started = NOW - timedelta(days=days_ago)
    run = SyncRun(connection_id=cid, stream=stream, status=status, started_at=started,
                  finished_at=None if status == "running" else started + timedelta(seconds=5))
    uow.session.add(run)
    uow.session.flush()
    return run.id


def test_superseded_old_runs_are_pruned_and_the_last_good_run_is_kept(container, partner):  # type: ignore[no-untyped-def]
    cid = _conn(container, partner.id)
    with container.uow() as uow:
        old_ok = [_run(uow, cid, "invoices", d, "succeeded") for d in (60, 50, 40)]
        old_failed = _run(uow, cid, "invoices", 45, "failed")
        recent = _run(uow, cid, "invoices", 1, "succeeded")
        # a stream whose last success is old and which failed since: that story is kept
        lonely_ok = _run(uow, cid, "customers", 90, "succeeded")
        failing_since = [_run(uow, cid, "customers", d, "failed") for d in (80, 35)]
        stuck = _run(uow, cid, "payments", 70, "running")
        err_open = SyncError(connection_id=cid, run_id=old_failed, stream="invoices", zoho_id="9", message="bad")
        err_resolved = SyncError(connection_id=cid, run_id=old_ok[0], stream="invoices", zoho_id="8", message="x",
                                 resolved_at=NOW - timedelta(days=55))
        uow.session.add_all([err_open, err_resolved])
        uow.commit()
    deleted = prune_runs(container.session_factory, older_than=NOW - timedelta(days=30), batch=2)
    with container.uow() as uow:
        left = set(uow.session.scalars(select(SyncRun.id)))
        errors = uow.session.execute(select(SyncError.zoho_id, SyncError.run_id)).all()
    assert deleted == 4 and left == {recent, lonely_ok, *failing_since, stuck}
    assert [tuple(e) for e in errors] == [("9", None)]  # the open error stays, unlinked


def test_the_beat_task_uses_the_retention_setting(container, partner):  # type: ignore[no-untyped-def]
    cid = _conn(container, partner.id)
    real_now = datetime.now(timezone.utc)
    with container.uow() as uow:
        for days in (12, 11, 0):
            started = real_now - timedelta(days=days)
            uow.session.add(SyncRun(connection_id=cid, stream="invoices", status="succeeded", started_at=started,
                                    finished_at=started))
        uow.commit()
    tasks.set_container(container)
    try:
        container.settings.run_log_retention_days = 30
        assert tasks.prune_run_log.run() == 0
        container.settings.run_log_retention_days = 10
        assert tasks.prune_run_log.run() == 2
    finally:
        tasks.set_container(None)
