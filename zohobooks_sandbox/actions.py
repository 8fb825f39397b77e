"""Running a Books handler in-process as an organisation's owner (all scopes), no HTTP.

The admin API's scenario helpers and the webhook deliveries (which send the record as
``GET /{module}/{id}`` answers it) both act through the same handlers an API client reaches.
"""
from __future__ import annotations

import json
from typing import Any

from . import errors
from .books import load_all
from .books.common import loads
from .books.registry import Ctx, match
from .state import OrgData, Sandbox, Token


def act(sandbox: Sandbox, org: OrgData, method: str, path: str, body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """Run the Books handler for ``method path`` as the organisation's owner (all scopes).

    Returns ``(status, body)`` like the handler; raises ``errors.ZohoError`` as it does."""
    load_all()
    route, args, _ = match(method, path)
    if route is None:
        raise errors.invalid_url()
    token = Token("sandbox-admin", "access", "sandbox-admin", "sandbox-admin", frozenset({"zohobooks.fullaccess.all"}),
                  org.org.dc, org.organization_id, 0.0, None)
    ctx = Ctx(sandbox=sandbox, org=org, token=token, method=method, params=dict(params or {}), path_args=args,
              body=loads(_json_text(body or {})), dc=org.org.dc, headers={})
    result = route.handler(ctx)
    if not isinstance(result, tuple):
        return 200, {"code": 0, "message": "success"}
    return result


def _json_text(body: dict[str, Any]) -> str:
    """Bodies travel as JSON text so handlers see exactly what an API client would send."""
    return json.dumps(body, default=str)
