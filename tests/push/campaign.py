"""The exactly-once fault campaign, shared by `tests/push/test_fault_campaign.py` and `bench/push_faults.py`.

Everything goes over the product's real wire: `drain_outbox` → `books_for(container,
connection_id)` → `ZohoBooks` (with the product's real rate limiter at Zoho's 100 calls a
minute, on the sandbox's clock) → `httpx.Client(transport=SandboxTransport(app))` → the
sandbox's ASGI app with its limits ON, whose guard injects the faults (seeded, per
organisation): connections dropped after Zoho applied a write and before a write reached it,
latency and latency longer than the client's read timeout (the write still lands, later),
bodies cut in half, 500/503 before the handler, 429 bursts and storms longer than the
connector's retries, and the grant revoked in Zoho (the partner then reconnects through the
real OAuth flow). On top of that: access tokens expiring (the sandbox clock jumps past their
lifetime), worker crashes at every named step of the engine (`Hooks`), and several threads
draining the same connection at once. Faults are counted when they FIRE, by the sandbox's
guard (`FaultInjector.fired`), not when drawn.

Rounds of platform activity (full, partial and multi-invoice payments, stand-alone deposits,
Zoho-side payments that make an allocation exceed the Zoho balance, ACH returns before and
after deposit, payouts) interleave with faulty drains. Then the faults stop, the outbox
drains, and `tests/push/oracle.py` judges Zoho's end state against the platform's ledger and
Zoho's state before the workload — never against anything the engine wrote back.
"""

from __future__ import annotations

import random
import threading
import time
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
from tests.push.oracle import Verdict, ZohoBefore, judge
from tests.push.world import World, build_world, sandbox_time_limiter
from zohobooks_sandbox.faults import FaultKind, FaultPlan, FaultRule

#: The client's read timeout in the campaign (settings.zoho_http_timeout_s): short, so a
#: "timeout" fault (latency longer than it) costs a fraction of a second, not 30 s.
READ_TIMEOUT_S = 0.25


