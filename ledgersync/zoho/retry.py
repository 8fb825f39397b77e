"""When to try a Zoho call again, as pure functions (one test per rule).

The rules:

1. Success and permanent refusals (4xx other than 429/401) are final.
2. The request never left (connect error / pool timeout): always safe to repeat.
3. Refused before being applied (HTTP 429 per-minute or concurrency): safe to repeat, for
   writes too. A 429 for the DAILY cap is not retried (hours away: the limiter reschedules).
4. The request may have been applied (read timeout, dropped connection, 5xx, unreadable body):
   repeat only if ``safe_to_repeat`` (reads, PUTs). A POST is NEVER blindly re-posted; the
   caller gets ``outcome_unknown=True`` and looks the record up before any new attempt.
5. An expired token (401) is handled by the client itself: refresh once, retry once.
6. Never more than ``max_attempts`` attempts.
"""
from __future__ import annotations

import random
from enum import Enum


class Outcome(str, Enum):
    SUCCESS = "success"
    NOT_SENT = "not_sent"            # connect error: Zoho never saw it
    UNKNOWN = "unknown"              # read timeout / dropped connection after sending
    RATE_LIMITED = "rate_limited"    # 429 minute / concurrency: refused before applied
    DAILY_LIMIT = "daily_limit"      # 429 daily cap
    SERVER_ERROR = "server_error"    # 5xx
    MALFORMED = "malformed"          # body is not the JSON we expect
    AUTH_EXPIRED = "auth_expired"    # 401 invalid token (refresh path)
    REJECTED = "rejected"            # other 4xx


_ALWAYS_SAFE = {Outcome.NOT_SENT, Outcome.RATE_LIMITED}
_SAFE_ONLY_IF_REPEATABLE = {Outcome.UNKNOWN, Outcome.SERVER_ERROR, Outcome.MALFORMED}


def should_retry(outcome: Outcome, attempt: int, *, safe_to_repeat: bool, max_attempts: int = 5) -> bool:
    """Whether attempt number ``attempt`` (1-based, just finished) deserves another try."""
    if attempt >= max_attempts:
        return False
    if outcome in _ALWAYS_SAFE:
        return True
    if outcome in _SAFE_ONLY_IF_REPEATABLE:
        return safe_to_repeat
    return False


def backoff_seconds(attempt: int, rng: random.Random, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return rng.uniform(0, ceiling)


def outcome_is_unknown(outcome: Outcome) -> bool:
    """True when a write with this outcome may have been applied in Zoho."""
    return outcome in _SAFE_ONLY_IF_REPEATABLE
