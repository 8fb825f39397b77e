"""Invoice status and allocation validation on plain values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledgersync.domain.invoices import (
    Allocation,
    AllocationError,
    InvoiceBalance,
    apply_to_outstanding,
    invoice_status,
    restore_outstanding,
    validate_allocations,
)

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("total", "outstanding", "due", "kw", "expected"),
    [
        ("100.00", "100.00", date(2026, 7, 1), {}, "open"),
        ("100.00", "40.00", date(2026, 7, 1), {}, "partially_paid"),
        ("100.00", "0.00", date(2026, 1, 1), {}, "paid"),
        ("100.00", "100.00", date(2026, 6, 14), {}, "overdue"),
        ("100.00", "40.00", date(2026, 6, 14), {}, "overdue"),
        ("100.00", "100.00", TODAY, {}, "open"),  # due today is not late yet
        ("100.00", "100.00", None, {}, "open"),
        ("100.00", "100.00", None, {"void": True}, "void"),
        ("100.00", "100.00", None, {"draft": True}, "draft"),
    ],
)
def test_invoice_status(total, outstanding, due, kw, expected) -> None:
    assert invoice_status(D(total), D(outstanding), due, TODAY, **kw) == expected


def _inv(iid: str, available: str, *, currency="USD", status="open", customer="c1") -> InvoiceBalance:
    return InvoiceBalance(iid, currency, D(available), status, customer)


INVOICES = {
    "a": _inv("a", "100.00"),
    "b": _inv("b", "50.00"),
    "eur": _inv("eur", "10.00", currency="EUR"),
    "void": _inv("void", "10.00", status="void"),
    "other": _inv("other", "10.00", customer="c2"),
}


def test_valid_full_partial_and_split() -> None:
    validate_allocations(D("150.00"), "USD", [Allocation("a", D("100.00")), Allocation("b", D("50.00"))], INVOICES)
    validate_allocations(D("30.00"), "USD", [Allocation("a", D("30.00"))], INVOICES)
    with pytest.raises(AllocationError, match="more than its allocations"):  # no unapplied rest (issue 8)
        validate_allocations(D("80.00"), "USD", [Allocation("a", D("30.00"))], INVOICES)


@pytest.mark.parametrize(
    ("amount", "allocs", "field", "words"),
    [
        ("0.00", [("a", "1.00")], "amount", "greater than zero"),
        ("10.00", [], "allocations", "at least one"),
        ("10.00", [("zzz", "1.00")], "allocations[0].invoice_id", "not found"),
        ("10.00", [("a", "1.00"), ("a", "1.00")], "allocations[1].invoice_id", "twice"),
        ("10.00", [("a", "-1.00")], "allocations[0].amount", "greater than zero"),
        ("200.00", [("a", "100.01")], "allocations[0].amount", "exceeds"),
        ("10.00", [("eur", "1.00")], "allocations[0].invoice_id", "EUR"),
        ("10.00", [("void", "1.00")], "allocations[0].invoice_id", "void"),
        ("10.00", [("a", "1.00"), ("other", "1.00")], "allocations", "different customers"),
        ("100.00", [("a", "60.00"), ("b", "50.00")], "allocations", "more than the payment"),
    ],
)
def test_invalid_allocations_name_the_field(amount, allocs, field, words) -> None:
    with pytest.raises(AllocationError) as err:
        validate_allocations(D(amount), "USD", [Allocation(i, D(a)) for i, a in allocs], INVOICES)
    assert err.value.field == field
    assert words in err.value.message


def test_outstanding_arithmetic_clamps() -> None:
    assert apply_to_outstanding(D("100.00"), D("40.00")) == D("60.00")
    assert apply_to_outstanding(D("30.00"), D("40.00")) == D("0.00")
    assert restore_outstanding(D("60.00"), D("40.00"), D("100.00")) == D("100.00")
    assert restore_outstanding(D("90.00"), D("40.00"), D("100.00")) == D("100.00")
