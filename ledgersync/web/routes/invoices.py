"""Invoices page: search, standing (collected, credited, written off, …), outstanding, archived
filter, paginated on the server with the total; one invoice with the Zoho events that settled
it; and the Zoho PDF (the partner's link, and a signed link for their customer that needs no
login)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select
from starlette.responses import Response

from ledgersync.bootstrap import Container
from ledgersync.domain.invoices import STANDING_LABELS
from ledgersync.services import integration
from ledgersync.services import invoices as invoice_svc
from ledgersync.services import payments as pay_svc
from ledgersync.services.errors import NotFound
from ledgersync.store.orm import Customer, Invoice
from ledgersync.sync.pull import pdfs, settlement
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.sorting import read_sort
from ledgersync.web.templating import render

#: the status filter offers what people read on the pages (collected, credited, written off, …)
STANDING_FILTERS = tuple(STANDING_LABELS.items())

router = APIRouter()

PAGE_SIZE = 50
PAYABLE = {"open", "overdue", "partially_paid", "sent", "unpaid"}


@router.get("/invoices")
def invoices_page(request: Request, container: ContainerDep, partner: CurrentPartner, q: str = "", status: str = "",
                  archived: str = "0", page: str = "1", sort: str = "", dir: str = "") -> Response:
    """One page of invoices (server-side, with the total), filtered by search, standing and
    archive, sorted by any column but the PDF links (newest first by default)."""
    status = status if status in invoice_svc.STATUS_FILTERS else ""
    archived = archived if archived in ("0", "1", "all") else "0"
    number = max(1, int(page)) if page.isdigit() else 1
    order = read_sort(sort, dir, invoice_svc.INVOICE_SORTS, ("issued", True), "/invoices",
                      {"q": q, "status": status, "archived": archived if archived != "0" else ""})
    result = invoice_svc.page_invoices(container, partner.id, status=status or None,
                                       archived=None if archived == "all" else archived == "1",
                                       search=q.strip() or None, sort=None if order.is_default else order.key,
                                       desc=order.desc, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    names = customer_names(container, partner.id, {inv.customer_id for inv in result.items})
    items = [{"inv": inv, "customer": names.get(inv.customer_id, ""),
              "share": pdfs.signed_pdf_path(container, inv.id) if inv.origin == "zoho" else None}
             for inv in result.items]
    pages = max(1, -(-result.total // PAGE_SIZE))
    page_link = order.page_link()
    return render(request, "invoices.html", {
        "rows": items, "q": q, "status": status, "archived": archived, "statuses": STANDING_FILTERS,
        "page": result, "number": number, "pages": pages, "page_link": page_link, "sort": order,
        "filtered": bool(q or status or archived != "0"),
        "conn": integration.get_connection(container, partner.id)})


def customer_names(container: Container, partner_id: str, ids: set[str]) -> dict[str, str]:
    """Names of some of the partner's customers, one query."""
    if not ids:
        return {}
    with container.uow() as uow:
        return {cid: name for cid, name in uow.session.execute(
            select(Customer.id, Customer.name).where(Customer.partner_id == partner_id, Customer.id.in_(ids)))}


@router.get("/invoices/{invoice_id}")
def invoice_page(request: Request, container: ContainerDep, partner: CurrentPartner, invoice_id: str) -> Response:
    """One invoice with its line items (fetched from Zoho on demand when the budget plan skipped them)."""
    try:
        inv = invoice_svc.get_invoice(container, partner.id, invoice_id)
    except NotFound:
        raise HTTPException(404, "This invoice does not exist (or belongs to another partner).") from None
    lines_note = None
    if inv.origin == "zoho":
        # one Zoho call when the line items are missing or older than the invoice's last
        # modification (issue 13: the hourly pull skips edits that keep every list-row field)
        try:
            fetched = _fetch_line_items(container, invoice_id)
        except Exception:  # Zoho down or over budget: the page still shows what we have
            fetched = False
        if fetched:
            inv = invoice_svc.get_invoice(container, partner.id, invoice_id)
        elif not inv.line_items_synced:
            lines_note = ("The line items of this invoice have not been fetched from Zoho Books yet; "
                          "they will be on the next sync.")
    with container.uow() as uow:
        customer = uow.session.get(Customer, inv.customer_id)
        customer_name = customer.name if customer else ""
    payments = [p for p in pay_svc.list_payments(container, partner.id, limit=1000)
                if any(a.invoice_id == inv.id for a in p.allocations)]
    events, events_note = _settlement_events(container, inv)
    return render(request, "invoice.html", {
        "inv": inv, "customer": customer_name, "lines": sorted(inv.line_items, key=lambda li: li.position),
        "lines_note": lines_note, "payments": payments, "events": events, "events_note": events_note,
        "share": pdfs.signed_pdf_path(container, inv.id) if inv.origin == "zoho" else None,
        "payable": inv.outstanding > 0 and inv.status in PAYABLE and not inv.archived,
    })


def _settlement_events(container: Container, inv: Invoice) -> tuple[list[object], str | None]:
    """Zoho's payments, credits and write-off of the invoice; when Zoho cannot be asked, a note
    with the stored totals instead of an error page."""
    if inv.origin != "zoho":
        return [], None
    try:
        return list(settlement.invoice_events(container, inv.id)), None
    except Exception:  # noqa: BLE001 - Zoho down or over budget: say so, keep the page
        return [], ("Zoho Books could not be asked for the individual events just now; the totals above are "
                    "from the last sync.")


def _fetch_line_items(container: Container, invoice_id: str) -> bool:
    """Fetch one invoice's line items now (one Zoho call), via the pull engine."""
    from ledgersync.sync.pull.records import ensure_line_items

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
