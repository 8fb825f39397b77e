"""Typed helpers for the Zoho Books calls ledgersync makes (mixed into ``ZohoBooks``).

Thin on purpose: each helper names the endpoint, the envelope key and the model; the sync
layer owns the decisions. Reads default to ``priority="pull"``, writes to ``"push"``.

Lookups by ``reference_number`` match exactly on our side as well (Zoho's filter is a search),
because they guard exactly-once writes: "is my payment ``ls:123`` already in Zoho?".
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .models import (
    ZohoAccount,
    ZohoBankTransaction,
    ZohoContact,
    ZohoCustomerPayment,
    ZohoInvoice,
    ZohoOrganization,
    format_zoho_timestamp,
)

if TYPE_CHECKING:
    from .paging import Page


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
        paginate: Callable[..., Iterator[Page]]
        count: Callable[..., int]
        get_pdf: Callable[..., bytes]
        _call: Callable[..., Any]

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
