"""Credit notes, scope ``creditnotes``.

Created ``open`` (``?ignore_auto_number_generation``/``creditnote_number`` honoured; Zoho's UI
default "Save as Open"), or ``draft`` with ``status: "draft"`` in the body. Applying to invoices
(``POST /creditnotes/{id}/invoices`` or ``POST /invoices/{id}/credits``) lowers the invoice
balance through ``credits_applied``; a fully used credit note shows ``closed``. Void and
delete are refused while credits are applied (remove them first), as Zoho.
"""
from __future__ import annotations

from copy import deepcopy
from decimal import Decimal
from typing import Any

from .. import errors
from ..state import ZERO, CreditApplication, CreditNote, Invoice, Refund, money
from .common import (
    as_date,
    as_decimal,
    as_rate,
    as_str,
    create_with_unique_field,
    d,
    date_filters,
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
            "refunds": [render_refund(ctx, cn, r) for r in cn.refunds], "price_precision": 2,
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
        upserted = create_with_unique_field(ctx, list(org.creditnotes.values()), "creditnote_id", "creditnote_id",
                                            update_creditnote, "A credit note")
        if upserted is not None:
            return upserted
        cn = CreditNote(creditnote_id=ctx.sandbox.next_id(), creditnote_number="", customer_id="",
                        customer_name="", date=today(ctx))
        _apply_body(ctx, cn, body, creating=True)
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


def _apply_body(ctx: Ctx, cn: CreditNote, body: dict[str, Any], *, creating: bool) -> None:
    """Zoho's writable credit-note fields, validated (create and update share it)."""
    assert ctx.org
    if creating or "customer_id" in body:
        c = ctx.org.contacts.get(as_str(require(body, "customer_id"), "customer_id"))
        if c is None or c.contact_type != "customer":
            raise errors.invalid_value("customer_id")
        cn.customer_id, cn.customer_name, cn.currency_code = c.contact_id, c.contact_name, c.currency_code
    if body.get("date"):
        cn.date = as_date(body["date"], "date")
    if creating or "line_items" in body:
        cn.line_items = parse_line_items(ctx, body.get("line_items"), existing=cn.line_items)
    for f, n in (("reference_number", 100), ("notes", 5000), ("terms", 10000)):
        if f in body:
            setattr(cn, f, as_str(body[f], f, n))
    if "exchange_rate" in body:
        cn.exchange_rate = as_rate(body["exchange_rate"])
    if body.get("custom_fields") is not None:
        if not isinstance(body["custom_fields"], list):
            raise errors.invalid_value("custom_fields")
        cn.custom_fields = body["custom_fields"]


@route("PUT", "/creditnotes/{creditnote_id}", "creditnotes.update", "creditnotes")
def update_creditnote(ctx: Ctx):
    """Edit a credit note: its total may not drop below what is applied and refunded (36022);
    the customer cannot change once credits are applied; void credit notes are not editable."""
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        cn = _get(ctx)
        if cn.base_status == "void":
            raise errors.bad_state("Void credit notes cannot be edited.")
        draft = deepcopy(cn)
        _apply_body(ctx, draft, ctx.body, creating=False)
        if draft.customer_id != cn.customer_id and (cn.applications or cn.refunds):
            raise errors.bad_state("The customer of a credit note with applied credits or refunds cannot be changed.")
        used = cn.applied_amount + sum((r.amount for r in cn.refunds), ZERO)
        if draft.total < used:
            raise errors.amount_too_small("The credit note total cannot be less than the credits applied and refunded.")
        number = as_str(ctx.body.get("creditnote_number"), "creditnote_number", 100).strip()
        if number and number != cn.creditnote_number:
            if any(x.creditnote_number.lower() == number.lower() for x in org.creditnotes.values()):
                raise errors.already_exists(f"Credit note number {number}")
            draft.creditnote_number = number
        org.unpost(cn)
        cn.__dict__.update({k: v for k, v in draft.__dict__.items() if k not in ("applications", "refunds")})
        ctx.sandbox.touch(cn)
        org.post(cn)
        ctx.sandbox.emit_change(org.organization_id, "creditnotes", "updated", cn.creditnote_id)
    return 200, ok("The credit note has been updated.", creditnote=render(ctx, cn))


@route("PUT", "/creditnotes", "creditnotes.upsert", "creditnotes")
def upsert_creditnote(ctx: Ctx):
    assert ctx.org
    with ctx.sandbox.lock:
        return upsert_by_unique_field(ctx, list(ctx.org.creditnotes.values()), "creditnote_id", "creditnote_id",
                                      create_creditnote, update_creditnote, "Credit Note")


# ----------------------------------------------------------------------------- refunds
REFUND_ACCOUNT_TYPES = {"cash", "bank", "credit_card", "other_current_asset", "payment_clearing"}


def render_refund(ctx: Ctx, cn: CreditNote, r: Refund) -> dict[str, Any]:
    return {"creditnote_refund_id": r.refund_id, "creditnote_id": cn.creditnote_id, "date": d(r.date),
            "refund_mode": r.refund_mode, "payment_form": r.refund_mode, "reference_number": r.reference_number,
            "amount": r.amount, "amount_bcy": money(r.amount * cn.exchange_rate), "exchange_rate": cn.exchange_rate,
            "from_account_id": r.from_account_id,
            "from_account_name": ctx.org.accounts[r.from_account_id].account_name
            if ctx.org and r.from_account_id in ctx.org.accounts else "",
            "customer_name": cn.customer_name, "description": r.description,
            "created_time": ts(ctx, r.created_time), "last_modified_time": ts(ctx, r.last_modified_time)}


def _refund_fields(ctx: Ctx, cn: CreditNote, body: dict[str, Any], r: Refund | None) -> Refund:
    """A validated refund (new, or ``r`` edited): amount ≤ the credit note's balance (plus the
    refund's own amount on edit), money leaves a cash/bank account (default Undeposited Funds)."""
    assert ctx.org
    if cn.status not in ("open", "closed") or cn.base_status != "open":
        raise errors.bad_state(f"Refunds can be recorded only for open credit notes; this one is {cn.status}.")
    amount = as_decimal(require(body, "amount") if r is None else body.get("amount", r.amount), "amount")
    if amount <= 0:
        raise errors.invalid_value("amount")
    available = cn.balance + (r.amount if r is not None else ZERO)
    if amount > available:
        raise errors.ZohoError(400, 36025, "The refund amount is greater than the credit note's available balance.")
    from_acc = as_str(body.get("from_account_id"), "from_account_id").strip() or (
        r.from_account_id if r is not None else ctx.org.system_account("Undeposited Funds").account_id)
    acc = ctx.org.accounts.get(from_acc)
    if acc is None or acc.account_type not in REFUND_ACCOUNT_TYPES:
        raise errors.invalid_value("from_account_id")
    day = as_date(require(body, "date"), "date") if r is None or "date" in body else r.date
    out = Refund(refund_id=r.refund_id if r is not None else ctx.sandbox.next_id(), date=day, amount=amount,
                 refund_mode=as_str(body.get("refund_mode") or (r.refund_mode if r else "cash"), "refund_mode"),
                 reference_number=as_str(body.get("reference_number", r.reference_number if r else ""),
                                         "reference_number", 100),
                 description=as_str(body.get("description", r.description if r else ""), "description"),
                 from_account_id=from_acc, created_time=r.created_time if r else None)
    ctx.sandbox.touch(out)
    return out


def _refund(ctx: Ctx) -> tuple[CreditNote, Refund]:
    cn = _get(ctx)
    for r in cn.refunds:
        if r.refund_id == ctx.path_args["creditnote_refund_id"]:
            return cn, r
    raise errors.not_found("Refund")


def _replace_refunds(ctx: Ctx, cn: CreditNote, refunds: list[Refund]) -> None:
    org = ctx.org
    assert org
    org.unpost(cn)
    cn.refunds = refunds
    ctx.sandbox.touch(cn)
    org.post(cn)
    ctx.sandbox.emit_change(org.organization_id, "creditnotes", "updated", cn.creditnote_id)


@route("GET", "/creditnotes/{creditnote_id}/refunds", "creditnotes.refunds", "creditnotes", "read")
def list_creditnote_refunds(ctx: Ctx):
    cn = _get(ctx)
    return 200, ok("success", creditnote_refunds=[render_refund(ctx, cn, r) for r in cn.refunds],
                   page_context={"page": 1, "per_page": 200, "has_more_page": False,
                                 "report_name": "Credit Note Refunds", "sort_column": "date", "sort_order": "D"})


@route("POST", "/creditnotes/{creditnote_id}/refunds", "creditnotes.createrefund", "creditnotes", "create")
def create_creditnote_refund(ctx: Ctx):
    with ctx.sandbox.lock:
        cn = _get(ctx)
        r = _refund_fields(ctx, cn, ctx.body, None)
        _replace_refunds(ctx, cn, [*cn.refunds, r])
    return 200, ok("The credit note amount is refunded successfully.", creditnote_refund=render_refund(ctx, cn, r))


@route("GET", "/creditnotes/{creditnote_id}/refunds/{creditnote_refund_id}", "creditnotes.getrefund", "creditnotes")
def get_creditnote_refund(ctx: Ctx):
    cn, r = _refund(ctx)
    return 200, ok("success", creditnote_refund=render_refund(ctx, cn, r))


@route("PUT", "/creditnotes/{creditnote_id}/refunds/{creditnote_refund_id}", "creditnotes.updaterefund",
       "creditnotes", "update")
def update_creditnote_refund(ctx: Ctx):
    with ctx.sandbox.lock:
        cn, old = _refund(ctx)
        r = _refund_fields(ctx, cn, ctx.body, old)
        _replace_refunds(ctx, cn, [r if x is old else x for x in cn.refunds])
    return 200, ok("The credit note refund is updated successfully.", creditnote_refund=render_refund(ctx, cn, r))


@route("DELETE", "/creditnotes/{creditnote_id}/refunds/{creditnote_refund_id}", "creditnotes.deleterefund",
       "creditnotes")
def delete_creditnote_refund(ctx: Ctx):
    with ctx.sandbox.lock:
        cn, r = _refund(ctx)
        _replace_refunds(ctx, cn, [x for x in cn.refunds if x is not r])
    return 200, ok("The refund has been successfully deleted.")


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
