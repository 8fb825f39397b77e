"""`/api/v1/customers`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ledgersync.services import customers
from ledgersync.web.api.deps import ApiContainer, ApiPartner, ApiRoute
from ledgersync.web.api.schemas import CustomerIn, CustomerOut

router = APIRouter(prefix="/customers", tags=["customers"], route_class=ApiRoute)


@router.get("", response_model=list[CustomerOut])
def list_customers(
    container: ApiContainer,
    partner_id: ApiPartner,
    search: str | None = None,
    archived: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[object]:
    return customers.list_customers(container, partner_id, search=search, archived=archived, limit=limit, offset=offset)


@router.post("", response_model=CustomerOut, status_code=201)
def create_customer(body: CustomerIn, container: ApiContainer, partner_id: ApiPartner) -> object:
    return customers.create_customer(container, partner_id, name=body.name, email=body.email, currency=body.currency_code)


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, container: ApiContainer, partner_id: ApiPartner) -> object:
    return customers.get_customer(container, partner_id, customer_id)
