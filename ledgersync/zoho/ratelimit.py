"""Per-organisation API budget: stay under Zoho's per-minute limit and daily cap, pushes first.

Zoho counts calls per organisation: 100 a minute and a daily cap by plan, shared by every
integration of the partner. We pace ourselves instead of waiting for 429s:

* **Minute**: a sliding log of our own calls over ``window_seconds`` (a sliding window never
  exceeds any fixed window Zoho may use), tightened by what Zoho reports in
  ``X-Rate-Limit-Remaining`` / ``X-Rate-Limit-Reset`` (other apps spend the same budget, and
  Zoho's window is fixed, opened by the first call, so it need not line up with ours). Calls
  still in flight when a reply is read are counted as spent (:func:`apply_headers`), and two
  replies of one Zoho window read out of order keep the smaller remainder, so a stale header
  never makes us overrun Zoho's window.
* **Day**: a fixed window opened by the first call, tightened by ``X-Rate-Limit-Day-*`` headers
  and by the plan's limit (``set_daily_limit``). When the budget left for a priority is gone
  ``acquire`` raises :class:`BudgetExhausted` with the reset time: nobody waits hours.
* **Priorities**: ``push`` (payments, deposits) may use every call; ``pull`` may not touch the
  last ``Reserve.minute`` calls of the window nor its day reserve; ``backfill`` keeps a larger
  reserve, so a history backfill never starves incremental pulls, and neither starves pushes.
  Per day, backfill also leaves the hourly pulls' and pushes' measured need until the reset
  (``set_hourly_need``): a fixed share is too little on small plans.
* **Pacing** (why pushes stay fast during an initial sync): a reserve alone is not enough.
  An in-process backfill can spend its whole share in the first second of a window; those
  calls then all leave the window together 60 s later, and until then pushes only have the
  reserve — at 30 payments a minute (two calls each) they queue for most of the minute.
  So ``pull`` and ``backfill`` are also paced by a GCRA token bucket (one timestamp per
  priority, the "theoretical arrival time"): at most ``per_minute - reserve`` calls per window,
  evenly, one every ``window / (per_minute - reserve)`` seconds, bursts of at most
  ``burst`` calls. Our own log then frees slots steadily, pushes' calls count in the same
  log (lower priorities shrink as pushes grow), and at any instant there is headroom.
  Zoho's window is fixed, though: what it counted frees up only at its reset. So, within the
  window Zoho's headers describe, pull and backfill also leave pushes what pushes have been
  spending (their recent rate) until that reset. When a push does have to wait, lower
  priorities yield every freed slot to it (``push_waiting_until``, self-expiring).

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from .errors import BudgetExhausted

PRIORITIES = ("push", "pull", "backfill")

#: Largest burst a paced priority (pull, backfill) may make after being idle.
DEFAULT_BURST = 5


@dataclass(frozen=True)
class Reserve:
    """Calls a priority must leave untouched: ``minute`` per window; per day the larger of
    ``day_fraction`` of the daily limit and ``day_calls``."""

    minute: int = 0
    day_fraction: float = 0.0
    day_calls: int = 0

    def day(self, daily_limit: int) -> int:
        return max(math.ceil(self.day_fraction * daily_limit), self.day_calls)


DEFAULT_RESERVES: dict[str, Reserve] = {
    "push": Reserve(0, 0.0),
    "pull": Reserve(10, 0.10),
    "backfill": Reserve(20, 0.25),
}

#: How many more calls a minute a backfill leaves than a pull (for hourly incremental pulls).
BACKFILL_EXTRA_MINUTE_RESERVE = 10


def reserves_for(push_reserve_per_minute: int, push_reserve_per_day: int = 0) -> dict[str, Reserve]:
    """Reserves where pushes own ``push_reserve_per_minute`` calls of every window and at least
    ``push_reserve_per_day`` calls of the day: pull may use ``limit - push reserve`` a window,
    backfill ``BACKFILL_EXTRA_MINUTE_RESERVE`` fewer (day fractions as in ``DEFAULT_RESERVES``)."""
    minute = max(0, int(push_reserve_per_minute))
    day = max(0, int(push_reserve_per_day))
    return {
        "push": Reserve(0, 0.0),
        "pull": Reserve(minute, DEFAULT_RESERVES["pull"].day_fraction, day),
        "backfill": Reserve(minute + BACKFILL_EXTRA_MINUTE_RESERVE, DEFAULT_RESERVES["backfill"].day_fraction, day),
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
    #: calls per hour backfill leaves the hourly work until the reset (``set_hourly_need``)
    hourly_need: float = 0.0


class RateLimiter(Protocol):
    def acquire(self, org_id: str, priority: str = "pull", cost: int = 1) -> None: ...
    def release(self, org_id: str) -> None: ...
    def observe(self, org_id: str, headers: Mapping[str, str]) -> None: ...
    def budget_status(self, org_id: str) -> BudgetStatus: ...
    def set_daily_limit(self, org_id: str, limit: int) -> None: ...
    def set_hourly_need(self, org_id: str, calls_per_hour: float) -> None: ...


@dataclass(frozen=True)
class LimiterConfig:
    per_minute: int = 100
    window_seconds: float = 60.0
    daily_limit: int = 10_000
    day_seconds: float = 86_400.0
    guard_fraction: float = 0.02
    reserves: Mapping[str, Reserve] | None = None
    #: pacing of pull/backfill (see module docstring); ``None`` turns pacing off
    burst: int | None = DEFAULT_BURST
    #: work-conserving: lend idle higher priorities' minute reserves to pull/backfill (see
    #: :func:`effective_minute_reserve`); False keeps the reserves fixed
    lend: bool = True

    @property
    def window(self) -> float:
        """The sliding window, a little longer than Zoho's, to absorb latency between clocks."""
        return self.window_seconds * (1.0 + self.guard_fraction)

    def reserve(self, priority: str) -> Reserve:
        reserves = self.reserves or DEFAULT_RESERVES
        if priority not in reserves:
            raise ValueError(f"unknown priority {priority!r} (expected one of {PRIORITIES})")
        return reserves[priority]

    def allowed_per_window(self, priority: str, cost: int = 1) -> int:
        """Calls ``priority`` may have in one window (the limit minus its minute reserve)."""
        minute_reserve = min(self.reserve(priority).minute, max(0, self.per_minute - cost))
        return self.per_minute - minute_reserve

    def pace_interval(self, priority: str, allowed: int | None = None) -> float | None:
        """Seconds between two calls of a paced priority (``None``: not paced)."""
        if priority == "push" or not self.burst:
            return None
        return self.window / max(1, allowed if allowed is not None else self.allowed_per_window(priority))


