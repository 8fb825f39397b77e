"""Invoices, scope ``invoices``: the heart of the sandbox.

Arithmetic as Zoho: ``balance = total - payment_made - credits_applied - write_off_amount``.
Status: created as ``draft`` (``?send=true`` marks it sent); ``status/sent`` → sent; derived
``partially_paid``/``paid``/``overdue`` (sent and due date before the org's today); ``void``.
Write-off sets ``write_off_amount = balance`` (status ``paid``); cancel restores it.
Refusals (see ``errors``): delete or void with payments/credits applied (9007), applying more
than the balance (36023), an update lowering the total below what was paid/credited (36022),
changes to a void invoice (1001).
Recording a payment or credit on a draft invoice marks it sent (Zoho's UI asks the same).
List rows are summaries without ``line_items`` (Zoho's ``list-invoices-response``).
"""
from __future__ import annotations

from copy import deepcopy
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from .. import errors
from ..state import ZERO, Invoice, LineItem, OrgData, money
from .common import (
    add_days,
    as_bool,
    as_date,
    as_decimal,
    as_rate,
    as_str,
    create_with_unique_field,
    d,
    date_filters,
    due_days,
    filtered,
    get_record,
    list_response,
    modified_since,
    ok,
    require,
    string_filter,
    text_match,
    today,
    ts,
    upsert_by_unique_field,
)
from .registry import Ctx, route

_LIST_STATUS = {"sent", "draft", "overdue", "paid", "void", "unpaid", "partially_paid", "viewed"}
_FILTER_BY = {
    "status.all": None, "status.sent": "sent", "status.draft": "draft", "status.overdue": "overdue",
    "status.paid": "paid", "status.void": "void", "status.unpaid": "unpaid",
    "status.partiallypaid": "partially_paid", "status.partially_paid": "partially_paid",
    "status.viewed": "viewed", "status.pendingapproval": "pending_approval", "status.approved": "approved",
}


def invoice_status(ctx: Ctx, inv: Invoice) -> str:
    return inv.status_on(today(ctx))


def status_matches(status: str, wanted: str) -> bool:
    if wanted == "unpaid":
        return status in ("sent", "overdue", "partially_paid", "viewed")
    if wanted == "sent":  # Zoho's "sent" filter includes the ones that are merely viewed
        return status in ("sent", "viewed")
    return status == wanted


# ----------------------------------------------------------------------------- parsing
def parse_line_items(ctx: Ctx, raw: Any, field: str = "line_items",
                     existing: list[LineItem] | None = None) -> list[LineItem]:
    """Validate Zoho line items; ``discount`` is a percentage (number or "12.5%").

    On update a line carrying the ``line_item_id`` of an existing line keeps that id (as Zoho);
    lines without one are new; existing lines not sent are removed."""
    known = {li.line_item_id for li in existing or []}
    assert ctx.org
    if not isinstance(raw, list) or not raw:
        raise errors.missing_field(field)
    items: list[LineItem] = []
    for n, li in enumerate(raw, start=1):
        if not isinstance(li, dict):
            raise errors.invalid_value(field)
        name = as_str(li.get("name"), "name", 255)
        desc = as_str(li.get("description"), "description", 2000)
        if not (name or desc or li.get("item_id")):
            raise errors.ZohoError(400, 4, "Please enter a name or description for the line item.")
        rate = as_decimal(li.get("rate", 0), "rate", allow_negative=True)
        qty_raw = li.get("quantity", 1)
        try:
            qty = Decimal(str(qty_raw))
        except Exception:  # noqa: BLE001
            raise errors.invalid_value("quantity") from None
        disc_raw = li.get("discount", 0) or 0
        if isinstance(disc_raw, str) and disc_raw.strip().endswith("%"):
            disc_raw = disc_raw.strip()[:-1]
        discount = as_decimal(disc_raw, "discount")
        if discount > 100:
            raise errors.invalid_value("discount")
        given_id = str(li.get("line_item_id") or "")
        item = LineItem(line_item_id=given_id if given_id in known else ctx.sandbox.next_id(), name=name, description=desc,
                        item_id=as_str(li.get("item_id"), "item_id"), rate=rate, quantity=qty,
                        discount=discount, unit=as_str(li.get("unit"), "unit"),
                        account_id=as_str(li.get("account_id"), "account_id"), item_order=n)
        tax_id = as_str(li.get("tax_id"), "tax_id")
        if tax_id:
            tax = ctx.org.taxes.get(tax_id)
            if tax is None:
                raise errors.invalid_value("tax_id")
            item.tax_id, item.tax_name, item.tax_percentage = tax_id, tax["tax_name"], Decimal(str(tax["tax_percentage"]))
        if item.account_id and item.account_id not in ctx.org.accounts:
            raise errors.invalid_value("account_id")
        items.append(item)
    return items


