"""Pushes take priority over pulls/backfills in an organisation's minute budget: while a push
waits for a slot, lower priorities yield every freed slot to it (connector limiter, minimal
change made for push latency during an initial sync)."""

from __future__ import annotations

from ledgersync.zoho.ratelimit import LimiterConfig, decide, new_state


def test_lower_priorities_yield_while_a_push_waits() -> None:
    # pacing off: this scenario fills the pull share faster than pacing allows (pacing has its
    # own tests in tests/push/test_latency_priority.py and tests/zoho/test_ratelimit.py)
    cfg = LimiterConfig(100, 60.0, 10_000, 86_400.0, 0.0, None, burst=None)
    state = new_state()
    for i in range(90):  # a backfill fills everything the pull reserve allows, one call every 0.5 s
        assert decide(state, i * 0.5, "pull", 1, cfg).granted
    t = 45.0
    for _ in range(10):  # pushes take the rest of the minute
        assert decide(state, t, "push", 1, cfg).granted
    blocked = decide(state, t, "push", 1, cfg)
    assert not blocked.granted and blocked.wait_seconds == 15.0  # the first pull call leaves the window at 60 s
    assert not decide(state, 60.0, "pull", 1, cfg).granted  # the freed slot is kept for the waiting push
    assert decide(state, 60.0, "push", 1, cfg).granted
    assert decide(state, 66.0, "pull", 1, cfg).granted  # no push waiting any more: pulls go on (within their share)


def test_a_waiting_push_that_went_away_blocks_pulls_only_briefly() -> None:
    cfg = LimiterConfig(100, 60.0, 10_000, 86_400.0, 0.0, None)
    state = new_state()
    for _ in range(100):
        assert decide(state, 0.0, "push", 1, cfg).granted
    assert not decide(state, 1.0, "push", 1, cfg).granted  # waits until 60 s (+1 s grace)
    assert not decide(state, 60.5, "pull", 1, cfg).granted
    assert decide(state, 61.5, "pull", 1, cfg).granted  # the waiter never came back: the mark expired
