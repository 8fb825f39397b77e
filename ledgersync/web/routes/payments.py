"""Payments page: every payment with its Zoho sync state, the "Pay invoice" form (simulated
processor), settlement buttons, the ACH return, and Retry for a push that failed or waits.

Thin: the routes call `services.payments` (pay, settle), `services.pushes` (Retry) and
`web.push_states` (how each push reads on the page); the outbox makes the push event-driven,
so a payment settled here shows in Zoho within seconds when the dispatcher runs.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from ledgersync.bootstrap import Container
from ledgersync.services import integration, pushes
from ledgersync.services import invoices as invoice_svc
from ledgersync.services import payments as pay_svc
from ledgersync.services.errors import NotFound, ServiceError
from ledgersync.store.orm import Invoice
from ledgersync.web import push_states
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.forms import FormError, parse_money, service_message
from ledgersync.web.routes.invoices import customer_names
from ledgersync.web.sorting import read_sort
from ledgersync.web.templating import flash, render
from ledgersync.web.templating import format_money as money

router = APIRouter()

IN_PROGRESS = {"pending", "in_flight", "uncertain"}  # push states that change within seconds


def _back(next_path: str | None, default: str = "/payments") -> Response:
    target = next_path if next_path and next_path.startswith("/") and not next_path.startswith("//") else default
    return RedirectResponse(target, status_code=303)


PAGE_SIZE = 50
PICKER_SIZE = 50


@router.get("/payments")
def payments_page(request: Request, container: ContainerDep, partner: CurrentPartner,
                  invoice_id: str | None = None, amount: str = "", pick: str = "", page: str = "1",
                  sort: str = "", dir: str = "") -> Response:
    """One page of payments (server-side, with the total) and the Pay form, whose invoice picker
    searches payable invoices by number or customer (archived ones and archived customers' are
    never offered)."""
    number = max(1, int(page)) if page.isdigit() else 1
    order = read_sort(sort, dir, pay_svc.PAYMENT_SORTS, ("date", True), "/payments", {"pick": pick})
    result = pay_svc.page_payments(container, partner.id, sort=None if order.is_default else order.key,
                                   desc=order.desc, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    payments = result.items
    picker = invoice_svc.page_invoices(container, partner.id, payable=True, search=pick.strip() or None,
                                       limit=PICKER_SIZE)
    payable = list(picker.items)
    if invoice_id and all(i.id != invoice_id for i in payable):
        payable = invoice_svc.page_invoices(container, partner.id, payable=True, ids=[invoice_id], limit=1).items + payable
    shown_ids = {a.invoice_id for p in payments for a in p.allocations}
    numbers = invoice_numbers(container, partner.id, shown_ids)
    names = customer_names(container, partner.id, {p.customer_id for p in payments} | {i.customer_id for i in payable})
    states = push_states.payment_states(container, partner.id, [p.id for p in payments])
    pages = max(1, -(-result.total // PAGE_SIZE))

    page_link = order.page_link()
    return render(request, "payments.html", {
        "payments": payments,
        "page": result, "number": number, "pages": pages, "page_link": page_link, "sort": order,
        "states": states,
        "in_progress": any(st is not None and st.state in IN_PROGRESS
                           for by_kind in states.values() for st in by_kind.values()),
        "numbers": numbers,
        "names": names,
        "payable": payable,
        "payable_total": picker.total,
        "pick": pick[:100],
        "selected_invoice": invoice_id,
        "typed_amount": amount[:40],
        "conn": integration.get_connection(container, partner.id),
    })


def invoice_numbers(container: Container, partner_id: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    with container.uow() as uow:
        return {i: n for i, n in uow.session.execute(
            select(Invoice.id, Invoice.number).where(Invoice.partner_id == partner_id, Invoice.id.in_(ids)))}


@router.post("/payments/pay")
def pay_invoice(
    request: Request,
    container: ContainerDep,
    partner: CurrentPartner,
    invoice_id: Annotated[str, Form()],
    amount: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "card",
    outcome: Annotated[str, Form()] = "succeeded",
    next: Annotated[str, Form()] = "/payments",
) -> Response:
    try:
        inv = invoice_svc.get_invoice(container, partner.id, invoice_id)
        typed = parse_money(amount)
        value = typed if typed is not None else inv.outstanding
        payment = pay_svc.pay_invoices(container, partner.id, method=method,
                                       allocations=[pay_svc.AllocationInput(invoice_id, value)])
        if outcome in ("succeeded", "failed"):
            pay_svc.settle(container, partner.id, payment.id, outcome,
                           reason="declined by the processor" if outcome == "failed" else None)
    except FormError as exc:
        flash(request, str(exc), "error")
        if next == "/payments":  # keep what was typed so it can be corrected, not retyped
            return RedirectResponse("/payments?" + urlencode({"invoice_id": invoice_id, "amount": amount}),
                                    status_code=303)
        return _back(next)
    except NotFound:
        flash(request, "That invoice is no longer available (it may have been archived or paid); choose another.", "error")
        return _back(next)
    except ServiceError as exc:
        flash(request, service_message(exc), "error")
        return _back(next)
    word = {"succeeded": "succeeded — sending it to Zoho Books", "failed": "failed at the processor"}.get(
        outcome, "is pending at the processor")
    flash(request, f"Payment of {money(value, inv.currency_code)} on {inv.number} {word}.",
          "error" if outcome == "failed" else "success")
    return _back(next)


@router.post("/payments/{payment_id}/settle")
def settle_payment(request: Request, container: ContainerDep, partner: CurrentPartner, payment_id: str,
                   outcome: Annotated[str, Form()], next: Annotated[str, Form()] = "/payments") -> Response:
    try:
        pay_svc.settle(container, partner.id, payment_id, outcome,
                       reason="declined by the processor" if outcome == "failed" else None)
    except ServiceError as exc:
        flash(request, service_message(exc), "error")
        return _back(next)
    flash(request, f"Payment {outcome}.", "success" if outcome == "succeeded" else "info")
    return _back(next)


@router.post("/payments/{payment_id}/ach-return")
def ach_return(request: Request, container: ContainerDep, partner: CurrentPartner, payment_id: str,
               next: Annotated[str, Form()] = "/payments") -> Response:
    """An ACH debit returned days after it succeeded: the payment fails and Zoho is cleaned up."""
    try:
        pay_svc.settle(container, partner.id, payment_id, "failed", reason="ACH return R01 (insufficient funds)")
    except ServiceError as exc:
        flash(request, service_message(exc), "error")
        return _back(next)
    flash(request, "ACH return recorded: the payment is failed and will be reversed in Zoho Books.", "info")
    return _back(next)


@router.post("/push/intents/{intent_id}/retry")
def retry_push(request: Request, container: ContainerDep, partner: CurrentPartner, intent_id: str,
               next: Annotated[str, Form()] = "/payments") -> Response:
    if pushes.retry_for_partner(container, partner.id, intent_id):
        flash(request, "Sending it to Zoho Books again.", "success")
    else:
        flash(request, "Nothing to retry.", "error")
    return _back(next)
