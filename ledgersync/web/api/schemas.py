"""Request and response models of `/api/v1`.

Amounts are exact decimals. In responses they are JSON **strings** with two decimals
(`"1234.50"`), never floats, so no client loses a cent to binary floating point; requests
accept strings (recommended) or JSON numbers. Dates are ISO `YYYY-MM-DD`, timestamps ISO 8601 UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgersync.domain.money import MAX_AMOUNT, MAX_QUANTITY, MAX_RATE, MAX_UNIT_DECIMALS

Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, max_digits=14, decimal_places=2, examples=["125.00"])]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code (e.g. USD, EUR); others are a 422",
                                examples=["USD"])]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --------------------------------------------------------------------------- customers


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    currency_code: Currency | None = None


class CustomerOut(_Out):
    id: str
    name: str
    email: str | None
    currency_code: str
    origin: Literal["platform", "zoho"]
    archived: bool
    created_at: datetime


# --------------------------------------------------------------------------- invoices


class LineItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=2000)
    quantity: Annotated[Decimal, Field(gt=0, le=MAX_QUANTITY, decimal_places=MAX_UNIT_DECIMALS, examples=["1"])]
    rate: Annotated[Decimal, Field(ge=0, le=MAX_RATE, decimal_places=MAX_UNIT_DECIMALS, examples=["99.00"],
                                   description="quantity x rate, to the cent, must stay within the amount maximum")]
    tax_amount: Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, decimal_places=2)] = Decimal("0.00")


class InvoiceIn(BaseModel):
    customer_id: str = Field(max_length=64)
    line_items: list[LineItemIn] = Field(min_length=1, max_length=500)
    due_date: date | None = None
    issue_date: date | None = None
    number: str | None = Field(default=None, min_length=1, max_length=100,
                               description="unique among the partner's invoices; default PL-<next>")


class LineItemOut(_Out):
    name: str
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    tax_amount: Decimal


class InvoiceOut(_Out):
    id: str
    customer_id: str
    number: str
    currency_code: str
    issue_date: date
    due_date: date | None
    total: Decimal
    outstanding: Decimal
    status: str = Field(description="stored status: draft | open | overdue | partially_paid | paid | void | written_off")
    settlement_status: str = Field(description=(
        "how it got there, what the dashboard shows: draft | open | overdue | partially_paid | partially_credited"
        " | collected | credited | written_off | void"))
    paid_amount: Decimal = Field(description="paid in Zoho Books (Zoho invoices; 0 on platform invoices)")
    credited_amount: Decimal = Field(description="settled by credit notes in Zoho Books")
    written_off_amount: Decimal = Field(description="written off in Zoho Books")
    archived: bool
    origin: Literal["platform", "zoho"]
    line_items: list[LineItemOut]


# --------------------------------------------------------------------------- payments


class AllocationIn(BaseModel):
    invoice_id: str = Field(max_length=64)
    amount: Amount


class PaymentIn(BaseModel):
    allocations: list[AllocationIn] = Field(min_length=1, max_length=100)
    method: Literal["card", "ach"] = "card"
    amount: Amount | None = Field(default=None, description=(
        "defaults to the sum of the allocations; if given it must equal that sum (a payment is never "
        "larger than what it pays: unapplied money would sit as unused credit in Zoho Books)"))


class SettleIn(BaseModel):
    outcome: Literal["succeeded", "failed"]
    reason: str | None = Field(default=None, max_length=300)


class AllocationOut(_Out):
    invoice_id: str
    amount: Decimal


class PaymentOut(_Out):
    id: str
    customer_id: str
    amount: Decimal
    currency_code: str
    method: str
    status: Literal["pending", "succeeded", "failed"]
    fee: Decimal
    failure_reason: str | None
    settled_at: datetime | None
    failed_at: datetime | None
    payout_id: str | None
    created_at: datetime
    allocations: list[AllocationOut]


# --------------------------------------------------------------------------- payouts


class PayoutIn(BaseModel):
    payment_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=1000, description="default: every succeeded payment not paid out")
    currency_code: Currency | None = None
    arrival_date: date | None = None


class PayoutOut(_Out):
    id: str
    currency_code: str
    gross: Decimal
    fees: Decimal
    net: Decimal
    status: str
    arrival_date: date
    created_at: datetime
    payment_ids: list[str] = []


# --------------------------------------------------------------------------- integration


class AccountRef(BaseModel):
    id: str | None
    name: str | None


class StreamOut(_Out):
    stream: str
    state: dict[str, Any]
    next_run_at: datetime | None
    updated_at: datetime | None


class IntegrationOut(BaseModel):
    provider: str = "zoho_books"
    status: str = Field(description="disconnected | pending | connected | error | reauth_required")
    status_detail: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    currency_code: str | None = None
    data_center: str | None = None
    connected_at: datetime | None = None
    accounts: dict[str, AccountRef] = Field(
        default_factory=dict,
        description="undeposited_funds, bank, fees, deposits_from (the income account stand-alone deposits come from)")
    initial_sync_phase: str | None = Field(default=None, description="recent | history | done")
    initial_sync_progress: dict[str, Any] | None = None
    streams: list[StreamOut] = Field(default_factory=list)


class SyncRunOut(_Out):
    id: str
    stream: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    created: int
    updated: int
    archived: int
    calls: int
    errors: int
    message: str | None
