"""The jobs both schedulers run (embedded threads and Celery tasks): ids in, services called."""

from __future__ import annotations

import logging

from ledgersync.bootstrap import Container
from ledgersync.sync.push import DrainResult, drain_outbox

log = logging.getLogger(__name__)


def pull(container: Container, connection_id: str, stream: str | None = None, trigger: str = "schedule") -> None:
    """`stream=None` or "all": every incremental stream (or the initial sync while it runs);
    "initial": the initial sync; "record:invoice:<zoho id>" / "record:contact:<id>": one record
    (webhook hint); otherwise a comma-separated list of streams."""
    from ledgersync.sync.pull.initial import run_initial_sync
    from ledgersync.sync.pull.service import sync_connection

    if stream and stream.startswith("record:"):
        from ledgersync.sync.pull.records import sync_record

        _, entity, zoho_id = stream.split(":", 2)
        sync_record(container, connection_id, entity, zoho_id, trigger=trigger)
    elif stream == "initial":
        run_initial_sync(container, connection_id)
    elif stream in (None, "", "all"):
        sync_connection(container, connection_id, trigger=trigger)
    else:
        sync_connection(container, connection_id, trigger=trigger, streams=[s for s in stream.split(",") if s])


def push_drain(container: Container, connection_id: str) -> DrainResult:
    """Drain the connection's push outbox (the push part's engine)."""
    return drain_outbox(container, connection_id)
