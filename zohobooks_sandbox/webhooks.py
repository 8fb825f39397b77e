"""Webhooks like Zoho Books workflow rules: POST a JSON payload when records change.

A user registers a webhook per organisation for modules ``invoice``, ``contact``,
``customerpayment`` (and ``creditnote``) and events ``create``/``update``/``delete``, with a URL,
custom headers (a shared secret, as Zoho's workflow webhooks allow) and optional extra
parameters merged into the payload.

Payload: Zoho's workflow webhook "default payload" is the whole record under the key the Books
API uses for it (``invoice``, ``contact``, ``payment`` for customer payments, ``creditnote``),
with the fields ``GET /{module}/{id}`` answers. The envelope fields stand for the custom
parameters a Zoho user configures on the webhook (placeholders) so the hint is
self-describing; payments also keep a ``customerpayment`` summary under the module name::

    {"module": "invoice", "event": "update", "organization_id": "700000001",
     "event_time": "2026-11-25T08:00:00-0800", "delivery_id": "...",
     "invoice": {"invoice_id": ..., "invoice_number": ..., "status": ..., "balance": 40.6,
                 "line_items": [...], ...},
     ...custom params}

A ``delete`` carries only the id (the record is gone). Delivery is at-least-once by a
background thread with retries and exponential backoff; on demand (``faults``) a delivery is
sent twice (duplicates) and/or held back so later ones overtake it (out of order), drawn from a
seeded RNG. Tests inject the sender (a callable, or an ``httpx`` transport).
"""
from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, Field

from .clock import zoho_timestamp

if TYPE_CHECKING:  # pragma: no cover
    from .state import OrgData, Sandbox

#: core module name (emit_change) -> Zoho workflow module name
MODULES = {"invoices": "invoice", "contacts": "contact", "customerpayments": "customerpayment",
           "creditnotes": "creditnote"}
EVENTS = {"created": "create", "updated": "update", "deleted": "delete"}

Sender = Callable[[str, dict[str, str], bytes], int]


class WebhookSpec(BaseModel):
    """What a user registers (admin API body)."""

    url: str
    modules: list[str] = Field(default_factory=lambda: ["invoice", "contact", "customerpayment"])
    events: list[str] = Field(default_factory=lambda: ["create", "update", "delete"])
    headers: dict[str, str] = Field(default_factory=dict, description="Custom headers, e.g. a shared secret.")
    params: dict[str, Any] = Field(default_factory=dict, description="Extra key/values merged into the payload.")
    active: bool = True


class Webhook(WebhookSpec):
    webhook_id: str
    organization_id: str


class WebhookFaults(BaseModel):
    """Delivery faults: duplicate and/or reorder some deliveries, seeded."""

    duplicate_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    reorder_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int | None = None


@dataclass
class Delivery:
    delivery_id: str
    webhook_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    attempts: int = 0
    status: str = "pending"  # pending | delivered | failed
    last_status: int | None = None
    last_error: str = ""
    history: list[int | str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"delivery_id": self.delivery_id, "webhook_id": self.webhook_id, "url": self.url,
                "attempts": self.attempts, "status": self.status, "last_status": self.last_status,
                "last_error": self.last_error, "payload": json.loads(self.body)}


def _encode(payload: dict[str, Any]) -> bytes:
    """JSON with Decimals as plain two-decimal numbers (the core's encoder, never via float)."""
    from .books.common import dumps

    return dumps(payload)


