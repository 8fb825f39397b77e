"""Budget per organisation: minute pacing, daily budget, priorities/reserves, header observation.

The same scenarios run on the in-memory backend and on the Redis backend (real Redis at
127.0.0.1:6379; skipped only when it is unreachable and LEDGERSYNC_REQUIRE_SERVICES is unset).
"""
import uuid

import pytest

from ledgersync.zoho import BudgetExhausted, MemoryRateLimiter, RedisRateLimiter, Reserve
from tests.services import redis_or_skip

from .conftest import FakeClock

RESERVES = {"push": Reserve(0, 0.0), "pull": Reserve(2, 0.1), "backfill": Reserve(4, 0.3)}


def _redis_client():
    return redis_or_skip()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.celery)])
def make_limiter(request):
    def build(clock: FakeClock, **kw):
        kw.setdefault("reserves", RESERVES)
        kw.setdefault("guard_fraction", 0.0)
        kw.setdefault("burst", None)  # window/reserve scenarios in isolation; pacing has its own tests
        kw.setdefault("lend", False)  # fixed reserves; lending has its own tests (test_ratelimit_lending)
        if request.param == "memory":
            return MemoryRateLimiter(clock=clock, sleep=clock.sleep, **kw)
        return RedisRateLimiter(_redis_client(), key_prefix=f"test:rl:{uuid.uuid4().hex}", clock=clock,
                                sleep=clock.sleep, **kw)
    return build


def test_minute_window_blocks_until_a_slot_frees(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=10, window_seconds=60)
    for _ in range(10):
        limiter.acquire("org", "push")
    assert clock.sleeps == []
    limiter.acquire("org", "push")
    assert sum(clock.sleeps) == pytest.approx(60)


def test_never_more_than_limit_in_any_window(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=10, window_seconds=6)
    stamps = []
    for i in range(55):
        limiter.acquire("org", "push")
        stamps.append(clock.now)
        clock.now += 0.1 * (i % 3)
    for t in stamps:
        assert sum(1 for s in stamps if t <= s < t + 6) <= 10


def test_pull_leaves_minute_reserve_for_push(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=10, window_seconds=60)
    for _ in range(8):
        limiter.acquire("org", "pull")
    assert clock.sleeps == []
    limiter.acquire("org", "push")
    limiter.acquire("org", "push")  # the reserve: pushes get in without waiting
    assert clock.sleeps == []
    limiter.acquire("org", "pull")  # pull must wait for the window
    assert sum(clock.sleeps) == pytest.approx(60)


def test_backfill_keeps_a_bigger_reserve_than_pull(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=10, window_seconds=60)
    for _ in range(6):
        limiter.acquire("org", "backfill")
    limiter.acquire("org", "pull")
    limiter.acquire("org", "pull")
    assert clock.sleeps == []


def test_daily_budget_raises_for_low_priority_and_keeps_reserve_for_push(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=1000, daily_limit=20, day_seconds=600)
    for _ in range(14):
        limiter.acquire("org", "backfill")
    with pytest.raises(BudgetExhausted) as caught:
        limiter.acquire("org", "backfill")  # 30% of 20 = 6 kept back
    assert caught.value.priority == "backfill"
    assert caught.value.retry_at.timestamp() == pytest.approx(clock.now + 600)
    for _ in range(4):
        limiter.acquire("org", "pull")
    with pytest.raises(BudgetExhausted):
        limiter.acquire("org", "pull")  # 10% of 20 = 2 kept back
    limiter.acquire("org", "push")
    limiter.acquire("org", "push")
    with pytest.raises(BudgetExhausted):
        limiter.acquire("org", "push")
    status = limiter.budget_status("org")
    assert (status.used_today, status.remaining_today, status.daily_limit) == (20, 0, 20)
    clock.now += 601
    limiter.acquire("org", "backfill")  # a new day
    assert limiter.budget_status("org").used_today == 1


def test_organisations_are_independent(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=2, window_seconds=60, reserves={"push": Reserve(), "pull": Reserve(),
                                                                              "backfill": Reserve()})
    limiter.acquire("a")
    limiter.acquire("a")
    limiter.acquire("b")
    assert clock.sleeps == []


def test_observed_minute_headers_slow_us_down(make_limiter, clock):
    """Other apps share the budget: Zoho says 1 left, so pull waits for Zoho's reset."""
    limiter = make_limiter(clock, per_minute=100, window_seconds=60)
    limiter.observe("org", {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "20"})
    limiter.acquire("org", "push")
    assert clock.sleeps == []
    limiter.acquire("org", "pull")  # 2 left, pull reserve is 2 → wait for the reset
    assert sum(clock.sleeps) == pytest.approx(20)


def test_observed_daily_headers_set_the_day(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=100, daily_limit=10_000, day_seconds=86_400)
    limiter.observe("org", {"X-Rate-Limit-Day-Limit": "1000", "X-Rate-Limit-Day-Remaining": "101",
                            "X-Rate-Limit-Day-Reset": "3600"})
    status = limiter.budget_status("org")
    assert (status.daily_limit, status.remaining_today, status.used_today) == (1000, 101, 899)
    assert status.resets_at.timestamp() == pytest.approx(clock.now + 3600)
    limiter.acquire("org", "pull")
    with pytest.raises(BudgetExhausted) as caught:
        limiter.acquire("org", "pull")  # 100 left = the pull reserve of 10% of 1000
    assert caught.value.retry_at.timestamp() == pytest.approx(clock.now + 3600)


