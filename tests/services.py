"""Reaching the machine's real services from tests: skipped locally when a service is down,
a failure when `LEDGERSYNC_REQUIRE_SERVICES` is set (CI sets it, so CI never skips)."""

from __future__ import annotations

import os

import pytest


def redis_or_skip(url: str = "redis://127.0.0.1:6379/0"):  # type: ignore[no-untyped-def]
    """A connected Redis client for `url`, or skip (fail under LEDGERSYNC_REQUIRE_SERVICES)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except Exception as exc:
        if os.environ.get("LEDGERSYNC_REQUIRE_SERVICES"):
            pytest.fail(f"Redis not reachable at {url} (LEDGERSYNC_REQUIRE_SERVICES is set): {exc}")
        pytest.skip(f"Redis not reachable at {url}")
    return client
