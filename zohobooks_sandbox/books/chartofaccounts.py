"""Chart of accounts (scope ``accountants``) and the accounts a new Zoho organisation has.

``create_default_accounts(sandbox, org)`` gives every new organisation Zoho's defaults:
Undeposited Funds and Petty Cash (cash), Business Checking (bank), Accounts Receivable,
Sales / General Income / Discount / Late Fee Income (income), Bank Fees and Charges, Bad Debt
and other expenses, Tax Payable, Unearned Revenue, Owner's Equity, Opening Balance
Adjustments, Exchange Gain or Loss. Balances move by postings (see ``state.OrgData``).
"""
from __future__ import annotations

from typing import Any

from .. import errors
from ..state import Account, OrgData, Sandbox
from .common import as_str, get_record, list_response, modified_since, ok, require, ts
from .registry import Ctx, route

DEFAULT_ACCOUNTS: list[tuple[str, str, bool]] = [
    # (name, type, is_system_account)
    ("Undeposited Funds", "cash", True),
    ("Petty Cash", "cash", True),
    ("Business Checking", "bank", False),
    ("Accounts Receivable", "accounts_receivable", True),
    ("Prepaid Expenses", "other_current_asset", False),
    ("Furniture and Equipment", "fixed_asset", False),
    ("Accounts Payable", "accounts_payable", True),
    ("Tax Payable", "other_current_liability", True),
    ("Unearned Revenue", "other_current_liability", True),
    ("Opening Balance Adjustments", "other_current_liability", True),
    ("Owner's Equity", "equity", True),
    ("Opening Balance Offset", "equity", True),
    ("Retained Earnings", "equity", True),
    ("Sales", "income", True),
    ("General Income", "income", False),
    ("Interest Income", "income", False),
    ("Late Fee Income", "income", False),
    ("Discount", "income", True),
    ("Shipping Charge", "income", True),
    ("Other Charges", "income", True),
    ("Bank Fees and Charges", "expense", False),
    ("Bad Debt", "expense", True),
    ("Office Supplies", "expense", False),
    ("Advertising And Marketing", "expense", False),
    ("IT and Internet Expenses", "expense", False),
    ("Rent Expense", "expense", False),
    ("Uncategorized", "expense", True),
    ("Exchange Gain or Loss", "other_expense", True),
    ("Cost of Goods Sold", "cost_of_goods_sold", True),
]

ACCOUNT_TYPES = {
    "other_asset", "other_current_asset", "cash", "bank", "fixed_asset", "other_current_liability",
    "credit_card", "long_term_liability", "other_liability", "equity", "income", "other_income",
    "expense", "cost_of_goods_sold", "other_expense", "accounts_receivable", "accounts_payable",
    "stock", "payment_clearing", "prepaid_card", "intangible_asset", "right_to_use_asset",
}

#: filter_by AccountType.X → predicate
_FILTERS = {
    "accounttype.all": lambda a: True,
    "accounttype.active": lambda a: a.is_active,
    "accounttype.inactive": lambda a: not a.is_active,
    "accounttype.asset": lambda a: a.account_type in {"other_asset", "other_current_asset", "cash", "bank",
                                                      "fixed_asset", "accounts_receivable", "stock",
                                                      "intangible_asset", "right_to_use_asset", "payment_clearing"},
    "accounttype.liability": lambda a: a.account_type in {"other_current_liability", "credit_card",
                                                          "long_term_liability", "other_liability",
                                                          "accounts_payable"},
    "accounttype.equity": lambda a: a.account_type == "equity",
    "accounttype.income": lambda a: a.account_type in {"income", "other_income"},
    "accounttype.expense": lambda a: a.account_type in {"expense", "cost_of_goods_sold", "other_expense"},
    "accounttype.bank": lambda a: a.account_type == "bank",
    "accounttype.cash": lambda a: a.account_type == "cash",
    "accounttype.creditcard": lambda a: a.account_type == "credit_card",
}


def create_default_accounts(sandbox: Sandbox, org: OrgData) -> None:
    """Give a new organisation Zoho's default chart of accounts (idempotent by name)."""
    with sandbox.lock:
        existing = {a.account_name for a in org.accounts.values()}
        for name, typ, system in DEFAULT_ACCOUNTS:
            if name in existing:
                continue
            acc = Account(account_id=sandbox.next_id(), account_name=name, account_type=typ,
                          currency_code=org.org.currency_code, is_system_account=system,
                          is_primary_account=name == "Business Checking")
            if name == "Business Checking":
                acc.account_number = "0000111122"
                acc.bank_name = "Sandbox Bank"
            sandbox.touch(acc)
            org.accounts[acc.account_id] = acc


