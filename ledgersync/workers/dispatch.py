"""How the product asks for background work: `Dispatcher.push_requested(connection_id)` and
`Dispatcher.pull_requested(connection_id, stream, trigger)`.

`ledgersync run` installs the embedded scheduler's dispatcher, Celery deployments the Celery
one (tasks `ledgersync.push_drain` / `ledgersync.pull_stream`), both at
`container.dispatcher` (the port itself lives in `ledgersync.sync.ports`). Without one (tests, CLI
one-shots) requests are dropped: the
periodic schedule is the safety net, so nothing is lost, only later.
"""

from __future__ import annotations

from ledgersync.bootstrap import Container


class InlineDispatcher:
    """Runs the work synchronously in the caller's thread (CLI one-shots, some tests)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def push_requested(self, connection_id: str) -> None:
        from ledgersync.workers.jobs import push_drain

        push_drain(self.container, connection_id)

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None:
        from ledgersync.workers.jobs import pull

        pull(self.container, connection_id, stream, trigger)


