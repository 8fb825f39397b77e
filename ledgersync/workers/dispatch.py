"""How the product asks for background work: `Dispatcher.push_requested(connection_id)` and
`Dispatcher.pull_requested(connection_id, stream, trigger)`.

`ledgersync run` installs the embedded scheduler's dispatcher, Celery deployments the Celery
one (tasks `ledgersync.push_drain` / `ledgersync.pull_stream`), both at
`container.extras["dispatcher"]`. Without one (tests, CLI one-shots) requests are dropped: the
periodic schedule is the safety net, so nothing is lost, only later.
"""

from __future__ import annotations

from typing import Any, Protocol

from ledgersync.bootstrap import Container


class Dispatcher(Protocol):
    def push_requested(self, connection_id: str) -> None: ...

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None: ...


class NullDispatcher:
    """Drops requests (no scheduler in this process); the periodic schedule catches up."""

    def push_requested(self, connection_id: str) -> None:
        return None

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None:
        return None


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


def get_dispatcher(container: Container) -> Any:
    return container.extras.get("dispatcher") or NullDispatcher()


def connection_of_partner(container: Container, partner_id: str) -> str | None:
    """The partner's Zoho connection id (for `outbox.notify(container, partner_id)`)."""
    from sqlalchemy import select

    from ledgersync.store.orm import Connection

    with container.uow() as uow:
        return uow.session.execute(
            select(Connection.id).where(Connection.partner_id == partner_id, Connection.provider == "zoho_books")
        ).scalar_one_or_none()
