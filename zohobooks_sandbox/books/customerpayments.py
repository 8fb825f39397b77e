"""Customer payments, scope ``customerpayments``.

Create/update validate everything before touching state (all or nothing): the customer
exists; ``account_id`` (deposit-to, default Undeposited Funds) is a cash/bank/credit-card/
current-asset account; each ``invoices[].amount_applied`` ≤ that invoice's balance (36023) and
the invoice belongs to the customer; ``amount`` ≥ sum applied (36022) — the rest is the
payment's ``unused_amount`` (a customer credit). ``bank_charges`` move to "Bank Fees and
Charges"; the deposit account gets ``amount - bank_charges``.
Delete restores every invoice balance. Refunds take from the unused amount.
Exactly-once helpers as Zoho: ``X-Unique-Identifier-Key`` / ``X-Unique-Identifier-Value`` name a
custom field (by ``label``/``api_name``/``customfield_id``) whose value must be unique; with
``X-Upsert: true`` a create of an existing value updates that payment instead, without it the
create is refused (1070).
"""
from __future__ import annotations

from copy import deepcopy
from decimal import Decimal
from typing import Any

from .. import errors
from ..state import ZERO, CustomerPayment, Invoice, PaymentApplication, Refund
from .common import (
    account_name,
    as_date,
    as_decimal,
    as_rate,
    as_str,
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
    unique_header_match,
    upsert_by_unique_field,
)
from .invoices import check_applicable, receive
from .registry import Ctx, route

DEPOSIT_TYPES = {"cash", "bank", "credit_card", "other_current_asset", "payment_clearing"}
PAYMENT_MODES = {"check", "cash", "creditcard", "banktransfer", "bankremittance", "autotransaction", "others",
                 "paypal", "stripe", "ach", "googlecheckout", "authorizenet", "payflowpro", "braintree", "2checkout"}


def render(ctx: Ctx, p: CustomerPayment, *, full: bool = True) -> dict[str, Any]:
    assert ctx.org
    invs = ctx.org.invoices
    row: dict[str, Any] = {
        "payment_id": p.payment_id,
        "payment_number": p.payment_number,
        "invoice_numbers": ",".join(invs[a.invoice_id].invoice_number for a in p.invoices if a.invoice_id in invs),
        "date": d(p.date),
        "payment_mode": p.payment_mode,
        "amount": p.amount,
        "bcy_amount": p.amount,
        "unused_amount": p.unused_amount,
        "bcy_unused_amount": p.unused_amount,
        "amount_refunded": p.refunded_amount,
        "bank_charges": p.bank_charges,
        "account_id": p.account_id,
        "account_name": account_name(ctx.org, p.account_id),
        "description": p.description,
        "reference_number": p.reference_number,
        "customer_id": p.customer_id,
        "customer_name": p.customer_name,
        "exchange_rate": p.exchange_rate,
        "currency_code": p.currency_code,
        "has_attachment": False,
        "custom_fields": p.custom_fields,
        "created_time": ts(ctx, p.created_time),
        "last_modified_time": ts(ctx, p.last_modified_time),
    }
    if full:
        contact = ctx.org.contacts.get(p.customer_id)
        row.update({
            "status": "success",
            "email": contact.email if contact else "",
            "currency_symbol": "$" if p.currency_code == "USD" else ("€" if p.currency_code == "EUR" else p.currency_code),
            "invoices": [{
                "invoice_payment_id": a.invoice_payment_id,
                "invoice_id": a.invoice_id,
                "invoice_number": invs[a.invoice_id].invoice_number if a.invoice_id in invs else "",
                "date": d(invs[a.invoice_id].date) if a.invoice_id in invs else "",
                "invoice_amount": invs[a.invoice_id].total if a.invoice_id in invs else ZERO,
                "amount_applied": a.amount_applied,
                "balance_amount": invs[a.invoice_id].balance if a.invoice_id in invs else ZERO,
                "tax_amount_withheld": a.tax_amount_withheld,
            } for a in p.invoices],
            "refunds": [render_refund(ctx, p, r) for r in p.refunds],
        })
    return row


