"""What the Integrations page's Webhooks panel says about the last delivery (`DeliveryOutcome`):
a short label, its badge, and what the admin does next when it was not accepted."""

from __future__ import annotations

from dataclasses import dataclass

from ledgersync.domain.webhook_auth import DeliveryOutcome


@dataclass(frozen=True)
class OutcomeView:
    label: str
    badge: str
    help: str


OUTCOMES: dict[DeliveryOutcome, OutcomeView] = {
    DeliveryOutcome.ACCEPTED: OutcomeView("Accepted", "connected", "The record was re-read from Zoho at once."),
    DeliveryOutcome.DUPLICATE: OutcomeView(
        "Discarded (repeat)", "pending", "Zoho sent a delivery again; the first one was acted on."),
    DeliveryOutcome.STALE: OutcomeView(
        "Discarded (late)", "pending", "Its event_time was over an hour old or in the future; the hourly sync catches up."),
    DeliveryOutcome.THROTTLED: OutcomeView(
        "Not acted on (too many)", "pending", "Over 20 webhooks a minute; the hourly sync catches up."),
    DeliveryOutcome.BAD_SECRET: OutcomeView(
        "Refused: wrong secret", "error",
        "The custom header was missing or not the current secret: paste the secret below into the webhook in Zoho."),
    DeliveryOutcome.BAD_BODY: OutcomeView(
        "Refused: bad body", "error",
        "The body must be JSON with event_time (and module); check the webhook's body and parameters in Zoho."),
}


def outcome_view(outcome: DeliveryOutcome | None) -> OutcomeView | None:
    return OUTCOMES[outcome] if outcome is not None else None
