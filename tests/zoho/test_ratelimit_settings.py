"""The process's limiter is built from settings: per-minute limit, window, push reserves, plan.

The composition root builds it once (`Container.rate_limiter`, from `limiter_options(settings)`);
a container over an in-memory SQLite engine is enough to see it. The Redis backend takes the
same `limiter_options(settings)` (Celery workers).
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine

from ledgersync.bootstrap import Container
from ledgersync.settings import Settings
from ledgersync.sync.books_factory import limiter_options
from ledgersync.zoho import MemoryRateLimiter, RedisRateLimiter

from .conftest import FakeClock
from .test_ratelimit import _redis_client


def _settings(**kw) -> Settings:
    return Settings(_env_file=None, database_url="sqlite://", **kw)  # type: ignore[call-arg]


def _container(settings: Settings, **parts) -> Container:
    return Container(settings, engine=create_engine("sqlite://"), **parts)


def test_push_reserves_and_window_come_from_settings() -> None:
    s = _settings(zoho_per_minute_limit=50, zoho_window_seconds=6.0, zoho_plan="free",
                  zoho_push_reserve_per_minute=15, zoho_push_reserve_per_day=300)
    container = _container(s)
    limiter = container.rate_limiter
    assert isinstance(limiter, MemoryRateLimiter)
    cfg = limiter.cfg
    assert (cfg.per_minute, cfg.window_seconds, cfg.daily_limit, cfg.day_seconds) == (50, 6.0, 1000, 8640.0)
    assert cfg.reserve("pull").minute == 15 and cfg.reserve("backfill").minute == 25
    assert cfg.reserve("pull").day(1000) == 300  # the push day reserve beats 10 % of 1000
    assert cfg.allowed_per_window("pull") == 35


def test_configured_push_reserve_changes_what_a_backfill_may_take() -> None:
    """While pushes run (one was granted this window) the backfill leaves the configured push
    reserve plus the hourly pull's 10; with no push for a window the reserve is lent (issue 13)."""
    clock = FakeClock()
    for reserve, expected in ((20, 70), (40, 50)):
        opts = limiter_options(_settings(zoho_push_reserve_per_minute=reserve))
        limiter = MemoryRateLimiter(**opts, burst=None, clock=clock, sleep=clock.sleep)
        assert limiter.try_acquire(f"org-{reserve}", "push").granted
        granted = 1
        while limiter.try_acquire(f"org-{reserve}", "backfill").granted:
            granted += 1
        assert granted == expected
        lent = MemoryRateLimiter(**opts, burst=None, clock=clock, sleep=clock.sleep)
        granted = 0
        while lent.try_acquire(f"org-{reserve}", "backfill").granted:
            granted += 1
        assert granted == 100 - 3  # LENT_FLOOR


def test_an_installed_limiter_wins() -> None:
    mine = MemoryRateLimiter()
    assert _container(_settings(), rate_limiter=mine).rate_limiter is mine


@pytest.mark.celery
def test_redis_backend_takes_the_same_options() -> None:
    opts = limiter_options(_settings(zoho_push_reserve_per_minute=25))
    limiter = RedisRateLimiter(_redis_client(), key_prefix=f"test:rl:{uuid.uuid4().hex}", **opts)
    assert limiter.cfg.reserve("pull").minute == 25
    assert limiter.cfg == MemoryRateLimiter(**opts).cfg