@dataclass(frozen=True)
class Decision:
    granted: bool
    wait_seconds: float = 0.0
    exhausted_until: float | None = None


def new_state() -> dict[str, Any]:
    return {"log": [], "day_start": None, "day_count": 0, "daily_limit": None,
            "ext_min": None, "ext_day": None, "tat": {}, "inflight": [], "push_log": []}


def _daily_limit(state: dict[str, Any], cfg: LimiterConfig) -> int:
    limit = state.get("daily_limit") or cfg.daily_limit
    ext = state.get("ext_day")
    if ext and ext.get("limit"):
        limit = min(limit, int(ext["limit"]))
    return int(limit)


def _roll(state: dict[str, Any], now: float, cfg: LimiterConfig) -> None:
    """Drop what has expired: old log entries, a finished day, stale header observations, and
    in-flight marks of calls whose release never came (a crashed worker)."""
    horizon = now - cfg.window
    state["log"] = [t for t in state["log"] if t > horizon]
    state["inflight"] = [t for t in state.get("inflight") or [] if t > horizon]
    state["push_log"] = [t for t in state.get("push_log") or [] if t > horizon]
    if state["day_start"] is not None and now - state["day_start"] >= cfg.day_seconds:
        state["day_start"] = None
        state["day_count"] = 0
    for key in ("ext_min", "ext_day"):
        ext = state.get(key)
        if ext and now >= ext["reset_at"]:
            state[key] = None


def _day_view(state: dict[str, Any], now: float, cfg: LimiterConfig) -> tuple[int, float]:
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


#: Calls of every minute window pull/backfill leave untouched even while reserves are lent, so a
#: push that arrives finds Zoho's window open at once (then the reserve is taken back).
LENT_FLOOR = 3


#: A pull that asked within this many seconds (of a 60 s window) is running: a backfill leaves
#: it its extra reserve. A running pull asks every second or so, so a longer horizon would only
#: keep the backfill below the allowance after the pull finished.
PULL_IDLE_S = 2.0


