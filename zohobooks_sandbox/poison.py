"""Planted malformations: a seeded, off-by-default fault that rewrites chosen invoices in replies.

Real Zoho organisations carry records an integration must survive: a field missing, a value of
the wrong type, NaN or Infinity where a number should be, an absurd or over-long amount, an
unknown currency, an invoice whose customer no longer exists. The sandbox never stores such a
record (its handlers refuse bad input as Zoho does); instead a :class:`PoisonPlan` picks
``per_kind`` invoices per kind, deterministically from ``seed`` and the organisation's invoice
ids, and the guard rewrites those invoices in every ``invoices.list`` / ``invoices.get`` reply
until the plan is cleared. Clearing it is "the accountant fixed the record": the next read
returns the stored invoice again.

Installed with ``PUT /_sandbox/orgs/{org_id}/faults/poison``; the answer lists the chosen ids
by kind, which is what a bench compares the integration's quarantine against.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

#: Every kind, in the order ids are assigned to them.
POISON_KINDS: tuple[str, ...] = (
    "missing_field",  # `total` absent
    "wrong_type",  # `invoice_number` is an object
    "nan",  # `total` is NaN (a bare JSON NaN token)
    "infinity",  # `balance` is Infinity
    "oversized",  # `total` 1e17 (overflows a BIGINT of cents)
    "long_decimal",  # `total` with 37 decimals
    "unknown_currency",  # `currency_code` "XQZ"
    "broken_reference",  # `customer_id` of a contact that does not exist
    "bad_line_item",  # a line item's `rate` is Infinity (only a detail carries line items)
)

BROKEN_CUSTOMER_PREFIX = "9990000"


class PoisonPlan(BaseModel):
    """How many invoices of each kind to poison, chosen by ``seed`` (``per_kind=0`` clears)."""

    seed: int = Field(default=0, description="Seed of the choice of invoices.")
    per_kind: int = Field(default=0, ge=0, description="Invoices poisoned per kind.")
    kinds: list[str] = Field(default_factory=lambda: list(POISON_KINDS), description="Kinds to plant.")


class PlantedPoison(BaseModel):
    """The invoices chosen, by kind (what the plan planted)."""

    seed: int
    per_kind: int
    planted: dict[str, list[str]]


def _missing_field(rec: dict[str, Any]) -> None:
    rec.pop("total", None)


def _wrong_type(rec: dict[str, Any]) -> None:
    rec["invoice_number"] = {"prefix": "INV", "number": rec.get("invoice_number")}


def _nan(rec: dict[str, Any]) -> None:
    rec["total"] = float("nan")


def _infinity(rec: dict[str, Any]) -> None:
    rec["balance"] = float("inf")


def _oversized(rec: dict[str, Any]) -> None:
    rec["total"] = Decimal("1E+17")


def _long_decimal(rec: dict[str, Any]) -> None:
    rec["total"] = Decimal("1234.5678901234567890123456789012345678901")


def _unknown_currency(rec: dict[str, Any]) -> None:
    rec["currency_code"] = "XQZ"


def _broken_reference(rec: dict[str, Any]) -> None:
    rec["customer_id"] = BROKEN_CUSTOMER_PREFIX + str(rec.get("invoice_id", ""))[-8:]


def _bad_line_item(rec: dict[str, Any]) -> None:
    items = rec.get("line_items")
    if isinstance(items, list) and items and isinstance(items[0], dict):
        items[0]["rate"] = float("inf")


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "missing_field": _missing_field, "wrong_type": _wrong_type, "nan": _nan, "infinity": _infinity,
    "oversized": _oversized, "long_decimal": _long_decimal, "unknown_currency": _unknown_currency,
    "broken_reference": _broken_reference, "bad_line_item": _bad_line_item,
}


class Poisoner:
    """Per-organisation planted malformations; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_org: dict[str, dict[str, str]] = {}  # org -> invoice id -> kind
        self._plans: dict[str, PlantedPoison] = {}

    def plant(self, org_id: str, invoice_ids: list[str], plan: PoisonPlan) -> PlantedPoison:
        """Choose ``per_kind`` invoices per kind among ``invoice_ids`` (seeded); replaces any plan."""
        unknown = [k for k in plan.kinds if k not in MUTATIONS]
        if unknown:
            raise ValueError(f"unknown poison kinds: {unknown}")
        rng = random.Random(f"{plan.seed}:{org_id}:poison")
        wanted = plan.per_kind * len(plan.kinds)
        if wanted > len(invoice_ids):
            raise ValueError(f"{wanted} invoices to poison, the organisation has {len(invoice_ids)}")
        chosen = rng.sample(sorted(invoice_ids), wanted)
        planted = {kind: chosen[i * plan.per_kind:(i + 1) * plan.per_kind] for i, kind in enumerate(plan.kinds)}
        result = PlantedPoison(seed=plan.seed, per_kind=plan.per_kind, planted=planted)
        with self._lock:
            if wanted == 0:
                self._by_org.pop(org_id, None)
                self._plans.pop(org_id, None)
            else:
                self._by_org[org_id] = {i: kind for kind, ids in planted.items() for i in ids}
                self._plans[org_id] = result
        return result

    def clear(self, org_id: str) -> None:
        with self._lock:
            self._by_org.pop(org_id, None)
            self._plans.pop(org_id, None)

    def planted(self, org_id: str) -> PlantedPoison | None:
        with self._lock:
            return self._plans.get(org_id)

    def active(self, org_id: str) -> bool:
        with self._lock:
            return bool(self._by_org.get(org_id))

    def rewrite(self, org_id: str, body: Any) -> bool:
        """Poison the chosen invoices of a parsed reply in place; True when something changed."""
        with self._lock:
            chosen = dict(self._by_org.get(org_id) or {})
        if not chosen or not isinstance(body, dict):
            return False
        records: list[Any] = []
        if isinstance(body.get("invoices"), list):
            records.extend(body["invoices"])
        if isinstance(body.get("invoice"), dict):
            records.append(body["invoice"])
        changed = False
        for rec in records:
            kind = chosen.get(str(rec.get("invoice_id"))) if isinstance(rec, dict) else None
            if kind is not None:
                MUTATIONS[kind](rec)
                changed = True
        return changed
