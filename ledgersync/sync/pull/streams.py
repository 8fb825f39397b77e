"""Stream declarations: one small class per Zoho collection, saying what to list and how.

The engine (`engine.py`) owns cursors, leases, the run log and transactions; a stream only
describes its path, records key, id and replication key, the list filters of each of its
modes, the priority of its calls, and how a page of records is applied. Adding a Zoho object
is one class here plus an `apply_page` in `upserts.py`.

List streams page by *keyset* on `last_modified_time` (ascending): after each page the cursor
moves to the largest `last_modified_time` seen and the next query starts there, inclusive
(Zoho's filter is `>=`, records sharing the second are re-read and deduped by id and stored
modification time, so they cost nothing). A record modified while we page moves to the end of
the ordering and is read again later; nothing shifts into pages we already read. Only if a
whole page shares one second does the cursor advance by page number instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from ledgersync.sync.pull import upserts
from ledgersync.sync.pull.context import PullRun


@dataclass(frozen=True)
class Mode:
    name: str
    priority: str  # "pull" | "backfill" (the connector's limiter keeps a reserve above each)


class ListStream:
    """A Zoho list endpoint replicated by `last_modified_time`."""

    name: ClassVar[str]
    path: ClassVar[str]
    records_key: ClassVar[str]
    primary_key: ClassVar[str]
    replication_key: ClassVar[str] = "last_modified_time"
    detail_key: ClassVar[str]  # key of the single-record envelope (retries of bad records)
    modes: ClassVar[tuple[Mode, ...]] = (Mode("incremental", "pull"),)
    base_params: ClassVar[dict[str, Any]] = {}

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


class RetryStillBad(Exception):
    pass


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


class InvoiceDetails:
    """Line items: `GET /invoices/{id}` for invoices whose `last_modified_time` moved since
    their details were fetched (`external_refs.details_synced_at`), most valuable first."""

    name = "invoice_details"
    path = "/invoices/{id}"


class InvoiceDeletions:
    """Invoices deleted in Zoho (no tombstone): counts compared, bisected by date when they differ."""

    name = "invoice_deletions"
    path = "/invoices"


class CustomerDeletions:
    """Customers deleted (or made inactive) in Zoho: count of active customers compared."""

    name = "customer_deletions"
    path = "/contacts"


LIST_STREAMS: dict[str, Callable[[], ListStream]] = {"customers": Customers, "invoices": Invoices}
ALL_STREAMS = ("customers", "invoices", "invoice_details", "invoice_deletions", "customer_deletions",
               "invoice_details_sweep")
