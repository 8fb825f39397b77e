"""Deletion detection without a call per record (Zoho leaves no tombstone).

Invoices — count, then bisect:
1. One call: `GET /invoices?response_option=2&filter_by=Status.All` gives Zoho's count. Locally
   we count live (not archived) Zoho-origin invoices of the connection. Equal → done: a
   no-change hour costs ONE call, whatever the size of the organisation.
2. Different → split the local invoices by invoice date at the median into two ranges
   (open-ended at the outer edges) and count the left range in Zoho (`date_end=…`); the right
   range's count is the parent's minus the left's, so every level costs one call. Recurse only
   into ranges whose counts differ.
3. A range small enough (≤ `leaf_size` records either side, or one day) is listed (ids, 200 a
   call) and compared with the local ids: local ids Zoho no longer lists are archived
   ("deleted in Zoho Books"); Zoho ids we do not know (a record skipped by a concurrent
   change during paging) are applied from the listed rows — the check heals both ways.
Cost for d deletions among N invoices: about d·log2(N/leaf) counts + d small listings.
Offsetting changes (one created and one deleted in the same range before the invoices stream
saw the new one) are caught the next hour, when the new one is local and the counts differ.

Customers — count of active customers vs live local Zoho customers (inactive ones are
archived by the customers stream when their modification time moves); when different, the
active ids are listed (customers are few) and the missing ones archived.
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledgersync.domain.pull_rules import ARCHIVED_DELETED
from ledgersync.store.orm import Customer, ExternalRef, Invoice
from ledgersync.sync.pull import leases
from ledgersync.sync.pull.context import PullRun
from ledgersync.sync.pull.runlog import open_error_ids, write_counters
from ledgersync.sync.pull.upserts import upsert_invoice_summaries

INVOICE_FILTER = {"filter_by": "Status.All"}
CUSTOMER_FILTER = {"contact_type": "customer", "filter_by": "Status.Active"}


def _live_invoices(session: Session, connection_id: str) -> list[tuple[date, str, str]]:
    """(issue_date, zoho_id, local_id) of live Zoho-origin invoices, sorted by date."""
    rows = session.execute(
        select(Invoice.issue_date, ExternalRef.zoho_id, Invoice.id)
        .join(ExternalRef, ExternalRef.local_id == Invoice.id)
        .where(ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
               Invoice.archived.is_(False), Invoice.origin == "zoho")
    ).all()
    return sorted((r[0], r[1], r[2]) for r in rows)


def run_invoice_deletions(run: PullRun, state: dict[str, Any]) -> dict[str, Any]:
    with run.container.uow() as uow:
        local = _live_invoices(uow.session, run.connection_id)
        known_bad = open_error_ids(uow.session, run.connection_id, "invoices")
    dates = [d for d, _, _ in local]
    total = run.books.count_invoices(priority="pull", **INVOICE_FILTER)
    checks = {"counts": 1, "listed": 0}
    # invoices Zoho has but we could not accept (open per-record errors) are counted as known,
    # so one bad record does not trigger a bisection every hour
    if total != len(local) + len(known_bad):
        _reconcile(run, local, dates, known_bad, None, None, total, 0, len(local), checks)
    state = {**state, "last_zoho_count": total, "last_local_count": len(local), "last_checks": checks}
    with run.container.uow() as uow:
        leases.save_state(uow.session, run.connection_id, run.stream, run.owner, state)
        write_counters(uow.session, run)
        uow.commit()
    return state


def _reconcile(run: PullRun, local: list[tuple[date, str, str]], dates: list[date], known_bad: set[str],
               lo: date | None, hi: date | None, zoho_count: int, i: int, j: int, checks: dict[str, int]) -> None:
    """Range [lo, hi] (None = open) holds local[i:j] and `zoho_count` Zoho invoices."""
    local_count = j - i
    if zoho_count == local_count:
        return
    single_day = lo is not None and hi is not None and lo == hi
    if max(zoho_count, local_count) <= run.options.leaf_size or single_day or local_count < 2:
        _compare_range(run, local[i:j], known_bad, lo, hi, checks)
        return
    mid_index = i + local_count // 2
    mid = dates[mid_index - 1]  # left range ends on the median's date
    split = bisect.bisect_right(dates, mid, i, j)  # all of mid's day goes left
    if split >= j:  # the upper half is one day: split before it instead
        mid = dates[mid_index] - timedelta(days=1)
        split = bisect.bisect_right(dates, mid, i, j)
        if split <= i:
            _compare_range(run, local[i:j], known_bad, lo, hi, checks)
            return
    params: dict[str, Any] = dict(INVOICE_FILTER)
    if lo is not None:
        params["date_start"] = lo.isoformat()
    params["date_end"] = mid.isoformat()
    left = run.books.count_invoices(priority="pull", **params)
    checks["counts"] += 1
    _reconcile(run, local, dates, known_bad, lo, mid, left, i, split, checks)
    _reconcile(run, local, dates, known_bad, mid + timedelta(days=1), hi, zoho_count - left, split, j, checks)


def _compare_range(run: PullRun, local: list[tuple[date, str, str]], known_bad: set[str],
                   lo: date | None, hi: date | None, checks: dict[str, int]) -> None:
    params: dict[str, Any] = {**INVOICE_FILTER, "sort_column": "date", "sort_order": "A"}
    if lo is not None:
        params["date_start"] = lo.isoformat()
    if hi is not None:
        params["date_end"] = hi.isoformat()
    rows: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        body = run.books.invoice_list_page(params, page=page, per_page=200, priority="pull")
        checks["listed"] += 1
        for row in body.get("invoices") or []:
            if isinstance(row, dict) and row.get("invoice_id"):
                rows[str(row["invoice_id"])] = row
        ctx = body.get("page_context") or {}
        if isinstance(ctx, list):
            ctx = ctx[0] if ctx else {}
        if not ctx.get("has_more_page") or not body.get("invoices"):
            break
        page += 1
    local_ids = {z: lid for _, z, lid in local}
    missing = [lid for z, lid in local_ids.items() if z not in rows]
    unknown = [row for z, row in rows.items() if z not in local_ids and z not in known_bad]
    with run.container.uow() as uow:
        if missing:
            uow.session.execute(
                update(Invoice).where(Invoice.id.in_(missing), Invoice.archived.is_(False))
                .values(archived=True, archived_reason=ARCHIVED_DELETED).execution_options(synchronize_session=False)
            )
            run.stats.archived += len(missing)
        if unknown:
            upsert_invoice_summaries(uow.session, run, unknown)
        uow.commit()


#: scheduled customer-deletion checks run once a day (issue 13): Zoho refuses to delete a contact
#: that has transactions, so a deleted customer never has an invoice the platform could collect;
#: inactivation is seen hourly by the customers stream, a contact webhook re-reads at once
CUSTOMER_CHECK_EVERY_S = 24 * 3600 - 600


def _customer_check_due(run: PullRun, state: dict[str, Any]) -> bool:
    from datetime import datetime

    from ledgersync.sync.pull.context import now_of

    last = state.get("checked_at")
    if run.trigger != "schedule" or not last:
        return True
    return (now_of(run.container) - datetime.fromisoformat(str(last))).total_seconds() >= CUSTOMER_CHECK_EVERY_S


def run_customer_deletions(run: PullRun, state: dict[str, Any]) -> dict[str, Any]:
    if not _customer_check_due(run, state):
        return state
    from ledgersync.sync.pull.context import now_of

    state = {**state, "checked_at": now_of(run.container).isoformat()}
    with run.container.uow() as uow:
        live = dict(uow.session.execute(
            select(ExternalRef.zoho_id, Customer.id)
            .join(ExternalRef, ExternalRef.local_id == Customer.id)
            .where(ExternalRef.connection_id == run.connection_id, ExternalRef.entity == "customer",
                   Customer.archived.is_(False), Customer.origin == "zoho")
        ).all())
    total = run.books.count_contacts(priority="pull", **CUSTOMER_FILTER)
    listed = 0
    if total != len(live):
        active: set[str] = set()
        page = 1
        while True:
            body = run.books.contact_list_page(CUSTOMER_FILTER, page=page, per_page=200, priority="pull")
            listed += 1
            active.update(str(r["contact_id"]) for r in body.get("contacts") or [] if r.get("contact_id"))
            ctx = body.get("page_context") or {}
            if isinstance(ctx, list):
                ctx = ctx[0] if ctx else {}
            if not ctx.get("has_more_page") or not body.get("contacts"):
                break
            page += 1
        missing = [lid for z, lid in live.items() if z not in active]
        if missing:
            with run.container.uow() as uow:
                uow.session.execute(
                    update(Customer).where(Customer.id.in_(missing), Customer.archived.is_(False))
                    .values(archived=True, archived_reason=ARCHIVED_DELETED).execution_options(synchronize_session=False)
                )
                uow.commit()
            run.stats.archived += len(missing)
    state = {**state, "last_zoho_count": total, "last_local_count": len(live), "last_listed_pages": listed}
    with run.container.uow() as uow:
        leases.save_state(uow.session, run.connection_id, run.stream, run.owner, state)
        write_counters(uow.session, run)
        uow.commit()
    return state
