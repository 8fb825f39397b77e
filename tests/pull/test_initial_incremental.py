"""Initial sync (recent, history, Connected) and the cost of incremental runs, against the
in-process sandbox; Zoho's call counters are read from the sandbox itself."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from ledgersync.store.orm import Connection, Customer, ExternalRef, Invoice, SyncRun
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.service import INCREMENTAL_STREAMS, sync_connection


def _zoho_live_invoices(zoho):
    return {i.invoice_id: i for i in zoho.org.invoices.values()}


def test_initial_sync_mirrors_zoho_and_connects(container, connection_id, zoho):
    progress = run_initial_sync(container, connection_id)
    assert progress["phase"] == "done" and progress["percent"] == 100.0
    zinv = _zoho_live_invoices(zoho)
    with container.uow() as uow:
        s = uow.session
        conn = s.get(Connection, connection_id)
        assert conn.status == "connected"
        refs = {r.zoho_id: r for r in s.execute(select(ExternalRef).where(ExternalRef.entity == "invoice")).scalars()}
        assert set(refs) == set(zinv)
        for zid, zi in zinv.items():
            inv = s.get(Invoice, refs[zid].local_id)
            assert inv.total == zi.total
            assert inv.outstanding == (Decimal("0.00") if zi.base_status == "void" else zi.balance)
            assert inv.line_items_synced
            assert len(inv.line_items) == len(zi.line_items)
            assert refs[zid].details_synced_at == refs[zid].zoho_last_modified
        customers = s.execute(select(func.count()).select_from(Customer)).scalar_one()
        assert customers == len([c for c in zoho.org.contacts.values() if c.contact_type == "customer"])
    # cost: one detail call per invoice, the rest is paging/counting
    ops = zoho.calls_by_op()
    assert ops["invoices.get"] == len(zinv)
    assert zoho.http_429() == 0


def test_recent_phase_first_then_history(container, connection_id, zoho):
    from ledgersync.sync.pull.context import recent_cutoff
    from ledgersync.sync.pull.initial import RECENT_STEPS, _run_steps

    results: list = []
    assert _run_steps(container, connection_id, RECENT_STEPS, None, None, results)
    cutoff = recent_cutoff(container)
    with container.uow() as uow:
        dates = uow.session.execute(select(Invoice.issue_date)).scalars().all()
    assert dates and all(d >= cutoff for d in dates)
    assert len(dates) == len([i for i in zoho.org.invoices.values() if i.date >= cutoff])
    run_initial_sync(container, connection_id)
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(Invoice)).scalar_one() == len(zoho.org.invoices)


def test_no_change_incremental_costs_one_call_per_stream(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    before = zoho.calls()
    results = sync_connection(container, connection_id)
    assert [r.status for r in results] == ["succeeded"] * len(INCREMENTAL_STREAMS)
    spent = zoho.calls() - before
    # customers: 1 list, invoices: 1 list, details: 0, invoice deletions: 1 count; the customer
    # deletion check ran with the initial sync and is daily (issue 13); the sweep's day starts
    assert spent == 3
    assert sum(r.calls for r in results) == 3
    assert all(r.created == r.updated == r.archived == 0 for r in results)


def test_line_items_fetched_only_for_moved_invoices(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    open_ids = [i.invoice_id for i in zoho.org.invoices.values() if i.base_status == "sent" and i.balance > 0][:2]
    zoho.advance(5)
    paid, edited = open_ids
    zoho.admin("POST", f"/orgs/{zoho.org_id}/invoices/{paid}/payments", {"amount": "1.00"})
    new_total = zoho.org.invoices[edited].total + 1
    zoho.admin("PATCH", f"/orgs/{zoho.org_id}/invoices/{edited}", {"amount": str(new_total)})
    before = dict(zoho.calls_by_op())
    results = sync_connection(container, connection_id)
    after = zoho.calls_by_op()
    # a payment moves balance and status only: the list row is enough; a new total needs the
    # line items (issue 13)
    assert after.get("invoices.get", 0) - before.get("invoices.get", 0) == 1
    inv_run = next(r for r in results if r.stream == "invoices")
    assert inv_run.updated == len(open_ids)
    with container.uow() as uow:
        runs = uow.session.execute(select(SyncRun).where(SyncRun.stream == "invoice_details")).scalars().all()
        assert runs[-1].calls == 1
