"""Invoices page: search, status, outstanding, archived filter, and the Zoho PDF (the partner's
link, and a signed link for their customer that needs no login)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import or_, select
from starlette.responses import Response

from ledgersync.store.orm import Customer, Invoice
from ledgersync.sync.pull import pdfs
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.templating import render

router = APIRouter()

STATUSES = ("draft", "open", "overdue", "partially_paid", "paid", "void", "written_off")


@router.get("/invoices")
def invoices_page(request: Request, container: ContainerDep, partner: CurrentPartner, q: str = "", status: str = "",
                  archived: str = "0") -> Response:
    with container.uow() as uow:
        query = (select(Invoice, Customer.name).join(Customer, Customer.id == Invoice.customer_id)
                 .where(Invoice.partner_id == partner.id))
        if q:
            like = f"%{q.strip()}%"
            query = query.where(or_(Invoice.number.ilike(like), Customer.name.ilike(like)))
        if status in STATUSES:
            query = query.where(Invoice.status == status)
        if archived in ("0", "1"):
            query = query.where(Invoice.archived.is_(archived == "1"))
        rows = uow.session.execute(query.order_by(Invoice.issue_date.desc(), Invoice.number.desc()).limit(300)).all()
        for inv, _ in rows:
            uow.session.expunge(inv)
    items = [{"inv": inv, "customer": name,
              "share": pdfs.signed_pdf_path(container, inv.id) if inv.origin == "zoho" else None} for inv, name in rows]
    return render(request, "invoices.html", {"rows": items, "q": q, "status": status, "archived": archived,
                                             "statuses": STATUSES})


def _pdf_response(content: bytes, invoice: Invoice) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{invoice.number}.pdf"'})


@router.get("/invoices/{invoice_id}/pdf")
def invoice_pdf(invoice_id: str, container: ContainerDep, partner: CurrentPartner) -> Response:
    with container.uow() as uow:
        inv = uow.session.get(Invoice, invoice_id)
        if inv is None or inv.partner_id != partner.id:
            raise HTTPException(404, "No such invoice")
        uow.session.expunge(inv)
    try:
        return _pdf_response(pdfs.invoice_pdf(container, invoice_id), inv)
    except pdfs.PdfUnavailable:
        raise HTTPException(404, "This invoice has no Zoho Books PDF") from None


@router.get("/p/invoices/{invoice_id}/pdf")
def shared_invoice_pdf(invoice_id: str, container: ContainerDep, e: int = 0, s: str = "") -> Response:
    """The customer's link: valid only with the partner's signature and before it expires."""
    if not pdfs.verify_pdf_link(container, invoice_id, e, s):
        raise HTTPException(403, "This link is invalid or has expired; ask for a new one")
    with container.uow() as uow:
        inv = uow.session.get(Invoice, invoice_id)
        if inv is None:
            raise HTTPException(404, "No such invoice")
        uow.session.expunge(inv)
    try:
        return _pdf_response(pdfs.invoice_pdf(container, invoice_id), inv)
    except pdfs.PdfUnavailable:
        raise HTTPException(404, "This invoice has no PDF") from None
