"""Reconciliation page: platform vs Zoho Books for invoices, payments and deposits over a date
range, every difference listed (`ledgersync.sync.push.reconcile`). Runs when a range is given."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgersync.services import integration
from ledgersync.sync.books_factory import ConnectionNotReady
from ledgersync.sync.push.reconcile import reconcile_partner
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.templating import render
from ledgersync.zoho.errors import ZohoError

router = APIRouter()


@router.get("/reconciliation")
def reconciliation_page(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    q = request.query_params
    today = date.today()
    start_s, end_s = q.get("from") or today.replace(day=1).isoformat(), q.get("to") or today.isoformat()
    report, error = None, None
    conn = integration.get_connection(container, partner.id)
    usable = conn is not None and conn.organization_id and conn.status in ("pending", "connected", "error")
    if not usable:
        error = ("Zoho Books needs to be reconnected before the two sides can be compared: Integrations → Reconnect."
                 if conn is not None and conn.status == "reauth_required" else
                 "Connect Zoho Books first (Integrations): reconciliation compares the platform with your Zoho books.")
    elif q.get("from") or q.get("to"):
        try:
            start, end = date.fromisoformat(start_s), date.fromisoformat(end_s)
            if start > end:
                raise ValueError
        except ValueError:
            error = "Choose a valid date range (from ≤ to)."
        else:
            try:
                report = reconcile_partner(container, partner.id, start, end)
            except LookupError as exc:
                error = f"{exc}. Connect it on the Integrations page first."
            except ConnectionNotReady:
                error = "Zoho Books is not connected any more: connect it on the Integrations page first."
            except ZohoError as exc:
                error = f"Zoho Books did not answer ({type(exc).__name__}); try again in a minute."
    return render(request, "reconciliation.html", {"report": report, "error": error, "start": start_s, "end": end_s,
                                                    "usable": usable},
                  status_code=200)
