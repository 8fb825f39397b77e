"""Invoices page: search, status, outstanding, archived filter, and the Zoho PDF (the partner's
link, and a signed link for their customer that needs no login)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import or_, select
from starlette.responses import Response

from ledgersync.services import integration
from ledgersync.services import invoices as invoice_svc
from ledgersync.services import payments as pay_svc
from ledgersync.services.errors import NotFound
from ledgersync.store.orm import Customer, Invoice
from ledgersync.sync.pull import pdfs
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.templating import render

router = APIRouter()

STATUSES = ("draft", "open", "overdue", "partially_paid", "paid", "void", "written_off")
PAGE_LIMIT = 300
PAYABLE = {"open", "overdue", "partially_paid", "sent", "unpaid"}


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
        rows = uow.session.execute(query.order_by(Invoice.issue_date.desc(), Invoice.number.desc())
                                   .limit(PAGE_LIMIT + 1)).all()
        for inv, _ in rows:
            uow.session.expunge(inv)
    truncated = len(rows) > PAGE_LIMIT
    items = [{"inv": inv, "customer": name,
              "share": pdfs.signed_pdf_path(container, inv.id) if inv.origin == "zoho" else None}
             for inv, name in rows[:PAGE_LIMIT]]
    return render(request, "invoices.html", {"rows": items, "q": q, "status": status, "archived": archived,
                                             "statuses": STATUSES, "truncated": truncated, "limit": PAGE_LIMIT,
                                             "filtered": bool(q or status in STATUSES or archived != "0"),
                                             "conn": integration.get_connection(container, partner.id)})


@router.get("/invoices/{invoice_id}")
def invoice_page(request: Request, container: ContainerDep, partner: CurrentPartner, invoice_id: str) -> Response:
    """One invoice with its line items (fetched from Zoho on demand when the budget plan skipped them)."""
    try:
        inv = invoice_svc.get_invoice(container, partner.id, invoice_id)
    except NotFound:
        raise HTTPException(404, "This invoice does not exist (or belongs to another partner).") from None
    lines_note = None
    if inv.origin == "zoho" and not inv.line_items_synced:
        try:
            fetched = _fetch_line_items(container, invoice_id)
        except Exception:  # Zoho down or over budget: the page still shows what we have
            fetched = False
        if fetched:
            inv = invoice_svc.get_invoice(container, partner.id, invoice_id)
        else:
            lines_note = "The line items of this invoice have not been fetched from Zoho Books yet; they will be on the next sync."
    with container.uow() as uow:
        customer = uow.session.get(Customer, inv.customer_id)
        customer_name = customer.name if customer else ""
    payments = [p for p in pay_svc.list_payments(container, partner.id, limit=1000)
                if any(a.invoice_id == inv.id for a in p.allocations)]
    return render(request, "invoice.html", {
        "inv": inv, "customer": customer_name, "lines": sorted(inv.line_items, key=lambda li: li.position),
        "lines_note": lines_note, "payments": payments,
        "share": pdfs.signed_pdf_path(container, inv.id) if inv.origin == "zoho" else None,
        "payable": inv.outstanding > 0 and inv.status in PAYABLE and not inv.archived,
    })


def _fetch_line_items(container: object, invoice_id: str) -> bool:
    """Fetch one invoice's line items now (one Zoho call), via the pull engine."""
    from ledgersync.sync.pull.details import ensure_line_items

    return ensure_line_items(container, invoice_id)


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