def render_refund(ctx: Ctx, p: CustomerPayment, r: Refund) -> dict[str, Any]:
    return {"payment_refund_id": r.refund_id, "payment_id": p.payment_id, "date": d(r.date),
            "refund_mode": r.refund_mode, "reference_number": r.reference_number, "amount": r.amount,
            "exchange_rate": p.exchange_rate, "payment_form": r.refund_mode, "description": r.description,
            "from_account_id": r.from_account_id, "customer_name": p.customer_name}


def _parse(ctx: Ctx, p: CustomerPayment, body: dict[str, Any], *, creating: bool) -> list[tuple[Invoice, Decimal]]:
    """Fill ``p`` from the body; return the planned (invoice, amount) applications."""
    org = ctx.org
    assert org
    if creating or "customer_id" in body:
        c = org.contacts.get(as_str(require(body, "customer_id"), "customer_id"))
        if c is None:
            raise errors.invalid_value("customer_id")
        p.customer_id, p.customer_name, p.currency_code = c.contact_id, c.contact_name, c.currency_code
    if creating or "amount" in body:
        p.amount = as_decimal(require(body, "amount"), "amount")
    if creating or "date" in body:
        p.date = as_date(require(body, "date"), "date")
    if "payment_mode" in body or creating:
        mode = as_str(body.get("payment_mode") or "cash", "payment_mode").strip()
        p.payment_mode = mode.lower().replace(" ", "") if mode.lower().replace(" ", "") in PAYMENT_MODES else mode
    for f, n in (("reference_number", 100), ("description", 2000)):
        if f in body:
            setattr(p, f, as_str(body[f], f, n))
    if "bank_charges" in body:
        p.bank_charges = as_decimal(body["bank_charges"] or 0, "bank_charges")
    if "exchange_rate" in body:
        p.exchange_rate = as_rate(body["exchange_rate"])
    if "custom_fields" in body:
        if not isinstance(body["custom_fields"], list):
            raise errors.invalid_value("custom_fields")
        p.custom_fields = body["custom_fields"]
    if "account_id" in body and str(body["account_id"] or "").strip():
        acc = org.accounts.get(as_str(body["account_id"], "account_id").strip())
        if acc is None or acc.account_type not in DEPOSIT_TYPES or not acc.is_active:
            raise errors.invalid_value("account_id")
        p.account_id = acc.account_id
    elif creating:
        p.account_id = org.system_account("Undeposited Funds").account_id
    if p.bank_charges > p.amount:
        raise errors.invalid_value("bank_charges")
    planned: list[tuple[Invoice, Decimal]] = []
    if creating or "invoices" in body:
        raw = body.get("invoices") or []
        if not isinstance(raw, list):
            raise errors.invalid_value("invoices")
        for entry in raw:
            if not isinstance(entry, dict):
                raise errors.invalid_value("invoices")
            inv = org.invoices.get(as_str(require(entry, "invoice_id"), "invoice_id"))
            if inv is None:
                raise errors.invalid_value("invoice_id")
            if inv.customer_id != p.customer_id:
                raise errors.ZohoError(400, 2, f"Invalid value passed for invoice_id. Invoice {inv.invoice_number} "
                                               "does not belong to this customer.")
            amt = as_decimal(require(entry, "amount_applied"), "amount_applied")
            if amt == 0:
                continue
            planned.append((inv, amt))
    else:
        planned = [(org.invoices[a.invoice_id], a.amount_applied) for a in p.invoices if a.invoice_id in org.invoices]
    applied = sum((a for _, a in planned), ZERO)
    if applied + p.refunded_amount > p.amount:
        raise errors.amount_too_small("The amount received is less than the sum of the amounts applied to invoices.")
    return planned


def _validate_against_balances(planned: list[tuple[Invoice, Decimal]], restored: dict[str, Decimal]) -> None:
    per_invoice: dict[str, Decimal] = {}
    for inv, amt in planned:
        per_invoice[inv.invoice_id] = per_invoice.get(inv.invoice_id, ZERO) + amt
    for inv, _ in planned:
        total = per_invoice[inv.invoice_id]
        if inv.base_status == "void":
            check_applicable(inv, total)
        if total > inv.balance + restored.get(inv.invoice_id, ZERO):
            raise errors.over_applied(inv.invoice_number)


