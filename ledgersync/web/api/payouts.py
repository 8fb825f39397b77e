"""`/api/v1/payouts`: settled payments sent to the partner's bank, minus fees."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ledgersync.services import payouts
from ledgersync.web.api.deps import ApiContainer, ApiPartner, ApiRoute
from ledgersync.web.api.schemas import PayoutIn, PayoutOut

router = APIRouter(prefix="/payouts", tags=["payouts"], route_class=ApiRoute)


def _out(container, partner_id: str, payout) -> PayoutOut:  # type: ignore[no-untyped-def]
    out = PayoutOut.model_validate(payout)
    out.payment_ids = payouts.payout_payment_ids(container, partner_id, payout.id)
    return out


@router.get("", response_model=list[PayoutOut])
def list_payouts(
    container: ApiContainer,
    partner_id: ApiPartner,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[PayoutOut]:
    return [_out(container, partner_id, p) for p in payouts.list_payouts(container, partner_id, limit=limit, offset=offset)]


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
