"""The fault campaign can fail: three bugs planted in the product make its oracle say so.

Each bug is planted with `monkeypatch` at a named, stable seam — the pure rules
(`domain/push_rules.py`), the look-up the engine owes before re-sending an uncertain write
(`zoho_writes.find_existing`) — and wherever the push package imported that name, so the plant
follows the seam if the engine is reorganised. A small campaign then runs and must NOT come out
clean, with the failure showing in the measure that catches that bug (not just anywhere):

* over-application — every payment pays off the invoices' whole Zoho balance instead of its
  allocation (the bug the old check, comparing with the balance the engine itself wrote back,
  did not see): wrong amounts, invoice balances and Undeposited Funds;
* a skipped look-up — after an unknown outcome the write is re-sent blind: duplicates;
* a lost reversal — an ACH return is marked done without touching Zoho: not reversed.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

import pytest

from ledgersync.domain import push_rules as rules
from ledgersync.sync.push import zoho_writes
from tests.push.campaign import run_campaign

SEED = 7
FAULTS = 120


def plant(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, bug: Callable[..., Any]) -> None:
    """Replace `owner.name` and every alias of it in the push package's modules."""
    original = getattr(owner, name)
    monkeypatch.setattr(owner, name, bug)
    for modname, module in list(sys.modules.items()):
        if modname.startswith(("ledgersync.sync.push", "ledgersync.domain")) and getattr(module, name, None) is original:
            monkeypatch.setattr(module, name, bug)


def test_campaign_is_clean_without_a_plant(container, sandbox_app) -> None:
    """The control: the same small campaign with nothing planted is clean."""
    result = run_campaign(container, sandbox_app, faults=FAULTS, seed=SEED)
    assert result.clean, result.problems[:10]


def test_over_application_fails_the_campaign(container, sandbox_app, monkeypatch) -> None:
    real = rules.plan_payment

    def pays_whole_balance(facts: rules.PaymentFacts, accounts: rules.Accounts) -> rules.PaymentPlan:
        invs = tuple(dataclasses.replace(i, allocated=i.zoho_balance) if i.zoho_balance else i for i in facts.invoices)
        amount = sum((i.allocated for i in invs), rules.ZERO)
        return real(dataclasses.replace(facts, invoices=invs, amount=amount), accounts)

    plant(monkeypatch, rules, "plan_payment", pays_whole_balance)
    result = run_campaign(container, sandbox_app, faults=FAULTS, seed=SEED)
    r = result.as_dict()
    assert not result.clean
    assert r["wrong_amount"] > 0 and r["balance_mismatches"] > 0 and r["undeposited_mismatch"] != 0, r


def test_skipped_lookup_before_retry_fails_the_campaign(container, sandbox_app, monkeypatch) -> None:
    plant(monkeypatch, zoho_writes, "find_existing", lambda books, write: (False, None))
    result = run_campaign(container, sandbox_app, faults=FAULTS, seed=SEED)
    r = result.as_dict()
    assert not result.clean
    assert r["duplicates"] > 0, r


def test_lost_reversal_fails_the_campaign(container, sandbox_app, monkeypatch) -> None:
    plant(monkeypatch, rules, "plan_reversal", lambda *a, **k: ())
    result = run_campaign(container, sandbox_app, faults=FAULTS, seed=SEED)
    r = result.as_dict()
    assert not result.clean
    assert r["not_reversed"] > 0, r