def _apply(ctx: Ctx, p: CustomerPayment, planned: list[tuple[Invoice, Decimal]]) -> None:
    p.invoices = []
    for inv, amt in planned:
        p.invoices.append(PaymentApplication(inv.invoice_id, amt, invoice_payment_id=ctx.sandbox.next_id()))
        receive(ctx, inv, payment=amt, on=p.date)


def _unapply(ctx: Ctx, p: CustomerPayment) -> None:
    assert ctx.org
    for a in p.invoices:
        inv = ctx.org.invoices.get(a.invoice_id)
        if inv is not None:
            receive(ctx, inv, payment=-a.amount_applied)
    p.invoices = []


def apply_unused_payment(ctx: Ctx, p: CustomerPayment, inv: Invoice, amount: Decimal) -> None:
    """Apply part of a payment's unused amount to an invoice (caller validated, holds lock)."""
    assert ctx.org
    p.invoices.append(PaymentApplication(inv.invoice_id, amount, invoice_payment_id=ctx.sandbox.next_id()))
    receive(ctx, inv, payment=amount, on=p.date)
    ctx.sandbox.touch(p)
    ctx.sandbox.emit_change(ctx.org.organization_id, "customerpayments", "updated", p.payment_id)


def _unique_header_match(ctx: Ctx) -> CustomerPayment | None:
    assert ctx.org
    return unique_header_match(ctx, ctx.org.payments.values())


