"""Sync log: the integration's runs (pull streams and pushes) with per-record errors (Zoho id),
the initial sync's progress and history finish estimate, and "Sync now"."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from ledgersync.bootstrap import Container
from ledgersync.services import paging
from ledgersync.services.sync_log import RUN_SORTS
from ledgersync.store.orm import Connection, SyncError, SyncRun
from ledgersync.sync.ports import NullDispatcher
from ledgersync.sync.pull.progress import initial_sync_progress
from ledgersync.sync.pull.service import sync_connection
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.sorting import read_sort
from ledgersync.web.templating import flash, render

router = APIRouter()


def _connection(container: Container, partner_id: str) -> Connection | None:
    with container.uow() as uow:
        conn = uow.session.execute(select(Connection).where(Connection.partner_id == partner_id)).scalars().first()
        if conn is not None:
            uow.session.expunge(conn)
        return conn


PAGE_SIZE = 50


@router.get("/sync-log")
def sync_log(request: Request, container: ContainerDep, partner: CurrentPartner, page: str = "1",
             sort: str = "", dir: str = "") -> Response:
    """The connection's runs (newest first, or by a column), its open per-record errors, progress."""
    conn = _connection(container, partner.id)
    runs: Sequence[SyncRun] = []
    errors: Sequence[SyncError] = []
    progress: dict[str, Any] | None = None
    number = max(1, int(page)) if page.isdigit() else 1
    order = read_sort(sort, dir, RUN_SORTS, ("started", True), "/sync-log")
    result: paging.Page[SyncRun] = paging.Page([], 0, PAGE_SIZE, 0)
    if conn is not None:
        with container.uow() as uow:
            s = uow.session
            rows, total = paging.fetch(s, paging.sorted_by(select(SyncRun).where(SyncRun.connection_id == conn.id),
                                                           RUN_SORTS, order.key, order.desc,
                                                           SyncRun.started_at.desc(), SyncRun.id),
                                       PAGE_SIZE, (number - 1) * PAGE_SIZE)
            result = paging.Page(rows, total, PAGE_SIZE, (number - 1) * PAGE_SIZE)
            runs = rows
            errors = s.execute(select(SyncError).where(SyncError.connection_id == conn.id, SyncError.resolved_at.is_(None))
                               .order_by(SyncError.created_at.desc()).limit(200)).scalars().all()
            progress = initial_sync_progress(s, conn.id)
            s.expunge_all()
    return render(request, "sync_runs.html", {"conn": conn, "runs": runs, "errors": errors, "progress": progress,
                                              "page": result, "number": number,
                                              "pages": max(1, -(-result.total // PAGE_SIZE)),
                                              "page_link": order.page_link(), "sort": order})


@router.post("/sync-log/sync-now")
def sync_now(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    conn = _connection(container, partner.id)
    if conn is None or not conn.organization_id or conn.status == "disconnected":
        flash(request, "Connect Zoho Books first (Integrations).", "error")
        return RedirectResponse("/sync-log", status_code=303)
    if conn.status == "reauth_required":
        flash(request, "Zoho no longer accepts our access: Reconnect on the Integrations page first.", "error")
        return RedirectResponse("/sync-log", status_code=303)
    dispatcher = container.dispatcher
    if isinstance(dispatcher, NullDispatcher):  # no scheduler in this process: run in the background
        threading.Thread(target=sync_connection, args=(container, conn.id), kwargs={"trigger": "manual"}, daemon=True).start()
    else:
        dispatcher.pull_requested(conn.id, None, "manual")
    flash(request, "Sync started: invoices, line items, customers and deletions are being checked.", "success")
    return RedirectResponse("/sync-log", status_code=303)