def _customer(ctx: Ctx, customer_id: str):
    assert ctx.org
    c = ctx.org.contacts.get(customer_id)
    if c is None or c.contact_type != "customer":
        raise errors.invalid_value("customer_id")
    return c


def apply_body(ctx: Ctx, inv: Invoice, body: dict[str, Any], *, creating: bool) -> None:
    """Copy Zoho's writable invoice fields onto ``inv`` (validated)."""
    if creating or "customer_id" in body:
        c = _customer(ctx, as_str(require(body, "customer_id"), "customer_id"))
        inv.customer_id, inv.customer_name, inv.currency_code = c.contact_id, c.contact_name, c.currency_code
        if "payment_terms" not in body and creating:
            inv.payment_terms, inv.payment_terms_label = c.payment_terms, c.payment_terms_label
    if creating or "line_items" in body:
        inv.line_items = parse_line_items(ctx, body.get("line_items"), existing=inv.line_items)
    if "date" in body and body["date"]:
        inv.date = as_date(body["date"], "date")
    if "payment_terms" in body:
        try:
            inv.payment_terms = int(body["payment_terms"])
        except (TypeError, ValueError):
            raise errors.invalid_value("payment_terms") from None
        inv.payment_terms_label = as_str(body.get("payment_terms_label"), "payment_terms_label") or (
            "Due On Receipt" if inv.payment_terms == 0 else f"Net {inv.payment_terms}")
    if body.get("due_date"):
        inv.due_date = as_date(body["due_date"], "due_date")
    elif creating or "date" in body or "payment_terms" in body:
        inv.due_date = add_days(inv.date, inv.payment_terms)
    if inv.due_date < inv.date:
        raise errors.ZohoError(400, 2, "Invalid value passed for due_date. Due date cannot be earlier than the invoice date.")
    for f, n in (("reference_number", 100), ("notes", 5000), ("terms", 10000), ("salesperson_name", 200),
                 ("adjustment_description", 200)):
        if f in body:
            setattr(inv, f, as_str(body[f], f, n))
    if "discount" in body:
        raw = body["discount"] or 0
        if isinstance(raw, str) and raw.strip().endswith("%"):
            raw = raw.strip()[:-1]
        inv.discount = as_decimal(raw, "discount")
    if "is_discount_before_tax" in body:
        inv.is_discount_before_tax = as_bool(body["is_discount_before_tax"], "is_discount_before_tax")
    for f in ("shipping_charge",):
        if f in body:
            setattr(inv, f, as_decimal(body[f] or 0, f))
    if "adjustment" in body:
        inv.adjustment = as_decimal(body["adjustment"] or 0, "adjustment", allow_negative=True)
    if "exchange_rate" in body:
        inv.exchange_rate = as_rate(body["exchange_rate"])
    if "custom_fields" in body:
        if not isinstance(body["custom_fields"], list):
            raise errors.invalid_value("custom_fields")
        inv.custom_fields = body["custom_fields"]
    if inv.total < 0:
        raise errors.ZohoError(400, 2, "Invoice total cannot be negative.")


