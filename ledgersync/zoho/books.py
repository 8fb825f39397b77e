"""Typed helpers for the Zoho Books calls ledgersync makes (mixed into ``ZohoBooks``).

Thin on purpose: each helper names the endpoint, the envelope key and the model; the sync
layer owns the decisions. Reads default to ``priority="pull"``, writes to ``"push"``.

Lookups by ``reference_number`` match exactly on our side as well (Zoho's filter is a search),
because they guard exactly-once writes: "is my payment ``ls:123`` already in Zoho?".
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ZohoNotFound
from .models import (
    ZohoAccount,
    ZohoBankTransaction,
    ZohoContact,
    ZohoCustomerPayment,
    ZohoInvoice,
    ZohoOrganization,
    format_zoho_timestamp,
)
from .paging import MAX_PER_PAGE, ZohoPagePaginator

if TYPE_CHECKING:
    from .paging import Page


def _record(envelope: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The record under the first of `keys` Zoho used (an object, or the first of a list)."""
    for key in keys:
        value = envelope.get(key)
        if isinstance(value, list) and value:
            first: dict[str, Any] = value[0]
            return first
        if isinstance(value, dict):
            return value
    raise KeyError(f"none of {keys} in Zoho answer")


def _with_reference(records: list[dict[str, Any]], reference: str) -> list[dict[str, Any]]:
    return [r for r in records if str(r.get("reference_number") or "") == reference]