def effective_minute_reserve(state: dict[str, Any], now: float, priority: str, cost: int, cfg: LimiterConfig) -> int:
    """Work-conserving reserves (issue 13). While no push has run or waited within the window,
    pull and backfill borrow the push reserve, keeping only ``LENT_FLOOR`` calls; backfill also
    borrows the hourly pull's extra while no pull asked within ``PULL_IDLE_S``. The first push takes
    its reserve back: from its grant on, lower priorities see their full reserve again (and
    yield every freed slot to a push that waits), so a push waits well under a second."""
    base = cfg.per_minute - cfg.allowed_per_window(priority, cost)
    if priority == "push" or not cfg.lend:
        return base
    horizon = now - cfg.window
    waited = state.get("push_waiting_until")
    if state.get("push_log") or (waited is not None and float(waited) > horizon):
        return base
    floor = min(base, LENT_FLOOR)
    if priority == "backfill" and _pull_idle_at(state, cfg) > now:
        pull_base = cfg.per_minute - cfg.allowed_per_window("pull", cost)
        return min(base, floor + max(0, base - pull_base))
    return floor


def _pull_idle_at(state: dict[str, Any], cfg: LimiterConfig) -> float:
    """When the last pull to ask counts as finished (``PULL_IDLE_S`` after it asked)."""
    pull_seen = (state.get("seen") or {}).get("pull")
    if pull_seen is None:
        return float("-inf")
    return float(pull_seen) + PULL_IDLE_S * cfg.window_seconds / 60


#: After a push had to wait, lower priorities keep yielding this long after each push grant, so a
#: burst of pushes (one drain worker, sequential calls) is not outrun by polling backfills.
PUSH_GRACE_S = 2.0


def decide(state: dict[str, Any], now: float, priority: str, cost: int, cfg: LimiterConfig) -> Decision:
    """Grant ``cost`` calls to ``priority`` now (mutating ``state``), or say how long to wait,
    or that the day is exhausted for this priority."""
    reserve = cfg.reserve(priority)
    _roll(state, now, cfg)
    # A push is waiting for this minute's budget: lower priorities yield every freed slot to it.
    # Self-expiring timestamp, so a crashed waiter cannot block pulls for long.
    push_until = state.get("push_waiting_until") or 0.0
    if priority != "push" and push_until > now:
        return Decision(False, wait_seconds=max(min(push_until - now, 1.0), 1e-3))
    day_remaining, day_reset = _day_view(state, now, cfg)
    day_limit = _daily_limit(state, cfg)
    if day_remaining - cost < reserve.day(day_limit):
        return Decision(False, exhausted_until=max(day_reset, now))
    if priority == "backfill":
        resume_at = _hourly_need_resume_at(state, now, cost, day_remaining, day_reset, day_limit, cfg)
        if resume_at is not None:
            return Decision(False, exhausted_until=resume_at)

    if priority != "push":
        state.setdefault("seen", {})[priority] = now
    minute_reserve = effective_minute_reserve(state, now, priority, cost, cfg)
    allowed = cfg.per_minute - minute_reserve
    waits: list[float] = []
    log = state["log"]
    if len(log) + cost > allowed:
        k = len(log) + cost - allowed  # entries that must expire first
        waits.append(log[k - 1] + cfg.window - now)
    ext = state.get("ext_min")
    if ext:
        left = (ext["remaining"] - ext["used"]) - cost  # in Zoho's window after this grant
        if left < minute_reserve:
            waits.append(ext["reset_at"] - now)
        elif priority != "push" and state.get("push_log"):
            # Zoho's window is fixed: nothing it counts frees up before its reset. Leave pushes
            # what they are spending (their recent rate) until that reset. The rate is taken over
            # the span of the push log (at least a quarter window), so it is right soon after
            # pushes start instead of ramping up over a whole window.
            push_log = state["push_log"]
            push_rate = len(push_log) / max(now - push_log[0], cfg.window / 4)
            if left < push_rate * (ext["reset_at"] - now):
                waits.append(min(ext["reset_at"] - now, ext["reset_at"] - left / push_rate - now))
    interval = cfg.pace_interval(priority, allowed)
    last_grants = state.setdefault("last", {})
    spread: tuple[float, float] | None = None  # (when this call was due by Zoho's headers, the gap)
    if interval is not None and ext and last_grants.get(priority) is not None:
        # follow what Zoho says is left (it counts every app's calls): spread it evenly to the
        # reset, less what other apps have been spending at their recent rate
        left = (ext["remaining"] - ext["used"]) - minute_reserve - _others_share(ext, now, cfg)
        to_reset = max(ext["reset_at"] - now, 0.0)
        gap = to_reset / max(left, 1.0)
        spread = (float(last_grants[priority]) + gap, gap)
        if spread[0] > now + 1e-6:
            waits.append(spread[0] - now)
    tats = state.setdefault("tat", {})
    if interval is not None:
        # GCRA: the next call is due at `tat`; up to `burst` calls may run ahead of it.
        due = max(float(tats.get(priority) or now) - now, 0.0)  # how far ahead of now `tat` is
        over = due + cost * interval - max(int(cfg.burst or 1), cost) * interval
        if over > 1e-6:  # (epoch seconds carry ~1e-7 of float rounding)
            waits.append(over)
    if waits:
        wait = max(max(waits), 1e-3)
        pull_idle_at = _pull_idle_at(state, cfg)
        if priority == "backfill" and minute_reserve > LENT_FLOOR and pull_idle_at > now:
            # the pull's extra is lent as soon as it is idle: ask again then, not when the log
            # has drained to the larger reserve (a sync moving from its recent invoices to its
            # history would otherwise stall some 10 calls' worth of time)
            wait = min(wait, max(pull_idle_at - now, 1e-3))
        if priority == "push":
            state["push_waiting_until"] = max(push_until, now + wait + 1.0)
        return Decision(False, wait_seconds=wait)

    if priority == "push":
        if push_until > now - PUSH_GRACE_S:
            # pushes are contending: keep the next few seconds' slots for the rest of the burst
            state["push_waiting_until"] = now + PUSH_GRACE_S
        else:
            state.pop("push_waiting_until", None)
    if interval is not None:
        tats[priority] = max(float(tats.get(priority) or now), now) + cost * interval
        last_grants[priority] = _spread_mark(spread, now)
    log.extend([now] * cost)
    state.setdefault("inflight", []).extend([now] * cost)
    if priority == "push":
        state.setdefault("push_log", []).extend([now] * cost)
    if state["day_start"] is None:
        state["day_start"] = now
    state["day_count"] += cost
    for key in ("ext_min", "ext_day"):
        if state.get(key):
            state[key]["used"] += cost
    return Decision(True)


