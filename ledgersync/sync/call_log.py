"""Zoho calls made outside the sync engines, counted in the run log so that the budget panel's
"calls used today by purpose" is complete (issue 13).

The engines' calls belong to their `sync_runs` rows (pull streams, single-record re-reads —
webhooks and opening an invoice —, push drains, the initial sync's count). Everything else that
calls Zoho for an organisation runs inside `counted_calls`: the chart of accounts on Set Up
Accounts, an invoice's PDF, the invoice page's payments and credits, a reconciliation. (Listing
the organisations while connecting, `GET /organizations`, names no organisation: Zoho charges it
to none, so no organisation's budget shows it.) It adds one `sync_runs` row (trigger `dashboard`) with the calls the client
made meanwhile — also when the operation failed: a refused call spent budget all the same. No
row when no call was made (a cached PDF, cached settlement events).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Protocol

from ledgersync.store.orm import SyncRun

#: trigger of the rows written here (health and the operator console leave them out: they are
#: not sync runs, only the record of what the dashboard spent)
DASHBOARD_TRIGGER = "dashboard"

#: stream of such a row → the budget purpose it counts under
SIDE_PURPOSES: dict[str, str] = {
    "accounts": "account setup",
    "pdf": "PDFs",
    "invoice_page": "invoice page",
    "reconciliation": "reconciliation",
}


class _UnitOfWorkFactory(Protocol):
    def uow(self) -> Any: ...


@contextmanager
def counted_calls(container: _UnitOfWorkFactory, connection_id: str, stream: str, books: Any) -> Iterator[Any]:
    """Run Zoho calls through `books` and record how many were made (see module docstring).
    `books` must count its calls in `calls_made` (`ZohoBooks` does)."""
    if stream not in SIDE_PURPOSES:
        raise ValueError(f"unknown side stream {stream!r} (expected one of {sorted(SIDE_PURPOSES)})")
    before = int(books.calls_made)
    started = datetime.now(timezone.utc)
    status, message = "failed", f"{stream}: failed"
    try:
        yield books
        status, message = "succeeded", stream
    finally:
        calls = int(books.calls_made) - before
        if calls > 0:
            with container.uow() as uow:
                uow.session.add(SyncRun(connection_id=connection_id, stream=stream, trigger=DASHBOARD_TRIGGER,
                                        status=status, started_at=started, finished_at=datetime.now(timezone.utc),
                                        calls=calls, message=message))
                uow.commit()
