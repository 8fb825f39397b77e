"""Every seed rule end to end: act as the Zoho user in the sandbox, sync, look at the platform."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ledgersync.store.orm import Customer, ExternalRef, Invoice, SyncError, SyncRun
from ledgersync.sync.pull.engine import run_stream
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.service import sync_connection


def local_invoice(container, zoho_id):
    with container.uow() as uow:
        ref = uow.session.execute(select(ExternalRef).where(ExternalRef.entity == "invoice",
                                                            ExternalRef.zoho_id == zoho_id)).scalar_one()
        inv = uow.session.get(Invoice, ref.local_id)
        uow.session.expunge(inv)
        return inv


def local_customer(container, zoho_id):
    with container.uow() as uow:
        ref = uow.session.execute(select(ExternalRef).where(ExternalRef.entity == "customer",
                                                            ExternalRef.zoho_id == zoho_id)).scalar_one()
        c = uow.session.get(Customer, ref.local_id)
        uow.session.expunge(c)
        return c


def open_invoices(zoho, n):
    found = [i for i in zoho.org.invoices.values() if i.base_status == "sent" and i.balance == i.total and i.total > 10]
    assert len(found) >= n
    return found[:n]


def test_partial_payment_credit_write_off_and_void(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    a, b, c, d = open_invoices(zoho, 4)
    zoho.advance(10)
    org = zoho.org_id
    zoho.admin("POST", f"/orgs/{org}/invoices/{a.invoice_id}/payments", {"amount": "5.00"})
    zoho.admin("POST", f"/orgs/{org}/invoices/{b.invoice_id}/credits", {"amount": "7.00"})
    zoho.admin("POST", f"/orgs/{org}/invoices/{c.invoice_id}/writeoff")
    zoho.admin("POST", f"/orgs/{org}/invoices/{d.invoice_id}/void")
    sync_connection(container, connection_id)
    ia, ib, ic, id_ = (local_invoice(container, x.invoice_id) for x in (a, b, c, d))
    assert (ia.status, ia.outstanding) == ("partially_paid", a.total - Decimal("5.00"))
    assert (ib.status, ib.outstanding) == ("partially_paid", b.total - Decimal("7.00"))
    assert (ic.status, ic.outstanding) == ("written_off", Decimal("0.00"))  # issue 14: not "paid"
    assert (id_.status, id_.outstanding) == ("void", Decimal("0.00"))
    # how each was settled, as Zoho's own records say (independent of what the pull stored)
    zinv = zoho.org.invoices
    assert (ia.paid_amount, ia.credited_amount) == (zinv[a.invoice_id].payment_made, zinv[a.invoice_id].credits_applied)
    assert (ib.paid_amount, ib.credited_amount) == (zinv[b.invoice_id].payment_made, Decimal("7.00"))
    assert ic.written_off_amount == zinv[c.invoice_id].write_off_amount == c.total
    assert (ia.settlement_status, ib.settlement_status, ic.settlement_status) == (
        "partially_paid", "partially_credited" if not zinv[b.invoice_id].payment_made else "partially_paid",
        "written_off")


def test_unpaid_invoice_amount_and_due_date_follow_zoho(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    [a] = open_invoices(zoho, 1)
    zoho.advance(10)
    new_due = a.due_date.replace(year=a.due_date.year + 1)
    zoho.admin("PATCH", f"/orgs/{zoho.org_id}/invoices/{a.invoice_id}",
               {"amount": str(a.total + Decimal("50.00")), "due_date": new_due.isoformat()})
    sync_connection(container, connection_id)
    inv = local_invoice(container, a.invoice_id)
    assert inv.total == a.total and inv.total == zoho.org.invoices[a.invoice_id].total
    assert inv.outstanding == inv.total and inv.due_date == new_due


def test_platform_edits_never_flow_back(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    [a] = open_invoices(zoho, 1)
    inv = local_invoice(container, a.invoice_id)
    with container.uow() as uow:
        uow.session.get(Invoice, inv.id).due_date = inv.due_date.replace(year=2099)
        uow.commit()
    before = {k: v for k, v in zoho.calls_by_op().items() if not k.endswith((".list", ".get"))}
    sync_connection(container, connection_id)
    after = {k: v for k, v in zoho.calls_by_op().items() if not k.endswith((".list", ".get"))}
    assert before == after  # pull never writes to Zoho
    assert zoho.org.invoices[a.invoice_id].due_date == a.due_date


def test_customer_inactive_then_deleted_is_archived(container, connection_id, zoho):
    created = zoho.books.post("/contacts", {"contact_name": "Short Lived LLC", "contact_type": "customer"})
    zid = created["contact"]["contact_id"]
    run_initial_sync(container, connection_id)
    assert local_customer(container, zid).archived is False
    zoho.advance(10)
    zoho.admin("POST", f"/orgs/{zoho.org_id}/contacts/{zid}/inactive")
    sync_connection(container, connection_id)
    c = local_customer(container, zid)
    assert c.archived and "inactive" in c.archived_reason
    zoho.advance(10)
    zoho.admin("POST", f"/orgs/{zoho.org_id}/contacts/{zid}/active")
    sync_connection(container, connection_id)
    assert local_customer(container, zid).archived is False
    zoho.advance(24 * 3600)  # scheduled customer-deletion checks are daily (issue 13)
    zoho.admin("DELETE", f"/orgs/{zoho.org_id}/contacts/{zid}")
    results = sync_connection(container, connection_id)
    c = local_customer(container, zid)
    assert c.archived and "deleted" in c.archived_reason
    assert next(r for r in results if r.stream == "customer_deletions").archived == 1


def test_bad_record_is_recorded_rest_proceeds_and_retried(container, connection_id, zoho):
    victim = next(iter(zoho.org.invoices.values()))
    with zoho.sandbox.lock:
        victim.currency_code = "XYZ"
    progress = run_initial_sync(container, connection_id)
    with container.uow() as uow:
        errors = uow.session.execute(select(SyncError).where(SyncError.resolved_at.is_(None))).scalars().all()
        assert {e.zoho_id for e in errors} == {victim.invoice_id}
        assert "unknown currency 'XYZ'" in errors[0].message
        n_local = len(uow.session.execute(select(Invoice.id)).all())
        assert n_local == len(zoho.org.invoices) - 1
        runs = uow.session.execute(select(SyncRun).where(SyncRun.stream == "invoices")).scalars().all()
        assert any(r.status == "partial" and r.errors for r in runs)
    assert progress["phase"] == "done"
    # still bad: retried (one call), still recorded
    before = zoho.calls_by_op().get("invoices.get", 0)
    run_stream(container, connection_id, "invoices")
    assert zoho.calls_by_op()["invoices.get"] == before + 1
    # fixed in Zoho: the retry brings it in and resolves the error
    with zoho.sandbox.lock:
        victim.currency_code = "USD"
    run_stream(container, connection_id, "invoices")
    assert local_invoice(container, victim.invoice_id).total == victim.total
    with container.uow() as uow:
        assert uow.session.execute(select(SyncError).where(SyncError.resolved_at.is_(None))).scalars().all() == []


def test_negative_quantity_in_details_is_a_per_record_error(container, connection_id, zoho):
    victim = next(i for i in zoho.org.invoices.values()
                  if i.base_status == "sent" and i.balance == i.total and len(i.line_items) >= 2)
    cheapest = min(victim.line_items, key=lambda li: li.item_total)
    with zoho.sandbox.lock:
        cheapest.quantity = -cheapest.quantity  # a credit line Zoho should never hand us
    assert victim.total > 0
    run_initial_sync(container, connection_id)
    with container.uow() as uow:
        [err] = uow.session.execute(select(SyncError)).scalars().all()
        assert err.zoho_id == victim.invoice_id and "negative quantity" in err.message and err.stream == "invoice_details"
    assert local_invoice(container, victim.invoice_id).line_items_synced is False


def test_a_known_bad_invoice_does_not_cost_a_bisection_every_hour(container, connection_id, zoho):
    victim = next(iter(zoho.org.invoices.values()))
    with zoho.sandbox.lock:
        victim.currency_code = "XYZ"
    run_initial_sync(container, connection_id)
    before = zoho.calls()
    assert run_stream(container, connection_id, "invoice_deletions").archived == 0
    assert zoho.calls() - before == 1