def render(ctx: Ctx, a: Account) -> dict[str, Any]:
    return {
        "account_id": a.account_id,
        "account_name": a.account_name,
        "account_code": a.account_code,
        "account_type": a.account_type,
        "description": a.description,
        "is_user_created": a.is_user_created,
        "is_system_account": a.is_system_account,
        "is_standalone_account": False,
        "is_active": a.is_active,
        "can_show_in_ze": False,
        "is_involved_in_transaction": a.debit_balance != 0,
        "current_balance": a.display_balance,
        "currency_code": a.currency_code,
        "parent_account_id": a.parent_account_id,
        "parent_account_name": "",
        "depth": "",
        "has_attachment": False,
        "is_child_present": "",
        "child_count": "",
        "documents": [],
        "created_time": ts(ctx, a.created_time),
        "last_modified_time": ts(ctx, a.last_modified_time),
    }


def filter_accounts(ctx: Ctx, records: list[Account]) -> list[Account]:
    fb = (ctx.params.get("filter_by") or "AccountType.All").lower()
    if fb not in _FILTERS:
        raise errors.invalid_value("filter_by")
    out = [a for a in records if _FILTERS[fb](a)]
    since = modified_since(ctx)
    if since:
        out = [a for a in out if since(a)]
    return out


@route("GET", "/chartofaccounts", "chartofaccounts.list", "accountants")
def list_accounts(ctx: Ctx):
    assert ctx.org
    rows = filter_accounts(ctx, list(ctx.org.accounts.values()))
    return list_response(
        ctx, rows, key="chartofaccounts", report_name="Chart of Accounts",
        render=lambda a: render(ctx, a),
        sort_keys={"account_name": lambda a: a.account_name, "account_type": lambda a: a.account_type,
                   "account_code": lambda a: a.account_code, "last_modified_time": lambda a: a.last_modified_time,
                   "created_time": lambda a: a.created_time},
        default_sort="account_name", default_order="A", id_of=lambda a: a.account_id,
        applied_filter=ctx.params.get("filter_by") or "AccountType.All",
    )


@route("GET", "/chartofaccounts/{account_id}", "chartofaccounts.get", "accountants")
def get_account(ctx: Ctx):
    assert ctx.org
    acc = get_record(ctx.org.accounts, ctx.path_args["account_id"], "Account")
    return 200, ok(chart_of_account=render(ctx, acc))


def create_account_from_body(ctx: Ctx, body: dict[str, Any], *, default_type: str | None = None) -> Account:
    """Validate and create an account (shared with ``bankaccounts``)."""
    assert ctx.org
    name = as_str(require(body, "account_name"), "account_name", 100).strip()
    typ = as_str(body.get("account_type") or default_type, "account_type")
    if not typ:
        raise errors.missing_field("account_type")
    if typ not in ACCOUNT_TYPES:
        raise errors.invalid_value("account_type")
    with ctx.sandbox.lock:
        if any(a.account_name.lower() == name.lower() for a in ctx.org.accounts.values()):
            raise errors.already_exists(f'The account name "{name}"')
        parent = as_str(body.get("parent_account_id"), "parent_account_id")
        if parent and parent not in ctx.org.accounts:
            raise errors.invalid_value("parent_account_id")
        acc = Account(
            account_id=ctx.sandbox.next_id(), account_name=name, account_type=typ,
            account_code=as_str(body.get("account_code"), "account_code"),
            description=as_str(body.get("description"), "description"),
            currency_code=as_str(body.get("currency_code"), "currency_code") or ctx.org.org.currency_code,
            is_user_created=True, parent_account_id=parent,
            account_number=as_str(body.get("account_number"), "account_number"),
            bank_name=as_str(body.get("bank_name"), "bank_name"),
            routing_number=as_str(body.get("routing_number"), "routing_number"),
            is_primary_account=bool(body.get("is_primary_account", False)),
        )
        ctx.sandbox.touch(acc)
        ctx.org.accounts[acc.account_id] = acc
        ctx.sandbox.emit_change(ctx.org.organization_id, "chartofaccounts", "created", acc.account_id)
    return acc


@route("POST", "/chartofaccounts", "chartofaccounts.create", "accountants")
def create_account(ctx: Ctx):
    acc = create_account_from_body(ctx, ctx.body)
    return 201, ok("The account has been created.", chart_of_account=render(ctx, acc))
