"""API keys page: the partner creates keys for the REST API `/api/v1` and revokes them.

Found in QA: the REST API authenticates with partner API keys, but nothing let a partner get
one. The plain key is shown once, in the answer to the creating POST itself: it is stored
nowhere (only its hash) — not in the database, not in the session cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ledgersync.services import api_keys as key_svc
from ledgersync.services.errors import NotFound
from ledgersync.web.deps import ContainerDep, CurrentPartner
from ledgersync.web.templating import flash, render

router = APIRouter()


def _page(request: Request, container: ContainerDep, partner_id: str, new_key: str | None = None) -> Response:
    keys = key_svc.list_api_keys(container, partner_id)
    response = render(request, "api_keys.html", {"keys": keys, "new_key": new_key,
                                                 "api_base": str(request.base_url).rstrip("/") + "/api/v1"})
    if new_key:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/api-keys")
def api_keys_page(request: Request, container: ContainerDep, partner: CurrentPartner) -> Response:
    return _page(request, container, partner.id)


@router.post("/api-keys")
def create_key(request: Request, container: ContainerDep, partner: CurrentPartner,
               name: Annotated[str, Form()] = "") -> Response:
    created = key_svc.create_api_key(container, partner.id, name=name.strip()[:100] or "API key")
    flash(request, "API key created. Copy it now: it is not shown again.", "success")
    return _page(request, container, partner.id, new_key=created.plain)


@router.post("/api-keys/{key_id}/revoke")
def revoke_key(request: Request, container: ContainerDep, partner: CurrentPartner, key_id: str) -> Response:
    try:
        key_svc.revoke_api_key(container, partner.id, key_id)
    except NotFound:
        flash(request, "That key does not exist.", "error")
    else:
        flash(request, "API key revoked: requests with it are refused from now on.", "success")
    return RedirectResponse("/api-keys", status_code=303)
