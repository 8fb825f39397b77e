"""Payouts page: payouts to the partner's bank with their Zoho deposit state, and "Create payout"
(every settled payment not paid out yet, minus processing fees — core's `create_payout`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ledgersync.services import integration
from ledgersync.services import payments as pay_svc
from ledgersync.services import payouts as payout_svc
from ledgersync.services.errors import ServiceError
from ledgersync.web import push_states
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.forms import service_message
from ledgersync.web.sorting import read_sort
from ledgersync.web.templating import flash, render
from ledgersync.web.templating import format_money as money

router = APIRouter()


PAGE_SIZE = 50


@router.get("/payouts")
def payouts_page(request: Request, container: ContainerDep, partner: CurrentPartner, page: str = "1",
                 sort: str = "", dir: str = "") -> Response:
    """One page of payouts (newest first, or by a column), with their Zoho entries."""
    number = max(1, int(page)) if page.isdigit() else 1
    order = read_sort(sort, dir, payout_svc.PAYOUT_SORTS, ("arrival", True), "/payouts")
    result = payout_svc.page_payouts(container, partner.id, sort=order.key,
                                     desc=order.desc, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    payouts = result.items
    eligible = pay_svc.list_payments(container, partner.id, status="succeeded", paid_out=False, limit=1000)
    states = push_states.payout_states(container, partner.id, [p.id for p in payouts])
    return render(request, "payouts.html", {
        "payouts": payouts,
        "page": result, "number": number, "pages": max(1, -(-result.total // PAGE_SIZE)),
        "page_link": order.page_link(), "sort": order,
        "states": states,
        "in_progress": any(st is not None and st.state in ("pending", "in_flight", "uncertain")
                           for st in states.values()),
        "eligible": eligible,
        "conn": integration.get_connection(container, partner.id),
    })


@router.post("/payouts/create")
def create_payout(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    try:
        payout = payout_svc.create_payout(container, partner.id)
    except ServiceError as exc:
        flash(request, service_message(exc), "error")
        return RedirectResponse("/payouts", status_code=303)
    flash(request, f"Payout of {money(payout.net, payout.currency_code)} created "
                   f"(fees {money(payout.fees, payout.currency_code)}); "
                   "its deposit is on its way to Zoho Books.", "success")
    return RedirectResponse("/payouts", status_code=303)
