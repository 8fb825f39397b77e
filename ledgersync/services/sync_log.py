"""Read side of the partner's sync state: the run log and the stream cursors."""

from __future__ import annotations

from sqlalchemy import select

from ledgersync.bootstrap import Container
from ledgersync.services._session import detached
from ledgersync.store import orm


def _connection_ids(partner_id: str):  # type: ignore[no-untyped-def]
    return select(orm.Connection.id).where(orm.Connection.partner_id == partner_id)


def list_sync_runs(
    container: Container, partner_id: str, *, stream: str | None = None, limit: int = 50, offset: int = 0
) -> list[orm.SyncRun]:
    """The partner's sync runs (every connection), newest first."""
    stmt = select(orm.SyncRun).where(orm.SyncRun.connection_id.in_(_connection_ids(partner_id)))
    if stream is not None:
        stmt = stmt.where(orm.SyncRun.stream == stream)
    stmt = stmt.order_by(orm.SyncRun.started_at.desc(), orm.SyncRun.id).limit(limit).offset(offset)
    with container.uow() as uow:
        return detached(uow, list(uow.session.scalars(stmt)))


def list_cursors(container: Container, partner_id: str, connection_id: str) -> list[orm.SyncCursor]:
    """The stream cursors of one of the partner's connections (empty for another's)."""
    stmt = (
        select(orm.SyncCursor)
        .where(orm.SyncCursor.connection_id == connection_id, orm.SyncCursor.connection_id.in_(_connection_ids(partner_id)))
        .order_by(orm.SyncCursor.stream)
    )
    with container.uow() as uow:
        return detached(uow, list(uow.session.scalars(stmt)))