#: a backfill refused for the hourly need resumes once it can make at least this many calls, so
#: it does not wake for every call the shrinking need frees
NEED_RESUME_CALLS = 20


def _hourly_need_resume_at(state: dict[str, Any], now: float, cost: int, day_remaining: int, day_reset: float,
                           day_limit: int, cfg: LimiterConfig) -> float | None:
    """None when a backfill call leaves the day enough for the hourly work; else when it will.

    Backfill (history, the daily sweep) spends only what the rest of the day does not need: the
    pull's day reserve (kept for pushes) plus the hourly pulls' measured need (``set_hourly_need``,
    calls per hour of this limiter's clock — the same clock the pull interval is counted in)
    until the day's reset. On a small plan a fixed quarter of the day is not enough: 2,000 calls
    a day, an hourly need of 20 calls, and a sweep that takes 1,500 leave the last hours of the
    day without their pulls. As the reset nears the need shrinks, so the backfill resumes (at
    the returned time, when ``NEED_RESUME_CALLS`` more fit) without waiting for the reset."""
    need = float(state.get("hourly_need") or 0.0)
    if need <= 0:
        return None
    keep = cfg.reserve("pull").day(day_limit)
    hours_left = max(day_reset - now, 0.0) / 3600.0
    spare = day_remaining - cost - keep  # what the day has beyond the pull's reserve, this call aside
    if spare >= need * hours_left:
        return None
    batch = spare - NEED_RESUME_CALLS
    if batch <= 0:
        return max(day_reset, now)
    return min(max(day_reset - batch / need * 3600.0, now), day_reset)


def _spread_mark(spread: tuple[float, float] | None, now: float) -> float:
    """Where the next spread-out call counts from: the time this one was due, when it came less
    than a gap late (a waiter wakes a little after its time: counting from its real start would
    lose that delay on every call, some 5 % of the allowance when a gap is a few milliseconds),
    else now (after a pause the spread starts afresh: no burst)."""
    if spread is not None and now - spread[0] < spread[1]:
        return spread[0]
    return now


def _others_share(ext: dict[str, Any], now: float, cfg: LimiterConfig) -> float:
    """Calls other apps will want from Zoho's window before it resets, at the rate they spent
    it so far (what Zoho counted beyond our own calls)."""
    others = float(ext.get("others") or 0.0)
    reset_at = float(ext["reset_at"])
    elapsed = now - (reset_at - cfg.window_seconds)
    if others <= 0:
        return 0.0
    return others / max(elapsed, cfg.window_seconds / 4) * max(reset_at - now, 0.0)


