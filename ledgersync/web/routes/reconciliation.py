"""Reconciliation page: platform vs Zoho Books for invoices, payments and deposits over a date
range (`ledgersync.sync.push.reconcile`): unexplained differences first, expected ones explained,
filters, sortable columns and a CSV export of the same rows. Runs when a range is given."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgersync.bootstrap import Container
from ledgersync.services import integration
from ledgersync.services.paging import Page
from ledgersync.services.reconciliation import Cached, partner_report
from ledgersync.sync.books_factory import ConnectionNotReady
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.reconciliation_view import KIND_LABEL, KINDS, ReportView, to_csv
from ledgersync.web.templating import render
from ledgersync.zoho.errors import ZohoError

router = APIRouter()
PAGE_SIZE = 100  # lines a page shows; the CSV has them all


def _run(container: Container, partner_id: str, q: Any) -> tuple[Cached | None, str | None, str, str, bool]:
    """(report, error for the partner, from, to, whether the connection can be compared at all).
    The report is the cached one while no sync or push moved the partner's data
    (`services.reconciliation`); `fresh=1` compares again."""
    today = date.today()
    start_s, end_s = q.get("from") or today.replace(day=1).isoformat(), q.get("to") or today.isoformat()
    report, error = None, None
    conn = integration.get_connection(container, partner_id)
    usable = bool(conn is not None and conn.organization_id and conn.status in ("pending", "connected", "error"))
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
                report = partner_report(container, partner_id, start, end, fresh=q.get("fresh") == "1")
            except LookupError as exc:
                error = f"{exc}. Connect it on the Integrations page first."
            except ConnectionNotReady:
                error = "Zoho Books is not connected any more: connect it on the Integrations page first."
            except ZohoError as exc:
                error = f"Zoho Books did not answer ({type(exc).__name__}); try again in a minute."
    return report, error, start_s, end_s, usable


@router.get("/reconciliation")
def reconciliation_page(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    q = request.query_params
    cached, error, start_s, end_s, usable = _run(container, partner.id, q)
    report = cached.report if cached else None
    view = ReportView.from_query(q)

    def link(**changes: str) -> str:
        return "/reconciliation?" + urlencode({"from": start_s, "to": end_s, **view.params(**changes)})

    csv_link = "/reconciliation.csv?" + urlencode({"from": start_s, "to": end_s, **view.params()})
    lines = view.select(report) if report else []
    raw = q.get("page") or "1"
    number = max(1, int(raw)) if raw.isdigit() else 1
    offset = (number - 1) * PAGE_SIZE
    page = Page(lines[offset:offset + PAGE_SIZE], len(lines), PAGE_SIZE, offset)
    return render(request, "reconciliation.html", {
        "report": report, "error": error, "start": start_s, "end": end_s, "usable": usable, "view": view,
        "lines": page.items, "page": page, "number": number, "pages": max(1, -(-len(lines) // PAGE_SIZE)),
        "page_link": lambda n: link(page=str(n)), "kinds": KINDS, "kind_label": KIND_LABEL,
        "link": link, "csv_link": csv_link, "cached": cached,
        "fresh_link": "/reconciliation?" + urlencode({"from": start_s, "to": end_s, **view.params(), "fresh": "1"}),
    }, status_code=200)


@router.get("/reconciliation.csv")
def reconciliation_csv(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    """The rows the page shows for the same query, as a CSV download (400 without a usable range)."""
    q = request.query_params
    cached, error, start_s, end_s, _ = _run(container, partner.id, {**q, "from": q.get("from") or "",
                                                                     "to": q.get("to") or ""})
    report = cached.report if cached else None
    if report is None:
        return Response(error or "Choose a date range.", status_code=400, media_type="text/plain; charset=utf-8")
    body = to_csv(ReportView.from_query(q).select(report))
    name = f"reconciliation-{start_s}-{end_s}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
