"""Use cases the scheduler, the CLI, the web and webhooks call: sync one connection now."""

from __future__ import annotations

from ledgersync.store.orm import Connection
from ledgersync.sync.ports import PullGateway
from ledgersync.sync.pull.context import PullPorts
from ledgersync.sync.pull.engine import RunResult, run_stream
from ledgersync.sync.pull.streams import ALL_STREAMS

INCREMENTAL_STREAMS = ALL_STREAMS  # every declared stream, in catalog order

#: webhook module -> what to sync (the payload is only a hint; Zoho is re-read)
PAYMENT_MODULES = frozenset({"customerpayment", "customerpayments", "payment", "payments", "creditnote", "creditnotes"})
RECORD_MODULES = {"invoice": "invoice", "invoices": "invoice", "contact": "contact", "contacts": "contact",
                  "customer": "contact", "customers": "contact"}


def sync_connection(container: PullPorts, connection_id: str, *, trigger: str = "schedule",
                    streams: tuple[str, ...] | list[str] | None = None, books: PullGateway | None = None) -> list[RunResult]:
    """Run the connection's streams (all incremental ones by default). While the initial sync is
    not done, the initial runner does the work instead (same cursors, value-ordered)."""
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None or not conn.organization_id:
            return []
        phase, status = conn.initial_sync_phase, conn.status
    needs_initial = phase not in (None, "done") or (phase is None and status == "pending")
    if streams is None and needs_initial:
        from ledgersync.sync.pull.initial import run_initial_sync

        run_initial_sync(container, connection_id, books=books)
        return []
    results = []
    for stream in streams or INCREMENTAL_STREAMS:
        result = run_stream(container, connection_id, stream, trigger=trigger, books=books)
        results.append(result)
        if result.status == "failed":  # Zoho is failing: the failed stream's backoff resumes them all
            break
    return results


def work_for_webhook(module: str, event: str, record_id: str | None) -> str:
    """The dispatcher `stream` argument for a webhook: one record re-read when we know which
    (an invoice or contact, created/updated/deleted: one call), else the streams a payment or
    credit note can move (invoice balances: one list call plus details of the moved ones)."""
    kind = RECORD_MODULES.get(module.lower())
    if kind and record_id:
        return f"record:{kind}:{record_id}"
    if kind == "contact":
        return "customers,customer_deletions" if event.lower().startswith("delete") else "customers"
    if event.lower().startswith("delete") and kind == "invoice":
        return "invoice_deletions"
    return "invoices,invoice_details"
