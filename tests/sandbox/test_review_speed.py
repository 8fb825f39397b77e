"""Review fixes for big organisations: the generator's shortcuts stay exact, lists stay ordered.

The generator builds records through ``__dict__`` and caches invoice totals it already knows;
lists sort with two stable passes and plain keys; contacts compute receivables per page. Each
shortcut is checked here against the slow, obvious computation it replaces.
"""
from __future__ import annotations

import gc
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from zohobooks_sandbox.admin import act
from zohobooks_sandbox.books.common import _sortable, sort_records
from zohobooks_sandbox.books.contacts import customer_receivables, receivables
from zohobooks_sandbox.clock import Clock
from zohobooks_sandbox.config import SandboxConfig
from zohobooks_sandbox.generator import generate
from zohobooks_sandbox.state import Sandbox

ORG = "700000019"


def _generated(invoices: int = 1500, seed: int = 11) -> Sandbox:
    sb = Sandbox(SandboxConfig(manual_clock=True, demo=False))
    sb.clock = Clock(manual=True, start=datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc))
    generate(sb, ORG, customers=60, invoices=invoices, years=2, seed=seed)
    return sb


def test_cached_totals_equal_a_recomputation_and_records_are_complete() -> None:
    org = _generated().orgs[ORG]
    for inv in org.invoices.values():
        cached = inv.__dict__["_totals"]
        inv.invalidate_totals()
        assert (inv.sub_total, inv.tax_total, inv.discount_amount, inv.total) == cached
        assert inv.total == sum((li.item_total + li.tax_amount for li in inv.line_items), Decimal("0"))
        # every dataclass field exists (built via __dict__, not __init__)
        for name in ("discount", "adjustment", "notes", "custom_fields", "write_off_amount", "is_viewed_by_client"):
            assert name in inv.__dict__
        assert inv.custom_fields == [] and inv.custom_fields is not org.invoices  # fresh list per record
    for p in org.payments.values():
        assert p.refunds == [] and p.custom_fields == [] and p.applied_amount == p.amount
        assert p.invoices[0].invoice_payment_id
    # a mutable default is never shared between two records
    a, b = list(org.invoices.values())[:2]
    assert a.custom_fields is not b.custom_fields


def test_generator_is_still_deterministic_and_freezes_the_bulk_load() -> None:
    one, two = _generated(800, seed=3).orgs[ORG], _generated(800, seed=3).orgs[ORG]
    assert list(one.invoices) == list(two.invoices)
    assert [(i.total, i.balance, i.last_modified_time) for i in one.invoices.values()] == \
           [(i.total, i.balance, i.last_modified_time) for i in two.invoices.values()]
    assert gc.get_freeze_count() > 0  # the load is out of the collector's way


def test_sort_records_matches_the_tuple_sort_it_replaces() -> None:
    rng = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)

    class Rec:
        def __init__(self, i: int) -> None:
            self.id = str(460000000000000 + rng.randrange(10**6))
            self.when = base + timedelta(seconds=rng.randrange(50), microseconds=rng.randrange(3))
            self.day = date(2025, 1, 1) + timedelta(days=rng.randrange(5))
            self.name = rng.choice(["alpha", "Alpha", "beta", "Gamma", ""])
            self.amount = Decimal(rng.randrange(5)) / 4
            self.maybe = rng.choice([None, "x", "Y"])

    records = [Rec(i) for i in range(600)]
    for attr in ("when", "day", "name", "amount", "maybe"):
        for descending in (False, True):
            got = sort_records(records, lambda r, a=attr: getattr(r, a), lambda r: r.id, descending=descending)
            want = sorted(records, key=lambda r, a=attr: (_sortable(getattr(r, a)), int(r.id)), reverse=descending)
            assert [r.id for r in got] == [r.id for r in want], (attr, descending)


def test_contact_rows_receivables_equal_the_full_pass() -> None:
    sb = _generated()
    org = sb.orgs[ORG]
    outstanding, unused = receivables(org)
    for cid in org.contacts:
        assert customer_receivables(org, cid) == (outstanding.get(cid, Decimal("0")), unused.get(cid, Decimal("0")))
    status, body = act(sb, org, "GET", "/contacts", params={"per_page": "200"})
    assert status == 200
    for row in body["contacts"]:
        assert row["outstanding_receivable_amount"] == outstanding.get(row["contact_id"], Decimal("0"))
    by_outstanding = {"sort_column": "outstanding_receivable_amount", "sort_order": "D"}
    status, by_amount = act(sb, org, "GET", "/contacts", params=by_outstanding)
    amounts = [r["outstanding_receivable_amount"] for r in by_amount["contacts"]]
    assert amounts == sorted(amounts, reverse=True)
    status, unpaid = act(sb, org, "GET", "/contacts", params={"filter_by": "Status.Unpaid"})
    assert all(r["outstanding_receivable_amount"] > 0 for r in unpaid["contacts"])


def _balances(org) -> dict[str, Decimal]:
    return {a.account_id: a.debit_balance for a in org.accounts.values()}


def test_changing_bulk_loaded_records_keeps_balances_exact() -> None:
    """Generated records are posted in aggregate; unposting one recomputes its postings."""
    sb = _generated(600, seed=4)
    org = sb.orgs[ORG]
    today = sb.clock.today(org.org.time_zone)
    payments = list(org.payments.values())
    for p in payments[:5]:
        assert act(sb, org, "DELETE", f"/customerpayments/{p.payment_id}")[0] == 200
    open_invoices = [i for i in org.invoices.values() if i.status_on(today) in ("sent", "overdue")
                     and not i.payment_made and not i.credits_applied]
    act(sb, org, "POST", f"/invoices/{open_invoices[0].invoice_id}/status/void")
    act(sb, org, "DELETE", f"/invoices/{open_invoices[1].invoice_id}")
    act(sb, org, "PUT", f"/invoices/{open_invoices[2].invoice_id}",
        body={"line_items": [{"name": "Changed", "rate": "123.45"}]})
    act(sb, org, "POST", f"/invoices/{open_invoices[3].invoice_id}/writeoff")
    note = next(iter(org.creditnotes.values()))
    app_id = note.applications[0].creditnote_invoice_id
    act(sb, org, "DELETE", f"/creditnotes/{note.creditnote_id}/invoices/{app_id}")
    act(sb, org, "DELETE", f"/creditnotes/{note.creditnote_id}")
    # the same change twice (post after post) must not double-count
    act(sb, org, "PUT", f"/invoices/{open_invoices[2].invoice_id}", body={"notes": "again"})
    incremental = _balances(org)
    org.recompute_balances()
    assert incremental == _balances(org)