def note_release(state: dict[str, Any], now: float, cfg: LimiterConfig) -> None:
    """A granted call finished (its reply, if any, was observed): it is no longer in flight."""
    _roll(state, now, cfg)
    inflight = state.get("inflight") or []
    if inflight:
        inflight.pop(0)


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers by lower-case name (the first of repeated names wins), read once per reply:
    looking each name up in httpx's `Headers` decodes all of them every time."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        out.setdefault(key.lower(), value)
    return out


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    """`name`'s value as an int; `headers` is `_lowered`."""
    value = headers.get(name.lower())
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _merge_ext(old: dict[str, Any] | None, new: dict[str, Any], unit: float) -> dict[str, Any]:
    """Within one Zoho window the remainder only falls: if a reply read now is older than the one
    read before (replies of concurrent calls arrive out of order), keep the smaller remainder.
    A reset time that moved by more than a header tick means a new window: take the new view."""
    if old is None or abs(old["reset_at"] - new["reset_at"]) > 1.5 * unit:
        return new
    if old["remaining"] - old["used"] <= new["remaining"] - new["used"]:
        return old
    return new


def apply_headers(state: dict[str, Any], now: float, headers: Mapping[str, str], cfg: LimiterConfig) -> None:
    """Record what Zoho says is left. Its seconds are scaled like our windows.

    The reply belongs to one of the calls still in flight; the others may reach Zoho after it
    answered, so they are counted as already spent from the reported remainder (conservative:
    the next reply corrects it)."""
    _roll(state, now, cfg)
    minute_unit = cfg.window_seconds / 60.0
    day_unit = cfg.day_seconds / 86_400.0
    in_flight_others = max(0, len(state.get("inflight") or []) - 1)
    headers = _lowered(headers)
    limit = _int_header(headers, "X-Rate-Limit-Limit")
    remaining = _int_header(headers, "X-Rate-Limit-Remaining")
    reset = _int_header(headers, "X-Rate-Limit-Reset")
    day_remaining = _int_header(headers, "X-Rate-Limit-Day-Remaining")
    if day_remaining is None and limit is not None and limit > cfg.per_minute * 2:
        # Real Zoho may report the daily quota in the plain headers.
        day_limit: int | None = limit
        day_remaining, day_reset = remaining, reset
        remaining = None
    else:
        day_limit = _int_header(headers, "X-Rate-Limit-Day-Limit")
        day_reset = _int_header(headers, "X-Rate-Limit-Day-Reset")
    if remaining is not None and reset is not None:
        reset_at = now + max(reset, 0) * minute_unit
        new = {"remaining": remaining, "used": in_flight_others, "reset_at": reset_at}
        if limit is not None:
            # our own calls in Zoho's window (it opened `window_seconds` before its reset)
            # (the reset is told in whole seconds: count our calls up to 1.5 ticks earlier too)
            ours = sum(1 for t in state["log"] if t >= reset_at - cfg.window_seconds - 1.5 * minute_unit)
            new["others"] = max(0, (limit - remaining) - ours)
        state["ext_min"] = _merge_ext(state.get("ext_min"), new, minute_unit)
    if day_remaining is not None and day_reset is not None:
        new_day: dict[str, Any] = {"remaining": day_remaining, "used": in_flight_others, "limit": day_limit,
                                   "reset_at": now + max(day_reset, 0) * day_unit}
        merged = _merge_ext(state.get("ext_day"), new_day, day_unit)
        merged["limit"] = day_limit
        state["ext_day"] = merged


def status_of(state: dict[str, Any], now: float, cfg: LimiterConfig) -> BudgetStatus:
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
        hourly_need=float(state.get("hourly_need") or 0.0),
    )


