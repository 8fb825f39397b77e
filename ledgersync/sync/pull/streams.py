"""Stream declarations: one small class per Zoho collection, saying what to read and how.

The engine (`engine.run_stream`) owns leases, the cursor row, the run log, outcomes and
transactions for every stream alike; a stream only declares its path, records key, primary key,
replication key, how it pages, the list filters of each of its modes and the priority of its
calls, and `run` hands its declaration to the reader that walks that kind of source:

    list streams (`customers`, `invoices`)      keyset pages on the replication key (`listing`)
    `invoice_details`                            one `GET /invoices/{id}` per changed invoice,
                                                 most valuable first, in batches (`details`)
    `invoice_deletions`, `customer_deletions`    counts compared, bisected by date (`deletions`)
    `invoice_details_sweep`                      once a day, details the hourly rule missed

`STREAMS` is the catalog the engine looks streams up in; adding a Zoho object is one class here
(plus an `apply_page` in `upserts.py` for a list stream).

List streams page by *keyset* on `last_modified_time` (ascending): after each page the cursor
moves to the largest `last_modified_time` seen and the next query starts there, inclusive
(Zoho's filter is `>=`, records sharing the second are re-read and deduped by id and stored
modification time, so they cost nothing). A record modified while we page moves to the end of
the ordering and is read again later; nothing shifts into pages we already read. Only if a
whole page shares one second does the cursor advance by page number instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from ledgersync.sync.pull import deletions, details, listing, upserts
from ledgersync.sync.pull.context import PullRun
from ledgersync.sync.pull.listing import RetryStillBad


@dataclass(frozen=True)
class Mode:
    name: str
    priority: str  # "pull" | "backfill" (the connector's limiter keeps a reserve above each)


class Stream:
    """What every stream declares; `run` advances it from the cursor `state` (the engine holds
    the lease and the run row around it) and returns the new state."""

    name: ClassVar[str]
    path: ClassVar[str]
    records_key: ClassVar[str]
    primary_key: ClassVar[str]
    replication_key: ClassVar[str | None] = "last_modified_time"
    paging: ClassVar[str]  # how the reader walks the source (see the module docstring)

    def run(self, run: PullRun, state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class ListStream(Stream):
    """A Zoho list endpoint replicated by `last_modified_time`."""

    replication_key: ClassVar[str] = "last_modified_time"
    paging = "keyset"
    detail_key: ClassVar[str]  # key of the single-record envelope (retries of bad records)
    modes: ClassVar[tuple[Mode, ...]] = (Mode("incremental", "pull"),)
    base_params: ClassVar[dict[str, Any]] = {}

    def run(self, run: PullRun, state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """`stop_after="recent"` stops once the recent mode is complete (initial sync, phase 1)."""
        return listing.run_list_stream(run, self, state, stop_after=params.get("stop_after"))

    def params(self, mode: str, cutoff: date) -> dict[str, Any]:
        return {**self.base_params, "sort_column": self.replication_key, "sort_order": "A"}

    def prepare(self, run: PullRun, rows: list[dict[str, Any]]) -> None:
        """Zoho reads a page needs before it is applied (made outside the page's transaction)."""

    def apply_page(self, session: Session, run: PullRun, rows: list[dict[str, Any]]) -> upserts.PageOutcome:
        raise NotImplementedError

    def apply_one(self, session: Session, run: PullRun, record: dict[str, Any]) -> None:
        """Apply a single record fetched by id (retry of a record that was bad last time)."""
        outcome = self.apply_page(session, run, [record])
        if outcome.bad_ids:
            raise RetryStillBad(outcome.bad_ids[0])


class Customers(ListStream):
    name = "customers"
    path = "/contacts"
    records_key = "contacts"
    primary_key = "contact_id"
    detail_key = "contact"
    base_params = {"contact_type": "customer", "filter_by": "Status.All"}

    def apply_page(self, session: Session, run: PullRun, rows: list[dict[str, Any]]) -> upserts.PageOutcome:
        return upserts.upsert_customers(session, run, rows)


class Invoices(ListStream):
    """Invoice summaries (no line items): last 12 months, then history, then incremental."""

    name = "invoices"
    path = "/invoices"
    records_key = "invoices"
    primary_key = "invoice_id"
    detail_key = "invoice"
    modes = (Mode("recent", "pull"), Mode("history", "backfill"), Mode("incremental", "pull"))
    base_params = {"filter_by": "Status.All"}

    def params(self, mode: str, cutoff: date) -> dict[str, Any]:
        params = super().params(mode, cutoff)
        if mode == "recent":
            params["date_start"] = cutoff.isoformat()
        elif mode == "history":
            params["date_end"] = (cutoff - timedelta(days=1)).isoformat()
        return params

    def prepare(self, run: PullRun, rows: list[dict[str, Any]]) -> None:
        upserts.prefetch_customers(run, rows)

    def apply_page(self, session: Session, run: PullRun, rows: list[dict[str, Any]]) -> upserts.PageOutcome:
        return upserts.upsert_invoice_summaries(session, run, rows)

    def apply_one(self, session: Session, run: PullRun, record: dict[str, Any]) -> None:
        upserts.apply_invoice_detail(session, run, record)  # a detail carries line items too


class InvoiceDetails(Stream):
    """Line items: `GET /invoices/{id}` for invoices whose `last_modified_time` moved since
    their details were fetched (`external_refs.details_synced_at`), most valuable first
    (recent and open ones at `pull` priority, old paid ones at `backfill`), `detail_batch` a
    transaction. `scope="recent"` limits it to the last 12 months (initial sync, phase 1)."""

    name = "invoice_details"
    path = "/invoices/{invoice_id}"
    records_key = "invoice"
    primary_key = "invoice_id"
    paging = "by id, value order"

    def run(self, run: PullRun, state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return details.run_details(run, state, scope=params.get("scope", "all"))


class InvoiceDeletions(Stream):
    """Invoices deleted in Zoho (no tombstone): counts compared, bisected by date when they differ."""

    name = "invoice_deletions"
    path = "/invoices"
    records_key = "invoices"
    primary_key = "invoice_id"
    replication_key = None
    paging = "count, then bisect by date"

    def run(self, run: PullRun, state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return deletions.run_invoice_deletions(run, state)


class CustomerDeletions(Stream):
    """Customers deleted (or made inactive) in Zoho: count of active customers compared."""

    name = "customer_deletions"
    path = "/contacts"
    records_key = "contacts"
    primary_key = "contact_id"
    replication_key = None
    paging = "count, then list active ids"

    def run(self, run: PullRun, state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return deletions.run_customer_deletions(run, state)


class InvoiceDetailsSweep(Stream):
    """Once a day: details of invoices modified since their last detail read that the hourly
    rule did not fetch (a change invisible in the list row), until the budget says stop."""

    name = "invoice_details_sweep"
    path = "/invoices/{invoice_id}"
    records_key = "invoice"
    primary_key = "invoice_id"
    paging = "by id, once a day"

    def run(self, run: PullRun, state: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return details.run_sweep(run, state)


STREAMS: dict[str, Stream] = {
    s.name: s for s in (Customers(), Invoices(), InvoiceDetails(), InvoiceDeletions(), CustomerDeletions(),
                        InvoiceDetailsSweep())
}
ALL_STREAMS = tuple(STREAMS)
