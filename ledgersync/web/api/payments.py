"""`/api/v1/payments`: pay invoices, and the simulated processor's settlement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ledgersync.services import payments
from ledgersync.services.payments import AllocationInput
from ledgersync.web.api.deps import ApiContainer, ApiPartner, ApiRoute
from ledgersync.web.api.schemas import PaymentIn, PaymentOut, SettleIn

router = APIRouter(prefix="/payments", tags=["payments"], route_class=ApiRoute)


@router.get("", response_model=list[PaymentOut])
def list_payments(
    container: ApiContainer,
    partner_id: ApiPartner,
    status: str | None = None,
    customer_id: str | None = None,
    invoice_id: str | None = None,
    paid_out: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[object]:
    return payments.list_payments(
        container, partner_id, status=status, customer_id=customer_id, invoice_id=invoice_id,
        paid_out=paid_out, limit=limit, offset=offset,
    )


@router.post("", response_model=PaymentOut, status_code=201)
def create_payment(body: PaymentIn, container: ApiContainer, partner_id: ApiPartner) -> object:
    """Pay one or several invoices (in full or in part); the payment starts `pending`."""
    allocations = [AllocationInput(a.invoice_id, a.amount) for a in body.allocations]
    return payments.pay_invoices(container, partner_id, allocations=allocations, method=body.method, amount=body.amount)


@router.get("/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: str, container: ApiContainer, partner_id: ApiPartner) -> object:
    return payments.get_payment(container, partner_id, payment_id)


@router.post("/{payment_id}/settle", response_model=PaymentOut)
def settle_payment(payment_id: str, body: SettleIn, container: ApiContainer, partner_id: ApiPartner) -> object:
    """Simulated processor: `succeeded` or `failed` (an ACH payment may fail after it succeeded)."""
    return payments.settle(container, partner_id, payment_id, body.outcome, reason=body.reason)
