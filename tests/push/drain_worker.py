"""A push worker PROCESS for the process-mode fault campaign (`tests/push/process_campaign.py`).

`python -m tests.push.drain_worker` — configured by environment (so nothing secret shows in
`ps`): `LS_WORKER_DB` (database URL, shared with the parent and the other workers),
`LS_WORKER_KEY` (the token encryption key), `LS_WORKER_CONNECTION`, `LS_WORKER_STOP` (a file
whose existence asks the worker to finish its drain and exit), `LS_WORKER_TIMEOUT` (the client's
read timeout, seconds).

It drains the connection's outbox over a real socket to the sandbox, again and again, with
the product's own `drain_outbox` and `books_for`, until asked to stop — or until the parent
kills it with SIGKILL at a random moment, which is the point.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ledgersync.bootstrap import Container
from ledgersync.settings import Settings
from ledgersync.sync.books_factory import books_for
from ledgersync.sync.push import PushConfig, drain_outbox
from ledgersync.zoho.ratelimit import MemoryRateLimiter

# Leases short enough for a killed worker's intents to be taken over within seconds (renewed by
# the engine's heartbeat while the worker lives); a write's deadline outlasts one attempt (read
# timeout) with room to spare.
LEASE_S = 3.0
WRITE_TIMEOUT_S = 8.0


def push_config() -> PushConfig:
    return PushConfig(lease_seconds=LEASE_S, heartbeat_s=LEASE_S / 4, write_timeout_s=WRITE_TIMEOUT_S,
                      backoff_base_s=0.05, backoff_max_s=0.5, defer_s=0.05, waiting_recheck_s=0.2)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    timeout = float(os.environ.get("LS_WORKER_TIMEOUT", "0.5"))
    settings = Settings(_env_file=None, env="test", database_url=os.environ["LS_WORKER_DB"],  # type: ignore[call-arg]
                        token_encryption_key=os.environ["LS_WORKER_KEY"], scheduler="off",
                        zoho_http_timeout_s=timeout)
    container = Container(settings)
    connection_id = os.environ["LS_WORKER_CONNECTION"]
    stop = Path(os.environ["LS_WORKER_STOP"])
    # One process, one limiter; the sandbox's limits are off in this mode (the in-process
    # campaign runs the real limiter against them).
    limiter = MemoryRateLimiter(per_minute=1_000_000, daily_limit=1_000_000_000)
    cfg = push_config()
    (stop.parent / f"ready-{os.getpid()}").touch()  # up: the parent may kill it from now on

    def books() -> object:
        return books_for(container, connection_id, limiter=limiter, max_attempts=3, sleep=lambda s: time.sleep(min(s, 0.05)))

    while not stop.exists():
        try:
            drain_outbox(container, connection_id, open_books=books, cfg=cfg)
        except Exception:  # noqa: BLE001 - a worker keeps draining; the oracle judges the result
            logging.getLogger("drain_worker").exception("drain failed")
        time.sleep(0.05)
    container.close()


if __name__ == "__main__":
    main()
