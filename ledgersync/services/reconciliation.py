"""The reconciliation report, cached per partner and range for the dashboard (issue 14).

Building a report reads every invoice, payment and deposit of the range from Zoho (a dozen
calls and more on a large range); the page asks for it again on every filter, sort, page and
CSV download. So the web process keeps the last reports it built, each with the **stamp** of the
partner's data it was built from: the run log (every pull run — hourly, webhook, initial — and
every push drain writes a `sync_runs` row; the dashboard's own reads, logged there for the
budget panel, do not count), the push outbox, and the payments, payouts and
invoices (a platform change not pushed yet). Any sync or push moves the stamp, and the next
request rebuilds the report: a cached report never outlives a change the platform has seen.
Zoho edits the platform has not pulled yet are, as always, found by the next sync; a report is
also rebuilt after `MAX_AGE_S` and on demand (`fresh=True`, the page's "Compare again").

The stamp is a handful of aggregates over indexed columns — read from the database, so it also
sees syncs and pushes made by other processes (Celery workers).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from ledgersync.store import orm
from ledgersync.sync import outbox
from ledgersync.sync.books_factory import ZohoAccess
from ledgersync.sync.call_log import DASHBOARD_TRIGGER
from ledgersync.sync.ports import BooksGateway, Transactional
from ledgersync.sync.push.reconcile import ReconciliationReport, reconcile

#: a cached report is rebuilt after this long even if nothing moved (Zoho-side edits)
MAX_AGE_S = 600.0
#: reports kept per process (partners × ranges)
MAX_ENTRIES = 64


@dataclass(frozen=True)
class Cached:
    report: ReconciliationReport
    stamp: tuple[Any, ...]
    built_at: float  # time.monotonic()
    hit: bool = False


_lock = threading.Lock()
_reports: OrderedDict[tuple[str, str, date, date], Cached] = OrderedDict()


def data_stamp(container: Transactional, partner_id: str, connection_id: str) -> tuple[Any, ...]:
    """What the partner's report depends on, as it stands: it changes with every sync run, push
    and platform change of the partner."""
    with container.uow() as uow:
        s = uow.session
        # the dashboard's own reads (a PDF, an invoice page, this report) are logged as runs too,
        # for the budget panel: they change nothing the report compares
        runs = s.execute(select(func.count(), func.max(orm.SyncRun.started_at), func.max(orm.SyncRun.finished_at))
                         .where(orm.SyncRun.connection_id == connection_id,
                                orm.SyncRun.trigger != DASHBOARD_TRIGGER)).one()
        intents = s.execute(select(func.count(), func.max(orm.PushIntent.updated_at))
                            .where(orm.PushIntent.partner_id == partner_id)).one()
        stamps = [s.execute(select(func.count(), func.max(model.updated_at)).where(model.partner_id == partner_id)).one()
                  for model in (orm.Payment, orm.Payout, orm.Invoice)]
    return (tuple(runs), tuple(intents), *(tuple(x) for x in stamps))


def partner_report(container: ZohoAccess, partner_id: str, start: date, end: date, *, fresh: bool = False,
                   books: BooksGateway | None = None) -> Cached:
    """The partner's report for [start, end]: the cached one while the partner's data has not
    moved (and it is younger than `MAX_AGE_S`), else a new one (`LookupError` without a
    connection to Zoho Books)."""
    with container.uow() as uow:
        conn = outbox.find_connection(uow.session, partner_id)
        if conn is None or not conn.organization_id:
            raise LookupError("Zoho Books is not connected")
        connection_id = conn.id
    key = (partner_id, connection_id, start, end)
    stamp = data_stamp(container, partner_id, connection_id)
    with _lock:
        cached = _reports.get(key)
    if (cached is not None and not fresh and cached.stamp == stamp
            and time.monotonic() - cached.built_at < MAX_AGE_S):
        with _lock:
            _reports.move_to_end(key)
        return Cached(cached.report, cached.stamp, cached.built_at, hit=True)
    report = reconcile(container, connection_id, start, end, books=books)
    made = Cached(report, stamp, time.monotonic())
    with _lock:
        _reports[key] = made
        _reports.move_to_end(key)
        while len(_reports) > MAX_ENTRIES:
            _reports.popitem(last=False)
    return made


def forget(partner_id: str | None = None) -> None:
    """Drop the cached reports (of one partner, or all)."""
    with _lock:
        for key in [k for k in _reports if partner_id is None or k[0] == partner_id]:
            del _reports[key]
