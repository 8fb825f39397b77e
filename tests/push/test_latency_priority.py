"""Pushes beat backfills in an organisation's API budget — deterministic, on a fake clock.

A discrete-event simulation of the bench's hard case (`bench/push_latency.py --during-backfill`):
a saturating backfill (it asks for a call as soon as its previous one answered), a payment push
every 2 s, and Zoho's own limiter (the sandbox's `zohobooks_sandbox.limits.RateLimiter`: fixed
100-call window opened by the first call) answering every call and sending the
`X-Rate-Limit-*` headers the connector's limiter observes. Nothing sleeps: each actor acts at
the fake time the limiter's decision names. Both limiter backends (memory, real Redis at
127.0.0.1:6379) run the same scenarios through the same public methods
(`try_acquire` / `observe` / `release`).
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from dataclasses import dataclass, field

import pytest

from ledgersync.zoho.ratelimit import DEFAULT_RESERVES, LENT_FLOOR, MemoryRateLimiter, RedisRateLimiter, reserves_for
from tests.services import redis_or_skip
from zohobooks_sandbox.limits import OrgLimits
from zohobooks_sandbox.limits import RateLimiter as ZohoLimits

ORG = "700000123"
CALL_LATENCY_S = 0.05  # an in-process sandbox answers fast: the backfill can burst hard


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now




@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.celery)])
def make_limiter(request):
    def build(clock: FakeClock, **kw):
        if request.param == "memory":
            return MemoryRateLimiter(clock=clock, sleep=_no_sleep, **kw)
        return RedisRateLimiter(redis_or_skip(), key_prefix=f"test:lat:{uuid.uuid4().hex}", clock=clock, sleep=_no_sleep,
                                **kw)
    return build


def _no_sleep(seconds: float) -> None:  # pragma: no cover - the simulation never blocks
    raise AssertionError("the simulation must not block")


@dataclass
class Outcome:
    push_latencies: list[float] = field(default_factory=list)
    push_calls: int = 0
    backfill_calls: int = 0
    our_429: int = 0
    payments_done: int = 0


def simulate(limiter, clock: FakeClock, *, seconds: float, payment_every: float = 2.0, calls_per_payment: int = 2,
             backfill_priority: str = "backfill", pushes_start: float = 3.0,
             zoho: ZohoLimits | None = None) -> Outcome:
    """Run the actors for ``seconds`` of fake time; return what happened."""
    zoho = zoho or ZohoLimits(lambda: clock.now)
    limits = OrgLimits(per_minute=100, daily=10_000, concurrency=10)
    start = clock.now
    out = Outcome()
    events: list[tuple[float, int, str]] = []
    seq = itertools.count()
    in_flight: dict[str, dict[str, str]] = {}  # actor -> headers of its call, read when it answers
    payments: list[float] = []  # settle times of payments not pushed yet
    push_calls_left = 0

    def at(t: float, actor: str) -> None:
        heapq.heappush(events, (t, next(seq), actor))

    def call(actor: str, priority: str) -> bool:
        decision = limiter.try_acquire(ORG, priority)
        if not decision.granted:
            assert decision.exhausted_until is None
            at(clock.now + decision.wait_seconds, actor)
            return False
        admission = zoho.admit(ORG, limits)
        if not admission.admitted:
            out.our_429 += 1
        in_flight[actor] = admission.headers
        at(clock.now + CALL_LATENCY_S, actor)
        return True

    def answer(actor: str) -> bool:
        """The actor's call answers now: read its headers, free its slots. True if it had one."""
        headers = in_flight.pop(actor, None)
        if headers is None:
            return False
        limiter.observe(ORG, headers)
        limiter.release(ORG)
        zoho.release(ORG)
        return True

    at(start, "backfill")
    for k in range(int((seconds - pushes_start) / payment_every)):
        at(start + pushes_start + k * payment_every, "settle")
    while events:
        t, _, actor = heapq.heappop(events)
        if t - start > seconds:
            break
        clock.now = max(clock.now, t)
        if actor == "backfill":
            if answer("backfill"):
                out.backfill_calls += 1
            call("backfill", backfill_priority)
        elif actor == "settle":
            payments.append(clock.now)
            if len(payments) == 1 and push_calls_left == 0 and "push" not in in_flight:
                push_calls_left = calls_per_payment
                at(clock.now, "push")
        elif actor == "push":
            if answer("push"):
                out.push_calls += 1
                push_calls_left -= 1
                if push_calls_left == 0:
                    out.push_latencies.append(clock.now - payments.pop(0))
                    out.payments_done += 1
                    if not payments:
                        continue
                    push_calls_left = calls_per_payment
            call("push", "push")
    return out


