"""The ports the sync layer (and the services above it) own: what they need from the outside
world, named and typed, so a reader sees it and a test can hand in a fake.

The composition root (`ledgersync.bootstrap.Container`) builds one of each part and satisfies
these protocols structurally; nothing below `web`/`workers`/`cli` imports it. A function that
needs only a unit of work takes a `Transactional`; one that also wakes background work takes a
`Dispatching`; one that talks to Zoho takes a `ZohoAccess` (in `ledgersync.sync.books_factory`).

    Transactional        uow()                       -> a unit of work (one transaction)
    Dispatching          + dispatcher                -> ask for a push drain / a pull
    Clocked              clock()                     -> the engines' "now" (tests pin it)
    RateLimited          rate_limiter                -> the process's shared Zoho limiter (budget views)
    OperatorPorts        Dispatching + RateLimited   -> the operator console
    BooksGateway         named Zoho Books calls      -> what the push engine, reconciliation and the
                                                        invoice page ask Zoho (`zoho.books` implements it)
    PullGateway          named Zoho Books calls      -> what the pull engine asks Zoho (the same endpoints)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ledgersync.store.repositories import (
    ConnectionRepository,
    CustomerRepository,
    InvoiceRepository,
    PaymentRepository,
    PushIntentRepository,
)
from ledgersync.zoho.ratelimit import RateLimiter

Clock = Callable[[], datetime]


class UnitOfWork(Protocol):
    """One transaction: `with factory() as uow: …; uow.commit()` — leaving without commit rolls back.

    The repositories work on the transaction's session (`ledgersync.store.repositories`); code
    not yet moved onto them still uses `session` directly.
    """

    session: Session
    payments: PaymentRepository
    invoices: InvoiceRepository
    customers: CustomerRepository
    push_intents: PushIntentRepository
    connections: ConnectionRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Transactional(Protocol):
    """Anything that opens units of work (the container, or a test's fake)."""

    def uow(self) -> UnitOfWork: ...


class Dispatcher(Protocol):
    """How the product asks for background work without importing the workers.

    `ledgersync.workers` implements it (embedded scheduler, Celery); the composition root holds
    the process's one at `container.dispatcher`.
    """

    def push_requested(self, connection_id: str) -> None: ...

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None: ...


class NullDispatcher:
    """Drops requests (no scheduler in this process); the periodic schedule catches up."""

    def push_requested(self, connection_id: str) -> None:
        return None

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None:
        return None


class Dispatching(Transactional, Protocol):
    """A unit of work factory plus the process's dispatcher (use cases that wake a worker)."""

    @property
    def dispatcher(self) -> Dispatcher: ...


class Clocked(Protocol):
    @property
    def clock(self) -> Clock: ...


class RateLimited(Protocol):
    """The process's shared per-organisation Zoho limiter (read for budget figures)."""

    @property
    def rate_limiter(self) -> RateLimiter: ...


class OperatorPorts(Dispatching, RateLimited, Protocol):
    """The operator console: units of work, the dispatcher (sync now, retry) and the limiter's budget."""


class BooksGateway(Protocol):
    """The Zoho Books calls the push engine, reconciliation and the invoice page make, by name.

    `ledgersync.zoho.books.BooksEndpoints` implements every one over Zoho's verbs: the
    connector `ZohoBooks` is a gateway, and `BooksOver(verbs)` makes one of any object with
    the verbs (the push engine's fenced client, a test's probe or fake). One HTTP request per
    call except the `list_*_raw` reads (every page). Records come back as Zoho sent them,
    amounts `Decimal`; payloads go out with `Decimal` amounts.
    """

    # invoices
    def get_invoice_raw(self, invoice_id: str, *, priority: str = "pull") -> dict[str, Any]: ...
    def invoice_payments(self, invoice_id: str, *, priority: str = "pull") -> list[dict[str, Any]]: ...
    def invoice_credits_applied(self, invoice_id: str, *, priority: str = "pull") -> list[dict[str, Any]]: ...

    # customer payments
    def post_customer_payment(self, payload: Mapping[str, Any], *, priority: str = "push") -> str: ...
    def get_customer_payment_raw(self, payment_id: str, *, priority: str = "push") -> dict[str, Any]: ...
    def put_customer_payment(self, payment_id: str, payload: Mapping[str, Any], *, priority: str = "push") -> None: ...
    def delete_customer_payment(self, payment_id: str, *, priority: str = "push") -> None: ...
    def customer_payment_exists(self, payment_id: str, *, priority: str = "push") -> bool: ...
    def customer_payments_by_reference(self, reference: str, *, priority: str = "push") -> list[dict[str, Any]]: ...
    def post_payment_refund(self, payment_id: str, payload: Mapping[str, Any], *, priority: str = "push") -> str: ...
    def payment_refunds(self, payment_id: str, *, priority: str = "push") -> list[dict[str, Any]]: ...
    def payment_refunds_by_reference(self, payment_id: str, reference: str, *,
                                     priority: str = "push") -> list[dict[str, Any]]: ...

    # bank transactions (stand-alone deposits, payout transfers and fees)
    def post_bank_transaction(self, payload: Mapping[str, Any], *, priority: str = "push") -> str: ...
    def delete_bank_transaction(self, transaction_id: str, *, priority: str = "push") -> None: ...
    def bank_transaction_exists(self, transaction_id: str, *, priority: str = "push") -> bool: ...
    def bank_transactions_by_reference(self, reference: str, *, priority: str = "push") -> list[dict[str, Any]]: ...

    # reconciliation's date windows
    def list_invoices_raw(self, params: Mapping[str, Any], *, priority: str = "pull") -> list[dict[str, Any]]: ...
    def list_customer_payments_raw(self, params: Mapping[str, Any], *,
                                   priority: str = "pull") -> list[dict[str, Any]]: ...
    def list_bank_transactions_raw(self, params: Mapping[str, Any], *,
                                   priority: str = "pull") -> list[dict[str, Any]]: ...


class PullGateway(Protocol):
    """The Zoho Books calls the pull engine makes (`zoho/books.py::BooksEndpoints`; `ZohoBooks` is one).

    Streams declare their paths (`sync/pull/streams.py`): `record` and `list_page` take the
    declared path; the rest name their endpoint. `calls_made` counts the requests sent.
    """

    @property
    def calls_made(self) -> int: ...

    def record(self, path: str, record_id: str, *, priority: str = "pull") -> dict[str, Any]: ...
    def list_page(self, path: str, params: Mapping[str, Any], *, priority: str = "pull") -> dict[str, Any]: ...
    def invoice_record(self, invoice_id: str, *, priority: str = "pull") -> dict[str, Any]: ...
    def contact_record(self, contact_id: str, *, priority: str = "pull") -> dict[str, Any] | None: ...
    def invoice_list_page(self, params: Mapping[str, Any], *, page: int, per_page: int = 200,
                          priority: str = "pull") -> dict[str, Any]: ...
    def contact_list_page(self, params: Mapping[str, Any], *, page: int, per_page: int = 200,
                          priority: str = "pull") -> dict[str, Any]: ...
    def count_invoices(self, *, priority: str = "pull", **filters: Any) -> int: ...
    def count_contacts(self, *, priority: str = "pull", **filters: Any) -> int: ...
    def keep_for_hourly(self, calls_per_hour: float) -> None: ...
