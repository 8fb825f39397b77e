"""Per-organisation API budget: stay under Zoho's per-minute limit and daily cap, pushes first.

Zoho counts calls per organisation: 100 a minute and a daily cap by plan, shared by every
integration of the partner. We pace ourselves instead of waiting for 429s:

* **Minute**: a sliding log of our own calls over ``window_seconds`` (a sliding window never
  exceeds any fixed window Zoho may use), tightened by what Zoho reports in
  ``X-Rate-Limit-Remaining`` / ``X-Rate-Limit-Reset`` (other apps spend the same budget).
  ``acquire`` blocks (injectable ``sleep``) until a slot is free.
* **Day**: a fixed window opened by the first call, tightened by ``X-Rate-Limit-Day-*`` headers
  and by the plan's limit (``set_daily_limit``). When the budget left for a priority is gone
  ``acquire`` raises :class:`BudgetExhausted` with the reset time: nobody waits hours.
* **Priorities**: ``push`` (payments, deposits) may use every call; ``pull`` may not touch the
  last ``Reserve.minute`` calls of the minute or ``Reserve.day_fraction`` of the day;
  ``backfill`` keeps a larger reserve, so a history backfill never starves incremental pulls,
  and neither starves pushes.

The decision is one pure function over a JSON-able state (:func:`decide`), so the in-memory
backend and the Redis backend (many Celery workers) share it exactly. Redis updates the state
with WATCH/MULTI (optimistic, retried on conflict) rather than a Lua copy of the logic.
Times are seconds from ``clock`` (``time.time`` by default); tests pass a fake clock and scale
``window_seconds`` / ``day_seconds`` the way the sandbox scales its clock.
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol

from .errors import BudgetExhausted

PRIORITIES = ("push", "pull", "backfill")


@dataclass(frozen=True)
class Reserve:
    """Calls a priority must leave untouched: ``minute`` per window, ``day_fraction`` of the day."""

    minute: int = 0
    day_fraction: float = 0.0


DEFAULT_RESERVES: dict[str, Reserve] = {
    "push": Reserve(0, 0.0),
    "pull": Reserve(10, 0.10),
    "backfill": Reserve(20, 0.25),
}


@dataclass(frozen=True)
class BudgetStatus:
    """For the dashboard: how much of today's Zoho budget is spent and when it resets."""

    used_today: int
    daily_limit: int
    remaining_today: int
    resets_at: datetime | None
    minute_used: int
    minute_limit: int


class RateLimiter(Protocol):
    def acquire(self, org_id: str, priority: str = "pull", cost: int = 1) -> None: ...
    def release(self, org_id: str) -> None: ...
    def observe(self, org_id: str, headers: Mapping[str, str]) -> None: ...
    def budget_status(self, org_id: str) -> BudgetStatus: ...
    def set_daily_limit(self, org_id: str, limit: int) -> None: ...


@dataclass(frozen=True)
class LimiterConfig:
    per_minute: int = 100
    window_seconds: float = 60.0
    daily_limit: int = 10_000
    day_seconds: float = 86_400.0
    guard_fraction: float = 0.02
    reserves: Mapping[str, Reserve] | None = None

    @property
    def window(self) -> float:
        """The sliding window, a little longer than Zoho's, to absorb latency between clocks."""
        return self.window_seconds * (1.0 + self.guard_fraction)

    def reserve(self, priority: str) -> Reserve:
        reserves = self.reserves or DEFAULT_RESERVES
        if priority not in reserves:
            raise ValueError(f"unknown priority {priority!r} (expected one of {PRIORITIES})")
        return reserves[priority]


@dataclass(frozen=True)
class Decision:
    granted: bool
    wait_seconds: float = 0.0
    exhausted_until: float | None = None


def new_state() -> dict[str, Any]:
    return {"log": [], "day_start": None, "day_count": 0, "daily_limit": None,
            "ext_min": None, "ext_day": None}


def _daily_limit(state: dict, cfg: LimiterConfig) -> int:
    limit = state.get("daily_limit") or cfg.daily_limit
    ext = state.get("ext_day")
    if ext and ext.get("limit"):
        limit = min(limit, int(ext["limit"]))
    return int(limit)


def _roll(state: dict, now: float, cfg: LimiterConfig) -> None:
    """Drop what has expired: old log entries, a finished day, stale header observations."""
    horizon = now - cfg.window
    state["log"] = [t for t in state["log"] if t > horizon]
    if state["day_start"] is not None and now - state["day_start"] >= cfg.day_seconds:
        state["day_start"] = None
        state["day_count"] = 0
    for key in ("ext_min", "ext_day"):
        ext = state.get(key)
        if ext and now >= ext["reset_at"]:
            state[key] = None


