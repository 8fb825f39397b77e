"""De-duplication of webhook deliveries that never discards a new event.

A sender's delivery id is not unique forever: a Zoho (or sandbox) restart numbers deliveries
from 1 again. A delivery is a *repeat* only when the same id arrives with the same body (its
SHA-256) within `WINDOW`; the same id with another body is a new event and is processed. Rows
older than the window are deleted as new ones arrive, so the table stays bounded and an old
key can never shadow a new event. A discarded delivery (a repeat, or one refused as stale)
leaves a row in the sync log, so nothing disappears silently.

`note_delivery` keeps, on the connection, the time and outcome of the last delivery its URL
received (refusals included: a wrong secret is the usual set-up mistake), for the admin's
Webhooks panel. It writes at most once per `NOTE_EVERY` while the outcome stays the same, so a
flood of refused requests costs no more than one small update every few seconds.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError

from ledgersync.domain.webhook_auth import DeliveryOutcome
from ledgersync.store.orm import Connection, SyncRun, WebhookEvent
from ledgersync.sync.ports import UnitOfWork

#: How long a delivery is remembered (longer than the oldest event_time the receiver accepts).
WINDOW = timedelta(hours=2)
#: The last-delivery note is not rewritten more often than this while its outcome stays the same.
NOTE_EVERY = timedelta(seconds=10)


def delivery_key(connection_id: str, delivery_id: str | None, body: bytes) -> str:
    """`<connection>:<sha256 of (delivery id, body hash)>`: the id alone is not trusted."""
    body_hash = hashlib.sha256(body).hexdigest()
    return f"{connection_id}:" + hashlib.sha256(f"{delivery_id or ''}\n{body_hash}".encode()).hexdigest()


def admit(uow: UnitOfWork, connection_id: str, delivery_id: str | None, body: bytes,
          payload: dict[str, str], now: datetime) -> bool:
    """True when the delivery is new (stored now); False for a repeat within the window."""
    session = uow.session
    session.execute(delete(WebhookEvent).where(WebhookEvent.connection_id == connection_id,
                                               WebhookEvent.received_at < now - WINDOW))
    session.add(WebhookEvent(connection_id=connection_id, event_key=delivery_key(connection_id, delivery_id, body),
                             received_at=now, payload=payload))
    try:
        uow.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def trace_discarded(uow: UnitOfWork, connection_id: str, reason: str, now: datetime) -> None:
    """A sync-log row saying which delivery was not acted on, and why."""
    uow.session.add(SyncRun(connection_id=connection_id, stream="webhook", trigger="webhook", status="discarded",
                            started_at=now, finished_at=now, message=reason[:2000]))
    uow.commit()


def note_delivery(uow: UnitOfWork, connection_id: str, outcome: DeliveryOutcome, now: datetime) -> None:
    """Remember the connection's last delivery (time, outcome); throttled, see the module docstring."""
    c = Connection
    uow.session.execute(update(Connection).where(
        c.id == connection_id,
        or_(c.webhook_last_at.is_(None), c.webhook_last_outcome.is_(None), c.webhook_last_outcome != outcome.value,
            c.webhook_last_at <= now - NOTE_EVERY),
    ).values(webhook_last_at=now, webhook_last_outcome=outcome.value).execution_options(synchronize_session=False))
    uow.commit()
