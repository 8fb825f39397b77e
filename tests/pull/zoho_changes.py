"""Changes a Zoho user makes to invoices, through the sandbox's own Books handlers (as the
organisation's owner, so they cost the integration no API call): the mix issue 13 names.

Each function returns the invoice id it changed (or created). The pull tests drive one kind of
change at a time; `bench/hourly_calls.py` draws a mix of them every Zoho hour.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from zohobooks_sandbox.admin import act

#: every kind of change, and whether it can move the invoice's line items in the list row
KINDS = ("payment", "credit", "write_off", "viewed", "reminder", "due_date", "amount_edit",
         "line_edit_same_total", "new_invoice", "deletion")


def _org(h: Any) -> Any:
    return h.sandbox.orgs[h.org_id]


def _line_body(inv: Any) -> list[dict[str, Any]]:
    return [{"line_item_id": li.line_item_id, "name": li.name, "description": li.description, "item_id": li.item_id,
             "rate": str(li.rate), "quantity": str(li.quantity), "discount": str(li.discount), "unit": li.unit,
             "tax_id": li.tax_id, "account_id": li.account_id} for li in inv.line_items]


def payment(h: Any, invoice_id: str, amount: Decimal | None = None) -> str:
    inv = _org(h).invoices[invoice_id]
    amount = amount if amount is not None else min(inv.balance, Decimal("10.00"))
    act(h.sandbox, _org(h), "POST", "/customerpayments", {
        "customer_id": inv.customer_id, "payment_mode": "banktransfer", "amount": str(amount),
        "date": h.sandbox.clock.today().isoformat(),
        "invoices": [{"invoice_id": invoice_id, "amount_applied": str(amount)}]})
    return invoice_id


def credit(h: Any, invoice_id: str, amount: Decimal | None = None) -> str:
    inv = _org(h).invoices[invoice_id]
    amount = amount if amount is not None else min(inv.balance, Decimal("5.00"))
    _, created = act(h.sandbox, _org(h), "POST", "/creditnotes", {
        "customer_id": inv.customer_id, "date": h.sandbox.clock.today().isoformat(),
        "line_items": [{"name": "Credit", "rate": str(amount), "quantity": 1}]})
    note_id = created["creditnote"]["creditnote_id"]
    act(h.sandbox, _org(h), "POST", f"/creditnotes/{note_id}/invoices",
        {"invoices": [{"invoice_id": invoice_id, "amount_applied": str(amount)}]})
    return invoice_id


def write_off(h: Any, invoice_id: str) -> str:
    act(h.sandbox, _org(h), "POST", f"/invoices/{invoice_id}/writeoff")
    return invoice_id


def viewed(h: Any, invoice_id: str) -> str:
    """The customer opened the invoice: Zoho flags it viewed and moves its modification time."""
    with h.sandbox.lock:
        inv = _org(h).invoices[invoice_id]
        inv.is_viewed_by_client = True
        h.sandbox.touch(inv)
        h.sandbox.emit_change(h.org_id, "invoices", "updated", invoice_id)
    return invoice_id


def reminder(h: Any, invoice_id: str) -> str:
    """A payment reminder went out: only the modification time moves."""
    with h.sandbox.lock:
        h.sandbox.touch(_org(h).invoices[invoice_id])
        h.sandbox.emit_change(h.org_id, "invoices", "updated", invoice_id)
    return invoice_id


def due_date(h: Any, invoice_id: str, days: int = 7) -> str:
    inv = _org(h).invoices[invoice_id]
    act(h.sandbox, _org(h), "PUT", f"/invoices/{invoice_id}",
        {"due_date": (inv.due_date + dt.timedelta(days=days)).isoformat()})
    return invoice_id


def amount_edit(h: Any, invoice_id: str, delta: Decimal = Decimal("3.00")) -> str:
    """A line's quantity goes up (the total moves)."""
    inv = _org(h).invoices[invoice_id]
    lines = _line_body(inv)
    lines[0]["rate"] = str(inv.line_items[0].rate + delta)
    act(h.sandbox, _org(h), "PUT", f"/invoices/{invoice_id}", {"line_items": lines})
    return invoice_id


def line_edit_same_total(h: Any, invoice_id: str, tag: str = "rev") -> str:
    """A line's description is reworded: every list-row field stays, the line items change."""
    inv = _org(h).invoices[invoice_id]
    lines = _line_body(inv)
    lines[0]["description"] = f"{lines[0]['description'] or lines[0]['name']} ({tag})"[:2000]
    act(h.sandbox, _org(h), "PUT", f"/invoices/{invoice_id}", {"line_items": lines})
    return invoice_id


def adjustment(h: Any, invoice_id: str, delta: Decimal = Decimal("1.50")) -> str:
    inv = _org(h).invoices[invoice_id]
    act(h.sandbox, _org(h), "PUT", f"/invoices/{invoice_id}",
        {"adjustment": str(inv.adjustment + delta), "adjustment_description": "Adjustment"})
    return invoice_id


def shipping(h: Any, invoice_id: str, charge: Decimal = Decimal("4.00")) -> str:
    act(h.sandbox, _org(h), "PUT", f"/invoices/{invoice_id}", {"shipping_charge": str(charge)})
    return invoice_id


def exchange_rate(h: Any, invoice_id: str, rate: Decimal = Decimal("1.1")) -> str:
    act(h.sandbox, _org(h), "PUT", f"/invoices/{invoice_id}", {"exchange_rate": str(rate)})
    return invoice_id


def new_invoice(h: Any, customer_id: str, rate: Decimal = Decimal("120.00")) -> str:
    _, body = act(h.sandbox, _org(h), "POST", "/invoices", {
        "customer_id": customer_id, "date": h.sandbox.clock.today().isoformat(), "payment_terms": 30,
        "line_items": [{"name": "Consulting", "description": "Hours", "rate": str(rate), "quantity": 2}]},
        params={"send": "true"})
    return str(body["invoice"]["invoice_id"])


def send_draft(h: Any, invoice_id: str) -> str:
    act(h.sandbox, _org(h), "POST", f"/invoices/{invoice_id}/status/sent")
    return invoice_id


def void(h: Any, invoice_id: str) -> str:
    act(h.sandbox, _org(h), "POST", f"/invoices/{invoice_id}/status/void")
    return invoice_id


def deletion(h: Any, invoice_id: str) -> str:
    act(h.sandbox, _org(h), "DELETE", f"/invoices/{invoice_id}")
    return invoice_id


def open_invoices(h: Any, *, untouched: bool = False) -> list[Any]:
    """Sent invoices with something left to pay (`untouched`: nothing paid, credited or written off)."""
    out = [i for i in _org(h).invoices.values() if i.base_status == "sent" and i.balance > 0]
    if untouched:
        out = [i for i in out if i.payment_made == 0 and i.credits_applied == 0 and i.write_off_amount == 0]
    return sorted(out, key=lambda i: int(i.invoice_id))
