"""Credit notes, scope ``creditnotes``.

Created ``open`` (``?ignore_auto_number_generation``/``creditnote_number`` honoured; Zoho's UI
default "Save as Open"), or ``draft`` with ``status: "draft"`` in the body. Applying to invoices
(``POST /creditnotes/{id}/invoices`` or ``POST /invoices/{id}/credits``) lowers the invoice
balance through ``credits_applied``; a fully used credit note shows ``closed``. Void and
delete are refused while credits are applied (remove them first), as Zoho.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import errors
from ..state import ZERO, CreditApplication, CreditNote, Invoice
from .common import (
    as_date, as_str, as_decimal, d, date_filters, get_record, list_response, modified_since, ok, require,
    string_filter, text_match, today, ts,
)
from .invoices import check_applicable, parse_line_items, receive, render_line_item
from .registry import Ctx, route


def render(ctx: Ctx, cn: CreditNote, *, full: bool = True) -> dict[str, Any]:
    assert ctx.org
    row: dict[str, Any] = {
        "creditnote_id": cn.creditnote_id, "creditnote_number": cn.creditnote_number, "status": cn.status,
        "reference_number": cn.reference_number, "date": d(cn.date), "total": cn.total, "balance": cn.balance,
        "customer_id": cn.customer_id, "customer_name": cn.customer_name, "currency_code": cn.currency_code,
        "exchange_rate": cn.exchange_rate, "created_time": ts(ctx, cn.created_time),
        "last_modified_time": ts(ctx, cn.last_modified_time), "is_emailed": False, "has_attachment": False,
    }
    if full:
        invs = ctx.org.invoices
        row.update({
            "line_items": [render_line_item(li) for li in cn.line_items], "sub_total": cn.sub_total,
            "tax_total": cn.tax_total, "notes": cn.notes, "terms": cn.terms, "custom_fields": cn.custom_fields,
            "invoices_credited": [_render_app(cn, a, invs.get(a.invoice_id)) for a in cn.applications],
            "refunds": [], "price_precision": 2,
        })
    return row


def _render_app(cn: CreditNote, a: CreditApplication, inv: Invoice | None) -> dict[str, Any]:
    return {"creditnote_id": cn.creditnote_id, "creditnote_invoice_id": a.creditnote_invoice_id,
            "invoice_id": a.invoice_id, "invoice_number": inv.invoice_number if inv else "",
            "date": d(a.date), "amount_applied": a.amount_applied}


def apply_credit(ctx: Ctx, cn: CreditNote, inv: Invoice, amount: Decimal) -> None:
    """Apply ``amount`` of a credit note to an invoice (caller validated, holds the lock)."""
    assert ctx.org
    app = CreditApplication(ctx.sandbox.next_id(), inv.invoice_id, amount, today(ctx))
    ctx.sandbox.touch(app)
    cn.applications.append(app)
    ctx.sandbox.touch(cn)
    receive(ctx, inv, credit=amount)
    ctx.sandbox.emit_change(ctx.org.organization_id, "creditnotes", "updated", cn.creditnote_id)


def unapply_credit(ctx: Ctx, cn: CreditNote, app: CreditApplication) -> None:
    assert ctx.org
    cn.applications.remove(app)
    ctx.sandbox.touch(cn)
    inv = ctx.org.invoices.get(app.invoice_id)
    if inv is not None:
        receive(ctx, inv, credit=-app.amount_applied)
    ctx.sandbox.emit_change(ctx.org.organization_id, "creditnotes", "updated", cn.creditnote_id)


def _get(ctx: Ctx) -> CreditNote:
    assert ctx.org
    return get_record(ctx.org.creditnotes, ctx.path_args["creditnote_id"], "Credit Note")


@route("POST", "/creditnotes", "creditnotes.create", "creditnotes")
def create_creditnote(ctx: Ctx):
    org = ctx.org
    assert org
    body = ctx.body
    with ctx.sandbox.lock:
        c = org.contacts.get(as_str(require(body, "customer_id"), "customer_id"))
        if c is None:
            raise errors.invalid_value("customer_id")
        cn = CreditNote(creditnote_id=ctx.sandbox.next_id(), creditnote_number="", customer_id=c.contact_id,
                        customer_name=c.contact_name, date=as_date(body["date"], "date") if body.get("date") else today(ctx),
                        currency_code=c.currency_code)
        cn.line_items = parse_line_items(ctx, body.get("line_items"))
        for f, n in (("reference_number", 100), ("notes", 5000), ("terms", 10000)):
            if f in body:
                setattr(cn, f, as_str(body[f], f, n))
        if body.get("custom_fields") is not None:
            cn.custom_fields = body["custom_fields"]
        if body.get("status") == "draft":
            cn.base_status = "draft"
        number = as_str(body.get("creditnote_number"), "creditnote_number", 100).strip()
        if number:
            if any(x.creditnote_number.lower() == number.lower() for x in org.creditnotes.values()):
                raise errors.already_exists(f"Credit note number {number}")
            cn.creditnote_number = number
        else:
            cn.creditnote_number = f"CN-{next(org.creditnote_seq):05d}"
        ctx.sandbox.touch(cn)
        org.creditnotes[cn.creditnote_id] = cn
        org.post(cn)
        ctx.sandbox.emit_change(org.organization_id, "creditnotes", "created", cn.creditnote_id)
    return 201, ok("The credit note has been created.", creditnote=render(ctx, cn))


@route("GET", "/creditnotes", "creditnotes.list", "creditnotes")
def list_creditnotes(ctx: Ctx):
    org = ctx.org
    assert org
    preds = []
    status = ctx.params.get("status")
    if status:
        preds.append(lambda c: c.status == status)
    fb = (ctx.params.get("filter_by") or "Status.All").lower()
    fmap = {"status.all": None, "status.open": "open", "status.closed": "closed", "status.void": "void",
            "status.draft": "draft"}
    if fb not in fmap:
        raise errors.invalid_value("filter_by")
    if fmap[fb]:
        preds.append(lambda c, s=fmap[fb]: c.status == s)
    cid = ctx.params.get("customer_id")
    if cid:
        preds.append(lambda c: c.customer_id == cid)
    for name, get in (("creditnote_number", lambda c: c.creditnote_number),
                      ("reference_number", lambda c: c.reference_number), ("customer_name", lambda c: c.customer_name)):
        preds += string_filter(ctx, name, get)
    preds += date_filters(ctx, "date", lambda c: c.date)
    st = ctx.params.get("search_text")
    if st:
        preds.append(lambda c: text_match(st, c.creditnote_number, c.customer_name, c.reference_number))
    since = modified_since(ctx)
    if since:
        preds.append(since)
    rows = [c for c in org.creditnotes.values() if all(p(c) for p in preds)]
    return list_response(
        ctx, rows, key="creditnotes", report_name="Credit Notes", render=lambda c: render(ctx, c, full=False),
        sort_keys={"customer_name": lambda c: c.customer_name, "creditnote_number": lambda c: c.creditnote_number,
                   "date": lambda c: c.date, "total": lambda c: c.total, "balance": lambda c: c.balance,
                   "created_time": lambda c: c.created_time, "last_modified_time": lambda c: c.last_modified_time},
        default_sort="created_time", id_of=lambda c: c.creditnote_id,
    )


@route("GET", "/creditnotes/{creditnote_id}", "creditnotes.get", "creditnotes")
def get_creditnote(ctx: Ctx):
    return 200, ok(creditnote=render(ctx, _get(ctx)))


@route("DELETE", "/creditnotes/{creditnote_id}", "creditnotes.delete", "creditnotes")
def delete_creditnote(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        cn = _get(ctx)
        if cn.applications:
            raise errors.bad_state("Credit notes applied to invoices cannot be deleted. Remove the applied credits first.")
        org.unpost(cn)
        del org.creditnotes[cn.creditnote_id]
        ctx.sandbox.emit_change(org.organization_id, "creditnotes", "deleted", cn.creditnote_id)
    return 200, ok("The credit note has been deleted.")


def _set_status(ctx: Ctx, status: str, message: str):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        cn = _get(ctx)
        if status in ("void", "draft") and cn.applications:
            raise errors.bad_state("Credit notes applied to invoices cannot be changed. Remove the applied credits first.")
        org.unpost(cn)
        cn.base_status = status
        ctx.sandbox.touch(cn)
        org.post(cn)
        ctx.sandbox.emit_change(org.organization_id, "creditnotes", "updated", cn.creditnote_id)
    return 200, ok(message)


@route("POST", "/creditnotes/{creditnote_id}/void", "creditnotes.void", "creditnotes", "update")
def void_creditnote(ctx: Ctx):
    return _set_status(ctx, "void", "The credit note has been marked as void.")


route("POST", "/creditnotes/{creditnote_id}/status/void", "creditnotes.void", "creditnotes", "update")(void_creditnote)


@route("POST", "/creditnotes/{creditnote_id}/status/open", "creditnotes.open", "creditnotes", "update")
def open_creditnote(ctx: Ctx):
    return _set_status(ctx, "open", "Status of credit note changed to open.")


@route("POST", "/creditnotes/{creditnote_id}/status/draft", "creditnotes.draft", "creditnotes", "update")
def draft_creditnote(ctx: Ctx):
    return _set_status(ctx, "draft", "Status of credit note changed to draft.")


@route("GET", "/creditnotes/{creditnote_id}/invoices", "creditnotes.invoices", "creditnotes", "read")
def list_credited_invoices(ctx: Ctx):
    assert ctx.org
    cn = _get(ctx)
    return 200, ok(invoices_credited=[_render_app(cn, a, ctx.org.invoices.get(a.invoice_id)) for a in cn.applications])


@route("POST", "/creditnotes/{creditnote_id}/invoices", "creditnotes.applytoinvoices", "creditnotes", "update")
def apply_to_invoices(ctx: Ctx):
    org = ctx.org
    assert org
    raw = ctx.body.get("invoices")
    if not isinstance(raw, list) or not raw:
        raise errors.missing_field("invoices")
    with ctx.sandbox.lock:
        cn = _get(ctx)
        if cn.status != "open":
            raise errors.bad_state(f"Credits can be applied only from open credit notes; this one is {cn.status}.")
        planned: list[tuple[Invoice, Decimal]] = []
        for entry in raw:
            if not isinstance(entry, dict):
                raise errors.invalid_value("invoices")
            inv = org.invoices.get(as_str(require(entry, "invoice_id"), "invoice_id"))
            if inv is None or inv.customer_id != cn.customer_id:
                raise errors.invalid_value("invoice_id")
            amt = as_decimal(require(entry, "amount_applied"), "amount_applied")
            check_applicable(inv, amt)
            planned.append((inv, amt))
        if sum((a for _, a in planned), ZERO) > cn.balance:
            raise errors.ZohoError(400, 36024, "The amount applied exceeds the credit note's available balance.")
        for inv, amt in planned:
            apply_credit(ctx, cn, inv, amt)
    return 200, ok("Credits have been applied to the invoice(s).",
                   apply_to_invoices={"invoices": [{"invoice_id": i.invoice_id, "amount_applied": a} for i, a in planned]})


@route("DELETE", "/creditnotes/{creditnote_id}/invoices/{creditnote_invoice_id}", "creditnotes.deleteinvoice",
       "creditnotes")
def delete_credited_invoice(ctx: Ctx):
    with ctx.sandbox.lock:
        cn = _get(ctx)
        for a in cn.applications:
            if a.creditnote_invoice_id == ctx.path_args["creditnote_invoice_id"]:
                unapply_credit(ctx, cn, a)
                return 200, ok("Credits applied to an invoice have been deleted.")
    raise errors.not_found("Credits applied")
