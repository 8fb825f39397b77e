"""Account life cycle for chart-of-accounts and bank-account entries: mark active/inactive,
update name/code/description (and bank details), delete.

As Zoho: system accounts (Undeposited Funds, Accounts Receivable, …) cannot be deleted or
deactivated (1001); an account any transaction posts to cannot be deleted (1001, "mark it
inactive instead"); names stay unique (1070). The same handlers answer under
``/chartofaccounts`` (scope ``accountants``) and ``/bankaccounts`` (scope ``banking``, bank and
credit-card accounts only).
"""
from __future__ import annotations

from typing import Any

from .. import errors
from ..state import Account
from .bankaccounts import BANK_TYPES
from .bankaccounts import render as render_bank
from .chartofaccounts import render as render_chart
from .common import as_str, get_record, ok
from .registry import Ctx, route


def _account(ctx: Ctx, bank: bool) -> Account:
    assert ctx.org
    acc = get_record(ctx.org.accounts, ctx.path_args["account_id"], "Account")
    if bank and acc.account_type not in BANK_TYPES:
        raise errors.not_found("Account")
    return acc


def _in_use(ctx: Ctx, acc: Account) -> bool:
    assert ctx.org
    org = ctx.org
    if acc.debit_balance != 0:
        return True
    return any(a == acc.account_id
               for coll in (org.invoices, org.payments, org.creditnotes, org.bank_transactions)
               for rec in coll.values() for a, _ in org.postings_of(rec))


def _set_active(ctx: Ctx, bank: bool, active: bool) -> tuple[int, dict[str, Any]]:
    assert ctx.org
    with ctx.sandbox.lock:
        acc = _account(ctx, bank)
        if not active and acc.is_system_account:
            raise errors.bad_state(f"The system account {acc.account_name} cannot be marked as inactive.")
        if acc.is_active != active:
            acc.is_active = active
            ctx.sandbox.touch(acc)
            ctx.sandbox.emit_change(ctx.org.organization_id, "chartofaccounts", "updated", acc.account_id)
    return 201, ok(f"The account has been marked as {'active' if active else 'inactive'}.")  # Zoho documents 201


def _update(ctx: Ctx, bank: bool) -> tuple[int, dict[str, Any]]:
    org = ctx.org
    assert org
    body = ctx.body
    with ctx.sandbox.lock:
        acc = _account(ctx, bank)
        name = as_str(body.get("account_name", acc.account_name), "account_name", 100).strip()
        if not name:
            raise errors.missing_field("account_name")
        if any(a.account_name.lower() == name.lower() and a.account_id != acc.account_id for a in org.accounts.values()):
            raise errors.already_exists(f'The account name "{name}"')
        if acc.is_system_account and name != acc.account_name:
            raise errors.bad_state(f"The system account {acc.account_name} cannot be renamed.")
        if "account_type" in body and body["account_type"] != acc.account_type:
            raise errors.bad_state("The type of an existing account cannot be changed through the API.")
        acc.account_name = name
        for f in ("account_code", "description", "account_number", "bank_name", "routing_number"):
            if f in body:
                setattr(acc, f, as_str(body[f], f))
        ctx.sandbox.touch(acc)
        ctx.sandbox.emit_change(org.organization_id, "chartofaccounts", "updated", acc.account_id)
    if bank:
        return 200, ok("The account details have been updated.", bankaccount=render_bank(ctx, acc))
    return 200, ok("The account details have been updated.", chart_of_account=render_chart(ctx, acc))


def _delete(ctx: Ctx, bank: bool) -> tuple[int, dict[str, Any]]:
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        acc = _account(ctx, bank)
        if acc.is_system_account:
            raise errors.bad_state(f"The system account {acc.account_name} cannot be deleted.")
        if _in_use(ctx, acc):
            raise errors.bad_state("The account has transactions and cannot be deleted. Mark it as inactive instead.")
        del org.accounts[acc.account_id]
        ctx.sandbox.emit_change(org.organization_id, "chartofaccounts", "deleted", acc.account_id)
    return 200, ok("The account has been deleted.")


for _bank, _base, _scope, _mod in ((False, "/chartofaccounts", "accountants", "chartofaccounts"),
                                   (True, "/bankaccounts", "banking", "bankaccounts")):
    route("POST", _base + "/{account_id}/active", f"{_mod}.active", _scope, "update")(
        lambda ctx, b=_bank: _set_active(ctx, b, True))
    route("POST", _base + "/{account_id}/inactive", f"{_mod}.inactive", _scope, "update")(
        lambda ctx, b=_bank: _set_active(ctx, b, False))
    route("PUT", _base + "/{account_id}", f"{_mod}.update", _scope)(lambda ctx, b=_bank: _update(ctx, b))
    route("DELETE", _base + "/{account_id}", f"{_mod}.delete", _scope)(lambda ctx, b=_bank: _delete(ctx, b))
