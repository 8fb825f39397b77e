"""Customers page: search and the archived filter (customers deleted or made inactive in Zoho
are archived by the sync)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, or_, select
from starlette.responses import Response

from ledgersync.services import integration
from ledgersync.store.orm import Customer, Invoice
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.templating import render

router = APIRouter()


@router.get("/customers")
def customers_page(request: Request, container: ContainerDep, partner: CurrentPartner, q: str = "",
                   archived: str = "0") -> Response:
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
        rows = uow.session.execute(query.order_by(Customer.name).limit(500)).all()
        for c, _ in rows:
            uow.session.expunge(c)
    from decimal import Decimal

    items = [{"c": c, "due": due if due is not None else Decimal("0.00")} for c, due in rows]  # SUM keeps MoneyType
    return render(request, "customers.html", {"rows": items, "q": q, "archived": archived,
                                              "filtered": bool(q or archived != "0"),
                                              "conn": integration.get_connection(container, partner.id)})
