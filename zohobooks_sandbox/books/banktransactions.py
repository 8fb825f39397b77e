"""Bank transactions, scope ``banking``.

Types and the accounts they need (checked): ``transfer_fund`` (from and to: cash/bank/credit
card accounts, e.g. Undeposited Funds → Business Checking), ``deposit`` (to: cash/bank; from:
optional offset account, e.g. Sales), ``expense`` (from: cash/bank; to: an expense account),
``owner_contribution``/``other_income``/``interest_income`` (into to_account),
``owner_drawings``/``card_payment`` (out of from_account). ``bank_charges`` go to "Bank Fees and
Charges": a transfer of 1,000.00 with 29.30 charges takes 1,000.00 from the source and puts
970.70 in the destination.
``GET /banktransactions?account_id=`` also lists customer payments deposited to that account
(``transaction_type: customer_payment``), as Zoho's account register does.
"""
from __future__ import annotations

from typing import Any

from .. import errors
from ..state import BankTransaction, CustomerPayment
from .common import (
    account_name,
    as_date,
    as_decimal,
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
    ts,
)
from .registry import Ctx, route

MONEY = {"cash", "bank", "credit_card", "payment_clearing"}
TYPES: dict[str, tuple[bool, bool]] = {
    # type: (from_account required & money account, to_account required & money account)
    "transfer_fund": (True, True),
    "deposit": (False, True),
    "owner_contribution": (False, True),
    "other_income": (False, True),
    "interest_income": (False, True),
    "sales_without_invoices": (False, True),
    "refund": (False, True),
    "expense": (True, False),
    "owner_drawings": (True, False),
    "card_payment": (True, False),
}


def render(ctx: Ctx, t: BankTransaction, view_account: str | None = None) -> dict[str, Any]:
    assert ctx.org
    accounts = ctx.org.accounts
    acc_id = view_account or (t.to_account_id if TYPES.get(t.transaction_type, (False, True))[1] else t.from_account_id)
    acc = accounts.get(acc_id)
    debit = acc_id == t.to_account_id
    offset = t.from_account_id if debit else t.to_account_id
    customer = ctx.org.contacts.get(t.customer_id)
    return {
        "transaction_id": t.transaction_id, "date": d(t.date), "amount": t.amount,
        "transaction_type": t.transaction_type, "status": t.status, "source": "manually_added",
        "account_id": acc_id, "account_name": acc.account_name if acc else "",
        "account_type": acc.account_type if acc else "",
        "from_account_id": t.from_account_id, "from_account_name": account_name(ctx.org, t.from_account_id),
        "to_account_id": t.to_account_id, "to_account_name": account_name(ctx.org, t.to_account_id),
        "price_precision": 2, "customer_id": t.customer_id, "customer_name": customer.contact_name if customer else "",
        "payee": customer.contact_name if customer else "", "payment_mode": t.payment_mode,
        "description": t.description, "reference_number": t.reference_number, "bank_charges": t.bank_charges,
        "currency_id": "", "currency_code": t.currency_code,
        "currency_symbol": "$" if t.currency_code == "USD" else t.currency_code,
        "exchange_rate": t.exchange_rate, "debit_or_credit": "debit" if debit else "credit",
        "offset_account_name": account_name(ctx.org, offset), "is_offsetaccount_matched": False,
        "sub_total": t.amount, "total": t.amount, "bcy_total": t.amount, "imported_transactions": [],
        "created_time": ts(ctx, t.created_time), "last_modified_time": ts(ctx, t.last_modified_time),
    }


def _payment_row(ctx: Ctx, p: CustomerPayment) -> dict[str, Any]:
    assert ctx.org
    acc = ctx.org.accounts.get(p.account_id)
    return {
        "transaction_id": p.payment_id, "date": d(p.date), "amount": p.amount - p.bank_charges,
        "transaction_type": "customer_payment", "status": "manually_added", "source": "manually_added",
        "account_id": p.account_id, "account_name": acc.account_name if acc else "",
        "account_type": acc.account_type if acc else "", "price_precision": 2, "customer_id": p.customer_id,
        "payee": p.customer_name, "description": p.description, "reference_number": p.reference_number,
        "currency_id": "", "currency_code": p.currency_code, "debit_or_credit": "debit",
        "offset_account_name": "Accounts Receivable", "is_offsetaccount_matched": False,
        "created_time": ts(ctx, p.created_time), "last_modified_time": ts(ctx, p.last_modified_time),
    }