@route("POST", "/customerpayments", "customerpayments.create", "customerpayments")
def create_payment(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        existing = _unique_header_match(ctx)
        if existing is not None:
            if (ctx.headers.get("x-upsert") or "").lower() == "true":
                ctx.path_args["payment_id"] = existing.payment_id
                _, body = update_payment(ctx)
                return 201, body  # the create operation documents 201 only
            raise errors.already_exists("A payment with this unique identifier value")
        p = CustomerPayment(payment_id=ctx.sandbox.next_id(), payment_number="", customer_id="", customer_name="",
                            payment_mode="cash", amount=ZERO, date=today(ctx), account_id="")
        planned = _parse(ctx, p, ctx.body, creating=True)
        _validate_against_balances(planned, {})
        p.payment_number = str(next(org.payment_seq))
        ctx.sandbox.touch(p)
        org.payments[p.payment_id] = p
        _apply(ctx, p, planned)
        org.post(p)
        ctx.sandbox.emit_change(org.organization_id, "customerpayments", "created", p.payment_id)
    return 201, ok("The payment has been created.", payment=render(ctx, p))


@route("PUT", "/customerpayments/{payment_id}", "customerpayments.update", "customerpayments")
def update_payment(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        p = get_record(org.payments, ctx.path_args["payment_id"], "Payment")
        draft = deepcopy(p)
        draft.invoices = list(p.invoices)
        planned = _parse(ctx, draft, ctx.body, creating=False)
        if draft.customer_id != p.customer_id and "invoices" not in ctx.body and p.invoices:
            raise errors.invalid_value("customer_id")
        restored = {}
        for a in p.invoices:
            restored[a.invoice_id] = restored.get(a.invoice_id, ZERO) + a.amount_applied
        _validate_against_balances(planned, restored)
        org.unpost(p)
        _unapply(ctx, p)
        refunds, invoices_before = p.refunds, None  # noqa: F841
        p.__dict__.update({k: v for k, v in draft.__dict__.items() if k not in ("invoices", "refunds", "payment_id")})
        _apply(ctx, p, planned)
        ctx.sandbox.touch(p)
        org.post(p)
        ctx.sandbox.emit_change(org.organization_id, "customerpayments", "updated", p.payment_id)
    return 200, ok("The payment details have been updated.", payment=render(ctx, p))


@route("PUT", "/customerpayments", "customerpayments.upsert", "customerpayments")
def upsert_payment(ctx: Ctx):
    assert ctx.org
    with ctx.sandbox.lock:
        return upsert_by_unique_field(ctx, list(ctx.org.payments.values()), "payment_id", "payment_id",
                                      create_payment, update_payment, "Payment")


@route("GET", "/customerpayments/{payment_id}", "customerpayments.get", "customerpayments")
def get_payment(ctx: Ctx):
    assert ctx.org
    p = get_record(ctx.org.payments, ctx.path_args["payment_id"], "Payment")
    return 200, ok(payment=render(ctx, p))


@route("DELETE", "/customerpayments/{payment_id}", "customerpayments.delete", "customerpayments")
def delete_payment(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        p = get_record(org.payments, ctx.path_args["payment_id"], "Payment")
        _unapply(ctx, p)
        org.unpost(p)
        del org.payments[p.payment_id]
        ctx.sandbox.emit_change(org.organization_id, "customerpayments", "deleted", p.payment_id)
    return 200, ok("The payment has been deleted.")


_MODE_FILTERS = {"paymentmode.all": None, "paymentmode.check": "check", "paymentmode.cash": "cash",
                 "paymentmode.banktransfer": "banktransfer", "paymentmode.paypal": "paypal",
                 "paymentmode.creditcard": "creditcard", "paymentmode.googlecheckout": "googlecheckout",
                 "paymentmode.credit": "credit", "paymentmode.authorizenet": "authorizenet",
                 "paymentmode.bankremittance": "bankremittance", "paymentmode.payflowpro": "payflowpro",
                 "paymentmode.stripe": "stripe", "paymentmode.2checkout": "2checkout",
                 "paymentmode.braintree": "braintree", "paymentmode.others": "others"}


@route("GET", "/customerpayments", "customerpayments.list", "customerpayments")
def list_payments(ctx: Ctx):
    org = ctx.org
    assert org
    preds = []
    fb = (ctx.params.get("filter_by") or "PaymentMode.All").lower()
    if fb not in _MODE_FILTERS:
        raise errors.invalid_value("filter_by")
    if _MODE_FILTERS[fb]:
        preds.append(lambda p, m=_MODE_FILTERS[fb]: p.payment_mode.lower() == m)
    cid = ctx.params.get("customer_id")
    if cid:
        preds.append(lambda p: p.customer_id == cid)
    mode = ctx.params.get("payment_mode")
    if mode:
        preds.append(lambda p: p.payment_mode.lower() == mode.lower())
    for name, get in (("reference_number", lambda p: p.reference_number), ("customer_name", lambda p: p.customer_name),
                      ("notes", lambda p: p.description)):
        preds += string_filter(ctx, name, get)
    preds += date_filters(ctx, "date", lambda p: p.date)
    amount = ctx.params.get("amount")
    if amount:
        v = as_decimal(amount, "amount")
        preds.append(lambda p: p.amount == v)
    st = ctx.params.get("search_text")
    if st:
        preds.append(lambda p: text_match(st, p.reference_number, p.customer_name, p.payment_number, p.description))
    since = modified_since(ctx)
    if since:
        preds.append(since)
    return list_response(
        ctx, lambda: [p for p in org.payments.values() if all(f(p) for f in preds)], key="customerpayments",
        memo="customerpayments", report_name="Customer Payments",
        render=lambda p: render(ctx, p, full=False),
        sort_keys={"customer_name": lambda p: p.customer_name, "payment_number": lambda p: int(p.payment_number or 0),
                   "payment_mode": lambda p: p.payment_mode, "date": lambda p: p.date,
                   "reference_number": lambda p: p.reference_number, "amount": lambda p: p.amount,
                   "unused_amount": lambda p: p.unused_amount, "created_time": lambda p: p.created_time,
                   "last_modified_time": lambda p: p.last_modified_time},
        default_sort="created_time", id_of=lambda p: p.payment_id,
        applied_filter=ctx.params.get("filter_by") or "PaymentMode.All",
    )


@route("GET", "/customerpayments/{payment_id}/refunds", "customerpayments.refunds", "customerpayments", "read")
def list_refunds(ctx: Ctx):
    assert ctx.org
    p = get_record(ctx.org.payments, ctx.path_args["payment_id"], "Payment")
    rows = [render_refund(ctx, p, r) for r in p.refunds]
    return 200, ok(payment_refunds=rows, page_context={"page": 1, "per_page": 200, "has_more_page": False,
                                                       "report_name": "Payment Refunds", "applied_filter": "",
                                                       "sort_column": "date", "sort_order": "D"})


@route("POST", "/customerpayments/{payment_id}/refunds", "customerpayments.createrefund", "customerpayments", "create")
def create_refund(ctx: Ctx):
    org = ctx.org
    assert org
    body = ctx.body
    with ctx.sandbox.lock:
        p = get_record(org.payments, ctx.path_args["payment_id"], "Payment")
        amount = as_decimal(require(body, "amount"), "amount")
        if amount <= 0:
            raise errors.invalid_value("amount")
        if amount > p.unused_amount:
            raise errors.ZohoError(400, 36025, "The refund amount is greater than the payment's unused amount.")
        from_acc = as_str(body.get("from_account_id"), "from_account_id").strip() or p.account_id
        acc = org.accounts.get(from_acc)
        if acc is None or acc.account_type not in DEPOSIT_TYPES:
            raise errors.invalid_value("from_account_id")
        r = Refund(refund_id=ctx.sandbox.next_id(), date=as_date(require(body, "date"), "date"), amount=amount,
                   refund_mode=as_str(body.get("refund_mode") or "cash", "refund_mode"),
                   reference_number=as_str(body.get("reference_number"), "reference_number", 100),
                   description=as_str(body.get("description"), "description"), from_account_id=from_acc)
        ctx.sandbox.touch(r)
        org.unpost(p)
        p.refunds.append(r)
        ctx.sandbox.touch(p)
        org.post(p)
        ctx.sandbox.emit_change(org.organization_id, "customerpayments", "updated", p.payment_id)
    return 200, ok("The refund information for this payment has been saved.",
                   payment_refund=render_refund(ctx, p, r), payment_refunds=[render_refund(ctx, p, r)])


def _refund(ctx: Ctx) -> tuple[CustomerPayment, Refund]:
    assert ctx.org
    p = get_record(ctx.org.payments, ctx.path_args["payment_id"], "Payment")
    for r in p.refunds:
        if r.refund_id == ctx.path_args["refund_id"]:
            return p, r
    raise errors.not_found("Refund")


@route("GET", "/customerpayments/{payment_id}/refunds/{refund_id}", "customerpayments.getrefund", "customerpayments")
def get_refund(ctx: Ctx):
    p, r = _refund(ctx)
    return 200, ok(payment_refund=render_refund(ctx, p, r))


@route("PUT", "/customerpayments/{payment_id}/refunds/{refund_id}", "customerpayments.updaterefund",
       "customerpayments", "update")
def update_refund(ctx: Ctx):
    """Edit a refund: the amount may use the payment's unused amount plus the refund's own."""
    org = ctx.org
    assert org
    body = ctx.body
    with ctx.sandbox.lock:
        p, r = _refund(ctx)
        amount = as_decimal(body.get("amount", r.amount), "amount")
        if amount <= 0:
            raise errors.invalid_value("amount")
        if amount > p.unused_amount + r.amount:
            raise errors.ZohoError(400, 36025, "The refund amount is greater than the payment's unused amount.")
        from_acc = as_str(body.get("from_account_id"), "from_account_id").strip() or r.from_account_id
        acc = org.accounts.get(from_acc)
        if acc is None or acc.account_type not in DEPOSIT_TYPES:
            raise errors.invalid_value("from_account_id")
        day = as_date(body["date"], "date") if body.get("date") else r.date
        org.unpost(p)
        r.amount, r.from_account_id, r.date = amount, from_acc, day
        for f, n in (("refund_mode", None), ("reference_number", 100), ("description", None)):
            if f in body:
                setattr(r, f, as_str(body[f], f, n))
        ctx.sandbox.touch(r)
        ctx.sandbox.touch(p)
        org.post(p)
        ctx.sandbox.emit_change(org.organization_id, "customerpayments", "updated", p.payment_id)
    return 200, ok("The refund information has been updated.", payment_refund=render_refund(ctx, p, r))


@route("DELETE", "/customerpayments/{payment_id}/refunds/{refund_id}", "customerpayments.deleterefund",
       "customerpayments")
def delete_refund(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        p, r = _refund(ctx)
        org.unpost(p)
        p.refunds.remove(r)
        ctx.sandbox.touch(p)
        org.post(p)
        ctx.sandbox.emit_change(org.organization_id, "customerpayments", "updated", p.payment_id)
    return 200, ok("The refund has been deleted.")