# ----------------------------------------------------------------------------- rendering
def _taxes(inv: Invoice) -> list[dict[str, Any]]:
    by: dict[str, Decimal] = {}
    for li in inv.line_items:
        if li.tax_id:
            key = f"{li.tax_name} ({li.tax_percentage.normalize()}%)"
            by[key] = by.get(key, ZERO) + li.tax_amount
    return [{"tax_name": k, "tax_amount": v} for k, v in by.items()]


def render_summary(ctx: Ctx, inv: Invoice) -> dict[str, Any]:
    status = invoice_status(ctx, inv)
    return {
        "invoice_id": inv.invoice_id,
        "ach_payment_initiated": False,
        "customer_name": inv.customer_name,
        "customer_id": inv.customer_id,
        "status": status,
        "invoice_number": inv.invoice_number,
        "reference_number": inv.reference_number,
        "date": d(inv.date),
        "due_date": d(inv.due_date),
        "due_days": due_days(inv.due_date, today(ctx)) if status in ("sent", "overdue", "partially_paid", "viewed") else "",
        "currency_id": "",
        "schedule_time": "",
        "currency_code": inv.currency_code,
        "is_viewed_by_client": inv.is_viewed_by_client,
        "has_attachment": False,
        "client_viewed_time": "",
        "total": inv.total,
        "balance": inv.balance,
        "created_time": ts(ctx, inv.created_time),
        "last_modified_time": ts(ctx, inv.last_modified_time),
        "is_emailed": False,
        "reminders_sent": 0,
        "last_reminder_sent_date": "",
        "payment_expected_date": "",
        "last_payment_date": d(inv.last_payment_date),
        "custom_fields": inv.custom_fields,
        "documents": "",
        "salesperson_id": "",
        "salesperson_name": inv.salesperson_name,
        "shipping_charge": inv.shipping_charge,
        "adjustment": inv.adjustment,
        "write_off_amount": inv.write_off_amount,
        "exchange_rate": inv.exchange_rate,
    }


def render_line_item(li: LineItem) -> dict[str, Any]:
    return {
        "line_item_id": li.line_item_id, "item_id": li.item_id, "name": li.name, "description": li.description,
        "item_order": li.item_order, "bcy_rate": li.rate, "rate": li.rate,
        "quantity": int(li.quantity) if li.quantity == li.quantity.to_integral_value() else li.quantity,
        "unit": li.unit, "discount_amount": money(li.rate * li.quantity - li.item_total), "discount": li.discount,
        "tax_id": li.tax_id, "tax_name": li.tax_name, "tax_type": "tax" if li.tax_id else "",
        "tax_percentage": li.tax_percentage, "item_total": li.item_total, "account_id": li.account_id,
    }


def render_full(ctx: Ctx, inv: Invoice) -> dict[str, Any]:
    assert ctx.org
    row = render_summary(ctx, inv)
    contact = ctx.org.contacts.get(inv.customer_id)
    addr = contact.billing_address if contact else {}
    fields = ("address", "street2", "city", "state", "zip", "country", "fax")
    row.update({
        "payment_terms": inv.payment_terms,
        "payment_terms_label": inv.payment_terms_label,
        "discount": inv.discount,
        "discount_amount": inv.discount_amount,
        "is_discount_before_tax": inv.is_discount_before_tax,
        "discount_type": "entity_level",
        "is_inclusive_tax": False,
        "line_items": [render_line_item(li) for li in inv.line_items],
        "adjustment_description": inv.adjustment_description,
        "sub_total": inv.sub_total,
        "tax_total": inv.tax_total,
        "taxes": _taxes(inv),
        "payment_reminder_enabled": True,
        "payment_made": inv.payment_made,
        "credits_applied": inv.credits_applied,
        "tax_amount_withheld": ZERO,
        "allow_partial_payments": True,
        "price_precision": 2,
        "billing_address": {k: addr.get(k, "") for k in fields},
        "shipping_address": {k: addr.get(k, "") for k in fields},
        "notes": inv.notes,
        "terms": inv.terms,
        "template_id": "",
        "template_name": "Standard",
        "attachment_name": "",
        "can_send_in_mail": True,
        "invoice_url": f"{ctx.sandbox.config.base_url}/books/portal/invoice/{inv.invoice_id}",
        "contact_persons_associated": [],
        "recurring_invoice_id": "",
    })
    return row


