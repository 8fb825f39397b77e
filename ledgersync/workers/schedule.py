"""When each connection's hourly pull is due, and which queue a task goes to.

Hourly pulls are *staggered*: connection c is due at `phase(c) + k * interval` (real seconds
since the epoch), `phase(c) = crc32(c) mod interval`. Ten thousand partners then spread over the
hour instead of all starting at :00 (a burst that would make the last of them late and idle the
workers for the other 59 minutes). Beat ticks every `pull_tick_s` and enqueues the connections
whose slot index `k` moved since the last tick.

Routing (the deployment's fairness): pushes on `<prefix>.push`, incremental pulls and webhook
re-reads on `<prefix>.pull` — with a new connection's last 12 months ("initial:recent": it
makes the connection usable) — and the history of initial syncs (big backfills) on
`<prefix>.backfill`. Workers list
the queues in that order and read them with the `priority` queue-order strategy, so a worker
takes a backfill only when no push or pull waits, and `backfill_slots` caps how many worker
threads backfills may hold at once.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

PUSH, PULL, BACKFILL = "push", "pull", "backfill"


def queue_names(prefix: str) -> dict[str, str]:
    return {kind: f"{prefix}.{kind}" for kind in (PUSH, PULL, BACKFILL)}


def kind_of(task_name: str, args: tuple[Any, ...] | list[Any] | None) -> str:
    """push / pull / backfill for a task and its arguments (the beat fan-outs ride the pull queue)."""
    if task_name in ("ledgersync.push_drain", "ledgersync.schedule_due_pushes"):
        return PUSH
    if task_name == "ledgersync.pull_stream" and args and len(args) > 1 and args[1] == "initial":
        return BACKFILL  # ("initial:recent", the last 12 months of a new connection, rides the pull queue)
    return PULL


def phase_s(connection_id: str, interval_s: float) -> float:
    """The connection's offset in the hour (stable across processes and restarts)."""
    millis = max(1, int(interval_s * 1000))
    return (zlib.crc32(connection_id.encode()) % millis) / 1000.0


def slot_index(connection_id: str, now_s: float, interval_s: float) -> int:
    """Index of the latest due time of the connection at `now_s` (real unix seconds)."""
    return math.floor((now_s - phase_s(connection_id, interval_s)) / interval_s)


def due_at(connection_id: str, index: int, interval_s: float) -> float:
    """Real unix time of the connection's `index`-th due pull."""
    return index * interval_s + phase_s(connection_id, interval_s)


def zoho_clock(time_scale: float, time_origin: float) -> Callable[[], datetime]:
    """Zoho's clock for a time-scaled run (benches): real time sped up `time_scale` times from
    the real instant `time_origin`; the engine's cursors and "last 12 months" follow it."""

    def now() -> datetime:
        real = time.time()
        return datetime.fromtimestamp(time_origin + (real - time_origin) * time_scale, timezone.utc)

    return now
