"""Invoice rules of the platform: status from balances, and which payment allocations are valid.

Pure functions on plain values (no I/O), so the service layer, the pull sync and the tests share
one definition of "paid", "overdue" and "may this payment be applied here".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgersync.domain.money import CENT, MAX_AMOUNT, ZERO

OPEN = "open"
OVERDUE = "overdue"
PARTIALLY_PAID = "partially_paid"
PAID = "paid"
VOID = "void"
DRAFT = "draft"
WRITTEN_OFF = "written_off"
STATUSES = (DRAFT, OPEN, OVERDUE, PARTIALLY_PAID, PAID, VOID, WRITTEN_OFF)
UNPAYABLE = (DRAFT, VOID, WRITTEN_OFF, PAID)


def invoice_status(
    total: Decimal,
    outstanding: Decimal,
    due_date: date | None,
    today: date,
    *,
    void: bool = False,
    draft: bool = False,
) -> str:
    """The status an invoice has given its amounts and dates.

    Void and draft win; nothing outstanding is paid; an unpaid balance past its due date is
    overdue (even when partly paid: the money is late either way); otherwise partially paid when
    something was paid, else open.
    """
    if void:
        return VOID
    if draft:
        return DRAFT
    if outstanding <= ZERO:
        return PAID
    if due_date is not None and due_date < today:
        return OVERDUE
    if outstanding < total:
        return PARTIALLY_PAID
    return OPEN


COLLECTED = "collected"
CREDITED = "credited"
PARTIALLY_CREDITED = "partially_credited"
#: what a person reads, by standing (`settlement_status`)
STANDING_LABELS = {
    DRAFT: "Draft", OPEN: "Open", OVERDUE: "Overdue", PARTIALLY_PAID: "Partially paid",
    PARTIALLY_CREDITED: "Partially credited", COLLECTED: "Collected", CREDITED: "Credited",
    WRITTEN_OFF: "Written off", VOID: "Void",
}
STANDINGS = tuple(STANDING_LABELS)


def settlement_status(status: str, total: Decimal, outstanding: Decimal, paid: Decimal, credited: Decimal) -> str:
    """What an accountant needs to read instead of the bare `paid`: how the invoice got there.

    `paid` splits into `collected` (money came in, possibly with some credit) and `credited`
    (only credit notes settled it); a part-settled open invoice by credits alone is
    `partially_credited`. Void, draft, written-off and overdue stay as they are. A platform
    invoice has no Zoho settlement figures: what it lost of its total was paid on the platform.
    """
    if status not in (PAID, PARTIALLY_PAID, OPEN):
        return status
    if paid == ZERO and credited == ZERO:
        paid = total - outstanding
    if status == PAID:
        return CREDITED if credited > ZERO and paid == ZERO else COLLECTED
    if outstanding < total and paid == ZERO and credited > ZERO:
        return PARTIALLY_CREDITED
    return status


@dataclass(frozen=True, slots=True)
class InvoiceBalance:
    """What allocation validation needs to know about one invoice."""

    invoice_id: str
    currency: str
    available: Decimal  # outstanding minus what pending payments already claim
    status: str
    customer_id: str
    archived: bool = False  # deleted in Zoho, or left behind by a switch to another organisation


@dataclass(frozen=True, slots=True)
class Allocation:
    invoice_id: str
    amount: Decimal


class AllocationError(ValueError):
    """An invalid allocation; `field` names the request field (e.g. `allocations[1].amount`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def validate_allocations(
    amount: Decimal,
    currency: str,
    allocations: Sequence[Allocation],
    invoices: Mapping[str, InvoiceBalance],
) -> None:
    """Refuse a payment whose allocations do not fit the invoices.

    Each allocation is positive, names a payable invoice once, in the payment's currency and of
    the same customer as the others, and does not exceed what is still available on that
    invoice; together they are exactly the payment amount. A payment larger than its allocations
    is refused: the rest would have no invoice and would sit in Zoho Books as the customer's
    unused credit, which nobody asked for (pay several invoices, or pay less, instead).
    """
    amount = Decimal(amount)  # callers may pass an int
    if not amount.is_finite() or amount <= ZERO:
        raise AllocationError("amount", "must be greater than zero")
    if amount > MAX_AMOUNT:
        raise AllocationError("amount", f"must be at most {MAX_AMOUNT}")
    if amount != amount.quantize(CENT):
        raise AllocationError("amount", "can have at most two decimals")
    for i, alloc in enumerate(allocations):
        part = Decimal(alloc.amount)
        if not part.is_finite() or part > MAX_AMOUNT:
            raise AllocationError(f"allocations[{i}].amount", f"must be a number of at most {MAX_AMOUNT}")
        if part != part.quantize(CENT):
            raise AllocationError(f"allocations[{i}].amount", "can have at most two decimals")
    if not allocations:
        raise AllocationError("allocations", "at least one invoice is required")
    seen: set[str] = set()
    customers: set[str] = set()
    for i, alloc in enumerate(allocations):
        _check_one(f"allocations[{i}]", alloc, currency, invoices, seen)
        customers.add(invoices[alloc.invoice_id].customer_id)
    if len(customers) > 1:
        raise AllocationError("allocations", "invoices belong to different customers")
    allocated = sum((a.amount for a in allocations), ZERO)
    if allocated > amount:
        raise AllocationError("allocations", f"allocated more than the payment amount {amount}")
    if allocated < amount:
        raise AllocationError("amount", f"is more than its allocations ({allocated}): a payment pays invoices only, "
                                        "allocate the rest to an open invoice or pay less")


def _check_one(
    field: str, alloc: Allocation, currency: str, invoices: Mapping[str, InvoiceBalance], seen: set[str]
) -> None:
    inv = invoices.get(alloc.invoice_id)
    if inv is None:
        raise AllocationError(f"{field}.invoice_id", "invoice not found")
    if alloc.invoice_id in seen:
        raise AllocationError(f"{field}.invoice_id", "invoice listed twice")
    seen.add(alloc.invoice_id)
    if alloc.amount <= ZERO:
        raise AllocationError(f"{field}.amount", "must be greater than zero")
    if inv.status in UNPAYABLE:
        raise AllocationError(f"{field}.invoice_id", f"invoice is {inv.status}")
    if inv.archived:
        raise AllocationError(f"{field}.invoice_id", "invoice is archived (deleted in Zoho Books or from another organisation)")
    if inv.currency != currency:
        raise AllocationError(f"{field}.invoice_id", f"invoice is in {inv.currency}, payment in {currency}")
    if alloc.amount > inv.available:
        raise AllocationError(f"{field}.amount", f"exceeds the invoice's outstanding {inv.available}")


def apply_to_outstanding(outstanding: Decimal, amount: Decimal) -> Decimal:
    """Outstanding after a settled allocation; never below zero (the excess is the customer's
    credit, e.g. when Zoho reduced the invoice after the customer paid)."""
    return max(outstanding - amount, ZERO)


def restore_outstanding(outstanding: Decimal, amount: Decimal, total: Decimal) -> Decimal:
    """Outstanding after a settled allocation is undone (failed ACH); never above the total."""
    return min(outstanding + amount, total)