def test_push_gets_a_slot_within_seconds_while_a_backfill_saturates(make_limiter) -> None:
    """Ten fake minutes: 30 payments a minute (2 calls each) against a backfill that would take
    every call it is given. Pushes wait at most a couple of seconds, Zoho never answers 429, and
    the backfill still gets what pushes leave (below its share)."""
    clock = FakeClock()
    limiter = make_limiter(clock, reserves=reserves_for(20, 200))
    out = simulate(limiter, clock, seconds=600)
    assert out.our_429 == 0
    assert out.payments_done >= 295
    assert max(out.push_latencies) <= 2.5
    p95 = sorted(out.push_latencies)[int(0.95 * (len(out.push_latencies) - 1))]
    assert p95 <= 1.0
    per_minute = out.backfill_calls / 10
    assert 5 <= per_minute <= 100 - 30 - 60 + 5  # what 60 push calls a minute and its reserve leave it


def test_without_pushes_the_backfill_is_paced_evenly_at_its_share(make_limiter) -> None:
    """Alone, the backfill borrows the idle reserves (issue 13: work-conserving) and gets
    (limit - LENT_FLOOR) calls a window, spread over the window — never more than the burst at
    once — so slots free up steadily for a push that arrives."""
    clock = FakeClock()
    limiter = make_limiter(clock)
    out = simulate(limiter, clock, seconds=300, pushes_start=10_000)
    allowed = 100 - LENT_FLOOR
    assert DEFAULT_RESERVES["backfill"].minute > LENT_FLOOR
    assert out.our_429 == 0
    assert out.backfill_calls == pytest.approx(allowed * 300 / 61.2, abs=8)
    state_log = _log_of(limiter)
    assert max(sum(1 for s in state_log if t <= s < t + 1.0) for t in state_log) <= 5 + 2  # burst + pace


def _log_of(limiter) -> list[float]:
    return limiter._transact(ORG, lambda state, now: list(state["log"]))


def test_pacing_is_what_keeps_pushes_fast(make_limiter) -> None:
    """The same scenario without pacing (`burst=None`): the backfill spends its share in the
    first second of each window and pushes queue behind it — the bug this pacing fixes."""
    clock = FakeClock()
    unpaced = simulate(make_limiter(clock, reserves=reserves_for(20, 200), burst=None), clock, seconds=300)
    assert unpaced.our_429 == 0
    assert max(unpaced.push_latencies) > 10.0


def test_pull_priority_behaves_like_backfill_with_a_smaller_reserve(make_limiter) -> None:
    clock = FakeClock()
    out = simulate(make_limiter(clock, reserves=reserves_for(20, 200)), clock, seconds=300, backfill_priority="pull")
    assert out.our_429 == 0
    assert max(out.push_latencies) <= 2.5


def test_zoho_window_not_aligned_and_partly_spent_by_another_app(make_limiter) -> None:
    """Zoho's fixed window opened 40 s before our first call and another app spent 75 calls in
    it: the headers of our first replies say so, and neither the backfill nor the pushes make
    Zoho answer 429 — they wait for Zoho's reset, then go on at full speed."""
    clock = FakeClock()
    zoho = ZohoLimits(lambda: clock.now)
    limits = OrgLimits(per_minute=100, daily=10_000, concurrency=10)
    for _ in range(75):
        assert zoho.admit(ORG, limits).admitted
        zoho.release(ORG)
    clock.now += 40.0
    limiter = make_limiter(clock, reserves=reserves_for(20, 200))
    out = simulate(limiter, clock, seconds=300, zoho=zoho, pushes_start=1.0)
    assert out.our_429 == 0
    assert out.payments_done >= 145
    assert max(out.push_latencies) <= 20.0 + 2.5  # at worst until Zoho's window resets
