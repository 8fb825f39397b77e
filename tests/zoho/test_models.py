"""Pydantic models of Zoho payloads: Decimal money, string ids, Zoho timestamps."""
from datetime import datetime, timezone
from decimal import Decimal

from ledgersync.zoho import ZohoContact, ZohoInvoice, format_zoho_timestamp, loads_decimal, parse_zoho_timestamp


def test_timestamp_parsing():
    assert parse_zoho_timestamp("2013-11-18T02:02:51-0800") == datetime(2013, 11, 18, 10, 2, 51, tzinfo=timezone.utc)
    assert parse_zoho_timestamp("2013-11-18T02:02:51+05:30").hour == 20
    assert parse_zoho_timestamp("") is None
    assert format_zoho_timestamp(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2024-01-02T03:04:05+0000"


def test_invoice_with_line_items():
    raw = loads_decimal('{"invoice_id": 982000000567114, "customer_id": "1", "status": "partially_paid",'
                        ' "total": 40.60, "balance": 10.1, "date": "2024-05-01", "due_date": "2024-05-31",'
                        ' "last_payment_date": "", "last_modified_time": "2024-05-02T10:00:00+0200",'
                        ' "line_items": [{"line_item_id": "7", "name": "Support", "quantity": 2, "rate": 20.30,'
                        ' "item_total": 40.60}], "something_new": {"a": 1}}')
    invoice = ZohoInvoice.model_validate(raw)
    assert invoice.invoice_id == "982000000567114"
    assert invoice.total == Decimal("40.60") and invoice.balance == Decimal("10.1")
    assert invoice.line_items[0].rate == Decimal("20.30") and invoice.last_payment_date is None
    assert invoice.last_modified_time == datetime(2024, 5, 2, 8, tzinfo=timezone.utc)
    assert invoice.model_extra["something_new"] == {"a": 1}


def test_contact_status():
    assert not ZohoContact(contact_id="1", contact_name="A", status="inactive").is_active
