"""The pull rules on plain dicts (no database, no sandbox)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledgersync.domain import pull_rules as r


def summary(**over):
    row = {"invoice_id": "9001", "invoice_number": "INV-1", "customer_id": "77", "customer_name": "Acme",
           "status": "sent", "date": "2026-01-10", "due_date": "2026-02-10", "currency_code": "USD",
           "total": Decimal("100.00"), "balance": Decimal("100.00"), "last_modified_time": "2026-01-10T10:00:00-0800"}
    row.update(over)
    return row


def local(**over):
    base = dict(total=Decimal("100.00"), outstanding=Decimal("100.00"), status="open", due_date=date(2026, 2, 10),
                issue_date=date(2026, 1, 10), number="INV-1", currency_code="USD")
    base.update(over)
    return r.LocalInvoice(**base)


@pytest.mark.parametrize("zoho_status,balance,expected", [
    ("draft", "100.00", "draft"), ("sent", "100.00", "open"), ("viewed", "100.00", "open"),
    ("overdue", "100.00", "overdue"), ("partially_paid", "40.00", "partially_paid"),
    ("overdue", "40.00", "partially_paid"), ("paid", "0.00", "paid"), ("void", "100.00", "void"),
    ("void", "0.00", "void"),
])
def test_status_mapping(zoho_status, balance, expected):
    snap = r.invoice_snapshot(summary(status=zoho_status, balance=Decimal(balance)))
    assert r.platform_status(snap) == expected


def test_new_invoice_takes_everything_from_zoho():
    changes = r.invoice_updates(None, r.invoice_snapshot(summary()))
    assert changes["total"] == Decimal("100.00") and changes["status"] == "open"
    assert changes["due_date"] == date(2026, 2, 10) and changes["outstanding"] == Decimal("100.00")


def test_unpaid_invoice_amount_and_due_date_follow_zoho():
    snap = r.invoice_snapshot(summary(total=Decimal("120.00"), balance=Decimal("120.00"), due_date="2026-03-01"))
    changes = r.invoice_updates(local(), snap)
    assert changes == {"total": Decimal("120.00"), "outstanding": Decimal("120.00"), "due_date": date(2026, 3, 1)}


def test_partial_payment_or_credit_sets_outstanding_and_status():
    snap = r.invoice_snapshot(summary(status="partially_paid", balance=Decimal("30.00")))
    assert r.invoice_updates(local(), snap) == {"status": "partially_paid", "outstanding": Decimal("30.00")}


def test_write_off_makes_invoice_written_off_with_nothing_outstanding():
    """Issue 14: a write-off read "paid" — an accountant could not tell it from a collection."""
    snap = r.invoice_snapshot(summary(status="paid", balance=Decimal("0.00"), write_off_amount=Decimal("100.00")))
    assert r.invoice_updates(local(), snap) == {"status": "written_off", "outstanding": Decimal("0.00")}


def test_settlement_from_a_detail_is_taken_as_is():
    snap = r.invoice_snapshot(summary(status="paid", balance=Decimal("0.00"), payment_made=Decimal("60.00"),
                                      credits_applied=Decimal("40.00")))
    assert r.settlement_updates(Decimal(0), Decimal(0), Decimal(0), snap) == {
        "paid_amount": Decimal("60.00"), "credited_amount": Decimal("40.00")}


def test_settlement_from_a_list_row_keeps_known_credits():
    snap = r.invoice_snapshot(summary(status="partially_paid", balance=Decimal("30.00")))
    assert r.settlement_updates(Decimal(0), Decimal("20.00"), Decimal(0), snap) == {"paid_amount": Decimal("50.00")}
    off = r.invoice_snapshot(summary(status="paid", balance=Decimal("0.00"), write_off_amount=Decimal("70.00")))
    assert r.settlement_updates(Decimal("30.00"), Decimal(0), Decimal(0), off) == {"written_off_amount": Decimal("70.00")}


def test_void_is_not_collectable():
    snap = r.invoice_snapshot(summary(status="void"))
    assert r.invoice_updates(local(), snap) == {"status": "void", "outstanding": Decimal("0.00")}


def test_paid_invoice_keeps_its_amounts():
    snap = r.invoice_snapshot(summary(status="paid", balance=Decimal("0.00"), total=Decimal("100.00"), due_date="2027-01-01"))
    current = local(status="paid", outstanding=Decimal("0.00"))
    assert r.invoice_updates(current, snap) == {}


def test_unchanged_invoice_yields_no_change():
    assert r.invoice_updates(local(), r.invoice_snapshot(summary())) == {}


@pytest.mark.parametrize("field", ["invoice_number", "customer_id", "date", "total", "balance", "currency_code",
                                   "last_modified_time", "status"])
def test_missing_field_is_a_bad_record(field):
    row = summary()
    del row[field]
    with pytest.raises(r.BadRecord) as err:
        r.invoice_snapshot(row)
    assert err.value.zoho_id == "9001" and field in err.value.message


def test_unknown_currency_is_a_bad_record():
    with pytest.raises(r.BadRecord, match="unknown currency 'XYZ'"):
        r.invoice_snapshot(summary(currency_code="XYZ"))


def test_negative_quantity_is_a_bad_record():
    detail = summary(line_items=[{"line_item_id": "1", "name": "Work", "quantity": Decimal("-2"), "rate": Decimal("50"),
                                  "item_total": Decimal("-100")}])
    with pytest.raises(r.BadRecord, match="negative quantity"):
        r.line_items(detail)


def test_line_items_parsed_exactly():
    detail = summary(line_items=[{"line_item_id": "1", "name": "Work", "quantity": Decimal("1.5"), "rate": Decimal("10.10"),
                                  "item_total": Decimal("15.15"), "tax_percentage": Decimal("10"), "item_order": 1}])
    [item] = r.line_items(detail)
    assert item.amount == Decimal("15.15") and item.tax_amount == Decimal("1.52") and item.quantity == Decimal("1.5")


def test_customer_inactive_is_archived_and_reactivation_restores():
    row = {"contact_id": "5", "contact_name": "Acme", "currency_code": "USD", "status": "inactive",
           "last_modified_time": "2026-01-01T00:00:00+0000"}
    snap = r.customer_snapshot(row)
    current = r.LocalCustomer("Acme", None, "USD", archived=False)
    assert r.customer_updates(current, snap) == {"archived": True, "archived_reason": r.ARCHIVED_INACTIVE}
    back = r.customer_snapshot({**row, "status": "active"})
    archived = r.LocalCustomer("Acme", None, "USD", archived=True, archived_reason=r.ARCHIVED_INACTIVE)
    assert r.customer_updates(archived, back) == {"archived": False, "archived_reason": None}


def test_timestamps_parse_with_zoho_offsets():
    assert r.parse_zoho_timestamp("2013-11-18T02:02:51-0800").isoformat() == "2013-11-18T10:02:51+00:00"
    assert r.format_zoho_timestamp(r.parse_zoho_timestamp("2013-11-18T02:02:51-0800")) == "2013-11-18T10:02:51+0000"