@route("POST", "/banktransactions", "banktransactions.create", "banking")
def create_transaction(ctx: Ctx):
    org = ctx.org
    assert org
    body = ctx.body
    ttype = as_str(require(body, "transaction_type"), "transaction_type").strip()
    if ttype not in TYPES:
        raise errors.invalid_value("transaction_type")
    need_from, need_to = TYPES[ttype]
    from_id = as_str(body.get("from_account_id"), "from_account_id").strip()
    to_id = as_str(body.get("to_account_id"), "to_account_id").strip()
    for field, acc_id, money_needed, required in (("from_account_id", from_id, need_from, need_from or ttype == "expense"),
                                                 ("to_account_id", to_id, need_to, need_to or ttype == "expense")):
        if not acc_id:
            if required:
                raise errors.missing_field(field)
            continue
        acc = org.accounts.get(acc_id)
        if acc is None or not acc.is_active or (money_needed and acc.account_type not in MONEY):
            raise errors.invalid_value(field)
    if from_id and from_id == to_id:
        raise errors.ZohoError(400, 2, "Invalid value passed for to_account_id. From and to accounts must differ.")
    amount = as_decimal(require(body, "amount"), "amount")
    if amount <= 0:
        raise errors.invalid_value("amount")
    charges = as_decimal(body.get("bank_charges") or 0, "bank_charges")
    if charges > amount:
        raise errors.invalid_value("bank_charges")
    customer_id = as_str(body.get("customer_id"), "customer_id").strip()
    if customer_id and customer_id not in org.contacts:
        raise errors.invalid_value("customer_id")
    with ctx.sandbox.lock:
        t = BankTransaction(
            transaction_id=ctx.sandbox.next_id(), transaction_type=ttype, amount=amount,
            date=as_date(require(body, "date"), "date"), from_account_id=from_id, to_account_id=to_id,
            reference_number=as_str(body.get("reference_number"), "reference_number", 100),
            description=as_str(body.get("description"), "description"), bank_charges=charges,
            customer_id=customer_id, payment_mode=as_str(body.get("payment_mode"), "payment_mode"),
            currency_code=org.org.currency_code,
            exchange_rate=as_decimal(body.get("exchange_rate") or 1, "exchange_rate"),
        )
        ctx.sandbox.touch(t)
        org.bank_transactions[t.transaction_id] = t
        org.post(t)
        ctx.sandbox.emit_change(org.organization_id, "banktransactions", "created", t.transaction_id)
    return 201, ok("The bank transaction has been recorded.", banktransaction=render(ctx, t))


@route("GET", "/banktransactions/{transaction_id}", "banktransactions.get", "banking")
def get_transaction(ctx: Ctx):
    assert ctx.org
    t = get_record(ctx.org.bank_transactions, ctx.path_args["transaction_id"], "Transaction")
    return 200, ok(banktransaction=render(ctx, t))


@route("DELETE", "/banktransactions/{transaction_id}", "banktransactions.delete", "banking")
def delete_transaction(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        t = get_record(org.bank_transactions, ctx.path_args["transaction_id"], "Transaction")
        org.unpost(t)
        del org.bank_transactions[t.transaction_id]
        ctx.sandbox.emit_change(org.organization_id, "banktransactions", "deleted", t.transaction_id)
    return 200, ok("The transaction has been deleted.")


@route("GET", "/banktransactions", "banktransactions.list", "banking")
def list_transactions(ctx: Ctx):
    org = ctx.org
    assert org
    account_id = ctx.params.get("account_id")
    if account_id and account_id not in org.accounts:
        raise errors.invalid_value("account_id")
    items: list[tuple[Any, dict[str, Any]]] = []
    preds = []
    ttype = ctx.params.get("transaction_type")
    if ttype:
        preds.append(lambda r: r["transaction_type"] == ttype)
    for name in ("reference_number",):
        preds += string_filter(ctx, name, lambda r, n=name: r[n])
    preds += date_filters(ctx, "date", lambda r: r["_date"])
    st = ctx.params.get("search_text")
    if st:
        preds.append(lambda r: text_match(st, r["reference_number"], r["description"], r.get("payee", "")))
    since = modified_since(ctx)
    for t in org.bank_transactions.values():
        if account_id and account_id not in (t.from_account_id, t.to_account_id):
            continue
        if since and not since(t):
            continue
        items.append((t, render(ctx, t, account_id)))
    if account_id:
        for p in org.payments.values():
            if p.account_id == account_id and (not since or since(p)):
                items.append((p, _payment_row(ctx, p)))
    rows = []
    for rec, row in items:
        row["_date"] = rec.date
        row["_created"] = rec.created_time
        if all(f(row) for f in preds):
            rows.append(row)
    code, body = list_response(
        ctx, rows, key="banktransactions", report_name="Bank Transactions",
        render=lambda r: {k: v for k, v in r.items() if not k.startswith("_")},
        sort_keys={"date": lambda r: r["_date"], "amount": lambda r: r["amount"],
                   "reference_number": lambda r: r["reference_number"], "created_time": lambda r: r["_created"]},
        default_sort="date", id_of=lambda r: r["transaction_id"],
    )
    return code, body