def _day_view(state: dict, now: float, cfg: LimiterConfig) -> tuple[int, float]:
    """(remaining calls today, when the day resets)."""
    limit = _daily_limit(state, cfg)
    remaining = limit - state["day_count"]
    reset_at = (state["day_start"] + cfg.day_seconds) if state["day_start"] is not None else now + cfg.day_seconds
    ext = state.get("ext_day")
    if ext:
        ext_remaining = ext["remaining"] - ext["used"]
        if ext_remaining <= remaining:
            remaining, reset_at = ext_remaining, ext["reset_at"]
    return remaining, reset_at


#: After a push had to wait, lower priorities keep yielding this long after each push grant, so a
#: burst of pushes (one drain worker, sequential calls) is not outrun by polling backfills.
PUSH_GRACE_S = 2.0


def decide(state: dict, now: float, priority: str, cost: int, cfg: LimiterConfig) -> Decision:
    """Grant ``cost`` calls to ``priority`` now (mutating ``state``), or say how long to wait,
    or that the day is exhausted for this priority."""
    reserve = cfg.reserve(priority)
    _roll(state, now, cfg)
    # A push is waiting for this minute's budget: lower priorities yield every freed slot to it
    # (reserves alone leave pushes only the pull reserve while a backfill saturates the minute).
    # Self-expiring timestamp, so a crashed waiter cannot block pulls for long.
    push_until = state.get("push_waiting_until") or 0.0
    if priority != "push" and push_until > now:
        return Decision(False, wait_seconds=max(min(push_until - now, 1.0), 1e-3))
    day_remaining, day_reset = _day_view(state, now, cfg)
    day_reserve = math.ceil(reserve.day_fraction * _daily_limit(state, cfg))
    if day_remaining - cost < day_reserve:
        return Decision(False, exhausted_until=max(day_reset, now))

    minute_reserve = min(reserve.minute, max(0, cfg.per_minute - cost))
    allowed = cfg.per_minute - minute_reserve
    waits: list[float] = []
    log = state["log"]
    if len(log) + cost > allowed:
        k = len(log) + cost - allowed  # entries that must expire first
        waits.append(log[k - 1] + cfg.window - now)
    ext = state.get("ext_min")
    if ext and (ext["remaining"] - ext["used"]) - cost < minute_reserve:
        waits.append(ext["reset_at"] - now)
    if waits:
        wait = max(max(waits), 1e-3)
        if priority == "push":
            state["push_waiting_until"] = max(push_until, now + wait + 1.0)
        return Decision(False, wait_seconds=wait)

    if priority == "push":
        if push_until > now - PUSH_GRACE_S:
            # pushes are contending: keep the next few seconds' slots for the rest of the burst
            state["push_waiting_until"] = now + PUSH_GRACE_S
        else:
            state.pop("push_waiting_until", None)
    log.extend([now] * cost)
    if state["day_start"] is None:
        state["day_start"] = now
    state["day_count"] += cost
    for key in ("ext_min", "ext_day"):
        if state.get(key):
            state[key]["used"] += cost
    return Decision(True)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            try:
                return int(float(value))
            except (TypeError, ValueError):
                return None
    return None


def apply_headers(state: dict, now: float, headers: Mapping[str, str], cfg: LimiterConfig) -> None:
    """Record what Zoho says is left. Its seconds are scaled like our windows."""
    _roll(state, now, cfg)
    minute_unit = cfg.window_seconds / 60.0
    day_unit = cfg.day_seconds / 86_400.0
    limit = _int_header(headers, "X-Rate-Limit-Limit")
    remaining = _int_header(headers, "X-Rate-Limit-Remaining")
    reset = _int_header(headers, "X-Rate-Limit-Reset")
    day_remaining = _int_header(headers, "X-Rate-Limit-Day-Remaining")
    if day_remaining is None and limit is not None and limit > cfg.per_minute * 2:
        # Real Zoho may report the daily quota in the plain headers.
        day_limit, day_remaining, day_reset = limit, remaining, reset
        remaining = None
    else:
        day_limit = _int_header(headers, "X-Rate-Limit-Day-Limit")
        day_reset = _int_header(headers, "X-Rate-Limit-Day-Reset")
    if remaining is not None and reset is not None:
        state["ext_min"] = {"remaining": remaining, "used": 0, "reset_at": now + max(reset, 0) * minute_unit}
    if day_remaining is not None and day_reset is not None:
        state["ext_day"] = {"remaining": day_remaining, "used": 0, "limit": day_limit,
                            "reset_at": now + max(day_reset, 0) * day_unit}


def status_of(state: dict, now: float, cfg: LimiterConfig) -> BudgetStatus:
    _roll(state, now, cfg)
    limit = _daily_limit(state, cfg)
    remaining, reset_at = _day_view(state, now, cfg)
    remaining = max(0, remaining)
    started = state["day_start"] is not None or state.get("ext_day")
    return BudgetStatus(
        used_today=limit - remaining,
        daily_limit=limit,
        remaining_today=remaining,
        resets_at=datetime.fromtimestamp(reset_at, timezone.utc) if started else None,
        minute_used=len(state["log"]),
        minute_limit=cfg.per_minute,
    )


