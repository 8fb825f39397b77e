"""Read side of the partner's sync state: the run log and the stream cursors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ledgersync.services._session import detached
from ledgersync.services.paging import Page, fetch, sorted_by
from ledgersync.store import orm
from ledgersync.sync.ports import Transactional


def _connection_ids(partner_id: str):  # type: ignore[no-untyped-def]
    return select(orm.Connection.id).where(orm.Connection.partner_id == partner_id)


#: what the run log may be sorted by
RUN_SORTS: dict[str, Any] = {
    "started": orm.SyncRun.started_at, "stream": orm.SyncRun.stream, "trigger": orm.SyncRun.trigger,
    "status": orm.SyncRun.status, "created": orm.SyncRun.created, "updated": orm.SyncRun.updated,
    "archived": orm.SyncRun.archived, "calls": orm.SyncRun.calls, "errors": orm.SyncRun.errors,
}


def list_sync_runs(
    container: Transactional, partner_id: str, *, stream: str | None = None, limit: int = 50, offset: int = 0
) -> list[orm.SyncRun]:
    """The partner's sync runs (every connection), newest first (one page: `page_sync_runs`)."""
    return page_sync_runs(container, partner_id, stream=stream, limit=limit, offset=offset).items


def page_sync_runs(
    container: Transactional, partner_id: str, *, stream: str | None = None, connection_id: str | None = None,
    sort: str | None = None, desc: bool = False, limit: int = 50, offset: int = 0
) -> Page[orm.SyncRun]:
    """One page of the partner's sync runs (of one connection when given), newest first (or by a
    key of `RUN_SORTS`), and the total."""
    stmt = select(orm.SyncRun).where(orm.SyncRun.connection_id.in_(_connection_ids(partner_id)))
    if stream is not None:
        stmt = stmt.where(orm.SyncRun.stream == stream)
    if connection_id is not None:
        stmt = stmt.where(orm.SyncRun.connection_id == connection_id)
    if sort is not None:
        stmt = sorted_by(stmt, RUN_SORTS, sort, desc, orm.SyncRun.started_at.desc(), orm.SyncRun.id)
    else:
        stmt = stmt.order_by(orm.SyncRun.started_at.desc(), orm.SyncRun.id)
    with container.uow() as uow:
        rows, total = fetch(uow.session, stmt, limit, offset)
        return detached(uow, Page(rows, total, limit, offset))


def list_cursors(container: Transactional, partner_id: str, connection_id: str) -> list[orm.SyncCursor]:
    """The stream cursors of one of the partner's connections (empty for another's)."""
    stmt = (
        select(orm.SyncCursor)
        .where(orm.SyncCursor.connection_id == connection_id, orm.SyncCursor.connection_id.in_(_connection_ids(partner_id)))
        .order_by(orm.SyncCursor.stream)
    )
    with container.uow() as uow:
        return detached(uow, list(uow.session.scalars(stmt)))