# ----------------------------------------------------------------------------- money movements
def receive(ctx: Ctx, inv: Invoice, *, payment: Decimal = ZERO, credit: Decimal = ZERO, on: date | None = None) -> None:
    """Apply (positive) or remove (negative) payment/credit amounts on an invoice.

    Caller holds the lock and has validated the amounts; a draft invoice becomes sent."""
    if (payment > 0 or credit > 0) and inv.base_status == "draft":
        inv.base_status = "sent"
        assert ctx.org
        ctx.org.post(inv)
    inv.payment_made += payment
    inv.credits_applied += credit
    if payment > 0 and on is not None:
        inv.last_payment_date = max(on, inv.last_payment_date) if inv.last_payment_date else on
    ctx.sandbox.touch(inv)
    assert ctx.org
    ctx.sandbox.emit_change(ctx.org.organization_id, "invoices", "updated", inv.invoice_id)


def check_applicable(inv: Invoice, amount: Decimal) -> None:
    """Refuse applying to void invoices or more than the balance."""
    if inv.base_status == "void":
        raise errors.bad_state(f"Payments or credits cannot be applied to the void invoice {inv.invoice_number}.")
    if amount <= 0:
        raise errors.invalid_value("amount_applied")
    if amount > inv.balance:
        raise errors.over_applied(inv.invoice_number)


# ----------------------------------------------------------------------------- routes
@route("GET", "/invoices", "invoices.list", "invoices")
def list_invoices(ctx: Ctx):
    org = ctx.org
    assert org
    t = today(ctx)
    preds = []
    status = ctx.params.get("status")
    if status:
        if status not in _LIST_STATUS:
            raise errors.invalid_value("status")
        preds.append(lambda i, s=status: status_matches(i.status_on(t), s))
    fb = (ctx.params.get("filter_by") or "Status.All").lower()
    if fb not in _FILTER_BY:
        raise errors.invalid_value("filter_by")
    if _FILTER_BY[fb]:
        preds.append(lambda i, s=_FILTER_BY[fb]: status_matches(i.status_on(t), s))
    cid = ctx.params.get("customer_id")
    if cid:
        preds.append(lambda i: i.customer_id == cid)
    for name, get in (("invoice_number", lambda i: i.invoice_number), ("reference_number", lambda i: i.reference_number),
                      ("customer_name", lambda i: i.customer_name)):
        preds += string_filter(ctx, name, get)
    preds += date_filters(ctx, "date", lambda i: i.date)
    preds += date_filters(ctx, "due_date", lambda i: i.due_date)
    st = ctx.params.get("search_text")
    if st:
        preds.append(lambda i: text_match(st, i.invoice_number, i.customer_name, i.reference_number))
    for f in ("total", "balance"):
        raw = ctx.params.get(f)
        if raw:
            v = as_decimal(raw, f, allow_negative=True)
            preds.append(lambda i, v=v, f=f: getattr(i, f) == v)
    since = modified_since(ctx)
    if since:
        preds.append(since)
    return list_response(
        ctx, lambda: filtered(org.invoices.values(), preds), key="invoices", memo="invoices", report_name="Invoices",
        render=lambda i: render_summary(ctx, i),
        sort_keys={"customer_name": lambda i: i.customer_name, "invoice_number": lambda i: i.invoice_number,
                   "date": lambda i: i.date, "due_date": lambda i: i.due_date, "total": lambda i: i.total,
                   "balance": lambda i: i.balance, "created_time": lambda i: i.created_time,
                   "last_modified_time": lambda i: i.last_modified_time, "reference_number": lambda i: i.reference_number},
        default_sort="created_time", id_of=lambda i: i.invoice_id,
    )