def _since(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return format_zoho_timestamp(value)


class BooksEndpoints:
    """Mixin over the verbs of :class:`~ledgersync.zoho.client.ZohoBooks`."""

    if TYPE_CHECKING:  # provided by ZohoBooks (its verbs keep their full signatures there)
        organization_id: str
        get: Callable[..., dict[str, Any]]
        post: Callable[..., dict[str, Any]]
        put: Callable[..., dict[str, Any]]
        delete: Callable[..., dict[str, Any]]
        count: Callable[..., int]
        get_pdf: Callable[..., bytes]
        _call: Callable[..., Any]

    def paginate(self, path: str, records_key: str, params: Mapping[str, Any] | None = None, *,
                 priority: str = "pull", start_page: int = 1, per_page: int = MAX_PER_PAGE,
                 id_key: str | None = None) -> Iterator[Page]:
        """Pages of a list endpoint, deduped by id, with loop detection (see ``paging``)."""
        base = dict(params or {})

        def fetch(page: int, size: int) -> dict[str, Any]:
            return self.get(path, {**base, "page": page, "per_page": size}, priority=priority)

        return iter(ZohoPagePaginator(fetch, records_key, id_key=id_key, per_page=per_page, start_page=start_page))

    # --- organisation & settings -----------------------------------------------------------

    def list_organizations(self, *, priority: str = "pull") -> list[ZohoOrganization]:
        """The organisations the token's user can see (the only call without organization_id)."""
        body = self._call("GET", "/organizations", priority=priority, safe_to_repeat=True, with_org=False)
        return [ZohoOrganization.model_validate(o) for o in body.get("organizations") or []]

    def get_organization(self, *, priority: str = "pull") -> ZohoOrganization:
        org_id = self.organization_id
        body = self.get(f"/organizations/{org_id}", priority=priority)
        return ZohoOrganization.model_validate(body["organization"])

    def list_accounts(self, filter_by: str = "AccountType.All", *, priority: str = "pull") -> list[ZohoAccount]:
        """Chart of accounts (all pages): for Set Up Accounts' dropdowns."""
        accounts: list[ZohoAccount] = []
        for page in self.paginate("/chartofaccounts", "chartofaccounts", {"filter_by": filter_by}, priority=priority):
            accounts.extend(ZohoAccount.model_validate(r) for r in page.records)
        return accounts

    # --- invoices & contacts (pull) -------------------------------------------------------

    def get_invoice(self, invoice_id: str, *, priority: str = "pull") -> ZohoInvoice:
        body = self.get(f"/invoices/{invoice_id}", priority=priority)
        return ZohoInvoice.model_validate(body["invoice"])

    def get_invoice_raw(self, invoice_id: str, *, priority: str = "pull") -> dict[str, Any]:
        """The invoice record as Zoho sent it (for per-record error handling in sync)."""
        record: dict[str, Any] = self.get(f"/invoices/{invoice_id}", priority=priority)["invoice"]
        return record

    def iter_invoice_pages(self, *, last_modified_time: datetime | str | None = None, start_page: int = 1,
                           priority: str = "pull", per_page: int = 200, **filters: Any) -> Iterator[Page]:
        """Invoice summaries page by page (raw dicts; ``page.parse(ZohoInvoiceSummary)``)."""
        params = {"last_modified_time": _since(last_modified_time), **filters}
        return self.paginate("/invoices", "invoices", params, priority=priority, start_page=start_page,
                             per_page=per_page)

    def iter_contact_pages(self, *, last_modified_time: datetime | str | None = None, start_page: int = 1,
                           priority: str = "pull", per_page: int = 200, **filters: Any) -> Iterator[Page]:
        """Contacts page by page (raw dicts; ``page.parse(ZohoContact)``)."""
        params = {"last_modified_time": _since(last_modified_time), **filters}
        return self.paginate("/contacts", "contacts", params, priority=priority, start_page=start_page,
                             per_page=per_page)

    def iter_contacts(self, **kw: Any) -> Iterator[ZohoContact]:
        for page in self.iter_contact_pages(**kw):
            yield from (ZohoContact.model_validate(r) for r in page.records)

    def count_invoices(self, *, priority: str = "pull", **filters: Any) -> int:
        return self.count("/invoices", filters, priority=priority)

    def count_contacts(self, *, priority: str = "pull", **filters: Any) -> int:
        return self.count("/contacts", filters, priority=priority)

    def get_invoice_pdf(self, invoice_id: str, *, priority: str = "pull") -> bytes:
        return self.get_pdf(invoice_id, priority=priority)

    # --- customer payments (push) ---------------------------------------------------------

    def find_customer_payments(self, reference_number: str, *, priority: str = "push") -> list[ZohoCustomerPayment]:
        """Payments whose reference number is exactly ``reference_number`` (look-before-retry)."""
        found: list[ZohoCustomerPayment] = []
        for page in self.paginate("/customerpayments", "customerpayments",
                                  {"reference_number": reference_number}, priority=priority):
            found.extend(ZohoCustomerPayment.model_validate(r) for r in page.records
                         if str(r.get("reference_number") or "") == reference_number)
        return found

    def get_customer_payment(self, payment_id: str, *, priority: str = "push") -> ZohoCustomerPayment:
        body = self.get(f"/customerpayments/{payment_id}", priority=priority)
        return ZohoCustomerPayment.model_validate(body["payment"])

    def create_customer_payment(self, payload: Mapping[str, Any], *, headers: Mapping[str, str] | None = None,
                                priority: str = "push") -> ZohoCustomerPayment:
        """POST: NOT repeated after an unknown outcome (``err.outcome_unknown``): look it up first."""
        body = self.post("/customerpayments", dict(payload), headers=headers, priority=priority)
        return ZohoCustomerPayment.model_validate(body["payment"])

    def upsert_customer_payment(self, payload: Mapping[str, Any], *, unique_key: str, unique_value: str,
                                priority: str = "push") -> ZohoCustomerPayment:
        """PUT with Zoho's ``X-Unique-Identifier-*`` + ``X-Upsert`` headers: create or update the
        payment whose unique custom field ``unique_key`` equals ``unique_value``. Safe to repeat."""
        headers = {"X-Unique-Identifier-Key": unique_key, "X-Unique-Identifier-Value": unique_value,
                   "X-Upsert": "true"}
        body = self.put("/customerpayments", dict(payload), headers=headers, priority=priority, idempotent=True)
        return ZohoCustomerPayment.model_validate(body["payment"])

    def delete_customer_payment(self, payment_id: str, *, priority: str = "push") -> None:
        self.delete(f"/customerpayments/{payment_id}", priority=priority)

    def refund_customer_payment(self, payment_id: str, payload: Mapping[str, Any], *,
                                priority: str = "push") -> dict[str, Any]:
        """``POST /customerpayments/{id}/refunds``; answers Zoho's ``payment_refund`` record."""
        body = self.post(f"/customerpayments/{payment_id}/refunds", dict(payload), priority=priority)
        return body.get("payment_refund") or body

    # --- bank transactions (deposits / payouts) -------------------------------------------

    def create_bank_transaction(self, payload: Mapping[str, Any], *, priority: str = "push") -> ZohoBankTransaction:
        body = self.post("/banktransactions", dict(payload), priority=priority)
        return ZohoBankTransaction.model_validate(body.get("banktransaction") or body.get("bank_transaction"))

    def find_bank_transactions(self, reference_number: str, account_id: str | None = None, *,
                               priority: str = "push") -> list[ZohoBankTransaction]:
        """Bank transactions whose reference number is exactly ``reference_number``."""
        params = {"reference_number": reference_number, "account_id": account_id}
        found: list[ZohoBankTransaction] = []
        for page in self.paginate("/banktransactions", "banktransactions", params, priority=priority):
            found.extend(ZohoBankTransaction.model_validate(r) for r in page.records
                         if str(r.get("reference_number") or "") == reference_number)
        return found

    def get_bank_transaction(self, transaction_id: str, *, priority: str = "push") -> ZohoBankTransaction:
        body = self.get(f"/banktransactions/{transaction_id}", priority=priority)
        return ZohoBankTransaction.model_validate(body.get("banktransaction") or body.get("bank_transaction"))

    def delete_bank_transaction(self, transaction_id: str, *, priority: str = "push") -> None:
        self.delete(f"/banktransactions/{transaction_id}", priority=priority)

    # --- the pull engine's calls (``ledgersync.sync.ports.PullGateway``) -------------------
    # Envelopes and records as Zoho sent them: the pull validates each record itself, so one
    # bad record becomes a per-record error instead of failing the page.

    def record(self, path: str, record_id: str, *, priority: str = "pull") -> dict[str, Any]:
        """``GET {path}/{id}`` of a declared stream (the whole envelope)."""
        return self.get(f"{path}/{record_id}", priority=priority)

    def list_page(self, path: str, params: Mapping[str, Any], *, priority: str = "pull") -> dict[str, Any]:
        """One page of a declared stream's list (``params`` carry ``page`` and ``per_page``)."""
        return self.get(path, params, priority=priority)

    def invoice_record(self, invoice_id: str, *, priority: str = "pull") -> dict[str, Any]:
        """The invoice's detail record (``{}`` if Zoho's answer has none)."""
        found: dict[str, Any] = self.get(f"/invoices/{invoice_id}", priority=priority).get("invoice") or {}
        return found

    def contact_record(self, contact_id: str, *, priority: str = "pull") -> dict[str, Any] | None:
        """The contact's record, or None if Zoho's answer has none."""
        contact = self.get(f"/contacts/{contact_id}", priority=priority).get("contact")
        return contact if isinstance(contact, dict) else None

    def invoice_list_page(self, params: Mapping[str, Any], *, page: int, per_page: int = 200,
                          priority: str = "pull") -> dict[str, Any]:
        return self.get("/invoices", {**params, "page": page, "per_page": per_page}, priority=priority)

    def contact_list_page(self, params: Mapping[str, Any], *, page: int, per_page: int = 200,
                          priority: str = "pull") -> dict[str, Any]:
        return self.get("/contacts", {**params, "page": page, "per_page": per_page}, priority=priority)

    # --- the push engine's calls (``ledgersync.sync.ports.BooksGateway``) -------------------
    # One request each, raw records as Zoho sent them (amounts Decimal, as the client parses
    # them): the engine records ids and copies fields back, it never re-validates a record it
    # just wrote. Lookups by reference are one page (the reference is unique to one write).

    def post_customer_payment(self, payload: Mapping[str, Any], *, priority: str = "push") -> str:
        """``POST /customerpayments``; the new payment's id. Not repeated after an unknown outcome."""
        body = self.post("/customerpayments", json=dict(payload), priority=priority)
        return str(_record(body, "payment", "customerpayment")["payment_id"])

    def get_customer_payment_raw(self, payment_id: str, *, priority: str = "push") -> dict[str, Any]:
        return _record(self.get(f"/customerpayments/{payment_id}", priority=priority), "payment")

    def put_customer_payment(self, payment_id: str, payload: Mapping[str, Any], *, priority: str = "push") -> None:
        """``PUT /customerpayments/{id}`` with the whole payment (Zoho replaces it; safe to repeat)."""
        self.put(f"/customerpayments/{payment_id}", json=dict(payload), priority=priority)

    def post_payment_refund(self, payment_id: str, payload: Mapping[str, Any], *, priority: str = "push") -> str:
        """``POST /customerpayments/{id}/refunds``; the refund's id."""
        body = self.post(f"/customerpayments/{payment_id}/refunds", json=dict(payload), priority=priority)
        refund = _record(body, "payment_refund", "payment_refunds", "refund")
        return str(refund.get("payment_refund_id") or refund.get("refund_id"))

    def post_bank_transaction(self, payload: Mapping[str, Any], *, priority: str = "push") -> str:
        """``POST /banktransactions``; the new transaction's id. Not repeated after an unknown outcome."""
        body = self.post("/banktransactions", json=dict(payload), priority=priority)
        return str(_record(body, "banktransaction", "bank_transaction")["transaction_id"])

    def customer_payment_exists(self, payment_id: str, *, priority: str = "push") -> bool:
        return self._exists(f"/customerpayments/{payment_id}", priority)

    def bank_transaction_exists(self, transaction_id: str, *, priority: str = "push") -> bool:
        return self._exists(f"/banktransactions/{transaction_id}", priority)

    def _exists(self, path: str, priority: str) -> bool:
        """Whether ``GET path`` finds the record; Zoho's not-found means no, any other error is raised."""
        try:
            self.get(path, priority=priority)
        except ZohoNotFound:
            return False
        return True

    def customer_payments_by_reference(self, reference: str, *, priority: str = "push") -> list[dict[str, Any]]:
        """Customer payments whose reference number is exactly ``reference`` (look-before-retry)."""
        body = self.get("/customerpayments", {"reference_number": reference}, priority=priority)
        return _with_reference(body.get("customerpayments") or [], reference)

    def bank_transactions_by_reference(self, reference: str, *, priority: str = "push") -> list[dict[str, Any]]:
        """Bank transactions whose reference number is exactly ``reference`` (look-before-retry)."""
        body = self.get("/banktransactions", {"reference_number": reference}, priority=priority)
        return _with_reference(body.get("banktransactions") or [], reference)

    def payment_refunds(self, payment_id: str, *, priority: str = "push") -> list[dict[str, Any]]:
        """``GET /customerpayments/{id}/refunds``: the payment's refunds."""
        body = self.get(f"/customerpayments/{payment_id}/refunds", priority=priority)
        refunds: list[dict[str, Any]] = body.get("payment_refunds") or body.get("refunds") or []
        return refunds

    def payment_refunds_by_reference(self, payment_id: str, reference: str, *,
                                     priority: str = "push") -> list[dict[str, Any]]:
        """The payment's refunds whose reference number is exactly ``reference``."""
        return _with_reference(self.payment_refunds(payment_id, priority=priority), reference)

    # --- reconciliation's reads (every page of a date window) ------------------------------

    def _all_records(self, path: str, records_key: str, params: Mapping[str, Any], priority: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.paginate(path, records_key, params, priority=priority):
            out.extend(page.records)
        return out

    def list_invoices_raw(self, params: Mapping[str, Any], *, priority: str = "pull") -> list[dict[str, Any]]:
        return self._all_records("/invoices", "invoices", params, priority)

    def list_customer_payments_raw(self, params: Mapping[str, Any], *, priority: str = "pull") -> list[dict[str, Any]]:
        return self._all_records("/customerpayments", "customerpayments", params, priority)

    def list_bank_transactions_raw(self, params: Mapping[str, Any], *, priority: str = "pull") -> list[dict[str, Any]]:
        return self._all_records("/banktransactions", "banktransactions", params, priority)

    # --- an invoice's settlement events (the invoice page) --------------------------------

    def invoice_payments(self, invoice_id: str, *, priority: str = "pull") -> list[dict[str, Any]]:
        """``GET /invoices/{id}/payments``: the payments applied to the invoice."""
        payments: list[dict[str, Any]] = self.get(f"/invoices/{invoice_id}/payments", priority=priority).get("payments") or []
        return payments

    def invoice_credits_applied(self, invoice_id: str, *, priority: str = "pull") -> list[dict[str, Any]]:
        """``GET /invoices/{id}/creditsapplied``: the credit notes applied to the invoice."""
        credits: list[dict[str, Any]] = (self.get(f"/invoices/{invoice_id}/creditsapplied", priority=priority)
                                          .get("credits") or [])
        return credits


class BooksVerbs(Protocol):
    """Zoho's HTTP verbs as :class:`~ledgersync.zoho.client.ZohoBooks` offers them (or a stand-in
    that wraps each call: the push engine's fencing, a test's probe)."""

    def get(self, path: str, params: Any = None, *, priority: str = "pull") -> dict[str, Any]: ...

    def post(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
             headers: Any = None, idempotent: bool = False) -> dict[str, Any]: ...

    def put(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
            headers: Any = None, idempotent: bool = True) -> dict[str, Any]: ...

    def delete(self, path: str, *, params: Any = None, priority: str = "push",
               idempotent: bool = False) -> dict[str, Any]: ...


class BooksOver(BooksEndpoints):
    """The typed endpoints over any :class:`BooksVerbs`: every named call goes through the
    wrapped object's verbs, so a wrapper that checks or counts each request sees them all."""

    def __init__(self, verbs: BooksVerbs) -> None:
        self.verbs = verbs

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, priority: str = "pull") -> dict[str, Any]:
        return self.verbs.get(path, params, priority=priority)

    def post(self, path: str, json: Any = None, *, params: Mapping[str, Any] | None = None, priority: str = "push",
             headers: Mapping[str, str] | None = None, idempotent: bool = False) -> dict[str, Any]:
        return self.verbs.post(path, json=json, params=params, priority=priority, headers=headers,
                               idempotent=idempotent)

    def put(self, path: str, json: Any = None, *, params: Mapping[str, Any] | None = None, priority: str = "push",
            headers: Mapping[str, str] | None = None, idempotent: bool = True) -> dict[str, Any]:
        return self.verbs.put(path, json=json, params=params, priority=priority, headers=headers,
                              idempotent=idempotent)

    def delete(self, path: str, *, params: Mapping[str, Any] | None = None, priority: str = "push",
               idempotent: bool = False) -> dict[str, Any]:
        return self.verbs.delete(path, params=params, priority=priority, idempotent=idempotent)

