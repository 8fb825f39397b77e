"""The one Jinja2 environment of the dashboard, shared by every page module.

Pages call `render(request, "invoices.html", {...})`; the helper adds what `base.html` needs
(the logged-in partner, flash messages, the active nav item) so page modules stay thin.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _money(value: Decimal | None, currency: str | None = None) -> str:
    """`1234.5` -> `1,234.50 USD`; exact, no float on the way."""
    if value is None:
        return "—"
    text = f"{Decimal(value):,.2f}"
    return f"{text} {currency}" if currency else text


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _qty(value: Decimal | None) -> str:
    """A quantity without noise: `2.000` -> `2`, `1.50` -> `1.5`, never `1E+2`."""
    if value is None:
        return "—"
    return format(Decimal(value).normalize(), "f")


format_money = _money  # the same formatting for flash messages built in Python
templates.env.filters["money"] = _money
templates.env.filters["qty"] = _qty
templates.env.filters["when"] = _when


def _install_partials() -> None:
    from ledgersync.web import budget_panel

    budget_panel.install(templates.env)


_install_partials()


def flash(request: Request, message: str, kind: str = "info") -> None:
    """Queue a one-time message shown on the next rendered page (kind: info|success|error)."""
    # assign a new list: the session only notices top-level writes, not in-place appends
    request.session["_flashes"] = [*request.session.get("_flashes", []), {"kind": kind, "message": message}]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    return request.session.pop("_flashes", []) if "session" in request.scope else []


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page template; `partner` (if logged in) and flashes are filled in."""
    ctx: dict[str, Any] = {
        "partner": getattr(request.state, "partner", None),
        "flashes": pop_flashes(request),
        "nav": ctx_nav(request),
    }
    ctx.update(connection_notices(request, ctx["partner"], ctx["nav"]))
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


#: pages that say what the sync is doing while Zoho fails ("retrying at 14:03")
OUTAGE_PAGES = frozenset({"integrations", "sync-log"})


def connection_notices(request: Request, partner: Any, nav: str) -> dict[str, Any]:
    """The partner's open incidents (a banner with the action, on every page) and, on the
    Integrations and Sync log pages, what the sync is doing while Zoho fails."""
    container = getattr(request.app.state, "container", None)
    if partner is None or container is None:
        return {"alerts": [], "sync_outage": None}
    from sqlalchemy import select

    from ledgersync.store.orm import Connection
    from ledgersync.sync import alerts, health

    with container.uow() as uow:
        banners = alerts.banners(uow.session, partner.id)
        outage = None
        if nav in OUTAGE_PAGES:
            conn_id = uow.session.execute(select(Connection.id).where(
                Connection.partner_id == partner.id, Connection.status.in_(("pending", "connected", "error")))).scalar()
            outage = health.outage(uow.session, conn_id) if conn_id else None
    return {"alerts": banners, "sync_outage": outage}


def ctx_nav(request: Request) -> str:
    """The first path segment, used to highlight the active nav link."""
    parts = [p for p in request.url.path.split("/") if p]
    return parts[0] if parts else ""
