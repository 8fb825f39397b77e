"""Use cases the scheduler, the CLI, the web and webhooks call: sync one connection now."""

from __future__ import annotations

from typing import Any

from ledgersync.bootstrap import Container
from ledgersync.store.orm import Connection
from ledgersync.sync.pull.engine import RunResult, run_stream

INCREMENTAL_STREAMS = ("customers", "invoices", "invoice_details", "invoice_deletions", "customer_deletions")

#: webhook module -> streams worth running (the payload is only a hint; Zoho is re-read)
WEBHOOK_STREAMS = {
    "invoices": ("invoices", "invoice_details"),
    "invoice": ("invoices", "invoice_details"),
    "customerpayments": ("invoices", "invoice_details"),
    "payments": ("invoices", "invoice_details"),
    "creditnotes": ("invoices", "invoice_details"),
    "contacts": ("customers",),
    "contact": ("customers",),
    "customers": ("customers",),
}


def sync_connection(container: Container, connection_id: str, *, trigger: str = "schedule",
                    streams: tuple[str, ...] | list[str] | None = None, books: Any = None) -> list[RunResult]:
    """Run the connection's streams (all incremental ones by default). While the initial sync is
    not done, the initial runner does the work instead (same cursors, value-ordered)."""
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None or not conn.organization_id:
            return []
        phase = conn.initial_sync_phase
    if streams is None and phase not in (None, "done"):
        from ledgersync.sync.pull.initial import run_initial_sync

        run_initial_sync(container, connection_id, books=books)
        return []
    results = []
    for stream in streams or INCREMENTAL_STREAMS:
        results.append(run_stream(container, connection_id, stream, trigger=trigger, books=books))
    return results


def streams_for_webhook(module: str, event: str) -> tuple[str, ...]:
    streams = WEBHOOK_STREAMS.get(module.lower(), ("invoices", "invoice_details"))
    if event.lower() == "deleted":
        if streams[0] == "customers":
            return ("customer_deletions",)
        return ("invoice_deletions",)
    return streams