def invoice_of(ctx: Ctx) -> Invoice:
    """The invoice of the request's ``{invoice_id}`` (404 as Zoho when it does not exist)."""
    assert ctx.org
    return get_record(ctx.org.invoices, ctx.path_args["invoice_id"], "Invoice")


@route("GET", "/invoices/pdf", "invoices.bulkpdf", "invoices")
def bulk_pdf(ctx: Ctx):
    assert ctx.org
    raw = ctx.params.get("invoice_ids") or ""
    ids = [x for x in raw.split(",") if x.strip()]
    if not ids:
        raise errors.missing_field("invoice_ids")
    if len(ids) > 25:
        raise errors.ZohoError(400, 2, "Invalid value passed for invoice_ids. You can export a maximum of 25 invoices.")
    invs = [get_record(ctx.org.invoices, i.strip(), "Invoice") for i in ids]
    from ..pdf import invoices_pdf
    return Response(invoices_pdf(ctx.org, [render_full(ctx, i) for i in invs]), media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="invoices.pdf"'})


@route("GET", "/invoices/{invoice_id}", "invoices.get", "invoices")
def get_invoice(ctx: Ctx):
    inv = invoice_of(ctx)
    if (ctx.params.get("accept") or "").lower() == "pdf" or ctx.headers.get("accept", "").startswith("application/pdf"):
        assert ctx.org
        from ..pdf import invoices_pdf
        return Response(invoices_pdf(ctx.org, [render_full(ctx, inv)]), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{inv.invoice_number}.pdf"'})
    return 200, ok(invoice=render_full(ctx, inv))


def _next_number(org: OrgData) -> str:
    while True:
        number = f"INV-{next(org.invoice_seq):06d}"
        if not any(i.invoice_number == number for i in org.invoices.values()):
            return number


def _check_number_unique(org: OrgData, number: str, exclude: str | None = None) -> None:
    for other in org.invoices.values():
        if other.invoice_id != exclude and other.invoice_number.lower() == number.lower():
            raise errors.already_exists(f"Invoice number {number}")


@route("POST", "/invoices", "invoices.create", "invoices")
def create_invoice(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        upserted = create_with_unique_field(ctx, list(org.invoices.values()), "invoice_id", "invoice_id",
                                            update_invoice, "An invoice")
        if upserted is not None:
            return upserted
        t = today(ctx)
        inv = Invoice(invoice_id=ctx.sandbox.next_id(), invoice_number="", customer_id="", customer_name="",
                      date=t, due_date=t)
        apply_body(ctx, inv, ctx.body, creating=True)
        number = as_str(ctx.body.get("invoice_number"), "invoice_number", 100).strip()
        if number:
            _check_number_unique(org, number)
            inv.invoice_number = number
        else:
            inv.invoice_number = _next_number(org)
        if (ctx.params.get("send") or "").lower() == "true":
            inv.base_status = "sent"
        ctx.sandbox.touch(inv)
        org.invoices[inv.invoice_id] = inv
        org.post(inv)
        ctx.sandbox.emit_change(org.organization_id, "invoices", "created", inv.invoice_id)
    return 201, ok("The invoice has been created.", invoice=render_full(ctx, inv))


@route("PUT", "/invoices", "invoices.upsert", "invoices")
def upsert_invoice(ctx: Ctx):
    assert ctx.org
    with ctx.sandbox.lock:
        return upsert_by_unique_field(ctx, list(ctx.org.invoices.values()), "invoice_id", "invoice_id",
                                      create_invoice, update_invoice, "Invoice")


@route("PUT", "/invoices/{invoice_id}", "invoices.update", "invoices")
def update_invoice(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        if inv.base_status == "void":
            raise errors.bad_state("Void invoices cannot be edited. Mark the invoice as draft first.")
        draft = deepcopy(inv)
        apply_body(ctx, draft, ctx.body, creating=False)
        if "invoice_number" in ctx.body and ctx.body["invoice_number"]:
            number = as_str(ctx.body["invoice_number"], "invoice_number", 100).strip()
            _check_number_unique(org, number, exclude=inv.invoice_id)
            draft.invoice_number = number
        settled = inv.payment_made + inv.credits_applied + inv.write_off_amount
        if draft.total < settled:
            raise errors.amount_too_small(
                "The invoice total cannot be less than the payments and credits already applied to it.")
        org.unpost(inv)
        inv.__dict__.update(draft.__dict__)
        ctx.sandbox.touch(inv)
        org.post(inv)
        ctx.sandbox.emit_change(org.organization_id, "invoices", "updated", inv.invoice_id)
    return 200, ok("Invoice information has been updated.", invoice=render_full(ctx, inv))


def _transition(ctx: Ctx, inv: Invoice, base_status: str) -> None:
    assert ctx.org
    ctx.org.unpost(inv)
    inv.base_status = base_status
    ctx.sandbox.touch(inv)
    ctx.org.post(inv)
    ctx.sandbox.emit_change(ctx.org.organization_id, "invoices", "updated", inv.invoice_id)


@route("POST", "/invoices/{invoice_id}/status/sent", "invoices.sent", "invoices", "update")
def mark_sent(ctx: Ctx):
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        if inv.base_status == "void":
            raise errors.bad_state("Void invoices cannot be marked as sent.")
        if inv.base_status == "draft":
            _transition(ctx, inv, "sent")
    return 200, ok("Invoice status has been changed to Sent.")


@route("POST", "/invoices/{invoice_id}/status/void", "invoices.void", "invoices", "update")
def mark_void(ctx: Ctx):
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        if inv.payment_made > 0 or inv.credits_applied > 0:
            raise errors.invoice_has_payments("voided")
        if inv.write_off_amount > 0:
            raise errors.bad_state("The invoice has been written off. Cancel the write off before voiding it.")
        if inv.base_status != "void":
            _transition(ctx, inv, "void")
    return 200, ok("Invoice status has been changed to Void.")


@route("POST", "/invoices/{invoice_id}/status/draft", "invoices.draft", "invoices", "update")
def mark_draft(ctx: Ctx):
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        if inv.payment_made > 0 or inv.credits_applied > 0 or inv.write_off_amount > 0:
            raise errors.invoice_has_payments("marked as draft")
        if inv.base_status != "draft":
            _transition(ctx, inv, "draft")
    return 200, ok("Status of invoice changed from void to draft.")


@route("DELETE", "/invoices/{invoice_id}", "invoices.delete", "invoices")
def delete_invoice(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        if inv.payment_made > 0 or inv.credits_applied > 0:
            raise errors.invoice_has_payments("deleted")
        org.unpost(inv)
        del org.invoices[inv.invoice_id]
        ctx.sandbox.emit_change(org.organization_id, "invoices", "deleted", inv.invoice_id)
    return 200, ok("The invoice has been deleted.")


@route("POST", "/invoices/{invoice_id}/writeoff", "invoices.writeoff", "invoices", "update")
def write_off(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        if inv.base_status != "sent":
            raise errors.bad_state("Only sent, overdue or partially paid invoices can be written off.")
        if inv.balance <= 0:
            raise errors.bad_state("The invoice has no balance due to write off.")
        org.unpost(inv)
        inv.write_off_amount += inv.balance
        ctx.sandbox.touch(inv)
        org.post(inv)
        ctx.sandbox.emit_change(org.organization_id, "invoices", "updated", inv.invoice_id)
    return 200, ok("Invoice has been written off")


def _cancel_write_off(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        if inv.write_off_amount <= 0:
            raise errors.bad_state("The invoice has not been written off.")
        org.unpost(inv)
        inv.write_off_amount = ZERO
        ctx.sandbox.touch(inv)
        org.post(inv)
        ctx.sandbox.emit_change(org.organization_id, "invoices", "updated", inv.invoice_id)
    return 200, ok("The write off done for this invoice has been cancelled.")


route("POST", "/invoices/{invoice_id}/writeoff/cancel", "invoices.cancelwriteoff", "invoices", "update")(_cancel_write_off)
route("POST", "/invoices/{invoice_id}/cancelwriteoff", "invoices.cancelwriteoff", "invoices", "update")(_cancel_write_off)


@route("GET", "/invoices/{invoice_id}/payments", "invoices.payments", "invoices", "read")
def invoice_payments(ctx: Ctx):
    org = ctx.org
    assert org
    inv = invoice_of(ctx)
    rows = []
    for p in sorted(org.payments.values(), key=lambda p: (p.date, int(p.payment_id))):
        for a in p.invoices:
            if a.invoice_id == inv.invoice_id:
                rows.append({
                    "payment_id": p.payment_id, "payment_number": p.payment_number,
                    "invoice_id": inv.invoice_id, "invoice_payment_id": a.invoice_payment_id,
                    "payment_mode": p.payment_mode, "description": p.description, "date": d(p.date),
                    "reference_number": p.reference_number, "exchange_rate": p.exchange_rate,
                    "amount": a.amount_applied, "tax_amount_withheld": a.tax_amount_withheld,
                    "online_transaction_id": "", "is_single_invoice_payment": len(p.invoices) == 1,
                })
    return 200, ok(payments=rows)


@route("GET", "/invoices/{invoice_id}/creditsapplied", "invoices.creditsapplied", "invoices", "read")
def credits_applied(ctx: Ctx):
    org = ctx.org
    assert org
    inv = invoice_of(ctx)
    rows = []
    for cn in org.creditnotes.values():
        for a in cn.applications:
            if a.invoice_id == inv.invoice_id:
                rows.append({"creditnote_id": cn.creditnote_id, "creditnotes_invoice_id": a.creditnote_invoice_id,
                             "creditnotes_number": cn.creditnote_number, "credited_date": d(a.date),
                             "amount_applied": a.amount_applied})
    return 200, ok(credits=rows)


@route("GET", "/invoices/{invoice_id}/credits", "invoices.credits", "invoices", "read")
def available_credits(ctx: Ctx):
    """Credits the customer could apply: open credit notes and unused payment amounts."""
    org = ctx.org
    assert org
    inv = invoice_of(ctx)
    credits = []
    for cn in org.creditnotes.values():
        if cn.customer_id == inv.customer_id and cn.status == "open" and cn.balance > 0:
            credits.append({"creditnote_id": cn.creditnote_id, "creditnote_number": cn.creditnote_number,
                            "date": d(cn.date), "total": cn.total, "balance": cn.balance, "type": "creditnote"})
    for p in org.payments.values():
        if p.customer_id == inv.customer_id and p.unused_amount > 0:
            credits.append({"payment_id": p.payment_id, "payment_number": p.payment_number, "date": d(p.date),
                            "total": p.amount, "balance": p.unused_amount, "type": "payment"})
    return 200, ok(credits=credits)


@route("DELETE", "/invoices/{invoice_id}/payments/{invoice_payment_id}", "invoices.deletepayment", "invoices")
def delete_invoice_payment(ctx: Ctx):
    """Unapply one payment from the invoice; the payment's amount becomes unused (as Zoho)."""
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        ipid = ctx.path_args["invoice_payment_id"]
        for p in org.payments.values():
            for a in list(p.invoices):
                if a.invoice_payment_id == ipid and a.invoice_id == inv.invoice_id:
                    p.invoices.remove(a)
                    ctx.sandbox.touch(p)
                    receive(ctx, inv, payment=-a.amount_applied)
                    ctx.sandbox.emit_change(org.organization_id, "customerpayments", "updated", p.payment_id)
                    return 200, ok("The payment has been deleted.")
    raise errors.not_found("Payment")
