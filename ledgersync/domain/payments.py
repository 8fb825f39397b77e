"""Payment rules: the status machine, processing fees, and what a payout is made of.

Pure functions on plain values. Fees are the simulated processor's price list (card 2.9% +
0.30; ACH 0.8% capped at 5.00), rounded half-up to the cent as processors do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ledgersync.domain.money import CENT, ZERO

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
STATUSES = (PENDING, SUCCEEDED, FAILED)

CARD = "card"
ACH = "ach"
METHODS = (CARD, ACH)

CARD_RATE = Decimal("0.029")
CARD_FIXED = Decimal("0.30")
ACH_RATE = Decimal("0.008")
ACH_CAP = Decimal("5.00")


class IllegalTransition(ValueError):
    """A settlement the processor cannot produce (e.g. a failed card payment succeeding)."""


def next_status(current: str, outcome: str, method: str) -> str:
    """The payment's status after the processor reports `outcome`.

    pending → succeeded | failed; succeeded → failed only for ACH (a bank return can arrive
    days after the payment looked settled); failed is final; repeating the current outcome is
    refused so a settlement is applied exactly once.
    """
    if outcome not in (SUCCEEDED, FAILED):
        raise IllegalTransition(f"unknown outcome {outcome!r}")
    if current == PENDING:
        return outcome
    if current == SUCCEEDED and outcome == FAILED:
        if method == ACH:
            return FAILED
        raise IllegalTransition("only ACH payments can fail after they succeeded")
    raise IllegalTransition(f"payment is already {current}")


def compute_fee(amount: Decimal, method: str) -> Decimal:
    """The processor's fee for collecting `amount` by `method`."""
    if method == CARD:
        fee = amount * CARD_RATE + CARD_FIXED
    elif method == ACH:
        fee = min(amount * ACH_RATE, ACH_CAP)
    else:
        raise ValueError(f"unknown payment method {method!r}")
    return fee.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class PayoutCandidate:
    payment_id: str
    amount: Decimal
    fee: Decimal
    currency: str
    status: str
    payout_id: str | None


@dataclass(frozen=True, slots=True)
class PayoutTotals:
    currency: str
    gross: Decimal
    fees: Decimal
    net: Decimal
    payment_ids: tuple[str, ...]


class PayoutError(ValueError):
    """The payments cannot form a payout."""


def compose_payout(payments: Iterable[PayoutCandidate]) -> PayoutTotals:
    """Gross, fees and net of a payout of these succeeded, not yet paid-out payments."""
    items = list(payments)
    if not items:
        raise PayoutError("no settled payments to pay out")
    currencies = {p.currency for p in items}
    if len(currencies) != 1:
        raise PayoutError(f"payments in several currencies: {sorted(currencies)}")
    for p in items:
        if p.status != SUCCEEDED:
            raise PayoutError(f"payment {p.payment_id} is {p.status}, not succeeded")
        if p.payout_id is not None:
            raise PayoutError(f"payment {p.payment_id} is already in payout {p.payout_id}")
    gross = sum((p.amount for p in items), ZERO)
    fees = sum((p.fee for p in items), ZERO)
    return PayoutTotals(currencies.pop(), gross, fees, gross - fees, tuple(p.payment_id for p in items))


def settle_refusal(invoices: Iterable[tuple[str, bool, str | None]]) -> str | None:
    """Why a pending payment cannot be applied now, or None.

    `invoices` are (number, archived, archived_reason) of the invoices it pays. An invoice
    archived since the payment was made (deleted in Zoho Books, or left behind by a switch to
    another organisation) cannot take money: applying it would lower an outstanding nobody can
    collect and push a payment Zoho refuses, so the whole settlement is refused before anything
    is written, naming the invoice (the payment stays pending: fail it and refund the payer)."""
    for number, archived, reason in invoices:
        if archived:
            return (f"invoice {number} was archived ({reason or 'archived'}) after this payment was made; "
                    "the payment cannot be applied: report it as failed and refund the customer")
    return None
