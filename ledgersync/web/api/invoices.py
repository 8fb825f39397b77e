"""`/api/v1/invoices`: the partner's invoices (Zoho-synced and platform-created)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from ledgersync.services import invoices
from ledgersync.services.invoices import LineItemInput
from ledgersync.web.api.deps import ARCHIVED, ApiContainer, ApiPartner, ApiRoute, Archived
from ledgersync.web.api.paging import PAGED, Limit, Offset, paged
from ledgersync.web.api.schemas import InvoiceIn, InvoiceOut

router = APIRouter(prefix="/invoices", tags=["invoices"], route_class=ApiRoute)



@router.get("", response_model=list[InvoiceOut], responses=PAGED)
def list_invoices(
    request: Request,
    response: Response,
    container: ApiContainer,
    partner_id: ApiPartner,
    status: Annotated[str | None, Query(description=(
        "stored status or standing: " + ", ".join(invoices.STATUS_FILTERS)))] = None,
    archived: Archived = "false",
    search: Annotated[str | None, Query(description="invoice number or customer name")] = None,
    customer_id: str | None = None,
    origin: Literal["platform", "zoho"] | None = None,
    payable: Annotated[bool, Query(description="only invoices that can be paid now")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[object]:
    return paged(request, response, invoices.page_invoices(
        container, partner_id, status=status, archived=ARCHIVED[archived], search=search,
        customer_id=customer_id, origin=origin, payable=payable, limit=limit, offset=offset,
    ))


@router.post("", response_model=InvoiceOut, status_code=201)
def create_invoice(body: InvoiceIn, container: ApiContainer, partner_id: ApiPartner) -> object:
    items = [LineItemInput(i.name, i.quantity, i.rate, i.description, i.tax_amount) for i in body.line_items]
    return invoices.create_invoice(
        container, partner_id, customer_id=body.customer_id, line_items=items,
        due_date=body.due_date, issue_date=body.issue_date, number=body.number,
    )


@router.get("/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, container: ApiContainer, partner_id: ApiPartner) -> object:
    return invoices.get_invoice(container, partner_id, invoice_id)