class _BlockingLimiter:
    """The acquire loop shared by both backends: decide, sleep outside any lock, repeat."""

    cfg: LimiterConfig
    _clock: Callable[[], float]
    _sleep: Callable[[float], None]

    def _transact(self, org_id: str, fn: Callable[[dict[str, Any], float], Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def try_acquire(self, org_id: str, priority: str = "pull", cost: int = 1) -> Decision:
        """One decision without sleeping: granted (the calls are counted; pair with ``release``),
        or how long to wait, or when the day's budget for ``priority`` comes back. For callers
        that schedule instead of blocking, and for simulations on a fake clock. Takes no
        concurrency slot."""
        self.cfg.reserve(priority)  # validate early
        decision: Decision = self._transact(org_id, lambda s, now: decide(s, now, priority, cost, self.cfg))
        return decision

    def acquire(self, org_id: str, priority: str = "pull", cost: int = 1) -> None:
        """Block until ``cost`` calls may be made for ``org_id``; raise :class:`BudgetExhausted`
        if the day's budget left for ``priority`` cannot cover them."""
        while True:
            decision = self.try_acquire(org_id, priority, cost)
            if decision.granted:
                self._after_grant(org_id)
                return
            if decision.exhausted_until is not None:
                raise BudgetExhausted(org_id, priority, datetime.fromtimestamp(decision.exhausted_until, timezone.utc))
            self._sleep(decision.wait_seconds)

    def _after_grant(self, org_id: str) -> None:
        pass

    def release(self, org_id: str) -> None:
        """The call granted last finished (after ``observe`` of its reply)."""
        self._transact(org_id, lambda s, now: note_release(s, now, self.cfg))

    def observe(self, org_id: str, headers: Mapping[str, str]) -> None:
        self._transact(org_id, lambda s, now: apply_headers(s, now, headers, self.cfg))

    def budget_status(self, org_id: str) -> BudgetStatus:
        status: BudgetStatus = self._transact(org_id, lambda s, now: status_of(s, now, self.cfg))
        return status

    def set_daily_limit(self, org_id: str, limit: int) -> None:
        def setter(state: dict[str, Any], now: float) -> None:
            state["daily_limit"] = int(limit)
        self._transact(org_id, setter)

    def set_hourly_need(self, org_id: str, calls_per_hour: float) -> None:
        """What the organisation's hourly pulls and pushes spend (calls per Zoho hour): backfill
        leaves it for the rest of the day (see :func:`_hourly_need_resume_at`)."""
        def setter(state: dict[str, Any], now: float) -> None:
            state["hourly_need"] = max(0.0, float(calls_per_hour))
        self._transact(org_id, setter)


class MemoryRateLimiter(_BlockingLimiter):
    """Thread-safe, one process. ``max_concurrency`` optionally caps requests in flight
    (Zoho: 5 on Free, 10 on paid plans); callers then pair ``acquire`` with ``release``."""

    def __init__(self, per_minute: int = 100, window_seconds: float = 60.0, daily_limit: int = 10_000,
                 day_seconds: float = 86_400.0, reserves: Mapping[str, Reserve] | None = None, *,
                 guard_fraction: float = 0.02, burst: int | None = DEFAULT_BURST,
                 max_concurrency: int | None = None, lend: bool = True,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = LimiterConfig(per_minute, window_seconds, daily_limit, day_seconds, guard_fraction, reserves,
                                 burst, lend)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, Any]] = {}
        self._max_concurrency = max_concurrency
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}

    def _transact(self, org_id: str, fn: Callable[[dict[str, Any], float], Any]) -> Any:
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
        super().release(org_id)
        sem = self._semaphore(org_id)
        if sem is not None:
            try:
                sem.release()
            except ValueError:
                pass


class RedisRateLimiter(_BlockingLimiter):
    """Shared by every worker: the state of each organisation is one Redis key (JSON),
    updated atomically with WATCH/MULTI. Concurrency capping is not done here (a crashed
    worker would leak its slot); Zoho's concurrency 429 is refused-before-applied and retried.
    In-flight marks (for reading Zoho's headers) expire after a window, so a crash leaks none."""

    def __init__(self, redis: Any, *, key_prefix: str = "ledgersync:rl", per_minute: int = 100,
                 window_seconds: float = 60.0, daily_limit: int = 10_000, day_seconds: float = 86_400.0,
                 reserves: Mapping[str, Reserve] | None = None, guard_fraction: float = 0.02,
                 burst: int | None = DEFAULT_BURST, lend: bool = True,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = LimiterConfig(per_minute, window_seconds, daily_limit, day_seconds, guard_fraction, reserves,
                                 burst, lend)
        self._redis = redis
        self._prefix = key_prefix
        self._clock = clock
        self._sleep = sleep

    def _key(self, org_id: str) -> str:
        return f"{self._prefix}:{org_id}"

    def _transact(self, org_id: str, fn: Callable[[dict[str, Any], float], Any]) -> Any:
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
