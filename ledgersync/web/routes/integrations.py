"""Integrations page and the Zoho Books connect flow (Connect → consent → Pending → Connected).

Thin: each route parses the request, calls `ledgersync.services.integration` (or
`services.webhook_setup` for the Webhooks panel: URL, secret, last delivery, Rotate secret), and
renders or redirects. Everything is scoped to the logged-in partner (`CurrentPartner`): the callback only
completes a flow the same partner started (the `state` is checked against their connection).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ledgersync.bootstrap import Container
from ledgersync.services import integration, webhook_setup
from ledgersync.services.errors import InvalidInput, ServiceError
from ledgersync.store.orm import Connection
from ledgersync.web.connection_view import (
    callback_message,
    clamp_progress,
    progress_text,
    show_connected_since,
    steps,
    view,
)
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.templating import flash, render
from ledgersync.web.webhook_view import outcome_view
from ledgersync.zoho.errors import ZohoError, ZohoReauthorizationRequired

router = APIRouter()

BACK = "/integrations"
#: `/integrations?reveal=webhook-secret` shows the webhook secret; the page never carries it otherwise
REVEAL_SECRET = "webhook-secret"


def _status_payload(conn: Connection | None, progress: dict[str, Any] | None) -> dict[str, Any]:
    status = conn.status if conn is not None else "disconnected"
    v = view(status)
    return {
        "status": status,
        "label": v.label,
        "badge": v.badge,
        "detail": conn.status_detail if conn is not None else None,
        "progress": progress,
    }


def _progress(container: Container, conn: Connection | None) -> dict[str, Any] | None:
    if conn is None or conn.status != "pending":
        return None
    return clamp_progress(integration.initial_sync_progress(container, conn.id))


def _zoho_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ZohoReauthorizationRequired):
        flash(request, "Zoho no longer accepts our access. Please reconnect Zoho Books.", "error")
    elif isinstance(exc, ZohoError):
        flash(request, "Zoho Books did not answer as expected. Please try again in a minute.", "error")
    else:
        flash(request, getattr(exc, "message", None) or str(exc), "error")
    return RedirectResponse(BACK, status_code=303)


@router.get("/integrations")
def integrations_page(request: Request, container: ContainerDep, partner: CurrentPartner, reveal: str = "") -> Response:
    conn = integration.get_connection(container, partner.id)
    status = conn.status if conn is not None else "disconnected"
    progress = _progress(container, conn)
    hooks = webhook_setup.webhook_setup(container, partner.id)
    showing_secret = hooks is not None and reveal == REVEAL_SECRET
    page = render(
        request,
        "integrations.html",
        {
            "conn": conn,
            "status": status,
            "view": view(status),
            "progress": progress,
            "steps": steps((progress or {}).get("phase")),
            "progress_text": progress_text(progress),
            "connected_since": show_connected_since(status),
            "choosing_org": conn is not None and conn.refresh_token_enc is not None and not conn.organization_id,
            "accounts_saved": conn is not None and bool(conn.bank_account_id),
            "webhook": hooks,
            "webhook_secret": hooks.secret if hooks is not None and showing_secret else None,
            "webhook_outcome": outcome_view(hooks.last_outcome) if hooks is not None else None,
            "reveal_secret": REVEAL_SECRET,
        },
    )
    if showing_secret:  # neither the browser's cache nor a proxy keeps the page with the secret
        page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/integrations/zoho/status")
def zoho_status(container: ContainerDep, partner: CurrentPartner) -> JSONResponse:
    """Polled every 2 s by the Integrations page while Pending."""
    conn = integration.get_connection(container, partner.id)
    return JSONResponse(_status_payload(conn, _progress(container, conn)))


@router.post("/integrations/zoho/connect")
def zoho_connect(container: ContainerDep, partner: CurrentPartner) -> Response:
    return RedirectResponse(integration.begin_connect(container, partner.id), status_code=303)


@router.get("/integrations/zoho/callback")
def zoho_callback(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    params = dict(request.query_params)
    try:
        outcome = integration.complete_callback(container, partner.id, params)
    except integration.OAuthCallbackRefused as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(BACK, status_code=303)
    except (ServiceError, ZohoError) as exc:
        return _zoho_problem(request, exc)
    if outcome.choose_organization:
        return RedirectResponse("/integrations/zoho/organization", status_code=303)
    flash(request, callback_message(outcome.status), "success")
    return RedirectResponse(BACK, status_code=303)


@router.get("/integrations/zoho/organization")
def zoho_choose_org_page(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    try:
        orgs = integration.list_organizations(container, partner.id)
    except (ServiceError, ZohoError) as exc:
        return _zoho_problem(request, exc)
    return render(request, "integrations_org.html", {"orgs": orgs})


@router.post("/integrations/zoho/organization")
def zoho_choose_org(
    request: Request,
    container: ContainerDep,
    partner: CurrentPartner,
    organization_id: Annotated[str, Form()],
) -> Response:
    try:
        status = integration.choose_organization(container, partner.id, organization_id)
    except (ServiceError, ZohoError) as exc:
        return _zoho_problem(request, exc)
    flash(request, "Organisation selected." + (" The initial sync is running." if status == "pending" else ""), "success")
    return RedirectResponse(BACK, status_code=303)


@router.get("/integrations/zoho/accounts")
def zoho_accounts_page(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    try:
        choices = integration.account_choices(container, partner.id)
    except (ServiceError, ZohoError) as exc:
        return _zoho_problem(request, exc)
    conn = integration.get_connection(container, partner.id)
    return render(request, "integrations_accounts.html", {"choices": choices, "conn": conn})


@router.post("/integrations/zoho/accounts")
def zoho_accounts_save(
    request: Request,
    container: ContainerDep,
    partner: CurrentPartner,
    undeposited_account_id: Annotated[str, Form()] = "",
    bank_account_id: Annotated[str, Form()] = "",
    fees_account_id: Annotated[str, Form()] = "",
    income_account_id: Annotated[str, Form()] = "",
) -> Response:
    try:
        integration.save_accounts(
            container,
            partner.id,
            undeposited_account_id=undeposited_account_id,
            bank_account_id=bank_account_id,
            fees_account_id=fees_account_id,
            income_account_id=income_account_id or None,
        )
    except InvalidInput as exc:
        flash(request, exc.message, "error")
        return RedirectResponse("/integrations/zoho/accounts", status_code=303)
    except (ServiceError, ZohoError) as exc:
        return _zoho_problem(request, exc)
    flash(request, "Accounts saved. Payments, deposits and fees will be recorded in these accounts.", "success")
    return RedirectResponse(BACK, status_code=303)


@router.post("/integrations/zoho/disconnect")
def zoho_disconnect(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    try:
        revoked = integration.disconnect(container, partner.id)
    except ServiceError as exc:
        return _zoho_problem(request, exc)
    if revoked:
        flash(request, "Zoho Books is disconnected and our access was revoked at Zoho.", "success")
    else:
        flash(request, "Zoho Books is disconnected here, but Zoho could not be reached to revoke our access; "
                       "you can remove the app in Zoho's connected apps.", "error")
    return RedirectResponse(BACK, status_code=303)


@router.post("/integrations/zoho/webhook/rotate")
def zoho_webhook_rotate(request: Request, container: ContainerDep, partner: CurrentPartner,
                        confirm: Annotated[str, Form()] = "") -> Response:
    """A new webhook secret for the partner's own connection (the old one is refused at once)."""
    if confirm != "yes":
        flash(request, "Tick the box to confirm the rotation. Nothing was changed.", "error")
        return RedirectResponse(f"{BACK}#zoho-webhooks", status_code=303)
    try:
        webhook_setup.rotate_webhook_secret(container, partner.id)
    except ServiceError as exc:
        return _zoho_problem(request, exc)
    flash(request, "New webhook secret made. Paste it into the custom header of your webhooks in Zoho Books: "
                   "deliveries with the old secret are refused from now on.", "success")
    return RedirectResponse(f"{BACK}?reveal={REVEAL_SECRET}#zoho-webhooks", status_code=303)
