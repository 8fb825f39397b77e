"""Zoho webhooks receiver: `POST /webhooks/zoho/{connection webhook_token}`.

Authenticated by the connection's own secret header (`X-Ledgersync-Webhook-Secret`, configured
in the Zoho workflow rule's custom headers; derived per connection and its rotation generation,
see `ledgersync.domain.webhook_auth`; compared in constant time), bounded (a body over
`MAX_BODY_BYTES` is refused with 413 before it is read whole; `event_time` is required; at most
`PULLS_PER_MINUTE` re-reads per connection and minute, then 429), replay-safe (a delivery is a repeat only when
the same id comes with the same body within a bounded window — `sync/pull/webhook_events.py`: a
sender's ids restart with it, so an id alone never discards a new event; a repeat answers 200
without work; an `event_time` older than an hour or from the future is refused; both leave a
row in the sync log), and the
payload is only a hint: it schedules a re-read of the affected record within seconds through
the dispatcher and never applies the payload's amounts. Each delivery's time and outcome is
noted on the connection (`webhook_events.note_delivery`) for the admin's Webhooks panel.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from ledgersync.bootstrap import Container
from ledgersync.domain import webhook_auth
from ledgersync.domain.pull_rules import parse_zoho_timestamp
from ledgersync.domain.webhook_auth import DeliveryOutcome as Outcome
from ledgersync.store.orm import Connection, WebhookEvent
from ledgersync.sync.pull import webhook_events
from ledgersync.sync.pull.context import now_of
from ledgersync.sync.pull.service import work_for_webhook

router = APIRouter()

SECRET_HEADER = webhook_auth.SECRET_HEADER.lower()
MAX_AGE = webhook_auth.MAX_AGE
MAX_SKEW = webhook_auth.MAX_SKEW


class BodyTooLarge(Exception):
    """The request body is over `webhook_auth.MAX_BODY_BYTES`."""


async def _capped_body(request: Request, limit: int = webhook_auth.MAX_BODY_BYTES) -> bytes:
    """The body, refusing (BodyTooLarge) as soon as it is over `limit`, whatever Content-Length says."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _over_budget(container: Container, connection_id: str) -> bool:
    """True when the connection's webhooks already asked for `PULLS_PER_MINUTE` re-reads this minute."""
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    with container.uow() as uow:
        recent = uow.session.scalar(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.connection_id == connection_id, WebhookEvent.received_at > since))
    return int(recent or 0) >= webhook_auth.PULLS_PER_MINUTE


def _record_id(payload: dict[str, Any], module: str) -> str | None:
    for key in (module, module.rstrip("s"), "record"):
        inner = payload.get(key)
        if isinstance(inner, dict):
            for id_key in (f"{module.rstrip('s')}_id", "invoice_id", "contact_id", "id"):
                if inner.get(id_key):
                    return str(inner[id_key])
    for id_key in ("record_id", f"{module.rstrip('s')}_id"):
        if payload.get(id_key):
            return str(payload[id_key])
    return None


def _note(container: Container, connection_id: str, outcome: Outcome) -> None:
    """The time and outcome of this delivery, for the admin's Webhooks panel on the Integrations page."""
    with container.uow() as uow:
        webhook_events.note_delivery(uow, connection_id, outcome, datetime.now(timezone.utc))


def _discarded(container: Container, connection_id: str, payload: dict[str, Any], why: str) -> None:
    """Leave a trace in the sync log of a delivery we did not act on."""
    module, event = str(payload.get("module") or "?")[:40], str(payload.get("event") or "?")[:40]
    delivery = str(payload.get("delivery_id") or payload.get("event_id") or "without id")[:80]
    with container.uow() as uow:
        webhook_events.trace_discarded(uow, connection_id, f"Webhook {module} {event} ({delivery}) not acted on: {why}",
                                       datetime.now(timezone.utc))


@router.post("/webhooks/zoho/{token}", include_in_schema=False)
async def zoho_webhook(token: str, request: Request) -> JSONResponse:
    container = request.app.state.container
    with container.uow() as uow:
        found = uow.session.execute(select(Connection.id, Connection.webhook_secret_generation)
                                    .where(Connection.webhook_token == token)).one_or_none()
    if found is None:
        return JSONResponse({"error": "unknown webhook"}, status_code=404)
    connection_id, generation = found
    deployment_secret = container.settings.webhook_secret.get_secret_value()
    if not webhook_auth.secret_matches(request.headers.get(SECRET_HEADER, ""), deployment_secret, token, generation):
        _note(container, connection_id, Outcome.BAD_SECRET)
        return JSONResponse({"error": "bad secret"}, status_code=401)
    try:
        raw = await _capped_body(request)
    except BodyTooLarge:
        _note(container, connection_id, Outcome.BAD_BODY)
        return JSONResponse({"error": f"body over {webhook_auth.MAX_BODY_BYTES} bytes"}, status_code=413)
    try:
        payload = json.loads(raw or b"{}", parse_float=Decimal)
        assert isinstance(payload, dict)
    except (ValueError, AssertionError, RecursionError):
        _note(container, connection_id, Outcome.BAD_BODY)
        return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
    event_time = payload.get("event_time") or payload.get("timestamp")
    if not event_time:
        _note(container, connection_id, Outcome.BAD_BODY)
        return JSONResponse({"error": "event_time is required"}, status_code=400)
    if event_time:
        try:
            moment = (datetime.fromtimestamp(float(event_time), timezone.utc) if str(event_time).replace(".", "").isdigit()
                      else parse_zoho_timestamp(str(event_time)))
        except (ValueError, OverflowError, OSError):
            _note(container, connection_id, Outcome.BAD_BODY)
            return JSONResponse({"error": "bad event_time"}, status_code=400)
        now = now_of(container)
        if moment < now - MAX_AGE or moment > now + MAX_SKEW:
            _discarded(container, connection_id, payload, f"its event_time {str(event_time)[:40]} is stale or in the future")
            _note(container, connection_id, Outcome.STALE)
            return JSONResponse({"error": "stale or future event_time"}, status_code=400)
    if _over_budget(container, connection_id):  # no sync-log row per refusal: a flood must not write one each
        _note(container, connection_id, Outcome.THROTTLED)
        return JSONResponse({"error": "too many webhooks for this connection; the hourly sync catches up"},
                            status_code=429, headers={"Retry-After": "60"})
    delivery_id = str(payload.get("delivery_id") or payload.get("event_id") or "")[:200] or None
    module = str(payload.get("module") or "invoice")
    event = str(payload.get("event") or "update")
    with container.uow() as uow:
        if not webhook_events.admit(uow, connection_id, delivery_id, raw, {"module": module, "event": event},
                                    datetime.now(timezone.utc)):
            _discarded(container, connection_id, payload, "the same delivery (id and body) was received already")
            _note(container, connection_id, Outcome.DUPLICATE)
            return JSONResponse({"status": "duplicate"}, status_code=200)
    _note(container, connection_id, Outcome.ACCEPTED)
    work = work_for_webhook(module, event, _record_id(payload, module))
    container.dispatcher.pull_requested(connection_id, work, "webhook")
    return JSONResponse({"status": "scheduled", "work": work}, status_code=202)
