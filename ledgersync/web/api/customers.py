"""`/api/v1/customers`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ledgersync.services import customers
from ledgersync.web.api.deps import ARCHIVED, ApiContainer, ApiPartner, ApiRoute, Archived
from ledgersync.web.api.paging import PAGED, Limit, Offset, paged
from ledgersync.web.api.schemas import CustomerIn, CustomerOut

router = APIRouter(prefix="/customers", tags=["customers"], route_class=ApiRoute)


@router.get("", response_model=list[CustomerOut], responses=PAGED)
def list_customers(
    request: Request,
    response: Response,
    container: ApiContainer,
    partner_id: ApiPartner,
    search: Annotated[str | None, Query(description="name or email contains")] = None,
    archived: Archived = "false",
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[object]:
    return paged(request, response, customers.page_customers(
        container, partner_id, search=search, archived=ARCHIVED[archived], limit=limit, offset=offset))


@router.post("", response_model=CustomerOut, status_code=201)
def create_customer(body: CustomerIn, container: ApiContainer, partner_id: ApiPartner) -> object:
    return customers.create_customer(container, partner_id, name=body.name, email=body.email, currency=body.currency_code)


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, container: ApiContainer, partner_id: ApiPartner) -> object:
    return customers.get_customer(container, partner_id, customer_id)
