"""Backfill leaves the day what the hourly work needs (`RateLimiter.set_hourly_need`).

A Standard plan has 2,000 calls a day. Backfill (history, the daily sweep) used to stop only at a
fixed quarter of the day (500 left): with hourly pulls and pushes spending 20 calls an hour and
the pull's own day reserve (200) kept for pushes, that starves the last hours of the day."""
from __future__ import annotations

import pytest

from ledgersync.zoho import MemoryRateLimiter
from ledgersync.zoho.errors import BudgetExhausted
from ledgersync.zoho.ratelimit import NEED_RESUME_CALLS

from .conftest import FakeClock

DAY = 86_400.0


def standard_plan(clock: FakeClock) -> MemoryRateLimiter:
    limiter = MemoryRateLimiter(clock=clock, sleep=clock.sleep, daily_limit=2_000, burst=None)
    return limiter


def backfill_until_refused(limiter: MemoryRateLimiter, clock: FakeClock) -> tuple[int, float]:
    """Spend backfill calls (a minute's pace is waited out) until the day refuses one."""
    spent = 0
    while True:
        decision = limiter.try_acquire("org", "backfill")
        if decision.exhausted_until is not None:
            return spent, decision.exhausted_until
        if decision.granted:
            limiter.release("org")
            spent += 1
        else:
            clock.now += decision.wait_seconds


def test_without_a_need_backfill_stops_at_its_fixed_quarter() -> None:
    clock = FakeClock(start=0.0)
    limiter = standard_plan(clock)
    spent, _ = backfill_until_refused(limiter, clock)
    assert spent == 2_000 - 500


def test_backfill_leaves_the_hourly_need_until_the_reset_and_resumes_as_it_shrinks() -> None:
    clock = FakeClock(start=0.0)
    limiter = standard_plan(clock)
    limiter.set_hourly_need("org", 30.0)
    assert limiter.budget_status("org").hourly_need == 30.0
    spent, resume_at = backfill_until_refused(limiter, clock)
    hours_left = (DAY - clock.now) / 3600
    left = 2_000 - spent
    # it stopped where what is left covers the pull's reserve (200) and 30 calls an hour to the reset
    assert left - 1 < 200 + 30 * hours_left <= left
    # and it resumes when the remaining hours leave room for a batch (NEED_RESUME_CALLS) more
    assert resume_at < DAY
    assert (left - 1 - 200 - NEED_RESUME_CALLS) == pytest.approx(30 * (DAY - resume_at) / 3600, abs=1e-6)
    clock.now = resume_at
    granted = 0
    while limiter.try_acquire("org", "backfill").granted:
        limiter.release("org")
        granted += 1
    assert granted >= NEED_RESUME_CALLS - 1


def test_pulls_and_pushes_may_still_spend_what_backfill_leaves() -> None:
    clock = FakeClock(start=0.0)
    limiter = standard_plan(clock)
    limiter.set_hourly_need("org", 30.0)
    backfill_until_refused(limiter, clock)
    left = limiter.budget_status("org").remaining_today
    pulls = 0
    while True:
        try:
            limiter.acquire("org", "pull")
        except BudgetExhausted:
            break
        limiter.release("org")
        pulls += 1
    assert pulls == left - 200  # down to the pull's day reserve, kept for pushes
    limiter.acquire("org", "push")  # which pushes can still spend


def test_the_need_is_in_hours_of_the_limiters_clock_when_zohos_time_is_scaled() -> None:
    """At x60 (benches) a Zoho day is 1,440 s of the limiter's clock and the pull interval 60 s:
    20 calls a cycle is 1,200 calls per hour of that clock, and the day's 24 cycles need 480.
    Counting the hours left in Zoho hours instead (the bug) asked 1,200 x 24 and refused all."""
    clock = FakeClock(start=0.0)
    limiter = MemoryRateLimiter(clock=clock, sleep=clock.sleep, daily_limit=2_000, burst=None,
                                day_seconds=DAY / 60, window_seconds=1.0)
    limiter.set_hourly_need("org", 20 * 3600 / 60)
    spent, _ = backfill_until_refused(limiter, clock)
    hours_left = (DAY / 60 - clock.now) / 3600
    assert 2_000 - spent - 1 < 200 + 1_200 * hours_left <= 2_000 - spent
    assert spent > 1_200  # about 2,000 - 200 - 480