def test_header_seconds_scale_with_the_window(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=100, window_seconds=1.0)  # sandbox time_scale 60
    limiter.observe("org", {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "30", "X-Rate-Limit-Limit": "100"})
    limiter.acquire("org", "push")
    assert sum(clock.sleeps) == pytest.approx(0.5)


def test_set_daily_limit_for_the_plan(make_limiter, clock):
    limiter = make_limiter(clock)
    limiter.set_daily_limit("org", 1000)
    assert limiter.budget_status("org").daily_limit == 1000


def test_unknown_priority_is_refused(make_limiter, clock):
    with pytest.raises(ValueError):
        make_limiter(clock).acquire("org", "urgent")


# --- pacing of pull/backfill (GCRA), Zoho's fixed window, in-flight calls -----------------------

def test_backfill_is_paced_evenly_after_a_small_burst(make_limiter, clock):
    """(100 - 20) calls a 60 s window for backfill: 5 at once, then one every 0.75 s."""
    limiter = make_limiter(clock, per_minute=100, window_seconds=60, reserves=None, burst=5)
    for _ in range(5):
        limiter.acquire("org", "backfill")
    assert clock.sleeps == []
    limiter.acquire("org", "backfill")
    assert clock.sleeps == [pytest.approx(0.75)]
    for _ in range(74):
        limiter.acquire("org", "backfill")
    assert sum(clock.sleeps) == pytest.approx(75 * 0.75)  # 80 calls in 56.25 s, never a burst


def test_pull_paced_faster_than_backfill_and_push_not_paced(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=100, window_seconds=60, reserves=None, burst=1)
    limiter.acquire("org", "pull")
    limiter.acquire("org", "pull")
    assert clock.sleeps == [pytest.approx(60 / 90)]
    for _ in range(10):
        limiter.acquire("org", "push")
    assert len(clock.sleeps) == 1


def test_pacing_does_not_bank_idle_time_beyond_the_burst(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=100, window_seconds=60, reserves=None, burst=3)
    limiter.acquire("org", "backfill")
    clock.now += 600  # idle for ten minutes
    for _ in range(3):
        limiter.acquire("org", "backfill")
    assert clock.sleeps == []
    limiter.acquire("org", "backfill")
    assert clock.sleeps == [pytest.approx(0.75)]


def test_try_acquire_says_how_long_without_sleeping(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=100, window_seconds=60, reserves=None, burst=1)
    assert limiter.try_acquire("org", "backfill").granted
    decision = limiter.try_acquire("org", "backfill")
    assert not decision.granted and decision.wait_seconds == pytest.approx(0.75)
    assert clock.sleeps == []


def test_in_flight_calls_count_as_spent_when_a_reply_is_read(make_limiter, clock):
    """Three calls in flight; the first reply says 3 left. The two others may reach Zoho after
    it answered, so only 1 is really left: one push gets it, the next waits for Zoho's reset."""
    limiter = make_limiter(clock, per_minute=100, window_seconds=60)
    for _ in range(3):
        limiter.acquire("org", "push")
    limiter.observe("org", {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "30"})
    for _ in range(3):
        limiter.release("org")
    limiter.acquire("org", "push")
    assert clock.sleeps == []
    limiter.acquire("org", "push")
    assert sum(clock.sleeps) == pytest.approx(30)


def test_an_older_reply_read_late_does_not_raise_the_remainder(make_limiter, clock):
    limiter = make_limiter(clock, per_minute=100, window_seconds=60)
    limiter.observe("org", {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "1", "X-Rate-Limit-Reset": "30"})
    limiter.observe("org", {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "9", "X-Rate-Limit-Reset": "30"})
    limiter.acquire("org", "push")
    assert clock.sleeps == []
    limiter.acquire("org", "push")
    assert sum(clock.sleeps) == pytest.approx(30)
    # a new Zoho window (the reset moved on) is taken as it is
    limiter.observe("org", {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "99", "X-Rate-Limit-Reset": "60"})
    limiter.acquire("org", "push")
    assert sum(clock.sleeps) == pytest.approx(30)


def test_lower_priorities_leave_pushes_their_rate_until_zohos_fixed_window_resets(make_limiter, clock):
    """Pushes have been spending 1 call a second; Zoho's (fixed) window has 30 calls left and
    resets in 40 s — nothing it counted frees up before then. A backfill call would leave 29,
    less than the 40 pushes will want: it waits until 29 cover the pushes' rate over the time
    left (11 s), then goes."""
    limiter = make_limiter(clock, per_minute=100, window_seconds=60, reserves={
        "push": Reserve(), "pull": Reserve(), "backfill": Reserve(5, 0.0)})
    for _ in range(20):
        limiter.acquire("org", "push")
        limiter.release("org")
        clock.now += 1.0
    limiter.observe("org", {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "30", "X-Rate-Limit-Reset": "40"})
    decision = limiter.try_acquire("org", "backfill")
    assert not decision.granted
    assert decision.wait_seconds == pytest.approx(40 - 29 / 1.0)
    assert limiter.try_acquire("org", "pull").granted is False  # pull too: no minute reserve, same rule
    clock.now += decision.wait_seconds
    assert limiter.try_acquire("org", "backfill").granted
    assert limiter.try_acquire("org", "push").granted


def test_reserves_for_the_push_reserve_setting():
    from ledgersync.zoho import reserves_for

    r = reserves_for(20, 200)
    assert (r["push"].minute, r["pull"].minute, r["backfill"].minute) == (0, 20, 30)
    assert r["pull"].day(10_000) == 1000 and r["pull"].day(1000) == 200  # the larger of fraction and calls
    assert r["backfill"].day(10_000) == 2500
