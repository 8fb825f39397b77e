"""Unit of work: owns one transaction; explicit commit, rollback by default.

Services take a unit of work, do one use case and commit once. Leaving the `with` block
without `commit()` rolls back, so a crash between steps leaves nothing half-written. Inside the
block the repositories of `store/repositories.py` (`uow.payments`, `uow.invoices`,
`uow.customers`, `uow.push_intents`, `uow.connections`) work on the block's session.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from ledgersync.store.repositories import (
    ConnectionRepository,
    CustomerRepository,
    InvoiceRepository,
    PaymentRepository,
    PushIntentRepository,
)


class SqlAlchemyUnitOfWork:
    """`with uow: ...; uow.commit()` — `uow.session` is the SQLAlchemy session of the block."""

    session: Session
    payments: PaymentRepository
    invoices: InvoiceRepository
    customers: CustomerRepository
    push_intents: PushIntentRepository
    connections: ConnectionRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session = session = self._session_factory()
        self.payments = PaymentRepository(session)
        self.invoices = InvoiceRepository(session)
        self.customers = CustomerRepository(session)
        self.push_intents = PushIntentRepository(session)
        self.connections = ConnectionRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
