"""The Retry button of a push the partner sees as failed or waiting: re-queue it, wake the worker."""

from __future__ import annotations

from ledgersync.store.orm import PushIntent
from ledgersync.sync import outbox
from ledgersync.sync.ports import Dispatching
from ledgersync.sync.push.engine import retry_intent


def retry_for_partner(container: Dispatching, partner_id: str, intent_id: str) -> bool:
    """The Retry button: only the partner's own intent; re-queues it and wakes the dispatcher."""
    with container.uow() as uow:
        intent = uow.session.get(PushIntent, intent_id)
        if intent is None or intent.partner_id != partner_id:
            return False
    retry_intent(container, intent_id)
    outbox.notify(container, partner_id)
    return True
