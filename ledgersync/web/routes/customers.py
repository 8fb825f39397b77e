"""Customers page: search and the archived filter (customers deleted or made inactive in Zoho
are archived by the sync)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from sqlalchemy import func, or_, select
from starlette.responses import Response

from ledgersync.services import integration, paging
from ledgersync.services.customers import CUSTOMER_SORTS
from ledgersync.store.orm import Customer, Invoice
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.sorting import read_sort
from ledgersync.web.templating import render

router = APIRouter()


PAGE_SIZE = 50


@router.get("/customers")
def customers_page(request: Request, container: ContainerDep, partner: CurrentPartner, q: str = "",
                   archived: str = "0", page: str = "1", sort: str = "", dir: str = "") -> Response:
    """One page of customers (server-side, with the total), each with what it still owes, sorted
    by any column (by name by default)."""
    number = max(1, int(page)) if page.isdigit() else 1
    order = read_sort(sort, dir, [*CUSTOMER_SORTS, "outstanding"], ("name", False), "/customers",
                      {"q": q, "archived": archived if archived != "0" else ""})
    with container.uow() as uow:
        outstanding = (select(Invoice.customer_id, func.sum(Invoice.outstanding).label("due"))
                       .where(Invoice.partner_id == partner.id, Invoice.archived.is_(False))
                       .group_by(Invoice.customer_id).subquery())
        query = (select(Customer, outstanding.c.due).outerjoin(outstanding, outstanding.c.customer_id == Customer.id)
                 .where(Customer.partner_id == partner.id))
        if q:
            like = f"%{q.strip()}%"
            query = query.where(or_(Customer.name.ilike(like), Customer.email.ilike(like)))
        if archived in ("0", "1"):
            query = query.where(Customer.archived.is_(archived == "1"))
        columns = {**CUSTOMER_SORTS, "outstanding": func.coalesce(outstanding.c.due, 0)}
        rows, total = paging.fetch(uow.session, paging.sorted_by(query, columns, order.key, order.desc, Customer.name,
                                                                 Customer.id),
                                   PAGE_SIZE, (number - 1) * PAGE_SIZE, scalars=False)
        for c, _ in rows:
            uow.session.expunge(c)
    items = [{"c": c, "due": due if due is not None else Decimal("0.00")} for c, due in rows]  # SUM keeps MoneyType
    result = paging.Page(items, total, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    page_link = order.page_link()
    return render(request, "customers.html", {"rows": items, "q": q, "archived": archived,
                                              "page": result, "number": number, "pages": max(1, -(-total // PAGE_SIZE)),
                                              "page_link": page_link, "sort": order,
                                              "filtered": bool(q or archived != "0"),
                                              "conn": integration.get_connection(container, partner.id)})
