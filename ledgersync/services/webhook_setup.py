"""A partner's Zoho webhook set-up: what to enter in Zoho Books, the last delivery, rotation.

Used by the Integrations page's Webhooks panel and by `ledgersync webhook-info`, so both say the
same thing. Every function takes the partner id and reads or changes only that partner's
connection. The secret is derived (`domain.webhook_auth`: deployment key, the connection's
webhook token and its generation), never stored; rotating moves the generation on in one
UPDATE, so the old secret is refused from the next delivery on while the URL stays the same.
The secret is never logged: rotation logs the connection and the new generation only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update

from ledgersync.domain import webhook_auth
from ledgersync.domain.webhook_auth import DeliveryOutcome
from ledgersync.services.errors import Conflict
from ledgersync.settings import Settings
from ledgersync.store.orm import Connection
from ledgersync.sync.ports import Transactional

log = logging.getLogger(__name__)

PROVIDER = "zoho_books"
#: connections whose webhooks can be set up: linked to an organisation and not disconnected
LIVE = ("pending", "connected", "error", "reauth_required")


class WebhookPorts(Transactional, Protocol):
    """Units of work and the settings (public base URL, deployment webhook key)."""

    @property
    def settings(self) -> Settings: ...


@dataclass(frozen=True)
class WebhookSetup:
    """What the partner enters in Zoho Books, and what the URL last received."""

    url: str
    header: str
    secret: str
    modules: tuple[tuple[str, str], ...]
    generation: int
    last_at: datetime | None
    last_outcome: DeliveryOutcome | None


def _setup(settings: Settings, token: str, generation: int, last_at: datetime | None,
           last_outcome: str | None) -> WebhookSetup:
    secret = webhook_auth.connection_webhook_secret(settings.webhook_secret.get_secret_value(), token, generation)
    outcome = DeliveryOutcome(last_outcome) if last_outcome in set(DeliveryOutcome) else None
    return WebhookSetup(url=f"{settings.base_url.rstrip('/')}/webhooks/zoho/{token}", header=webhook_auth.SECRET_HEADER,
                        secret=secret, modules=webhook_auth.ZOHO_MODULES, generation=generation,
                        last_at=last_at, last_outcome=outcome)


def webhook_setup(container: WebhookPorts, partner_id: str) -> WebhookSetup | None:
    """The partner's webhook set-up, or None while they have no live connection to an organisation."""
    with container.uow() as uow:
        row = uow.session.execute(
            select(Connection.webhook_token, Connection.webhook_secret_generation, Connection.webhook_last_at,
                   Connection.webhook_last_outcome)
            .where(Connection.partner_id == partner_id, Connection.provider == PROVIDER,
                   Connection.organization_id.is_not(None), Connection.status.in_(LIVE))).one_or_none()
    if row is None:
        return None
    token, generation, last_at, last_outcome = row
    return _setup(container.settings, token, generation, last_at, last_outcome)


def rotate_webhook_secret(container: WebhookPorts, partner_id: str) -> WebhookSetup:
    """A new secret for the partner's webhook URL; the previous one is refused from now on
    (`Conflict` while the partner has no live connection to an organisation)."""
    live = (Connection.partner_id == partner_id, Connection.provider == PROVIDER,
            Connection.organization_id.is_not(None), Connection.status.in_(LIVE))
    with container.uow() as uow:
        conn_id = uow.session.execute(select(Connection.id).where(*live)).scalar_one_or_none()
        if conn_id is None:
            raise Conflict("Connect Zoho Books first: webhooks belong to a connected organisation.")
        # one UPDATE: two rotations at once both move the generation on, neither is lost
        uow.session.execute(update(Connection).where(Connection.id == conn_id, *live)
                            .values(webhook_secret_generation=Connection.webhook_secret_generation + 1))
        uow.commit()
    setup = webhook_setup(container, partner_id)
    if setup is None:  # disconnected in between
        raise Conflict("Connect Zoho Books first: webhooks belong to a connected organisation.")
    log.info("webhook secret rotated: connection %s now at generation %d", conn_id, setup.generation)
    return setup
