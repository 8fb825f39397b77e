"""Payment status machine, fees and payout composition on plain values."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ledgersync.domain.payments import (
    IllegalTransition,
    PayoutCandidate,
    PayoutError,
    compose_payout,
    compute_fee,
    next_status,
)


def test_transitions() -> None:
    assert next_status("pending", "succeeded", "card") == "succeeded"
    assert next_status("pending", "failed", "card") == "failed"
    assert next_status("succeeded", "failed", "ach") == "failed"  # ACH return days later


@pytest.mark.parametrize(
    ("current", "outcome", "method"),
    [
        ("succeeded", "failed", "card"),
        ("succeeded", "succeeded", "ach"),
        ("failed", "succeeded", "ach"),
        ("failed", "failed", "card"),
        ("pending", "refunded", "card"),
    ],
)
def test_illegal_transitions(current, outcome, method) -> None:
    with pytest.raises(IllegalTransition):
        next_status(current, outcome, method)


@pytest.mark.parametrize(
    ("amount", "method", "fee"),
    [
        ("100.00", "card", "3.20"),
        ("10.00", "card", "0.59"),
        ("0.50", "card", "0.31"),  # 0.0145 + 0.30 = 0.3145 -> 0.31
        ("12.50", "card", "0.66"),  # 0.3625 + 0.30 = 0.6625 -> 0.66
        ("15.00", "card", "0.74"),  # 0.435 + 0.30 = 0.735 -> half up 0.74
        ("100.00", "ach", "0.80"),
        ("625.00", "ach", "5.00"),
        ("10000.00", "ach", "5.00"),  # capped
        ("1.25", "ach", "0.01"),  # 0.01
        ("0.60", "ach", "0.00"),  # 0.0048 -> 0.00
        ("0.63", "ach", "0.01"),  # 0.00504 -> 0.01
    ],
)
def test_fees(amount, method, fee) -> None:
    got = compute_fee(D(amount), method)
    assert got == D(fee) and got.as_tuple().exponent == -2


def test_unknown_method() -> None:
    with pytest.raises(ValueError):
        compute_fee(D("1.00"), "cash")


def _p(pid, amount, fee, *, currency="USD", status="succeeded", payout=None) -> PayoutCandidate:
    return PayoutCandidate(pid, D(amount), D(fee), currency, status, payout)


def test_compose_payout() -> None:
    totals = compose_payout([_p("p1", "100.00", "3.20"), _p("p2", "625.00", "5.00")])
    assert (totals.gross, totals.fees, totals.net) == (D("725.00"), D("8.20"), D("716.80"))
    assert totals.payment_ids == ("p1", "p2") and totals.currency == "USD"


@pytest.mark.parametrize(
    "items",
    [
        [],
        [_p("p1", "1.00", "0.33", status="pending")],
        [_p("p1", "1.00", "0.33", status="failed")],
        [_p("p1", "1.00", "0.33", payout="po1")],
        [_p("p1", "1.00", "0.33"), _p("p2", "1.00", "0.33", currency="EUR")],
    ],
)
def test_compose_payout_refuses(items) -> None:
    with pytest.raises(PayoutError):
        compose_payout(items)
