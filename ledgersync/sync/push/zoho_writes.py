"""Execute one planned `ZohoWrite` and, after an unknown outcome, find what Zoho already holds.

Both speak to Zoho through the named calls of the `BooksGateway` port (`sync/ports.py`,
implemented by `zoho/books.py`); the engine hands them `BooksOver(FencedBooks(client, check))`,
so every attempt of a write passes the fencing check.

Zoho has no idempotency key. The guard is the `reference_number` every create carries (the
outbox key): before re-sending a write whose previous attempt may have been applied, the
engine calls `find_existing`, which looks the record up by that reference (exact match,
because Zoho's filter may be a "contains" search). Deletions and un-applications are
naturally idempotent: a missing record counts as deleted, an empty application list stays
empty.

Why look-up-by-reference and not Zoho's `X-Unique-Identifier-Key/Value` + `X-Upsert` guard
(the connector has `upsert_customer_payment`, the sandbox emulates it on POST
/customerpayments): that guard keys on a custom field marked unique, which only an admin of
the partner's organisation can create in Zoho's settings (the API cannot), so it cannot be
assumed on a freshly connected org; and it covers customer payments only, not the bank
transactions (stand-alone deposits, payout transfers, fees) or refunds that need the same
protection. The reference look-up covers every create uniformly, and it is made safe by the
outbox: the step is committed as `uncertain` BEFORE the request leaves, the intent's lease
makes one worker the only writer, and a look-up is owed before any re-send of an uncertain
step (proved by the fault campaign over the real wire: drops after write, cut bodies, 5xx,
crashes at every step, concurrent workers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ledgersync.domain.push_rules import ZohoWrite
from ledgersync.sync.ports import BooksGateway
from ledgersync.zoho.client import ZohoBooks
from ledgersync.zoho.errors import ZohoNotFound

PRIORITY = "push"


class Books(Protocol):
    """The slice of `ledgersync.zoho.ZohoBooks` the push engine uses."""

    def get(self, path: str, params: Any = None, *, priority: str = "pull") -> dict: ...
    def post(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
             headers: Any = None, idempotent: bool = False) -> dict: ...
    def put(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
            headers: Any = None, idempotent: bool = True) -> dict: ...
    def delete(self, path: str, *, params: Any = None, priority: str = "push", idempotent: bool = False) -> dict: ...


class MeteredBooks(Books, Protocol):
    """A `Books` that counts the HTTP requests it sent (the drain reports them in its run row)."""

    @property
    def calls_made(self) -> int: ...


class FencedBooks:
    """A `Books` whose every write attempt first passes `check` (the push engine's fencing token).

    On the product's `ZohoBooks` the check runs right before each HTTP attempt leaves (after
    the rate limiter's wait, and again before a retry), through the connector's `before_send`
    hook; on any other `Books` (test fakes) once before the call. Reads pass through unchecked.
    `check` raises to stop the write (nothing is sent).
    """

    def __init__(self, books: Books, check: Callable[[], None]) -> None:
        self.books, self.check = books, check

    def _guarded(self, call: Callable[[], dict]) -> dict:
        if not isinstance(self.books, ZohoBooks):
            self.check()
            return call()
        previous = self.books.before_send
        self.books.before_send = lambda _method, _op: self.check()
        try:
            return call()
        finally:
            self.books.before_send = previous

    def get(self, path: str, params: Any = None, *, priority: str = "pull") -> dict:
        return self.books.get(path, params, priority=priority)

    def post(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
             headers: Any = None, idempotent: bool = False) -> dict:
        return self._guarded(lambda: self.books.post(path, json=json, params=params, priority=priority,
                                                     headers=headers, idempotent=idempotent))

    def put(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
            headers: Any = None, idempotent: bool = True) -> dict:
        return self._guarded(lambda: self.books.put(path, json=json, params=params, priority=priority,
                                                    headers=headers, idempotent=idempotent))

    def delete(self, path: str, *, params: Any = None, priority: str = "push", idempotent: bool = False) -> dict:
        return self._guarded(lambda: self.books.delete(path, params=params, priority=priority,
                                                       idempotent=idempotent))


def _target(write: ZohoWrite) -> str:
    """The Zoho id the write acts on (the rules set one for every update, refund and deletion)."""
    return str(write.target_id)


def perform(books: BooksGateway, write: ZohoWrite) -> str | None:
    """Send the write; returns the Zoho id it created or touched (None for deletions)."""
    if write.op == "create_customer_payment":
        return books.post_customer_payment(write.payload, priority=PRIORITY)
    if write.op == "create_bank_transaction":
        return books.post_bank_transaction(write.payload, priority=PRIORITY)
    if write.op == "update_customer_payment":
        current = books.get_customer_payment_raw(_target(write), priority=PRIORITY)
        body = {
            "customer_id": current["customer_id"],
            "payment_mode": current.get("payment_mode", "others"),
            "amount": current["amount"],
            "date": current["date"],
            "account_id": current.get("account_id"),
            "reference_number": current.get("reference_number", ""),
            **write.payload,
        }
        books.put_customer_payment(_target(write), body, priority=PRIORITY)
        return write.target_id
    if write.op == "refund_customer_payment":
        return books.post_payment_refund(_target(write), write.payload, priority=PRIORITY)
    if write.op == "delete_customer_payment":
        try:
            books.delete_customer_payment(_target(write), priority=PRIORITY)
        except ZohoNotFound:
            pass  # already gone: the goal of a deletion
        return None
    if write.op == "delete_bank_transaction":
        try:
            books.delete_bank_transaction(_target(write), priority=PRIORITY)
        except ZohoNotFound:
            pass
        return None
    raise ValueError(f"unknown write op {write.op}")


def find_existing(books: BooksGateway, write: ZohoWrite) -> tuple[bool, str | None]:
    """After an unknown outcome: (already applied?, its Zoho id).

    For creates this is a look-up by reference number (exact match). A deletion whose record is
    gone is applied; an un-application is safe to repeat, so it reports "not applied" and is re-sent.
    """
    ref = write.reference_number
    if write.op == "create_customer_payment" and ref:
        found = books.customer_payments_by_reference(ref, priority=PRIORITY)
        return (True, str(found[0]["payment_id"])) if found else (False, None)
    if write.op == "create_bank_transaction" and ref:
        found = books.bank_transactions_by_reference(ref, priority=PRIORITY)
        return (True, str(found[0]["transaction_id"])) if found else (False, None)
    if write.op == "refund_customer_payment" and ref:
        found = books.payment_refunds_by_reference(_target(write), ref, priority=PRIORITY)
        if found:
            return True, str(found[0].get("payment_refund_id") or found[0].get("refund_id"))
        return False, None
    if write.op == "delete_customer_payment":
        return (not books.customer_payment_exists(_target(write), priority=PRIORITY)), None
    if write.op == "delete_bank_transaction":
        return (not books.bank_transaction_exists(_target(write), priority=PRIORITY)), None
    return False, None
