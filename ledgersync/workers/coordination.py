"""What every Celery worker shares through Redis besides the rate limiter: slots and markers.

- `slot(name, limit, ttl)`: a counting semaphore (a sorted set of holders scored by expiry). A
  worker killed mid-task leaks nothing: its hold expires after `ttl`. Used for "at most N
  pull/backfill tasks of one connection at once" and "at most N backfills in the deployment".
- `mark_queued(key, ttl)` / `clear_queued(key)`: one queued message per (task, connection,
  stream). A webhook storm or an hourly tick finding work still queued adds nothing to the
  queue; the task clears its mark when it starts, so a change arriving while it runs is queued.
- `claim_slot_index(connection_id, index)`: beat's record of the last hourly slot it enqueued
  for a connection, so a tick repeated (two beats, a restart) never enqueues a slot twice.

Everything is keyed under `settings.redis_key_prefix` (tests use a random one per session).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# KEYS[1]=holders zset; ARGV: now, expires_at, limit, token, key ttl (s)
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
  return 1
end
return 0
"""

# KEYS[1]=hash; ARGV: field, index -> 1 when index is newer than the stored one (and stored)
_CLAIM_INDEX = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and tonumber(old) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class Coordination:
    """Shared slots and markers of one deployment (one Redis, one key prefix)."""

    def __init__(self, redis: Any, prefix: str = "ledgersync") -> None:
        self.redis = redis
        self.prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._claim = redis.register_script(_CLAIM_INDEX)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # ------------------------------------------------------------------ semaphores
    def try_slot(self, name: str, limit: int, ttl_s: float) -> str | None:
        """A hold token when one of `limit` slots of `name` was free, else None (never blocks)."""
        token = uuid.uuid4().hex
        now = time.time()
        got = self._acquire(keys=[self.key("slot", name)],
                            args=[now, now + ttl_s, int(limit), token, int(ttl_s) + 60])
        return token if int(got) == 1 else None

    def release_slot(self, name: str, token: str) -> None:
        self.redis.zrem(self.key("slot", name), token)

    def holders(self, name: str) -> int:
        """Live holds of `name` (metrics, tests)."""
        key = self.key("slot", name)
        self.redis.zremrangebyscore(key, "-inf", time.time())
        return int(self.redis.zcard(key))

    @contextmanager
    def slot(self, name: str, limit: int, ttl_s: float) -> Iterator[bool]:
        """`with coord.slot(...) as held:` — held is False when every slot is taken."""
        token = self.try_slot(name, limit, ttl_s)
        try:
            yield token is not None
        finally:
            if token is not None:
                self.release_slot(name, token)

    # ------------------------------------------------------------------ queued markers
    def mark_queued(self, marker: str, ttl_s: float) -> bool:
        """True when nothing with this marker is queued yet (the caller then sends the task)."""
        return bool(self.redis.set(self.key("queued", marker), "1", nx=True, ex=max(1, int(ttl_s))))

    def clear_queued(self, marker: str) -> None:
        self.redis.delete(self.key("queued", marker))

    def queued_count(self) -> int:
        """How many markers are set (≈ distinct queued tasks; metrics)."""
        return sum(1 for _ in self.redis.scan_iter(match=self.key("queued", "*"), count=1000))

    # ------------------------------------------------------------------ beat's hourly slots
    def claim_slot_index(self, connection_id: str, index: int) -> bool:
        """True the first time `index` (or a later one) is claimed for the connection."""
        return int(self._claim(keys=[self.key("pull-slots")], args=[connection_id, int(index)])) == 1

    def forget(self) -> None:
        """Delete every key of this prefix (tests' teardown)."""
        for k in self.redis.scan_iter(match=f"{self.prefix}:*", count=1000):
            self.redis.delete(k)
