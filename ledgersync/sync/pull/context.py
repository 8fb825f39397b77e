"""What one stream run carries: the pull engine's ports, the connection, the Zoho client,
counters, the lease owner, options, and the hooks tests use (clock, fault injection)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from ledgersync.sync.books_factory import ZohoAccess
from ledgersync.sync.ports import Clock, Dispatcher, PullGateway
from ledgersync.zoho.client import ZohoBooks

FaultHook = Callable[[str, str, int], None]


@dataclass(frozen=True)
class PullOptions:
    """Knobs of the pull engine (`container.pull_options`; tests and benches set their own).

    history_line_items: "all" fetches line items of every invoice (old paid ones last, at
    backfill priority); "on_demand" leaves old paid/void invoices' line items until someone
    opens the invoice (saves most of the daily budget on large histories).
    detail_read_ahead: how many `GET /invoices/{id}` may be in flight ahead of the engine; an
    interrupted run loses at most that many reads (read again by the next run).
    """

    recent_days: int = 365
    history_line_items: str = "all"
    detail_batch: int = 50
    #: detail reads kept in flight while the engine applies and commits the previous ones
    #: (`read_ahead.ReadAhead`); 0 reads them one at a time
    detail_read_ahead: int = 4
    leaf_size: int = 400
    per_page: int = 200


class PullPorts(ZohoAccess, Protocol):
    """What the pull engine needs of the composition root (the `Container` satisfies it)."""

    @property
    def session_factory(self) -> sessionmaker[Session]: ...

    @property
    def dispatcher(self) -> Dispatcher: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def pull_options(self) -> PullOptions: ...

    @property
    def pull_fault_hook(self) -> FaultHook | None: ...


def options_of(container: PullPorts) -> PullOptions:
    return container.pull_options


def now_of(container: PullPorts) -> datetime:
    """The engine's clock (`container.clock`: UTC now, or the one tests and benches pin)."""
    return container.clock()


def open_books(container: ZohoAccess, connection_id: str) -> ZohoBooks:
    """The connection's Zoho client, from the composition root's `books_factory` (`books_for`:
    tokens from the database, the process's shared limiter; tests bind one to the sandbox)."""
    return container.books_factory(container, connection_id)


def recent_cutoff(container: PullPorts) -> date:
    """First day of "the last 12 months"."""
    return (now_of(container) - timedelta(days=options_of(container).recent_days)).date()


@dataclass
class RunStats:
    created: int = 0
    updated: int = 0
    archived: int = 0
    errors: int = 0
    calls: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "archived": self.archived,
                "errors": self.errors, "calls": self.calls}


@dataclass
class PullRun:
    """One run of one stream of one connection (holds the lease for its whole life)."""

    container: PullPorts
    connection_id: str
    partner_id: str
    stream: str
    owner: str
    run_id: str
    books: PullGateway  # the connection's ZohoBooks (tests: one bound to the sandbox)
    trigger: str = "schedule"
    stats: RunStats = field(default_factory=RunStats)
    calls_at_start: int = 0
    pages: int = 0
    budget_retry_at: datetime | None = None
    fault_hook: FaultHook | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: contacts read from Zoho this run for invoices whose customer we did not know (None: Zoho
    #: has no such contact), see `upserts.prefetch_customers`
    contacts: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def options(self) -> PullOptions:
        return options_of(self.container)

    def calls_spent(self) -> int:
        return int(getattr(self.books, "calls_made", 0)) - self.calls_at_start

    def fault(self, event: str) -> None:
        """Test hook: `container.pull_fault_hook(stream, event, page_no)` may raise to
        simulate a crash at a precise point (before/after a page's commit)."""
        if self.fault_hook is not None:
            self.fault_hook(self.stream, event, self.pages)
