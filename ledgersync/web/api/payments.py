"""`/api/v1/payments`: pay invoices, and the simulated processor's settlement."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ledgersync.services import payments
from ledgersync.services.payments import AllocationInput
from ledgersync.web.api.deps import ApiContainer, ApiPartner, ApiRoute
from ledgersync.web.api.paging import PAGED, Limit, Offset, paged
from ledgersync.web.api.schemas import PaymentIn, PaymentOut, SettleIn

router = APIRouter(prefix="/payments", tags=["payments"], route_class=ApiRoute)


@router.get("", response_model=list[PaymentOut], responses=PAGED)
def list_payments(
    request: Request,
    response: Response,
    container: ApiContainer,
    partner_id: ApiPartner,
    status: str | None = None,
    customer_id: str | None = None,
    invoice_id: str | None = None,
    paid_out: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[object]:
    return paged(request, response, payments.page_payments(
        container, partner_id, status=status, customer_id=customer_id, invoice_id=invoice_id,
        paid_out=paid_out, limit=limit, offset=offset,
    ))


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
