"""`customer_payment_exists` / `bank_transaction_exists`: the look-up after an uncertain deletion.

Zoho's not-found means "gone" (the deletion applied); any other error must propagate, since an
outage read as "gone" would mark an undone deletion as done.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledgersync.zoho.books import BooksOver
from ledgersync.zoho.errors import ZohoAPIError, ZohoNotFound


class Verbs:
    """Zoho's GET over a fixed set of records; every call is remembered as (path, priority)."""

    def __init__(self, present: set[str], failing: frozenset[str] | set[str] = frozenset()) -> None:
        self.present, self.failing = present, failing
        self.calls: list[tuple[str, str]] = []

    def get(self, path: str, params: Any = None, *, priority: str = "pull") -> dict[str, Any]:
        self.calls.append((path, priority))
        if path in self.failing:
            raise ZohoAPIError(500, None, "internal error")
        if path not in self.present:
            raise ZohoNotFound(404, 1002, "does not exist")
        return {"code": 0}

    def post(self, *a: Any, **k: Any) -> dict[str, Any]:
        raise AssertionError("no writes")

    put = delete = post


def test_a_present_record_exists_and_a_missing_one_does_not() -> None:
    verbs = Verbs({"/customerpayments/P1", "/banktransactions/T1"})
    books = BooksOver(verbs)
    assert books.customer_payment_exists("P1") is True
    assert books.customer_payment_exists("P2") is False
    assert books.bank_transaction_exists("T1", priority="pull") is True
    assert books.bank_transaction_exists("T2") is False
    assert verbs.calls == [("/customerpayments/P1", "push"), ("/customerpayments/P2", "push"),
                           ("/banktransactions/T1", "pull"), ("/banktransactions/T2", "push")]


@pytest.mark.parametrize("ask", [
    lambda books: books.customer_payment_exists("P1"),
    lambda books: books.bank_transaction_exists("T1"),
])
def test_an_error_other_than_not_found_is_raised(ask: Any) -> None:
    books = BooksOver(Verbs(set(), failing={"/customerpayments/P1", "/banktransactions/T1"}))
    with pytest.raises(ZohoAPIError) as raised:
        ask(books)
    assert not isinstance(raised.value, ZohoNotFound)
