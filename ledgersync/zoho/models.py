"""Pydantic models of the Zoho payloads the product reads.

Only the fields ledgersync uses are declared; everything else is kept (``extra="allow"``) so a
sync can store or log it. Money is ``Decimal`` (the client parses JSON with
``parse_float=Decimal``); ids are strings even when Zoho sends numbers; Zoho's timestamps
(``2013-11-18T02:02:51-0800``) become UTC-aware datetimes; Zoho's empty strings for missing
dates become ``None``.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def parse_zoho_timestamp(value: Any) -> datetime | None:
    """``2013-11-18T02:02:51-0800`` (also ``+05:30``, ``Z``, fractional seconds) → UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+0000"
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(timezone.utc)
        except ValueError:
            continue
    raise ValueError(f"not a Zoho timestamp: {value!r}")


def format_zoho_timestamp(moment: datetime) -> str:
    """A datetime in Zoho's filter format (``...T02:02:51+0000``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


ZohoTimestamp = Annotated[datetime | None, BeforeValidator(parse_zoho_timestamp)]
ZohoDate = Annotated[date | None, BeforeValidator(_empty_to_none)]
Money = Annotated[Decimal | None, BeforeValidator(_empty_to_none)]


class ZohoModel(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


class ZohoOrganization(ZohoModel):
    organization_id: str
    name: str
    currency_code: str | None = None
    time_zone: str | None = None
    is_default_org: bool | None = None
    plan_name: str | None = None
    plan_type: int | str | None = None


class ZohoContact(ZohoModel):
    contact_id: str
    contact_name: str
    company_name: str | None = None
    contact_type: str | None = None
    status: str | None = None
    email: str | None = None
    currency_code: str | None = None
    outstanding_receivable_amount: Money = None
    created_time: ZohoTimestamp = None
    last_modified_time: ZohoTimestamp = None

    @property
    def is_active(self) -> bool:
        return (self.status or "active").lower() == "active"


class ZohoInvoiceSummary(ZohoModel):
    """A row of ``GET /invoices``: no line items (those need ``GET /invoices/{id}``)."""

    invoice_id: str
    invoice_number: str | None = None
    customer_id: str
    customer_name: str | None = None
    status: str
    date: ZohoDate = None
    due_date: ZohoDate = None
    currency_code: str | None = None
    exchange_rate: Money = None
    total: Decimal
    balance: Decimal
    reference_number: str | None = None
    created_time: ZohoTimestamp = None
    last_modified_time: ZohoTimestamp = None
    last_payment_date: ZohoDate = None
    write_off_amount: Money = None


class ZohoLineItem(ZohoModel):
    line_item_id: str | None = None
    item_id: str | None = None
    name: str | None = None
    description: str | None = None
    quantity: Decimal = Decimal("0")
    rate: Decimal = Decimal("0")
    discount: Any = None
    item_total: Money = None
    item_order: int | None = None
    tax_id: str | None = None
    tax_percentage: Money = None


class ZohoInvoice(ZohoInvoiceSummary):
    line_items: list[ZohoLineItem] = Field(default_factory=list)
    sub_total: Money = None
    tax_total: Money = None
    payment_made: Money = None
    credits_applied: Money = None


class ZohoPaymentInvoice(ZohoModel):
    invoice_id: str
    amount_applied: Decimal
    invoice_number: str | None = None


class ZohoCustomerPayment(ZohoModel):
    payment_id: str
    customer_id: str | None = None
    customer_name: str | None = None
    payment_mode: str | None = None
    amount: Decimal
    unused_amount: Money = None
    amount_refunded: Money = None
    bank_charges: Money = None
    date: ZohoDate = None
    reference_number: str | None = None
    description: str | None = None
    account_id: str | None = None
    currency_code: str | None = None
    exchange_rate: Money = None
    invoices: list[ZohoPaymentInvoice] = Field(default_factory=list)
    created_time: ZohoTimestamp = None
    last_modified_time: ZohoTimestamp = None


class ZohoAccount(ZohoModel):
    account_id: str
    account_name: str
    account_code: str | None = None
    account_type: str
    is_active: bool | None = None
    currency_code: str | None = None
    current_balance: Money = None
    last_modified_time: ZohoTimestamp = None


class ZohoBankTransaction(ZohoModel):
    transaction_id: str
    transaction_type: str | None = None
    from_account_id: str | None = None
    to_account_id: str | None = None
    amount: Money = None
    total: Money = None
    bank_charges: Money = None
    date: ZohoDate = None
    reference_number: str | None = None
    description: str | None = None
    currency_code: str | None = None
    customer_id: str | None = None
