"""Issue 13: a changed invoice costs a detail call only when its line items can have changed.

Pure rule tests (`pull_rules.detail_call_reason` on every field of Zoho's list row), then each
kind of Zoho-side change against the sandbox: how many `GET /invoices/{id}` the hourly sync
spent (Zoho's own counter) and whether the platform now matches Zoho (read from the sandbox's
state, not from anything the engine wrote)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from ledgersync.domain.pull_rules import LINE_ITEM_FIELDS, detail_call_reason, line_item_fingerprint
from ledgersync.store.orm import ExternalRef, Invoice, InvoiceLineItem
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.service import sync_connection
from tests.pull import zoho_changes as zc

ROW = {"invoice_id": "1", "status": "sent", "total": "100.00", "balance": "100.00", "adjustment": "0",
       "shipping_charge": "0.00", "currency_code": "USD", "exchange_rate": "1.0", "due_date": "2026-12-01",
       "last_payment_date": "", "write_off_amount": "0", "is_viewed_by_client": False}


# --------------------------------------------------------------------------- the rule alone

@pytest.mark.parametrize("field,value", [
    ("balance", "40.00"), ("status", "partially_paid"), ("status", "overdue"), ("status", "paid"),
    ("status", "void"), ("due_date", "2027-01-01"), ("last_payment_date", "2026-11-30"),
    ("write_off_amount", "60.00"), ("is_viewed_by_client", True), ("reminders_sent", 2),
    ("customer_name", "Renamed Ltd"), ("reference_number", "PO-9"),
])
def test_list_only_changes_need_no_detail_call(field: str, value: Any) -> None:
    assert detail_call_reason(line_item_fingerprint(ROW), {**ROW, field: value}) is None


@pytest.mark.parametrize("field,value", [
    ("total", "101.00"), ("adjustment", "-2.5"), ("shipping_charge", "4.00"), ("currency_code", "EUR"),
    ("exchange_rate", "1.08"),
])
def test_fields_line_items_determine_need_a_detail_call(field: str, value: Any) -> None:
    assert detail_call_reason(line_item_fingerprint(ROW), {**ROW, field: value}) == f"{field} moved"


def test_every_line_item_field_is_covered_above() -> None:
    assert set(LINE_ITEM_FIELDS) == {"total", "adjustment", "shipping_charge", "currency_code", "exchange_rate"}


def test_new_and_leaving_draft_need_a_detail_call_entering_draft_does_not() -> None:
    assert detail_call_reason(None, ROW) == "new"
    draft = {**ROW, "status": "draft"}
    assert detail_call_reason(line_item_fingerprint(draft), ROW) == "left draft"
    assert detail_call_reason(line_item_fingerprint(ROW), draft) is None


def test_number_spellings_do_not_count_as_moves() -> None:
    spelled = {**ROW, "total": Decimal("100"), "exchange_rate": 1, "adjustment": "0.00", "shipping_charge": None}
    assert detail_call_reason(line_item_fingerprint(ROW), spelled) is None


# --------------------------------------------------------------------------- against the sandbox

def _platform(container: Any, connection_id: str, zoho_id: str) -> tuple[Invoice | None, list[str]]:
    with container.uow() as uow:
        ref = uow.session.execute(select(ExternalRef).where(
            ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
            ExternalRef.zoho_id == zoho_id)).scalar_one_or_none()
        if ref is None:
            return None, []
        inv = uow.session.get(Invoice, ref.local_id)
        lines = uow.session.execute(select(InvoiceLineItem.description).where(
            InvoiceLineItem.invoice_id == ref.local_id).order_by(InvoiceLineItem.position)).scalars().all()
        uow.session.expunge_all()
        return inv, list(lines)


def _assert_matches_zoho(container: Any, connection_id: str, zoho: Any, zoho_id: str, *, lines: bool) -> None:
    zinv = zoho.org.invoices.get(zoho_id)
    inv, descriptions = _platform(container, connection_id, zoho_id)
    assert inv is not None
    if zinv is None:
        assert inv.archived
        return
    assert inv.outstanding == (Decimal(0) if zinv.base_status == "void" else zinv.balance)
    assert inv.total == zinv.total
    assert inv.due_date == zinv.due_date
    # paid vs credited, from the list row alone (the payment date moves for a payment only)
    assert (inv.paid_amount, inv.credited_amount) == (zinv.payment_made, zinv.credits_applied)
    if lines:
        assert descriptions == [li.description for li in zinv.line_items]


def _customer(zoho: Any) -> str:
    return next(c.contact_id for c in zoho.org.contacts.values() if c.contact_type == "customer")


CHANGES: dict[str, tuple[Callable[[Any], str], int]] = {
    # kind: (change, detail calls the next hourly sync may spend)
    "payment": (lambda h: zc.payment(h, zc.open_invoices(h)[0].invoice_id), 0),
    "credit": (lambda h: zc.credit(h, zc.open_invoices(h)[1].invoice_id), 0),
    "write_off": (lambda h: zc.write_off(h, zc.open_invoices(h)[2].invoice_id), 0),
    "viewed": (lambda h: zc.viewed(h, zc.open_invoices(h)[3].invoice_id), 0),
    "reminder": (lambda h: zc.reminder(h, zc.open_invoices(h)[4].invoice_id), 0),
    "due_date": (lambda h: zc.due_date(h, zc.open_invoices(h)[5].invoice_id), 0),
    "void": (lambda h: zc.void(h, zc.open_invoices(h, untouched=True)[0].invoice_id), 0),
    "amount_edit": (lambda h: zc.amount_edit(h, zc.open_invoices(h)[6].invoice_id), 1),
    "adjustment": (lambda h: zc.adjustment(h, zc.open_invoices(h)[7].invoice_id), 1),
    "shipping": (lambda h: zc.shipping(h, zc.open_invoices(h)[8].invoice_id), 1),
    "exchange_rate": (lambda h: zc.exchange_rate(h, zc.open_invoices(h)[9].invoice_id), 1),
    "new_invoice": (lambda h: zc.new_invoice(h, _customer(h)), 1),
    "left_draft": (lambda h: zc.send_draft(h, next(i.invoice_id for i in h.org.invoices.values()
                                                   if i.base_status == "draft")), 1),
    "deletion": (lambda h: zc.deletion(h, zc.open_invoices(h, untouched=True)[1].invoice_id), 0),
}


@pytest.mark.parametrize("kind", sorted(CHANGES))
def test_each_kind_of_change_costs_details_only_when_line_items_can_move(kind, container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    zoho.advance(5)
    change, detail_calls = CHANGES[kind]
    zoho_id = change(zoho)
    before = zoho.calls_by_op().get("invoices.get", 0)
    sync_connection(container, connection_id)
    assert zoho.calls_by_op().get("invoices.get", 0) - before == detail_calls
    _assert_matches_zoho(container, connection_id, zoho, zoho_id, lines=True)


def test_line_edit_keeping_the_total_waits_for_the_sweep(container, connection_id, zoho):
    run_initial_sync(container, connection_id)
    sync_connection(container, connection_id)  # the sweep's first day starts now
    zoho.advance(5)
    zoho_id = zc.line_edit_same_total(zoho, zc.open_invoices(zoho)[0].invoice_id)
    before = zoho.calls_by_op().get("invoices.get", 0)
    sync_connection(container, connection_id)
    assert zoho.calls_by_op().get("invoices.get", 0) == before  # invisible in the list row
    _, lines = _platform(container, connection_id, zoho_id)
    assert lines != [li.description for li in zoho.org.invoices[zoho_id].line_items]
    zoho.advance(24 * 3600)
    sync_connection(container, connection_id)  # a day later the sweep reads it
    assert zoho.calls_by_op().get("invoices.get", 0) == before + 1
    _assert_matches_zoho(container, connection_id, zoho, zoho_id, lines=True)


def test_opening_an_invoice_rereads_details_older_than_its_modification(container, connection_id, zoho):
    from ledgersync.sync.pull.records import ensure_line_items

    run_initial_sync(container, connection_id)
    zoho.advance(5)
    zoho_id = zc.line_edit_same_total(zoho, zc.open_invoices(zoho)[0].invoice_id, tag="opened")
    sync_connection(container, connection_id)
    inv, _ = _platform(container, connection_id, zoho_id)
    assert inv is not None
    before = zoho.calls_by_op().get("invoices.get", 0)
    assert ensure_line_items(container, inv.id) is True
    assert zoho.calls_by_op().get("invoices.get", 0) == before + 1
    _assert_matches_zoho(container, connection_id, zoho, zoho_id, lines=True)
    assert ensure_line_items(container, inv.id) is True  # current now: no call
    assert zoho.calls_by_op().get("invoices.get", 0) == before + 1


def test_a_webhook_for_an_invoice_rereads_it_at_once(container, connection_id, zoho):
    from ledgersync.sync.pull.records import sync_record

    run_initial_sync(container, connection_id)
    zoho.advance(5)
    zoho_id = zc.line_edit_same_total(zoho, zc.open_invoices(zoho)[1].invoice_id, tag="hooked")
    assert sync_record(container, connection_id, "invoice", zoho_id) == "applied"
    _assert_matches_zoho(container, connection_id, zoho, zoho_id, lines=True)
