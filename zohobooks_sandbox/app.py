"""The ASGI app: Zoho Accounts routes, the Books API pipeline, and sandbox-ops' extensions.

``create_app(config)`` → FastAPI with ``app.state.sandbox``. Every Books request goes through
``books_pipeline`` (see HOOKS.md for the order of steps and the guard hooks).
"""
from __future__ import annotations

import importlib
import re
import traceback
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .books import load_all
from .books.common import dumps, loads
from .books.registry import Ctx, match
from .config import SandboxConfig
from .oauth import DC_PREFIX, PREFIX_DC, build_router, scope_allows
from .state import OrgData, Sandbox, Token

JSON_TYPE = "application/json;charset=UTF-8"
_BOOKS_RE = re.compile(r"^(?:/(?P<dc>[a-z]{2}))?/books/v3(?P<rest>/.*)?$")


class NormalizePath:
    """Tolerate what real clients send: ``//`` anywhere in the path and a trailing ``/``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            norm = re.sub(r"/{2,}", "/", path)
            if len(norm) > 1 and norm.endswith("/"):
                norm = norm.rstrip("/") or "/"
            if norm != path:
                scope = dict(scope)
                scope["path"] = norm
                scope["raw_path"] = norm.encode()
        await self.app(scope, receive, send)


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def error_response(err: errors.ZohoError) -> Response:
    return json_response(err.status, err.body())


def _authenticate(sandbox: Sandbox, request: Request, dc: str) -> Token:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("zoho-oauthtoken", "bearer") or not value.strip():
        raise errors.invalid_token()
    tok = sandbox.tokens.get(value.strip())
    if tok is None or tok.kind != "access" or tok.revoked or tok.dc != dc:
        raise errors.invalid_token()
    if tok.expires_at is not None and tok.expires_at <= sandbox.clock.monotonic():
        org_id = (request.query_params.get("organization_id")
                  or request.headers.get("x-com-zoho-books-organizationid") or tok.org_id or "").strip()
        if org_id:
            sandbox.guard.token_expired(org_id)
        raise errors.invalid_token()
    return tok


def _resolve_org(sandbox: Sandbox, request: Request, params: dict[str, str], tok: Token, dc: str) -> OrgData:
    org_id = (params.get("organization_id") or request.headers.get("x-com-zoho-books-organizationid") or "").strip()
    if not org_id:
        raise errors.org_missing()
    user = sandbox.users.get(tok.user_id)
    od = sandbox.orgs.get(org_id)
    if od is None or user is None or org_id not in user.org_ids or od.org.dc != dc:
        raise errors.org_invalid(org_id)
    return od


async def _parse_body(request: Request, params: dict[str, str]) -> dict[str, Any]:
    """JSON body (with or without Content-Type), or a ``JSONString`` form/query field."""
    raw: Any = None
    ctype = request.headers.get("content-type", "").lower()
    data = await request.body()
    if data.lstrip()[:1] in (b"{", b"["):  # JSON, whatever the Content-Type says (curl -d sends form type)
        raw = data
    elif ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
        form = await request.form()
        raw = form.get("JSONString")
    elif data.strip():
        raw = data
    if raw is None:
        raw = params.get("JSONString")
    if raw is None or (isinstance(raw, (str, bytes)) and not raw.strip()):
        return {}
    try:
        body = loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.invalid_json() from None
    if not isinstance(body, dict):
        raise errors.invalid_json()
    return body


async def books_pipeline(request: Request) -> Response:
    """Normalise → route → authenticate + scope → organisation → guard.before → handler → guard.after."""
    sandbox: Sandbox = request.app.state.sandbox
    m = _BOOKS_RE.match(request.url.path)
    dc_prefix = (m.group("dc") if m else None) or ""
    if dc_prefix and dc_prefix not in PREFIX_DC:
        return error_response(errors.invalid_url())
    dc = PREFIX_DC.get(dc_prefix, "us")
    rest = (m.group("rest") if m else None) or "/"
    params = {k: v for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k}
    route, path_args, exists = match(request.method, rest.rstrip("/") or "/")
    if route is None:
        return error_response(errors.method_not_allowed(request.method) if exists else errors.invalid_url())
    if not route.emulated:  # documented by Zoho, not emulated here (books/unsupported.py)
        return json_response(405, errors.method_not_allowed(request.method).body(),
                             headers={"X-Sandbox-Not-Emulated": "true"})
    try:
        tok = _authenticate(sandbox, request, dc)
        if not scope_allows(tok.scopes, route.scope_module, route.scope_action):
            raise errors.not_authorized()
        org = _resolve_org(sandbox, request, params, tok, dc) if route.needs_org else None
        body = await _parse_body(request, params) if request.method in ("POST", "PUT") else {}
    except errors.ZohoError as err:
        return error_response(err)
    ctx = Ctx(sandbox=sandbox, org=org, token=tok, method=request.method, params=params, path_args=path_args,
              body=body, dc=dc, headers={k.lower(): v for k, v in request.headers.items()})
    response = await sandbox.guard.before(org, route.op_name, request)
    if response is None:
        try:
            with sandbox.lock:  # readers too: admin/persistence threads must not change dicts mid-scan
                result = route.handler(ctx)
            response = result if isinstance(result, Response) else json_response(*result)
        except errors.ZohoError as err:
            response = error_response(err)
        except Exception:  # noqa: BLE001 - a sandbox bug must still answer like Zoho's 500
            traceback.print_exc()
            response = json_response(500, {"code": 1, "message": "Internal Server Error"})
    return await sandbox.guard.after(org, route.op_name, request, response)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build the sandbox. ``app.state.sandbox`` is the live ``Sandbox``."""
    config = config or SandboxConfig()
    sandbox = Sandbox(config)
    load_all()
    app = FastAPI(title="Zoho Books sandbox", version="1.0",
                  description="Local emulator of Zoho Books API v3 and Zoho Accounts OAuth.")
    app.state.sandbox = sandbox
    try:
        ops = importlib.import_module("zohobooks_sandbox.ops")
    except ModuleNotFoundError as exc:
        if exc.name != "zohobooks_sandbox.ops":
            raise
        ops = None
    if ops is not None:
        ops.install(app, sandbox)
    if config.demo and "700000001" not in sandbox.orgs:
        from .demo import seed_demo
        seed_demo(sandbox)
    app.include_router(build_router(sandbox))
    for prefix in DC_PREFIX.values():
        app.add_api_route(prefix + "/books/v3", books_pipeline, methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
                          include_in_schema=False)
        app.add_api_route(prefix + "/books/v3/{rest:path}", books_pipeline,
                          methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    app.add_middleware(NormalizePath)
    return app
