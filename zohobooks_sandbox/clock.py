"""The sandbox's notion of time.

Everything time-dependent (token expiry, code expiry, overdue invoices, rate-limit windows,
``last_modified_time``) reads this clock, never ``datetime.now`` directly, so tests can run a
Zoho "minute" in a fraction of a second (``time_scale``) or move time by hand (manual mode).
"""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo


class Clock:
    """Scaled, optionally manual, thread-safe clock.

    Sandbox time = start + (real elapsed seconds * time_scale) + manual offset.
    With ``manual=True`` real time does not flow at all; only ``advance`` moves it.
    """

    def __init__(self, time_scale: float = 1.0, manual: bool = False, start: datetime | None = None,
                 real0: float | None = None) -> None:
        self.time_scale = float(time_scale)
        self.manual = manual
        self._start = (start or datetime.now(timezone.utc)).astimezone(timezone.utc)
        self._real0 = time.monotonic() if real0 is None else float(real0)
        self._offset = 0.0
        self._lock = threading.Lock()

    def _elapsed(self) -> float:
        real = 0.0 if self.manual else (time.monotonic() - self._real0) * self.time_scale
        with self._lock:
            return real + self._offset

    def now(self) -> datetime:
        """Current sandbox time, UTC aware."""
        return self._start + timedelta(seconds=self._elapsed())

    def monotonic(self) -> float:
        """Sandbox seconds since the clock started (scaled); use for windows and TTLs."""
        return self._elapsed()

    def anchor(self) -> tuple[str, float]:
        """(start, real0): what another process on this machine needs to build a ``Clock`` that
        reads the same time (``time.monotonic`` is system-wide), e.g. a bench whose sandbox
        serves from a child process. Not meaningful for a manual clock."""
        return self._start.isoformat(), self._real0

    def advance(self, seconds: float) -> None:
        """Move sandbox time forward (tests; works in both modes)."""
        with self._lock:
            self._offset += float(seconds)

    def today(self, tz: str = "UTC") -> date:
        """The current date in an organisation's time zone."""
        return self.now().astimezone(ZoneInfo(tz)).date()


def zoho_timestamp(moment: datetime, tz: str = "UTC") -> str:
    """Format like Zoho: ``2013-11-18T02:02:51-0800`` (org time zone, offset without colon)."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_zoho_timestamp(text: str, tz: str = "UTC") -> datetime:
    """Parse the forms clients send for ``last_modified_time``.

    Accepts ``2013-11-18T02:02:51-0800``, ``...-08:00``, ``...Z``, a naive timestamp (read in the
    org's time zone) or a bare date. Raises ValueError otherwise.
    """
    text = text.strip().replace(" ", "+") if "T" in text else text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+0000"
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(timezone.utc)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)
        except ValueError:
            pass
    raise ValueError(text)
