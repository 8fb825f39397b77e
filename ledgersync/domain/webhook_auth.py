"""Webhook authentication and limits: a secret per connection, derived, never stored.

Each connection's webhook secret is HMAC-SHA256(deployment's `LEDGERSYNC_WEBHOOK_SECRET`,
connection's `webhook_token` and its `webhook_secret_generation`). So a partner who configures
(and can read) their own secret in Zoho learns nothing that authenticates webhooks of another
connection, rotating the deployment secret rotates them all, a partner's admin rotates their own
by moving the generation on (the old secret no longer matches; the URL stays), and nothing secret
is kept in the database: the token and the generation are not secret without the deployment's key.
Generation 0 is the derivation of the releases before rotation existed, so secrets already
entered in Zoho keep working.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from enum import StrEnum

SECRET_HEADER = "X-Ledgersync-Webhook-Secret"

MAX_BODY_BYTES = 256 * 1024  # a Zoho webhook carries one record; anything larger is refused (413)
MAX_AGE = timedelta(hours=1)  # an event_time older than this is refused (replay window) ...
MAX_SKEW = timedelta(minutes=5)  # ... and so is one further in the future than this
PULLS_PER_MINUTE = 20  # webhook-triggered re-reads per connection and minute (each 1-2 Zoho calls)


#: the Zoho modules a partner points at the webhook URL, with the `module` value each one sends
ZOHO_MODULES = (("Invoices", "invoice"), ("Customers (contacts)", "contact"),
                ("Customer payments", "customerpayment"), ("Credit notes", "creditnote"))


class DeliveryOutcome(StrEnum):
    """What became of the last delivery a connection's webhook URL received (shown to its admin)."""

    ACCEPTED = "accepted"  # authenticated, new: the record is re-read from Zoho
    DUPLICATE = "duplicate"  # a repeat of a delivery already received: discarded
    STALE = "stale"  # event_time over an hour old or in the future: discarded
    THROTTLED = "throttled"  # over PULLS_PER_MINUTE: not acted on (the hourly sync catches up)
    BAD_SECRET = "bad_secret"  # the secret header is missing or not the current secret: refused
    BAD_BODY = "bad_body"  # too large, not a JSON object, or without a valid event_time: refused


def connection_webhook_secret(deployment_secret: str, webhook_token: str, generation: int) -> str:
    """The value Zoho must send in `SECRET_HEADER` for this connection's webhook URL, at the
    connection's current `generation` (0 until its admin first rotates the secret)."""
    label = f"ledgersync-webhook:{webhook_token}" + (f":{generation}" if generation else "")
    digest = hmac.new(deployment_secret.encode(), label.encode(), hashlib.sha256)
    return digest.hexdigest()


def secret_matches(given: str, deployment_secret: str, webhook_token: str, generation: int) -> bool:
    """Constant-time check of a received header against the connection's current secret."""
    expected = connection_webhook_secret(deployment_secret, webhook_token, generation)
    return hmac.compare_digest(given.encode(), expected.encode())
