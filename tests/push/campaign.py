"""The exactly-once fault campaign, shared by `tests/push/test_fault_campaign.py` and `bench/push_faults.py`.

Everything goes over the product's real wire: `drain_outbox` → `books_for(container,
connection_id)` → `ZohoBooks` → `httpx.Client(transport=SandboxTransport(app))` → the sandbox's
ASGI app, whose guard injects the faults (seeded, per organisation): responses dropped after
Zoho applied the write ("accepted then connection dropped"), bodies cut in half after the write,
500/503 before the handler, 429 bursts (short ones the connector rides out, storms longer than
its retries), and the grant revoked in Zoho (the partner then reconnects through the real OAuth
flow). On top of that: access tokens expiring (the sandbox clock jumps past their lifetime),
worker crashes at every named step of the engine (`Hooks`), and several threads draining the
same connection at once.

Rounds of platform activity (full, partial and multi-invoice payments, stand-alone deposits,
ACH returns before and after deposit, payouts) interleave with faulty drains. Then the faults
stop, the outbox drains, and both sides are reconciled record by record.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ledgersync.services import payments as pay_svc
from ledgersync.services import payouts as payout_svc
from ledgersync.services.errors import Conflict, ServiceError
from ledgersync.store import orm
from ledgersync.sync.books_factory import books_for
from ledgersync.sync.push import Hooks, PushConfig, SimulatedCrash, drain_outbox
from ledgersync.zoho.errors import ZohoError
from tests.push.world import World, build_world
from zohobooks_sandbox.faults import FaultKind, FaultPlan, FaultRule


def sandbox_fault_plan(seed: int) -> FaultPlan:
    """Per-call faults the sandbox draws with its seeded RNG (one draw per matching rule)."""
    return FaultPlan(seed=seed, rules=[
        FaultRule(kind=FaultKind.DROP_AFTER_WRITE, probability=0.10, methods=["write"]),
        FaultRule(kind=FaultKind.MALFORMED, probability=0.03),
        FaultRule(kind=FaultKind.SERVER_ERROR, probability=0.05, status=500),
        FaultRule(kind=FaultKind.SERVER_ERROR, probability=0.02, status=503),
        FaultRule(kind=FaultKind.RATE_LIMIT, probability=0.03, burst=2),
        FaultRule(kind=FaultKind.RATE_LIMIT, probability=0.008, burst=8),  # a storm longer than the retries
    ])


class FakeClock:
    """Engine time that only moves forward; jumping past a lease lets a crashed intent be reclaimed."""

    def __init__(self) -> None:
        self._t = datetime.now(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            real = datetime.now(timezone.utc)
            self._t = max(self._t, real)
            return self._t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t = max(self._t, datetime.now(timezone.utc)) + timedelta(seconds=seconds)


class CrashHooks(Hooks):
    def __init__(self, rng: random.Random, rate: float) -> None:
        self.rng, self.rate = rng, rate
        self.crashes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def at(self, point: str, intent_key: str) -> None:
        with self._lock:
            hit = self.rate > 0 and self.rng.random() < self.rate
            if hit:
                self.crashes[point] += 1
        if hit:
            raise SimulatedCrash(f"crash at {point} for {intent_key}")


@dataclass
class CampaignResult:
    faults: int
    payments: int
    deposits: int
    reversals: int
    duplicates: int
    lost: int
    balance_mismatches: int
    drains: int
    by_fault: dict[str, int]
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "problems"} | {"problems": self.problems[:20]}


def run_campaign(container: Any, app: Any, *, faults: int, seed: int, max_rounds: int = 100000) -> CampaignResult:
    rng = random.Random(seed)
    w = build_world(container, app)
    org_id = w.org.organization_id
    clock = FakeClock()
    # write_timeout_s = lease: writes here are synchronous and the clock only moves between drains.
    cfg = PushConfig(lease_seconds=30, write_timeout_s=30, backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0,
                     now=clock.now, rng=random.Random(seed))
    w.guard.faults.set_plan(org_id, sandbox_fault_plan(seed))
    extra: Counter[str] = Counter()  # faults the campaign provokes itself (revocations, expiries)
    ttl = float(w.sandbox.config.access_token_ttl)

    def books() -> Any:
        # The product's client of the connection; waits between retries are skipped (the
        # sandbox's minute is not what is under test here).
        return books_for(container, w.connection_id, sleep=lambda _s: None, max_attempts=4)

    hooks = CrashHooks(random.Random(seed + 1), 0.04)
    invoices: dict[str, Decimal] = {}
    succeeded: list[tuple[str, str]] = []  # (payment id, method)
    drains = 0
    rounds = 0

    def injected() -> int:
        return sum(w.guard.faults.injected(org_id).values()) + sum(hooks.crashes.values()) + sum(extra.values())

    def one_drain() -> None:
        try:
            drain_outbox(container, w.connection_id, books=books, hooks=hooks, cfg=cfg)
        except SimulatedCrash:
            pass

    def fix_connection() -> None:
        # The partner re-authorises; waiting pushes go out on the next drain. The connect flow
        # meets the same injected faults (429 storms, 5xx): the partner simply clicks again.
        for _ in range(20):
            if w.connection().status != "reauth_required":
                return
            try:
                w.reconnect()
            except (ZohoError, ServiceError):
                continue

    while injected() < faults and rounds < max_rounds:
        rounds += 1
        # --- platform activity
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.12:
                inv = w.zoho_invoice(f"{rng.randint(5, 300)}.{rng.randint(0, 99):02d}", origin="platform")
                allocs = [(inv, _amount(container, inv))]
            else:
                n = 2 if kind > 0.8 else 1
                allocs = []
                for _ in range(n):
                    inv = w.zoho_invoice(f"{rng.randint(20, 900)}.{rng.randint(0, 99):02d}")
                    total = _amount(container, inv)
                    part = total if rng.random() < 0.6 else (total * Decimal(rng.randint(20, 90)) / 100).quantize(Decimal("0.01"))
                    allocs.append((inv, part))
            method = "ach" if rng.random() < 0.4 else "card"
            p = pay_svc.pay_invoices(container, w.partner_id, method=method,
                                     allocations=[pay_svc.AllocationInput(i, a) for i, a in allocs])
            outcome = "failed" if rng.random() < 0.05 else "succeeded"
            pay_svc.settle(container, w.partner_id, p.id, outcome)
            if outcome == "succeeded":
                succeeded.append((p.id, method))
        if rng.random() < 0.25:
            try:
                payout_svc.create_payout(container, w.partner_id)
            except Exception:  # noqa: BLE001 - nothing eligible yet
                pass
        if rng.random() < 0.15:
            achs = [pid for pid, m in succeeded if m == "ach"]
            if achs:
                pid = rng.choice(achs)
                succeeded.remove((pid, "ach"))
                try:
                    pay_svc.settle(container, w.partner_id, pid, "failed", reason="R01")
                except Conflict:
                    pass
        # --- faults: the grant revoked in Zoho (next call), access tokens expired (clock jump)
        fix_connection()
        if rng.random() < 0.04:
            w.guard.faults.add_script(org_id, [FaultRule(kind=FaultKind.TOKEN_REVOKED)])
        if rng.random() < 0.08:
            w.sandbox.clock.advance(ttl + 1)
            extra["token_expired"] += 1
        # --- drains, sometimes concurrent
        if rng.random() < 0.3:
            threads = [threading.Thread(target=one_drain) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            drains += 3
        else:
            one_drain()
            drains += 1
        if rng.random() < 0.5:
            clock.advance(cfg.lease_seconds + 1)  # crashed workers' leases expire
    # --- calm: no more faults, drain until the outbox is quiet
    by_fault = dict(w.guard.faults.injected(org_id)) | dict(extra)
    total = injected()
    w.guard.faults.set_plan(org_id, None)
    hooks.rate = 0.0
    for _ in range(50):
        fix_connection()
        clock.advance(cfg.lease_seconds + 1)
        drain_outbox(container, w.connection_id, books=books, cfg=cfg)
        drains += 1
        if _open_intents(container) == 0:
            break
    return _reconcile(w, total, drains, by_fault | {f"crash:{k}": v for k, v in hooks.crashes.items()})


def _amount(container: Any, inv_id: str) -> Decimal:
    with container.uow() as uow:
        return uow.session.get(orm.Invoice, inv_id).outstanding


def _open_intents(container: Any) -> int:
    with container.uow() as uow:
        return len(uow.session.scalars(select(orm.PushIntent.id).where(
            orm.PushIntent.state.not_in(("done", "cancelled")))).all())


def _reconcile(w: World, faults: int, drains: int, by_fault: dict[str, int]) -> CampaignResult:
    """Both sides, record by record: duplicates, lost pushes, balance differences."""
    org = w.org
    problems: list[str] = []
    refs = Counter(p.reference_number for p in org.payments.values())
    refs.update(t.reference_number for t in org.bank_transactions.values())
    duplicates = sum(c - 1 for r, c in refs.items() if r.startswith("ls:") and c > 1)
    if duplicates:
        problems += [f"duplicate {r}" for r, c in refs.items() if c > 1]
    pay_by_ref = {p.reference_number: p for p in org.payments.values()}
    txn_by_ref = {t.reference_number: t for t in org.bank_transactions.values()}
    lost = 0
    payments = deposits = reversals = 0
    with w.container.uow() as uow:
        s = uow.session
        for it in s.scalars(select(orm.PushIntent)).all():
            if it.state not in ("done", "cancelled"):
                lost += 1
                problems.append(f"{it.key} left {it.state}: {it.last_error}")
        for p in s.scalars(select(orm.Payment).where(orm.Payment.partner_id == w.partner_id)).all():
            ref = f"ls:pay:{p.id}"
            in_zoho = ref in pay_by_ref or ref in txn_by_ref
            if p.status == "succeeded":
                if not in_zoho:
                    lost += 1
                    problems.append(f"payment {p.id} missing in Zoho")
                else:
                    payments += 1
            elif p.status == "failed" and in_zoho:
                zp = pay_by_ref.get(ref)
                if zp is not None and not (zp.refunded_amount == zp.amount and not zp.invoices):
                    lost += 1
                    problems.append(f"failed payment {p.id} still live in Zoho")
                elif zp is None:
                    lost += 1
                    problems.append(f"failed stand-alone payment {p.id} still in Zoho")
                else:
                    reversals += 1
            elif p.status == "failed":
                reversals += 1
        for po in s.scalars(select(orm.Payout).where(orm.Payout.partner_id == w.partner_id)).all():
            t = txn_by_ref.get(f"ls:payout:{po.id}")
            if t is None or t.amount != po.net:
                lost += 1
                problems.append(f"payout {po.id} transfer missing or wrong")
            else:
                deposits += 1
        mismatches = 0
        for inv, ref in s.execute(select(orm.Invoice, orm.ExternalRef).join(
                orm.ExternalRef, (orm.ExternalRef.local_id == orm.Invoice.id) & (orm.ExternalRef.entity == "invoice"))
                .where(orm.Invoice.partner_id == w.partner_id)).all():
            zinv = org.invoices[ref.zoho_id]
            if zinv.balance != inv.outstanding:
                mismatches += 1
                problems.append(f"invoice {inv.id}: platform {inv.outstanding} vs Zoho {zinv.balance}")
        payouts = s.scalars(select(orm.Payout).where(orm.Payout.partner_id == w.partner_id)).all()
        refunds = sum((r.amount for p in org.payments.values() for r in p.refunds), Decimal("0"))
        returns = sum((t.amount for t in org.bank_transactions.values()
                       if t.reference_number.startswith("ls:rev:")), Decimal("0"))
        bank = org.accounts[w.connection().bank_account_id or ""].debit_balance
        expected_bank = sum((po.net for po in payouts), Decimal("0")) - refunds - returns
        if bank != expected_bank:
            mismatches += 1
            problems.append(f"bank {bank} != payouts net - returns {expected_bank}")
    return CampaignResult(faults, payments, deposits, reversals, duplicates, lost, mismatches, drains, by_fault, problems)