class _BlockingLimiter:
    """The acquire loop shared by both backends: decide, sleep outside any lock, repeat."""

    cfg: LimiterConfig
    _clock: Callable[[], float]
    _sleep: Callable[[float], None]

    def _transact(self, org_id: str, fn: Callable[[dict, float], Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def acquire(self, org_id: str, priority: str = "pull", cost: int = 1) -> None:
        """Block until ``cost`` calls may be made for ``org_id``; raise :class:`BudgetExhausted`
        if the day's budget left for ``priority`` cannot cover them."""
        self.cfg.reserve(priority)  # validate early
        while True:
            decision: Decision = self._transact(org_id, lambda s, now: decide(s, now, priority, cost, self.cfg))
            if decision.granted:
                self._after_grant(org_id)
                return
            if decision.exhausted_until is not None:
                raise BudgetExhausted(org_id, priority, datetime.fromtimestamp(decision.exhausted_until, timezone.utc))
            self._sleep(decision.wait_seconds)

    def _after_grant(self, org_id: str) -> None:
        pass

    def release(self, org_id: str) -> None:
        pass

    def observe(self, org_id: str, headers: Mapping[str, str]) -> None:
        self._transact(org_id, lambda s, now: apply_headers(s, now, headers, self.cfg))

    def budget_status(self, org_id: str) -> BudgetStatus:
        return self._transact(org_id, lambda s, now: status_of(s, now, self.cfg))

    def set_daily_limit(self, org_id: str, limit: int) -> None:
        def setter(state: dict, now: float) -> None:
            state["daily_limit"] = int(limit)
        self._transact(org_id, setter)


class MemoryRateLimiter(_BlockingLimiter):
    """Thread-safe, one process. ``max_concurrency`` optionally caps requests in flight
    (Zoho: 5 on Free, 10 on paid plans); callers then pair ``acquire`` with ``release``."""

    def __init__(self, per_minute: int = 100, window_seconds: float = 60.0, daily_limit: int = 10_000,
                 day_seconds: float = 86_400.0, reserves: Mapping[str, Reserve] | None = None, *,
                 guard_fraction: float = 0.02, max_concurrency: int | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = LimiterConfig(per_minute, window_seconds, daily_limit, day_seconds, guard_fraction, reserves)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._states: dict[str, dict] = {}
        self._max_concurrency = max_concurrency
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}

    def _transact(self, org_id: str, fn: Callable[[dict, float], Any]) -> Any:
        with self._lock:
            state = self._states.setdefault(org_id, new_state())
            return fn(state, self._clock())

    def _semaphore(self, org_id: str) -> threading.BoundedSemaphore | None:
        if self._max_concurrency is None:
            return None
        with self._lock:
            sem = self._semaphores.get(org_id)
            if sem is None:
                sem = self._semaphores[org_id] = threading.BoundedSemaphore(self._max_concurrency)
            return sem

    def _after_grant(self, org_id: str) -> None:
        sem = self._semaphore(org_id)
        if sem is not None:
            sem.acquire()

    def release(self, org_id: str) -> None:
        sem = self._semaphore(org_id)
        if sem is not None:
            try:
                sem.release()
            except ValueError:
                pass


class RedisRateLimiter(_BlockingLimiter):
    """Shared by every worker: the state of each organisation is one Redis key (JSON),
    updated atomically with WATCH/MULTI. Concurrency capping is not done here (a crashed
    worker would leak its slot); Zoho's concurrency 429 is refused-before-applied and retried."""

    def __init__(self, redis: Any, *, key_prefix: str = "ledgersync:rl", per_minute: int = 100,
                 window_seconds: float = 60.0, daily_limit: int = 10_000, day_seconds: float = 86_400.0,
                 reserves: Mapping[str, Reserve] | None = None, guard_fraction: float = 0.02,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = LimiterConfig(per_minute, window_seconds, daily_limit, day_seconds, guard_fraction, reserves)
        self._redis = redis
        self._prefix = key_prefix
        self._clock = clock
        self._sleep = sleep

    def _key(self, org_id: str) -> str:
        return f"{self._prefix}:{org_id}"

    def _transact(self, org_id: str, fn: Callable[[dict, float], Any]) -> Any:
        from redis.exceptions import WatchError

        key = self._key(org_id)
        ttl = max(1, int(math.ceil(self.cfg.day_seconds * 2)))
        while True:
            with self._redis.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    state = json.loads(raw) if raw else new_state()
                    result = fn(state, self._clock())
                    pipe.multi()
                    pipe.set(key, json.dumps(state), ex=ttl)
                    pipe.execute()
                    return result
                except WatchError:
                    continue
