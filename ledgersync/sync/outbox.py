"""The push outbox: durable intents to write something to Zoho, enqueued in the business transaction.

Core's payment and payout services call `enqueue_*` inside the same transaction that changes the
payment or payout, so a state change and its intent to push commit (or roll back) together —
nothing is lost if the process dies right after the commit. After the commit they call
`notify(container, partner_id)` to wake the dispatcher, which makes pushes event-driven; the
scheduler's safety-net run picks up anything a lost notification left behind.

Each intent has a stable key (`ls:pay:{payment_id}`, `ls:rev:{payment_id}`,
`ls:payout:{payout_id}`) which is unique in the table (enqueueing twice is a no-op) and which
also travels to Zoho as the `reference_number`, so a retry after an unknown outcome can find
the record Zoho already holds.

An intent for a partner without a usable connection is stored in state `waiting` with the
reason; the push engine re-checks waiting intents on every drain and sends them once the
partner has connected and set up accounts. Nothing is dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ledgersync.store.orm import Connection, Payout, PushIntent
from ledgersync.store.repositories import ConnectionRepository
from ledgersync.sync.ports import Dispatching, NullDispatcher, Transactional, UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")

KIND_PAYMENT = "payment"
KIND_STANDALONE = "standalone_deposit"
KIND_DEPOSIT = "deposit"
KIND_REVERSAL = "payment_reversal"


def payment_key(payment_id: str) -> str:
    return f"ls:pay:{payment_id}"


def reversal_key(payment_id: str) -> str:
    return f"ls:rev:{payment_id}"


def payout_key(payout_id: str) -> str:
    return f"ls:payout:{payout_id}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def find_connection(session: Session, partner_id: str) -> Connection | None:
    """The partner's Zoho Books connection row, whatever its status (None if never started)."""
    return ConnectionRepository(session).of_partner(partner_id)


def waiting_reason(conn: Connection | None) -> str | None:
    """Why a push to this connection cannot go out now (None = usable as far as the DB knows).

    The token itself is checked by the engine when it calls Zoho (a revoked token surfaces as
    `ZohoReauthorizationRequired` and moves the intent back to `waiting`).
    """
    if conn is None:
        return "Zoho Books is not connected"
    # `pending` = organisation chosen, tokens stored, initial sync running: payments on the
    # invoices the platform already mirrors can go out now (and must not wait for a backfill
    # of years of history).
    if conn.status not in ("connected", "pending"):
        if conn.status == "reauth_required":
            return "Zoho access was revoked or expired: reconnect Zoho Books"
        return f"Zoho Books connection is {conn.status}"
    if not conn.organization_id:
        return "no Zoho organisation selected"
    missing = [
        label
        for label, value in (
            ("Undeposited Funds", conn.undeposited_account_id),
            ("bank", conn.bank_account_id),
            ("fees", conn.fees_account_id),
        )
        if not value
    ]
    if missing:
        return "accounts not set up: " + ", ".join(missing)
    return None


def _payment_kind(uow: UnitOfWork, payment_id: str) -> str:
    """`payment` when any allocated invoice came from Zoho, else `standalone_deposit`.

    Platform-created invoices are never pushed, so a payment that only touches them becomes a
    stand-alone deposit in Zoho (the seed's rule).
    """
    return KIND_PAYMENT if any(o == "zoho" for o in uow.invoices.origins_paid_by(payment_id)) else KIND_STANDALONE


def _enqueue(
    uow: UnitOfWork,
    *,
    key: str,
    partner_id: str,
    kind: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
) -> PushIntent:
    """Insert the intent unless its key exists; returns the (new or existing) row."""
    existing = uow.push_intents.by_key(key)
    if existing is not None:
        return existing
    conn = uow.connections.of_partner(partner_id)
    reason = waiting_reason(conn)
    return uow.push_intents.add_unique(PushIntent(
        key=key,
        partner_id=partner_id,
        connection_id=conn.id if conn is not None else None,
        kind=kind,
        subject_id=subject_id,
        state="waiting" if reason else "pending",
        last_error=reason,
        next_attempt_at=_now(),
        detail=detail or {},
    ))


def _require(row: T | None, what: str, ident: str) -> T:
    """The row, or LookupError: an intent is never enqueued for a subject that does not exist."""
    if row is None:
        raise LookupError(f"{what} {ident} not found")
    return row


def enqueue_payment_push(uow: UnitOfWork, payment_id: str) -> PushIntent:
    """Record that a succeeded payment must reach Zoho (customer payment or stand-alone deposit)."""
    payment = _require(uow.payments.get(payment_id), "payment", payment_id)
    return _enqueue(
        uow,
        key=payment_key(payment_id),
        partner_id=payment.partner_id,
        kind=_payment_kind(uow, payment_id),
        subject_id=payment_id,
    )


def enqueue_payment_reversal(uow: UnitOfWork, payment_id: str) -> PushIntent:
    """Record that a failed payment must be undone in Zoho (if it was ever pushed)."""
    payment = _require(uow.payments.get(payment_id), "payment", payment_id)
    return _enqueue(
        uow,
        key=reversal_key(payment_id),
        partner_id=payment.partner_id,
        kind=KIND_REVERSAL,
        subject_id=payment_id,
    )


def enqueue_payout_push(uow: UnitOfWork, payout_id: str) -> PushIntent:
    """Record that a payout must become its Zoho deposit entries (transfer of net + fees)."""
    payout = _require(uow.session.get(Payout, payout_id), "payout", payout_id)
    return _enqueue(
        uow,
        key=payout_key(payout_id),
        partner_id=payout.partner_id,
        kind=KIND_DEPOSIT,
        subject_id=payout_id,
    )


def connection_of_partner(container: Transactional, partner_id: str) -> str | None:
    """The partner's Zoho connection id (what a dispatcher's `notify(partner_id)` wakes)."""
    with container.uow() as uow:
        conn = uow.connections.of_partner(partner_id)
        return conn.id if conn is not None else None


def notify(container: Dispatching, partner_id: str) -> None:
    """Wake the dispatcher for the partner's connection (after the enqueueing commit).

    A no-op when no dispatcher runs in this process (CLI, some tests): the scheduled safety net
    drains the outbox later. Never raises: the business transaction already committed.
    """
    dispatcher = container.dispatcher
    if isinstance(dispatcher, NullDispatcher):
        return
    try:
        connection_id = connection_of_partner(container, partner_id)
        if connection_id is not None:
            dispatcher.push_requested(connection_id)
    except Exception:  # noqa: BLE001 - notification is best effort; the schedule catches up
        log.exception("push notify failed for partner %s", partner_id)