def sandbox_fault_plan(seed: int) -> FaultPlan:
    """Per-call faults the sandbox draws with its seeded RNG (one draw per matching rule).

    Counted when they FIRE (the guard records it as it happens), under the rule's name.
    """
    return FaultPlan(seed=seed, rules=[
        FaultRule(kind=FaultKind.DROP_AFTER_WRITE, probability=0.08, methods=["write"]),
        FaultRule(kind=FaultKind.DROP_BEFORE_WRITE, probability=0.04, methods=["write"]),
        FaultRule(kind=FaultKind.LATENCY, probability=0.006, latency_seconds=READ_TIMEOUT_S * 2, name="timeout"),
        FaultRule(kind=FaultKind.LATENCY, probability=0.01, latency_seconds=READ_TIMEOUT_S / 10),
        FaultRule(kind=FaultKind.MALFORMED, probability=0.03),
        FaultRule(kind=FaultKind.SERVER_ERROR, probability=0.05, status=500),
        FaultRule(kind=FaultKind.SERVER_ERROR, probability=0.02, status=503),
        FaultRule(kind=FaultKind.RATE_LIMIT, probability=0.03, burst=2),
        FaultRule(kind=FaultKind.RATE_LIMIT, probability=0.008, burst=8, name="rate_limit_storm"),  # > the retries
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
    """What the campaign did (faults that fired, by kind) and the oracle's verdict."""

    faults_fired: int
    faults_by_kind: dict[str, int]
    kills: int  # worker processes killed with SIGKILL (process mode; 0 in-process)
    crashes: int  # in-process workers stopped at a named engine step (SimulatedCrash)
    drains: int
    stuck_intents: int  # intents neither done nor cancelled after the calm drains
    verdict: Verdict

    @property
    def problems(self) -> list[str]:
        return self.verdict.problems

    def as_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {"faults_fired": self.faults_fired, "faults_by_kind": dict(sorted(self.faults_by_kind.items())),
                "kills": self.kills, "crashes": self.crashes, "payments": v.payments, "payouts": v.payouts,
                "returns": v.returns, "duplicates": v.duplicates, "lost": v.lost, "wrong_amount": v.wrong_amount,
                "not_reversed": v.not_reversed, "balance_mismatches": v.balance_mismatches,
                "undeposited_mismatch": v.undeposited_mismatch, "bank_mismatch": v.bank_mismatch,
                "fees_mismatch": v.fees_mismatch, "stuck_intents": self.stuck_intents, "drains": self.drains}

    @property
    def clean(self) -> bool:
        return self.verdict.failures == 0 and self.stuck_intents == 0


class Workload:
    """The platform's activity and the Zoho user's, recording Zoho's state before each push.

    Every Zoho invoice the campaign creates is snapshotted (`ZohoBefore.invoice`) from the
    sandbox's memory right after it exists; a Zoho-side payment by the Zoho user (which makes
    the platform's later allocation exceed the invoice's Zoho balance: the documented cap) is
    made before that snapshot, and its effect on the accounts is booked as the user's.
    """

    def __init__(self, w: World, rng: random.Random) -> None:
        self.w, self.rng = w, rng
        conn = w.connection()
        self.before = ZohoBefore.start(w.org, undeposited=conn.undeposited_account_id or "",
                                       bank=conn.bank_account_id or "", fees=conn.fees_account_id or "")
        self.succeeded: list[tuple[str, str]] = []  # (payment id, method)

    def invoice(self, amount: Decimal, *, origin: str = "zoho", user_pays: Decimal | None = None) -> str:
        local = self.w.zoho_invoice(amount, origin=origin)
        if origin != "zoho":
            return local
        zid = self.w.zoho_id("invoice", local) or ""
        if user_pays is not None:
            with self.w.sandbox.lock:  # no product write lands between the two readings
                moved = self.before.balances(self.w.org)
                self.w.zoho("POST", "/customerpayments", {
                    "customer_id": self.w.customer_zoho_id, "payment_mode": "cash", "amount": str(user_pays),
                    "date": "2026-01-03", "reference_number": f"user-{local}",
                    "invoices": [{"invoice_id": zid, "amount_applied": str(user_pays)}]})
                self.before.user_moved(self.w.org, moved)
        self.before.invoice(self.w.org, local, zid)
        return local

    def round(self) -> None:
        rng, w, c = self.rng, self.w, self.w.container
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.12:
                total = Decimal(f"{rng.randint(5, 300)}.{rng.randint(0, 99):02d}")
                allocs = [(self.invoice(total, origin="platform"), total)]
            else:
                n = 2 if kind > 0.8 else 1
                allocs = []
                for _ in range(n):
                    total = Decimal(f"{rng.randint(20, 900)}.{rng.randint(0, 99):02d}")
                    if rng.random() < 0.06:
                        # The Zoho user already took part of it in Zoho; the platform, not told
                        # yet, collects the whole: Zoho applies what is left, the rest is credit.
                        inv = self.invoice(total, user_pays=(total * Decimal(rng.randint(10, 90)) / 100)
                                           .quantize(Decimal("0.01")))
                        allocs.append((inv, total))
                        continue
                    inv = self.invoice(total)
                    part = total if rng.random() < 0.6 else (total * Decimal(rng.randint(20, 90)) / 100).quantize(
                        Decimal("0.01"))
                    allocs.append((inv, part))
            method = "ach" if rng.random() < 0.4 else "card"
            p = pay_svc.pay_invoices(c, w.partner_id, method=method,
                                     allocations=[pay_svc.AllocationInput(i, a) for i, a in allocs])
            outcome = "failed" if rng.random() < 0.05 else "succeeded"
            pay_svc.settle(c, w.partner_id, p.id, outcome)
            if outcome == "succeeded":
                self.succeeded.append((p.id, method))
        if rng.random() < 0.25:
            try:
                payout_svc.create_payout(c, w.partner_id)
            except Exception:  # noqa: BLE001 - nothing eligible yet
                pass
        if rng.random() < 0.15:
            achs = [pid for pid, m in self.succeeded if m == "ach"]
            if achs:
                pid = rng.choice(achs)
                self.succeeded.remove((pid, "ach"))
                try:
                    pay_svc.settle(c, w.partner_id, pid, "failed", reason="R01")
                except Conflict:
                    pass


def campaign_limiter(sandbox: Any) -> Any:
    """The product's real limiter (Zoho's 100 calls a minute) on the sandbox's clock: its waits
    move Zoho's clock instead of sleeping, so pacing, 429 storms and the limiter meet for real
    at no cost in wall time (and tokens expire naturally as Zoho's hours pass)."""
    return sandbox_time_limiter(sandbox, per_minute=100, daily_limit=100_000_000)


def run_campaign(container: Any, app: Any, *, faults: int, seed: int, max_rounds: int = 100000) -> CampaignResult:
    """Rounds of activity and faulty drains until `faults` faults have FIRED, then calm, then the oracle."""
    rng = random.Random(seed)
    container.settings.zoho_http_timeout_s = READ_TIMEOUT_S
    sandbox = app.state.sandbox
    w = build_world(container, app, limits=True, limiter=campaign_limiter(sandbox))
    org_id = w.org.organization_id
    # Zoho's real per-minute limit (the limiter paces to it); the day is not under test here.
    sandbox.guard.set_limits(w.org, enabled=True, per_minute=100, daily=100_000_000, concurrency=10)
    work = Workload(w, rng)
    clock = FakeClock()
    # write_timeout_s = lease: writes here are synchronous and the clock only moves between drains.
    cfg = PushConfig(lease_seconds=30, write_timeout_s=30, backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0,
                     now=clock.now, rng=random.Random(seed))
    w.guard.faults.set_plan(org_id, sandbox_fault_plan(seed))
    ttl = float(w.sandbox.config.access_token_ttl)

    def books() -> Any:
        # The product's client of the connection; waits between retries are skipped (the
        # sandbox's minute is not what is under test here).
        return books_for(container, w.connection_id, sleep=lambda _s: None, max_attempts=4)

    hooks = CrashHooks(random.Random(seed + 1), 0.04)
    drains = 0
    rounds = 0

    def fired() -> int:
        return sum(w.guard.faults.fired(org_id).values()) + sum(hooks.crashes.values())

    def one_drain() -> None:
        try:
            drain_outbox(container, w.connection_id, open_books=books, hooks=hooks, cfg=cfg)
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

    def pass_time(seconds: float) -> None:
        # Engine time passes only once every request still in the sandbox has finished: a write
        # that outlived the client's timeout lands within `write_timeout_s`, as the engine assumes.
        wait_quiet(w)
        clock.advance(seconds)

    while fired() < faults and rounds < max_rounds:
        rounds += 1
        work.round()
        # --- faults: the grant revoked in Zoho (next call), access tokens expired (clock jump)
        fix_connection()
        if rng.random() < 0.04:
            w.guard.faults.add_script(org_id, [FaultRule(kind=FaultKind.TOKEN_REVOKED)])
        if rng.random() < 0.08:
            w.sandbox.clock.advance(ttl + 1)
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
            pass_time(cfg.lease_seconds + 1)  # crashed workers' leases expire
    # --- calm: no more faults, drain until the outbox is quiet
    by_kind = dict(w.guard.faults.fired(org_id)) | {f"crash:{k}": v for k, v in hooks.crashes.items()}
    total = fired()
    w.guard.faults.set_plan(org_id, None)
    hooks.rate = 0.0
    for _ in range(50):
        fix_connection()
        pass_time(cfg.write_timeout_s + 1)
        drain_outbox(container, w.connection_id, open_books=books, cfg=cfg)
        drains += 1
        if _open_intents(container) == 0:
            break
    wait_quiet(w)
    verdict = judge(container, w.org, w.partner_id, work.before)
    stuck = _stuck(container, verdict)
    return CampaignResult(total, by_kind, 0, sum(hooks.crashes.values()), drains, stuck, verdict)


def wait_quiet(w: World, timeout_s: float = 60.0) -> None:
    """Until the sandbox has no request of this organisation in progress (a delayed one lands)."""
    deadline = time.monotonic() + timeout_s
    while w.guard.limiter.in_flight(w.org.organization_id) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("a sandbox request never finished")
        time.sleep(0.01)


def _open_intents(container: Any) -> int:
    with container.uow() as uow:
        return len(uow.session.scalars(select(orm.PushIntent.id).where(
            orm.PushIntent.state.not_in(("done", "cancelled")))).all())


def _stuck(container: Any, verdict: Verdict) -> int:
    """Intents the calm drains could not finish (not a Zoho fact: reported apart from `lost`)."""
    with container.uow() as uow:
        rows = uow.session.execute(select(orm.PushIntent.key, orm.PushIntent.state, orm.PushIntent.last_error).where(
            orm.PushIntent.state.not_in(("done", "cancelled")))).all()
    verdict.problems += [f"stuck: {k} left {s}: {e}" for k, s, e in rows]
    return len(rows)
