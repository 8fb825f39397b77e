"""Timing of the push engine (leases, heartbeat, write deadline, back-off) and its clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class PushConfig:
    """Engine timing. `now` is the clock of every lease and schedule decision (tests move it).

    A claimed intent's lease lasts `lease_seconds` and is renewed every `heartbeat_s` by a
    heartbeat thread while its worker lives (`None`: no thread; tests renew by hand with
    `renew_lease`). A worker that died stops renewing, so its lease runs out within
    `lease_seconds` of the death, and the next drain takes the intent over, with a new fencing
    token (`push_intents.fence`).

    `write_timeout_s` is the longest one HTTP attempt of a Zoho write can be on its way (connect,
    send, Zoho's answer: each bounded by the connector's 30 s timeout). Right before every
    attempt is sent, the worker checks its fencing token and sets the intent's `write_deadline`
    to now + `write_timeout_s` in one conditional UPDATE; a taker-over waits for that deadline,
    then looks Zoho up before writing. So a write is never sent by a worker that lost the
    intent, and never re-sent while the old attempt could still land: no duplicate, and no fixed
    600 s wait either.
    """

    lease_seconds: float = 15.0
    heartbeat_s: float | None = 5.0
    write_timeout_s: float = 60.0
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    defer_s: float = 2.0
    waiting_recheck_s: float = 60.0
    now: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempts: int) -> timedelta:
        base = min(self.backoff_max_s, self.backoff_base_s * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=base * (0.5 + self.rng.random() / 2))
