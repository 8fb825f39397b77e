"""Credits applied to an invoice, scope ``invoices``: credit notes and unused payment amounts.

Apart from ``invoices`` because it needs both ``creditnotes`` and ``customerpayments``, which
themselves build on ``invoices`` (``receive``, ``check_applicable``): the modules stay acyclic.
"""
from __future__ import annotations

from .. import errors
from ..state import ZERO
from .common import as_decimal, as_str, get_record, ok, require
from .creditnotes import apply_credit, unapply_credit
from .customerpayments import apply_unused_payment
from .invoices import check_applicable, invoice_of
from .registry import Ctx, route


@route("POST", "/invoices/{invoice_id}/credits", "invoices.applycredits", "invoices", "update")
def apply_credits(ctx: Ctx):
    """``apply_creditnotes`` [{creditnote_id, amount_applied}] and ``invoice_payments``
    [{payment_id, amount_applied}] (unused payment amounts). All or nothing."""
    org = ctx.org
    assert org
    cns = ctx.body.get("apply_creditnotes") or []
    pays = ctx.body.get("invoice_payments") or []
    if not isinstance(cns, list) or not isinstance(pays, list):
        raise errors.invalid_value("apply_creditnotes")
    if not cns and not pays:
        raise errors.missing_field("apply_creditnotes")
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        planned = []
        total = ZERO
        for entry in cns:
            if not isinstance(entry, dict):
                raise errors.invalid_value("apply_creditnotes")
            cn = get_record(org.creditnotes, as_str(require(entry, "creditnote_id"), "creditnote_id"), "Credit Note")
            amt = as_decimal(require(entry, "amount_applied"), "amount_applied")
            planned.append(("cn", cn, amt))
            total += amt
        for entry in pays:
            if not isinstance(entry, dict):
                raise errors.invalid_value("invoice_payments")
            p = get_record(org.payments, as_str(require(entry, "payment_id"), "payment_id"), "Payment")
            amt = as_decimal(require(entry, "amount_applied"), "amount_applied")
            planned.append(("pay", p, amt))
            total += amt
        check_applicable(inv, total)
        for kind, rec, amt in planned:
            if rec.customer_id != inv.customer_id:
                raise errors.invalid_value("customer_id")
            if kind == "cn" and (rec.status != "open" or amt > rec.balance):
                raise errors.ZohoError(400, 36024, "The amount applied exceeds the credit note's available balance.")
            if kind == "pay" and amt > rec.unused_amount:
                raise errors.ZohoError(400, 36024, "The amount applied exceeds the payment's unused amount.")
        for kind, rec, amt in planned:
            if kind == "cn":
                apply_credit(ctx, rec, inv, amt)
            else:
                apply_unused_payment(ctx, rec, inv, amt)
    return 200, ok("Credits have been applied to the invoice(s).")


@route("DELETE", "/invoices/{invoice_id}/creditsapplied/{creditnotes_invoice_id}", "invoices.deletecredit", "invoices")
def delete_applied_credit(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        inv = invoice_of(ctx)
        cid = ctx.path_args["creditnotes_invoice_id"]
        for cn in org.creditnotes.values():
            for a in cn.applications:
                if a.creditnote_invoice_id == cid and a.invoice_id == inv.invoice_id:
                    unapply_credit(ctx, cn, a)
                    return 200, ok("Credits applied to an invoice have been deleted.")
    raise errors.not_found("Credits applied")
