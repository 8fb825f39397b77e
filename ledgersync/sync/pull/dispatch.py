"""The `Dispatcher` port: how the sync layer (and the web) ask for background work without
importing the workers (layers point inward). `ledgersync.workers` implements it (embedded
scheduler, Celery) and installs the process's one at `container.extras["dispatcher"]`."""

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


def get_dispatcher(container: Container) -> Any:
    return container.extras.get("dispatcher") or NullDispatcher()


def connection_of_partner(container: Container, partner_id: str) -> str | None:
    """The partner's Zoho connection id (for `notify(partner_id)`)."""
    from sqlalchemy import select

    from ledgersync.store.orm import Connection

    with container.uow() as uow:
        return uow.session.execute(
            select(Connection.id).where(Connection.partner_id == partner_id, Connection.provider == "zoho_books")
        ).scalar_one_or_none()
