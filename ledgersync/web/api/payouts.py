"""`/api/v1/payouts`: settled payments sent to the partner's bank, minus fees."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ledgersync.bootstrap import Container
from ledgersync.services import payouts
from ledgersync.store.orm import Payout
from ledgersync.web.api.deps import ApiContainer, ApiPartner, ApiRoute
from ledgersync.web.api.paging import PAGED, Limit, Offset, paged
from ledgersync.web.api.schemas import PayoutIn, PayoutOut

router = APIRouter(prefix="/payouts", tags=["payouts"], route_class=ApiRoute)


def _out(container: Container, partner_id: str, payout: Payout) -> PayoutOut:
    out = PayoutOut.model_validate(payout)
    out.payment_ids = payouts.payout_payment_ids(container, partner_id, payout.id)
    return out


@router.get("", response_model=list[PayoutOut], responses=PAGED)
def list_payouts(
    request: Request,
    response: Response,
    container: ApiContainer,
    partner_id: ApiPartner,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[PayoutOut]:
    page = payouts.page_payouts(container, partner_id, limit=limit, offset=offset)
    return [_out(container, partner_id, p) for p in paged(request, response, page)]


@router.post("", response_model=PayoutOut, status_code=201)
def create_payout(body: PayoutIn, container: ApiContainer, partner_id: ApiPartner) -> PayoutOut:
    """Pay out the given payments, or every succeeded payment not yet paid out (409 if none)."""
    payout = payouts.create_payout(
        container, partner_id, payment_ids=body.payment_ids, currency=body.currency_code, arrival_date=body.arrival_date
    )
    return _out(container, partner_id, payout)


@router.get("/{payout_id}", response_model=PayoutOut)
def get_payout(payout_id: str, container: ApiContainer, partner_id: ApiPartner) -> PayoutOut:
    return _out(container, partner_id, payouts.get_payout(container, partner_id, payout_id))
