"""Webhook authentication and limits: a secret per connection, derived, never stored.

Each connection's webhook secret is HMAC-SHA256(deployment's `LEDGERSYNC_WEBHOOK_SECRET`,
connection's `webhook_token`). So a partner who configures (and can read) their own secret in
Zoho learns nothing that authenticates webhooks of another connection, rotating the deployment
secret rotates them all, and no new column has to be kept secret in the database.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

SECRET_HEADER = "X-Ledgersync-Webhook-Secret"

MAX_BODY_BYTES = 256 * 1024  # a Zoho webhook carries one record; anything larger is refused (413)
MAX_AGE = timedelta(hours=1)  # an event_time older than this is refused (replay window) ...
MAX_SKEW = timedelta(minutes=5)  # ... and so is one further in the future than this
PULLS_PER_MINUTE = 20  # webhook-triggered re-reads per connection and minute (each 1-2 Zoho calls)


def connection_webhook_secret(deployment_secret: str, webhook_token: str) -> str:
    """The value Zoho must send in `SECRET_HEADER` for this connection's webhook URL."""
    digest = hmac.new(deployment_secret.encode(), f"ledgersync-webhook:{webhook_token}".encode(), hashlib.sha256)
    return digest.hexdigest()


def secret_matches(given: str, deployment_secret: str, webhook_token: str) -> bool:
    """Constant-time check of a received header against the connection's secret."""
    expected = connection_webhook_secret(deployment_secret, webhook_token)
    return hmac.compare_digest(given.encode(), expected.encode())
