"""Bad records Zoho sends are quarantined, the rest syncs, and they apply once fixed.

Through the real wire: the sandbox plants each malformation kind in its replies (seeded,
`PUT /_sandbox/orgs/{org}/faults/poison`), httpx carries them, the engine reads them. What
is expected is computed from what was planted, never from what the engine wrote.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledgersync.domain import pull_rules
from ledgersync.store.orm import Connection, ExternalRef, Invoice, SyncError, SyncRun
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.records import sync_record
from ledgersync.sync.pull.service import sync_connection
from zohobooks_sandbox.poison import POISON_KINDS

#: what the partner reads for each planted kind (a readable reason, not an exception's name)
REASONS = {
    "missing_field": "field 'total' is missing",
    "wrong_type": "field 'invoice_number' should be text",
    "nan": "not a finite number",
    "infinity": "not a finite number",
    "oversized": "out of range",
    "long_decimal": "digits",
    "unknown_currency": "unknown currency 'XQZ'",
    "broken_reference": "does not exist in Zoho Books",
    "bad_line_item": "field 'rate' is not a finite number",
}


def _plant(zoho, per_kind: int, seed: int = 5) -> dict[str, list[str]]:
    return zoho.admin("PUT", f"/orgs/{zoho.org_id}/faults/poison", {"seed": seed, "per_kind": per_kind})["planted"]


def _open_errors(container, connection_id) -> dict[str, str]:
    with container.uow() as uow:
        rows = uow.session.execute(select(SyncError).where(SyncError.connection_id == connection_id,
                                                           SyncError.resolved_at.is_(None))).scalars().all()
        return {r.zoho_id: r.message for r in rows}


def _synced_zoho_ids(container, connection_id) -> set[str]:
    """Invoices on the platform whole (with their line items)."""
    with container.uow() as uow:
        return set(uow.session.execute(
            select(ExternalRef.zoho_id).join(Invoice, Invoice.id == ExternalRef.local_id)
            .where(ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
                   Invoice.line_items_synced.is_(True))
        ).scalars())


def _stuck_runs(container) -> int:
    with container.uow() as uow:
        return len(uow.session.execute(select(SyncRun).where(SyncRun.status == "running")).scalars().all())


def test_every_kind_is_quarantined_the_rest_syncs_and_fixed_records_apply(container, connection_id, zoho):
    planted = _plant(zoho, per_kind=2)
    assert set(planted) == set(POISON_KINDS) and all(len(ids) == 2 for ids in planted.values())
    poisoned = {i: kind for kind, ids in planted.items() for i in ids}
    good = set(zoho.org.invoices) - set(poisoned)

    progress = run_initial_sync(container, connection_id)

    assert progress["phase"] == "done"
    with container.uow() as uow:
        assert uow.session.get(Connection, connection_id).status == "connected"
    assert _synced_zoho_ids(container, connection_id) == good
    errors = _open_errors(container, connection_id)
    assert set(errors) == set(poisoned)
    for zoho_id, kind in poisoned.items():
        assert REASONS[kind] in errors[zoho_id], (kind, errors[zoho_id])
    assert _stuck_runs(container) == 0

    # the next run retries them (still bad: still quarantined, nothing else moves)
    sync_connection(container, connection_id)
    assert set(_open_errors(container, connection_id)) == set(poisoned)

    # the accountant fixes them in Zoho: the next run applies them and the errors close
    zoho.admin("DELETE", f"/orgs/{zoho.org_id}/faults")
    sync_connection(container, connection_id)
    assert _open_errors(container, connection_id) == {}
    assert _synced_zoho_ids(container, connection_id) == set(zoho.org.invoices)
    assert _stuck_runs(container) == 0


def test_a_webhook_single_record_run_with_a_bad_record_is_closed(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    planted = _plant(zoho, per_kind=1)
    zoho_id = planted["nan"][0]
    assert sync_record(container, connection_id, "invoice", zoho_id) == "bad"
    assert "not a finite number" in _open_errors(container, connection_id)[zoho_id]
    with container.uow() as uow:
        run = uow.session.execute(select(SyncRun).where(SyncRun.stream == "record:invoice")).scalar_one()
        assert run.status == "partial" and run.finished_at is not None
    zoho.admin("DELETE", f"/orgs/{zoho.org_id}/faults")
    assert sync_record(container, connection_id, "invoice", zoho_id) == "applied"
    assert zoho_id not in _open_errors(container, connection_id)


def test_a_record_the_database_refuses_is_quarantined_not_fatal(container, connection_id, zoho, monkeypatch):
    """The planted bug: the range rule is switched off, so a 1e17 total reaches the database,
    whose BIGINT of cents refuses it (SQLite: OverflowError, PostgreSQL: out of range). The
    safety net quarantines that one record and lands the rest of its page."""
    monkeypatch.setattr(pull_rules, "MAX_AMOUNT", pull_rules.Decimal("1e30"))
    monkeypatch.setattr(pull_rules, "MAX_FACTOR", pull_rules.Decimal("1e30"))
    planted = zoho.admin("PUT", f"/orgs/{zoho.org_id}/faults/poison",
                         {"seed": 3, "per_kind": 2, "kinds": ["oversized"]})["planted"]
    bad = set(planted["oversized"])

    progress = run_initial_sync(container, connection_id)

    assert progress["phase"] == "done"
    errors = _open_errors(container, connection_id)
    assert set(errors) == bad
    assert all("the database refused it" in message for message in errors.values())
    assert _synced_zoho_ids(container, connection_id) == set(zoho.org.invoices) - bad
    assert _stuck_runs(container) == 0


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN", "1e400", True, {"a": 1}, [1]])
def test_rules_refuse_non_finite_and_mistyped_amounts(value):
    record = {"invoice_id": "1", "status": "sent", "total": value, "balance": "0", "invoice_number": "INV-1",
              "customer_id": "2", "currency_code": "USD", "date": "2026-01-02", "last_modified_time": "2026-01-02T00:00:00+0000"}
    with pytest.raises(pull_rules.BadRecord) as caught:
        pull_rules.invoice_snapshot(record)
    assert caught.value.zoho_id == "1"


def test_every_kind_over_a_real_socket(container, partner, zoho):
    """The same through a real HTTP connection: the sandbox served by uvicorn on a free port,
    the engine's client a plain `httpx.Client` (JSON NaN/Infinity tokens and a 40-digit number
    travel as bytes on the wire)."""
    import socket

    import httpx

    from ledgersync.cli import _ServerThread
    from ledgersync.zoho import StaticTokenProvider, ZohoBooks
    from tests.pull.harness import connect_platform

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = _ServerThread(zoho.app, port, host="127.0.0.1")
    server.start()
    try:
        server.wait_started()
        planted = _plant(zoho, per_kind=1, seed=9)
        poisoned = {i for ids in planted.values() for i in ids}
        connection_id = connect_platform(container, partner.id, zoho)
        with httpx.Client() as http:
            books = ZohoBooks(http, api_domain=f"http://127.0.0.1:{port}", organization_id=zoho.org_id,
                              tokens=StaticTokenProvider(zoho.token), limiter=zoho.limiter,
                              sleep=zoho.sandbox.clock.advance)
            container.books_factory = lambda _c, _cid: books
            assert run_initial_sync(container, connection_id)["phase"] == "done"
    finally:
        server.stop()
    assert set(_open_errors(container, connection_id)) == poisoned
    assert _synced_zoho_ids(container, connection_id) == set(zoho.org.invoices) - poisoned
    assert _stuck_runs(container) == 0


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("contact_name", {"first": "A"}, "should be text"),
    ("contact_name", None, "is missing"),
    ("currency_code", float("nan"), "should be text"),
    ("currency_code", "ZZZ", "unknown currency"),
    ("email", ["a@b.test"], "should be text"),
    ("last_modified_time", "yesterday", "not a timestamp"),
    ("contact_name", "x" * 301, "characters long"),
])
def test_rules_refuse_mistyped_contacts(field, value, reason):
    record = {"contact_id": "7", "contact_name": "Acme", "currency_code": "USD", "status": "active",
              "last_modified_time": "2026-01-02T00:00:00+0000", field: value}
    with pytest.raises(pull_rules.BadRecord) as caught:
        pull_rules.customer_snapshot(record)
    assert caught.value.zoho_id == "7" and reason in caught.value.message