def default_sender(timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> Sender:
    """POST with httpx; returns the HTTP status (exceptions count as failed attempts)."""
    client = httpx.Client(timeout=timeout, transport=transport)

    def send(url: str, headers: dict[str, str], body: bytes) -> int:
        return client.post(url, content=body, headers=headers).status_code

    return send


class WebhookDispatcher:
    """Registers webhooks, turns change events into deliveries, delivers them in a thread.

    ``sandbox.on_change`` listeners run under the sandbox lock, so the listener only renders
    the payload and queues it; the worker thread does the HTTP. ``flush()`` waits until
    every queued delivery is delivered or has failed for good (tests, shutdown).
    """

    def __init__(self, sandbox: Sandbox, sender: Sender | None = None, max_attempts: int = 5,
                 backoff_seconds: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        self.sandbox = sandbox
        self.sender: Sender = sender or default_sender()
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.hooks: dict[str, Webhook] = {}
        self.deliveries: list[Delivery] = []
        self.faults = WebhookFaults()
        self._rng = random.Random(f"{sandbox.config.seed}:webhooks")
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._held: list[Delivery] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._thread: threading.Thread | None = None
        sandbox.on_change(self.on_change)

    # ------------------------------------------------------------------ registry
    def register(self, org_id: str, spec: WebhookSpec) -> Webhook:
        bad = [m for m in spec.modules if m not in MODULES.values()]
        if bad:
            raise ValueError(f"unknown module(s): {bad}; use {sorted(MODULES.values())}")
        bad = [e for e in spec.events if e not in EVENTS.values()]
        if bad:
            raise ValueError(f"unknown event(s): {bad}; use create, update, delete")
        hook = Webhook(webhook_id=self.sandbox.next_id(), organization_id=org_id, **spec.model_dump())
        with self._lock:
            self.hooks[hook.webhook_id] = hook
        return hook

    def unregister(self, webhook_id: str) -> bool:
        with self._lock:
            return self.hooks.pop(webhook_id, None) is not None

    def list(self, org_id: str | None = None) -> list[Webhook]:
        with self._lock:
            return [h for h in self.hooks.values() if org_id is None or h.organization_id == org_id]

    def set_faults(self, faults: WebhookFaults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(f"{faults.seed if faults.seed is not None else self.sandbox.config.seed}:webhooks")

    # ------------------------------------------------------------------ events
    def on_change(self, org_id: str, module: str, event: str, record_id: str) -> None:
        """Listener for ``sandbox.on_change``: queue one delivery per matching webhook."""
        zmodule, zevent = MODULES.get(module), EVENTS.get(event)
        if zmodule is None or zevent is None:
            return
        with self._lock:
            hooks = [h for h in self.hooks.values() if h.active and h.organization_id == org_id
                     and zmodule in h.modules and zevent in h.events]
        if not hooks:
            return
        record = None if zevent == "delete" else self._summary(org_id, module, record_id)
        full = None if zevent == "delete" else self._entity(org_id, module, record_id)
        for hook in hooks:
            with self._lock:
                self._seq += 1
                delivery_id = f"{hook.webhook_id}-{self._seq}"
            payload: dict[str, Any] = {
                "module": zmodule, "event": zevent, "organization_id": org_id,
                "event_time": zoho_timestamp(self.sandbox.now()), "delivery_id": delivery_id,
                zmodule: record if record is not None else {f"{zmodule}_id": record_id},
            }
            if full is not None:
                # As Zoho's workflow webhook "default payload": the whole record under the key the
                # Books API uses for it (``invoice``, ``contact``, ``payment``, ``creditnote``), the
                # same fields as ``GET /{module}/{id}``.
                key, entity = full
                payload[key] = entity if key != zmodule else {**entity, **(record or {})}
            for key, value in hook.params.items():
                payload.setdefault(key, value)
            headers = {"Content-Type": "application/json", "User-Agent": "ZohoBooks-Sandbox-Webhook/1.0",
                       **hook.headers}
            self._enqueue(Delivery(delivery_id, hook.webhook_id, hook.url, headers, _encode(payload)))

    def _entity(self, org_id: str, module: str, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """(record key, record as ``GET /{module}/{id}`` answers it), or None if it is gone."""
        from . import errors
        from .actions import act

        org = self.sandbox.orgs.get(org_id)
        key = {"invoices": "invoice", "contacts": "contact", "customerpayments": "payment",
               "creditnotes": "creditnote"}.get(module)
        if org is None or key is None:
            return None
        try:
            status, body = act(self.sandbox, org, "GET", f"/{module}/{record_id}")
        except errors.ZohoError:
            return None
        entity = body.get(key) if status == 200 else None
        return (key, json.loads(_encode(entity))) if isinstance(entity, dict) else None

    def _summary(self, org_id: str, module: str, record_id: str) -> dict[str, Any] | None:
        org: OrgData | None = self.sandbox.orgs.get(org_id)
        if org is None:
            return None
        tz = org.org.time_zone
        ts = lambda m: zoho_timestamp(m, tz) if m else ""  # noqa: E731
        if module == "invoices" and record_id in org.invoices:
            i = org.invoices[record_id]
            today = self.sandbox.clock.today(tz)
            return {"invoice_id": i.invoice_id, "invoice_number": i.invoice_number, "customer_id": i.customer_id,
                    "customer_name": i.customer_name, "status": i.status_on(today), "date": i.date,
                    "due_date": i.due_date, "currency_code": i.currency_code, "total": i.total,
                    "balance": i.balance, "payment_made": i.payment_made, "credits_applied": i.credits_applied,
                    "write_off_amount": i.write_off_amount, "reference_number": i.reference_number,
                    "created_time": ts(i.created_time), "last_modified_time": ts(i.last_modified_time)}
        if module == "contacts" and record_id in org.contacts:
            c = org.contacts[record_id]
            return {"contact_id": c.contact_id, "contact_name": c.contact_name, "company_name": c.company_name,
                    "contact_type": c.contact_type, "status": c.status, "email": c.email,
                    "currency_code": c.currency_code, "created_time": ts(c.created_time),
                    "last_modified_time": ts(c.last_modified_time)}
        if module == "customerpayments" and record_id in org.payments:
            p = org.payments[record_id]
            return {"payment_id": p.payment_id, "payment_number": p.payment_number, "customer_id": p.customer_id,
                    "customer_name": p.customer_name, "payment_mode": p.payment_mode, "amount": p.amount,
                    "date": p.date, "reference_number": p.reference_number, "account_id": p.account_id,
                    "invoices": [{"invoice_id": a.invoice_id, "amount_applied": a.amount_applied} for a in p.invoices],
                    "created_time": ts(p.created_time), "last_modified_time": ts(p.last_modified_time)}
        if module == "creditnotes" and record_id in org.creditnotes:
            n = org.creditnotes[record_id]
            return {"creditnote_id": n.creditnote_id, "creditnote_number": n.creditnote_number,
                    "customer_id": n.customer_id, "status": n.status, "total": n.total, "balance": n.balance,
                    "date": n.date, "last_modified_time": ts(n.last_modified_time)}
        return None

    def _enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            faults, rng = self.faults, self._rng
            duplicate = faults.duplicate_probability > 0 and rng.random() < faults.duplicate_probability
            hold = faults.reorder_probability > 0 and rng.random() < faults.reorder_probability
            if hold:
                # Held back: it will be sent after the next delivery (out of order).
                self._held.append(delivery)
                return
            held, self._held = self._held, []
        self._queue.put(delivery)
        if duplicate:
            self._queue.put(delivery)
        for late in held:
            self._queue.put(late)
        self._ensure_thread()

    # ------------------------------------------------------------------ delivery
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                self._deliver(delivery)
            finally:
                self._queue.task_done()

    def _deliver(self, delivery: Delivery) -> None:
        """Try until a 2xx or ``max_attempts``; a redelivery after success is a deliberate duplicate."""
        for attempt in range(1, self.max_attempts + 1):
            delivery.attempts += 1
            try:
                status = self.sender(delivery.url, delivery.headers, delivery.body)
                delivery.last_status = status
                delivery.history.append(status)
                if 200 <= status < 300:
                    delivery.status = "delivered"
                    return
                delivery.last_error = f"HTTP {status}"
            except Exception as exc:  # noqa: BLE001 - any transport failure is a failed attempt
                delivery.last_error = f"{type(exc).__name__}: {exc}"
                delivery.history.append(delivery.last_error)
            if attempt < self.max_attempts:
                self.sleep(self.backoff_seconds * (2 ** (attempt - 1)))
        if delivery.status != "delivered":
            delivery.status = "failed"

    def flush(self, timeout: float = 30.0) -> bool:
        """Release held deliveries and wait until the queue is drained; False on timeout."""
        with self._lock:
            held, self._held = self._held, []
        for late in held:
            self._queue.put(late)
        if held:
            self._ensure_thread()
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        """Stop the worker after the queued deliveries."""
        self.flush()
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)
