"""The data generator: counts, Zoho-consistent balances, determinism by seed, speed."""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal

from zohobooks_sandbox.clock import Clock
from zohobooks_sandbox.config import SandboxConfig
from zohobooks_sandbox.generator import generate
from zohobooks_sandbox.state import Sandbox

ORG = "700000009"


def _sandbox() -> Sandbox:
    sb = Sandbox(SandboxConfig(manual_clock=True, demo=False))
    sb.clock = Clock(manual=True, start=datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc))
    return sb


def test_counts_and_every_outcome_present() -> None:
    sb = _sandbox()
    result = generate(sb, ORG, customers=40, invoices=600, years=3, seed=5)
    org = sb.orgs[ORG]
    assert result.customers == len(org.contacts) == 40
    assert result.invoices == len(org.invoices) == 600
    assert result.deleted_invoices > 0  # numbers skipped, records absent
    numbers = sorted(int(i.invoice_number[4:]) for i in org.invoices.values())
    assert len(numbers) == 600 and numbers[-1] == 600 + result.deleted_invoices
    today = sb.clock.today(org.org.time_zone)
    statuses = Counter(i.status_on(today) for i in org.invoices.values())
    for status in ("paid", "partially_paid", "overdue", "void", "draft"):
        assert statuses[status] > 0, statuses
    assert any(i.write_off_amount > 0 for i in org.invoices.values())
    assert any(i.credits_applied > 0 for i in org.invoices.values())
    assert org.creditnotes and org.payments


def test_balances_consistent_with_payments_and_credits() -> None:
    sb = _sandbox()
    generate(sb, ORG, customers=30, invoices=500, years=2, seed=11)
    org = sb.orgs[ORG]
    paid: Counter[str] = Counter()
    credited: Counter[str] = Counter()
    for p in org.payments.values():
        assert p.amount == p.applied_amount and p.amount > 0
        assert p.customer_id == org.invoices[p.invoices[0].invoice_id].customer_id
        for a in p.invoices:
            paid[a.invoice_id] += a.amount_applied
    for n in org.creditnotes.values():
        assert n.balance == 0 and n.status == "closed"
        for a in n.applications:
            credited[a.invoice_id] += a.amount_applied
    now = sb.now()
    for inv in org.invoices.values():
        assert inv.payment_made == paid.get(inv.invoice_id, Decimal(0))
        assert inv.credits_applied == credited.get(inv.invoice_id, Decimal(0))
        expected = inv.total - inv.payment_made - inv.credits_applied - inv.write_off_amount
        assert inv.balance == (Decimal(0) if inv.base_status == "void" else expected)
        assert inv.balance >= 0
        assert isinstance(inv.balance, Decimal) and inv.balance == inv.balance.quantize(Decimal("0.01"))
        if inv.base_status in ("void", "draft"):
            assert inv.payment_made == inv.credits_applied == 0
        assert 1 <= len(inv.line_items) <= 5
        assert inv.created_time <= inv.last_modified_time <= now
    # the fast ledger posts exactly what a full rebuild posts
    before = {a.account_id: a.debit_balance for a in org.accounts.values()}
    org.recompute_balances()
    assert before == {a.account_id: a.debit_balance for a in org.accounts.values()}
    ar = org.system_account("Accounts Receivable").display_balance
    assert ar == sum((i.balance for i in org.invoices.values() if i.base_status == "sent"), Decimal(0))


def test_deterministic_by_seed() -> None:
    def snapshot(seed: int) -> list[tuple]:
        sb = _sandbox()
        generate(sb, ORG, customers=20, invoices=200, years=2, seed=seed)
        org = sb.orgs[ORG]
        return [(i.invoice_id, i.invoice_number, i.customer_id, i.total, i.balance, i.date,
                 i.last_modified_time) for i in org.invoices.values()]

    assert snapshot(3) == snapshot(3)
    assert snapshot(3) != snapshot(4)


def test_ten_thousand_invoices_quickly() -> None:
    sb = _sandbox()
    started = time.perf_counter()
    result = generate(sb, ORG, customers=300, invoices=10_000, years=3, seed=1)
    elapsed = time.perf_counter() - started
    assert result.invoices == 10_000
    assert elapsed < 10, elapsed  # ~1 s on a laptop; generous for loaded CI machines
