"""Bank accounts (scope ``banking``): the chart-of-accounts entries of type bank/credit card
(Undeposited Funds and Petty Cash are cash accounts and do not appear here, as in Zoho)."""
from __future__ import annotations

from typing import Any

from .. import errors
from ..state import Account
from .chartofaccounts import create_account_from_body
from .common import get_record, list_response, ok
from .registry import Ctx, route

BANK_TYPES = ("bank", "credit_card")


def render(ctx: Ctx, a: Account) -> dict[str, Any]:
    return {
        "account_id": a.account_id,
        "account_name": a.account_name,
        "account_code": a.account_code,
        "currency_id": "",
        "currency_code": a.currency_code,
        "currency_symbol": "$" if a.currency_code == "USD" else ("€" if a.currency_code == "EUR" else a.currency_code),
        "price_precision": 2,
        "account_type": a.account_type,
        "account_number": a.account_number,
        "uncategorized_transactions": 0,
        "total_unprinted_checks": 0,
        "is_active": a.is_active,
        "is_feeds_subscribed": False,
        "is_feeds_active": False,
        "balance": a.display_balance,
        "bank_balance": a.display_balance,
        "bcy_balance": a.display_balance,
        "bank_name": a.bank_name,
        "routing_number": a.routing_number,
        "is_primary_account": a.is_primary_account,
        "is_paypal_account": False,
        "description": a.description,
        "is_system_account": a.is_system_account,
    }


_FILTERS = {"status.all": lambda a: True, "status.active": lambda a: a.is_active,
            "status.inactive": lambda a: not a.is_active}


@route("GET", "/bankaccounts", "bankaccounts.list", "banking")
def list_bank_accounts(ctx: Ctx):
    assert ctx.org
    fb = (ctx.params.get("filter_by") or "Status.All").lower()
    if fb not in _FILTERS:
        raise errors.invalid_value("filter_by")
    rows = [a for a in ctx.org.accounts.values() if a.account_type in BANK_TYPES and _FILTERS[fb](a)]
    return list_response(
        ctx, rows, key="bankaccounts", report_name="Bank Accounts", render=lambda a: render(ctx, a),
        sort_keys={"account_name": lambda a: a.account_name, "account_type": lambda a: a.account_type,
                   "account_code": lambda a: a.account_code},
        default_sort="account_name", default_order="A", id_of=lambda a: a.account_id,
    )


@route("GET", "/bankaccounts/{account_id}", "bankaccounts.get", "banking")
def get_bank_account(ctx: Ctx):
    assert ctx.org
    acc = get_record(ctx.org.accounts, ctx.path_args["account_id"], "Account")
    if acc.account_type not in BANK_TYPES:
        raise errors.not_found("Account")
    return 200, ok(bankaccount=render(ctx, acc))


@route("POST", "/bankaccounts", "bankaccounts.create", "banking")
def create_bank_account(ctx: Ctx):
    body = dict(ctx.body)
    if body.get("account_type") not in (None, "", *BANK_TYPES):
        raise errors.invalid_value("account_type")
    acc = create_account_from_body(ctx, body, default_type="bank")
    return 201, ok("The account has been created.", bankaccount=render(ctx, acc))
