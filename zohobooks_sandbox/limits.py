"""Zoho Books API limits, per organisation: per-minute, per-day and concurrent requests.

What Zoho documents (and the sandbox reproduces, every number configurable):

* **100 requests per minute per organisation.** Zoho does not say whether the window is
  sliding or fixed; the ``X-Rate-Limit-Reset`` header ("seconds until the window resets")
  only makes sense for a window that *resets*, so the sandbox uses a **fixed window** that
  opens with the first request after the previous window closed and lasts 60 sandbox seconds.
* **A daily cap by plan** (free 1000, standard 2000, professional 5000, premium 10000), fixed
  24-hour windows of sandbox time (Zoho resets it every 24 h in the data centre's time zone).
* **Concurrent requests**: 5 on the free plan, 10 on paid plans.

Over a limit the reply is HTTP 429 with a non-zero Zoho ``code`` and a message naming the
limit, and **no** ``Retry-After``. Codes: 44 for the per-minute and concurrency limits
("too many requests"), 45 for the daily cap. Zoho's public pages show only HTTP 429 /
"API usage limit exceeded"; 44/45 are what real clients report for these two cases and are
kept in one table here so the sandbox is consistent.

Headers: ``X-Rate-Limit-Limit`` / ``-Remaining`` / ``-Reset`` describe the per-minute window
(what a client needs to pace itself); the daily quota is reported alongside in
``X-Rate-Limit-Day-Limit`` / ``-Day-Remaining`` / ``-Day-Reset``.

The limiter is pure logic over a clock function (sandbox seconds, already scaled by
``time_scale``) so tests drive it with a manual clock.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

MINUTE_SECONDS = 60.0
DAY_SECONDS = 86_400.0

CODE_PER_MINUTE = 44
CODE_CONCURRENCY = 44
CODE_DAILY = 45

DEFAULT_DAILY_LIMITS: dict[str, int] = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}
DEFAULT_CONCURRENCY_LIMITS: dict[str, int] = {"free": 5, "paid": 10}


@dataclass
class OrgLimits:
    """The limits that apply to one organisation (resolved from its plan and overrides)."""

    per_minute: int = 100
    daily: int = 10000
    concurrency: int = 10
    enabled: bool = True

    @classmethod
    def for_plan(
        cls,
        plan: str,
        per_minute: int = 100,
        daily_limits: dict[str, int] | None = None,
        concurrency_limits: dict[str, int] | None = None,
        enabled: bool = True,
    ) -> OrgLimits:
        """Limits of an organisation on ``plan`` (unknown plans count as premium / paid)."""
        daily_limits = daily_limits or DEFAULT_DAILY_LIMITS
        concurrency_limits = concurrency_limits or DEFAULT_CONCURRENCY_LIMITS
        plan = (plan or "premium").lower()
        daily = daily_limits.get(plan, daily_limits.get("premium", 10000))
        conc_key = "free" if plan == "free" else "paid"
        concurrency = concurrency_limits.get(plan, concurrency_limits.get(conc_key, 10))
        return cls(per_minute=per_minute, daily=daily, concurrency=concurrency, enabled=enabled)


@dataclass
class Rejection:
    """Why a request was refused: HTTP 429 with this Zoho code and message."""

    limit: str  # "per_minute" | "daily" | "concurrency"
    code: int
    message: str
    status: int = 429


@dataclass
class _Window:
    started: float | None = None
    count: int = 0

    def roll(self, now: float, length: float) -> None:
        if self.started is None or now - self.started >= length:
            self.started = None
            self.count = 0

    def open_if_needed(self, now: float) -> None:
        if self.started is None:
            self.started = now

    def reset_in(self, now: float, length: float) -> int:
        if self.started is None:
            return int(length)
        return max(0, math.ceil(self.started + length - now))


@dataclass
class _OrgCounters:
    minute: _Window = field(default_factory=_Window)
    day: _Window = field(default_factory=_Window)
    in_flight: int = 0


@dataclass
class Admission:
    """Result of :meth:`RateLimiter.admit`: either admitted (``rejection is None``) or refused."""

    rejection: Rejection | None
    headers: dict[str, str]

    @property
    def admitted(self) -> bool:
        return self.rejection is None


class RateLimiter:
    """Counts requests per organisation against :class:`OrgLimits`; thread-safe.

    ``admit`` counts an accepted request in both windows and holds a concurrency slot until
    ``release``. A refused request is not counted against the windows (Zoho answers it
    without doing work), which is what lets a well-paced client recover after the reset.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._orgs: dict[str, _OrgCounters] = {}

    def _counters(self, org_id: str) -> _OrgCounters:
        counters = self._orgs.get(org_id)
        if counters is None:
            counters = self._orgs[org_id] = _OrgCounters()
        return counters

    def admit(self, org_id: str, limits: OrgLimits) -> Admission:
        """Decide whether one request of ``org_id`` may run now."""
        with self._lock:
            now = self._now()
            c = self._counters(org_id)
            c.minute.roll(now, MINUTE_SECONDS)
            c.day.roll(now, DAY_SECONDS * 1.0)
            rejection: Rejection | None = None
            if limits.enabled:
                if c.day.count >= limits.daily:
                    rejection = Rejection(
                        "daily",
                        CODE_DAILY,
                        f"You have exceeded the maximum number of API calls allowed per day "
                        f"for this organization (daily limit of {limits.daily} calls). "
                        "The limit resets in 24 hours.",
                    )
                elif c.minute.count >= limits.per_minute:
                    rejection = Rejection(
                        "per_minute",
                        CODE_PER_MINUTE,
                        f"You have made too many requests continuously: the limit is "
                        f"{limits.per_minute} requests per minute per organization. "
                        "Please try again after some time.",
                    )
                elif c.in_flight >= limits.concurrency:
                    rejection = Rejection(
                        "concurrency",
                        CODE_CONCURRENCY,
                        f"You have made too many concurrent requests: the limit is "
                        f"{limits.concurrency} concurrent requests per organization.",
                    )
            if rejection is None:
                c.minute.open_if_needed(now)
                c.day.open_if_needed(now)
                c.minute.count += 1
                c.day.count += 1
                c.in_flight += 1
            return Admission(rejection, self._headers(c, limits, now))

    def release(self, org_id: str) -> None:
        """Free the concurrency slot taken by an admitted request."""
        with self._lock:
            c = self._counters(org_id)
            c.in_flight = max(0, c.in_flight - 1)

    def headers(self, org_id: str, limits: OrgLimits) -> dict[str, str]:
        """Current ``X-Rate-Limit-*`` headers of ``org_id`` (without counting a request)."""
        with self._lock:
            now = self._now()
            c = self._counters(org_id)
            c.minute.roll(now, MINUTE_SECONDS)
            c.day.roll(now, DAY_SECONDS)
            return self._headers(c, limits, now)

    def in_flight(self, org_id: str) -> int:
        with self._lock:
            return self._counters(org_id).in_flight

    def reset(self, org_id: str) -> None:
        """Forget the windows of ``org_id`` (admin action; in-flight slots are kept)."""
        with self._lock:
            c = self._counters(org_id)
            c.minute = _Window()
            c.day = _Window()

    @staticmethod
    def _headers(c: _OrgCounters, limits: OrgLimits, now: float) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(limits.per_minute),
            "X-Rate-Limit-Remaining": str(max(0, limits.per_minute - c.minute.count)),
            "X-Rate-Limit-Reset": str(c.minute.reset_in(now, MINUTE_SECONDS)),
            "X-Rate-Limit-Day-Limit": str(limits.daily),
            "X-Rate-Limit-Day-Remaining": str(max(0, limits.daily - c.day.count)),
            "X-Rate-Limit-Day-Reset": str(c.day.reset_in(now, DAY_SECONDS)),
        }
