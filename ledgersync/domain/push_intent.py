"""What a push intent remembers between attempts, typed (`push_intents.detail` holds its JSON).

An intent is worked in steps that may be interrupted anywhere (crash, timeout, lease lost), so
everything a later attempt or a dependent intent needs is written down here: per write step
whether it was sent (`uncertain`: a look-up is owed before any re-send) or recorded (`done`,
with Zoho's id); what the payment plan applied to each invoice and what it left as unused
credit (shown on the dashboard, read by the reversal to know which invoices to refresh); the
amounts the reversal must undo; and whether the intent holds its invoices (see
`push_rules.invoice_turn`).

The JSON keys and encodings are the ones the engine wrote before this type existed (amounts
as strings), so rows written by an older version read back unchanged. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

StepState = Literal["uncertain", "done"]


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@dataclass(frozen=True)
class StepRecord:
    """One Zoho write of the intent: sent (outcome unknown until recorded) or recorded."""

    state: StepState
    op: str = ""
    reference: str | None = None
    amount: str = ""
    sent_at: str | None = None
    zoho_id: str | None = None
    adopted: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "op": self.op, "reference": self.reference,
                               "amount": self.amount, "sent_at": self.sent_at}
        if self.state == "done":
            out |= {"zoho_id": self.zoho_id, "adopted": self.adopted}
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> StepRecord:
        state: StepState = "done" if raw.get("state") == "done" else "uncertain"
        zid = raw.get("zoho_id")
        return cls(state=state, op=str(raw.get("op") or ""), reference=raw.get("reference"),
                   amount=str(raw.get("amount") or ""), sent_at=raw.get("sent_at"),
                   zoho_id=str(zid) if zid is not None else None, adopted=bool(raw.get("adopted", False)))


@dataclass(frozen=True)
class AppliedInvoice:
    """What a payment push asked of one Zoho invoice and what Zoho could take."""

    invoice: str  # platform invoice id
    zoho_invoice: str
    asked: Decimal
    applied: Decimal

    def to_json(self) -> dict[str, str]:
        return {"invoice": self.invoice, "zoho_invoice": self.zoho_invoice,
                "asked": str(self.asked), "applied": str(self.applied)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AppliedInvoice:
        return cls(str(raw.get("invoice") or ""), str(raw.get("zoho_invoice") or ""),
                   _dec(raw.get("asked")) or Decimal("0"), _dec(raw.get("applied")) or Decimal("0"))


@dataclass(frozen=True)
class IntentDetail:
    """The typed form of `push_intents.detail` (see module docstring)."""

    steps: Mapping[str, StepRecord] = field(default_factory=dict)
    applications: tuple[AppliedInvoice, ...] = ()
    unused_credit: Decimal | None = None
    flags: tuple[str, ...] = ()
    payment_amount: Decimal | None = None  # the Zoho customer payment's amount, once recorded
    deposit_amount: Decimal | None = None  # the stand-alone deposit's amount, once recorded
    deposited: bool | None = None  # reversal: its payment's payout was in Zoho when planned
    holds_invoices: bool = False  # passed its turn on its invoices and has not finished

    # ------------------------------------------------------------------ reading
    def step(self, name: str) -> StepRecord | None:
        return self.steps.get(name)

    @property
    def started(self) -> bool:
        """A write was sent or recorded: Zoho may hold something of this intent."""
        return bool(self.steps)

    @property
    def uncertain(self) -> bool:
        """A write's outcome is unknown: the next attempt must look Zoho up before re-sending."""
        return any(s.state == "uncertain" for s in self.steps.values())

    def zoho_id_of(self, step: str) -> str | None:
        rec = self.steps.get(step)
        return rec.zoho_id if rec is not None else None

    @property
    def main_zoho_id(self) -> str | None:
        """The first recorded Zoho id (the record the intent's mapping points to)."""
        return next((s.zoho_id for s in self.steps.values() if s.zoho_id), None)

    # ------------------------------------------------------------------ changing (new values)
    def with_step(self, name: str, record: StepRecord) -> IntentDetail:
        return replace(self, steps={**self.steps, name: record})

    def with_changes(self, **changes: Any) -> IntentDetail:
        return replace(self, **changes)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"steps": {k: v.to_json() for k, v in self.steps.items()}}
        if self.applications:
            out["applications"] = [a.to_json() for a in self.applications]
        if self.unused_credit is not None:
            out["unused_credit"] = str(self.unused_credit)
        if self.flags:
            out["flags"] = list(self.flags)
        if self.payment_amount is not None:
            out["payment_amount"] = str(self.payment_amount)
        if self.deposit_amount is not None:
            out["deposit_amount"] = str(self.deposit_amount)
        if self.deposited is not None:
            out["deposited"] = self.deposited
        if self.holds_invoices:
            out["holds_invoices"] = True
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> IntentDetail:
        raw = raw or {}
        steps_raw = raw.get("steps") or {}
        deposited = raw.get("deposited")
        return cls(
            steps={str(k): StepRecord.from_json(v) for k, v in steps_raw.items() if isinstance(v, Mapping)},
            applications=tuple(AppliedInvoice.from_json(a) for a in raw.get("applications") or ()
                               if isinstance(a, Mapping)),
            unused_credit=_dec(raw.get("unused_credit")),
            flags=tuple(str(f) for f in raw.get("flags") or ()),
            payment_amount=_dec(raw.get("payment_amount")),
            deposit_amount=_dec(raw.get("deposit_amount")),
            deposited=bool(deposited) if deposited is not None else None,
            holds_invoices=bool(raw.get("holds_invoices", False)),
        )
