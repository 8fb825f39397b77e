"""Zoho Accounts (OAuth 2.0, server-based flow) for every emulated data centre.

Routes (``{dc}`` is empty for US, ``/eu`` for EU, …, see ``DC_PREFIX``):
``GET|POST {dc}/oauth/v2/auth`` (login + consent page), ``POST {dc}/oauth/v2/token``
(``authorization_code`` and ``refresh_token`` grants; form body or query string),
``POST {dc}/oauth/v2/token/revoke?token=``.

Behaviour, as Zoho:
- Codes are single use, expire after ``code_ttl`` sandbox seconds, are bound to client,
  redirect URI and the data centre of the organisation the user picked; exchanging one at
  another DC's accounts server fails with ``invalid_code``.
- Token endpoint errors are HTTP 200 with ``{"error": ...}``: ``invalid_client`` (unknown
  client_id), ``invalid_client_secret``, ``invalid_code`` (unknown/used/expired code, unknown or
  revoked refresh token), ``invalid_redirect_uri``, ``unsupported_grant_type``; a refresh
  token minting more than 10 access tokens in 10 minutes gets HTTP 400 ``Access Denied``.
- ``refresh_token`` only with ``access_type=offline``; refreshing returns no new refresh token.
  A user holds at most 20 refresh tokens per client: the 21st revokes the oldest (and its
  access tokens) silently.
- Scopes are compared case-insensitively and enforced per Books call (see ``scope_allows``).
"""
from __future__ import annotations

import html
import secrets
from collections import deque
from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .state import AuthCode, OAuthClient, Sandbox, Token

DC_PREFIX: dict[str, str] = {"us": "", "eu": "/eu", "in": "/in", "au": "/au", "jp": "/jp", "ca": "/ca",
                             "cn": "/cn", "sa": "/sa", "uk": "/uk"}
PREFIX_DC = {v.strip("/"): k for k, v in DC_PREFIX.items() if v}

BOOKS_MODULES = {"contacts", "settings", "estimates", "invoices", "customerpayments", "creditnotes", "projects",
                 "expenses", "salesorders", "purchaseorders", "bills", "debitnotes", "vendorpayments", "banking",
                 "accountants"}
ACTIONS = {"create", "read", "update", "delete", "all"}


def dc_base(sandbox: Sandbox, dc: str) -> str:
    """Accounts server and API domain of a data centre (the same host here)."""
    return sandbox.config.base_url.rstrip("/") + DC_PREFIX[dc]


def parse_scopes(raw: str) -> frozenset[str]:
    return frozenset(s.strip().lower() for s in raw.replace(" ", ",").split(",") if s.strip())


def valid_scope(scope: str) -> bool:
    parts = scope.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    if parts[0] != "zohobooks":
        return True  # other Zoho services' scopes are accepted and ignored
    if parts[1] == "fullaccess":
        return parts[2] == "all"
    return parts[1] in BOOKS_MODULES and parts[2] in ACTIONS


def scope_allows(scopes: frozenset[str], module: str, action: str) -> bool:
    """``ZohoBooks.fullaccess.all``, ``ZohoBooks.{module}.ALL`` or the exact action."""
    return ("zohobooks.fullaccess.all" in scopes or f"zohobooks.{module}.all" in scopes
            or f"zohobooks.{module}.{action}" in scopes)


def redirect_allowed(client: OAuthClient, uri: str) -> bool:
    if uri in client.redirect_uris:
        return True
    if client.demo:
        u = urlparse(uri)
        return (u.scheme in ("http", "https") and u.hostname in ("127.0.0.1", "localhost", "testserver")
                and u.path == "/integrations/zoho/callback")
    return False


def new_token_value() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


# ----------------------------------------------------------------------------- page
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f3f5f9;margin:0;color:#1f2937}
.card{max-width:440px;margin:48px auto;background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:28px 32px}
h1{font-size:20px;margin:0 0 4px}.sub{color:#6b7280;font-size:14px;margin-bottom:18px}
label{display:block;font-size:13px;font-weight:600;margin:12px 0 4px}
input,select{width:100%;box-sizing:border-box;padding:9px 10px;border:1px solid #d1d5db;border-radius:6px;font-size:14px}
ul{padding-left:18px;font-size:13px;color:#374151}.err{background:#fee2e2;color:#991b1b;padding:8px 10px;border-radius:6px;font-size:13px}
.row{display:flex;gap:10px;margin-top:20px}button{flex:1;padding:10px;border-radius:6px;border:0;font-size:14px;cursor:pointer}
.accept{background:#e42527;color:#fff}.deny{background:#e5e7eb}
.brand{font-size:13px;color:#6b7280;font-weight:600;letter-spacing:.3px;margin-bottom:14px;display:flex;
justify-content:space-between}.brand span{color:#9ca3af;font-weight:400}
ul#scopes{list-style:none;padding:0;margin:6px 0 0;border:1px solid #e5e7eb;border-radius:6px}
ul#scopes li{padding:7px 10px;border-bottom:1px solid #f0f1f3;display:flex;justify-content:space-between;gap:10px}
ul#scopes li:last-child{border-bottom:0}ul#scopes code{color:#6b7280;font-size:11.5px}
.note{font-size:12.5px;color:#4b5563;background:#f9fafb;border-radius:6px;padding:8px 10px;margin-top:12px}
.foot{font-size:11.5px;color:#9ca3af;text-align:center;margin-top:16px}
"""

_MODULE_NAMES = {
    "fullaccess": "All Zoho Books data", "contacts": "Contacts", "invoices": "Invoices",
    "customerpayments": "Customer payments", "creditnotes": "Credit notes", "settings": "Organisation settings",
    "banking": "Banking", "accountants": "Chart of accounts and journals", "estimates": "Estimates",
    "expenses": "Expenses", "bills": "Bills", "salesorders": "Sales orders", "purchaseorders": "Purchase orders",
    "vendorpayments": "Vendor payments", "debitnotes": "Debit notes", "projects": "Projects",
}
_ACTION_NAMES = {"all": "full access", "read": "view", "create": "create", "update": "edit", "delete": "delete"}


def describe_scope(scope: str) -> str:
    """Human words for a scope (``ZohoBooks.invoices.READ`` → "Invoices — view"), as Zoho's page shows."""
    parts = scope.split(".")
    if len(parts) == 3 and parts[0].lower() == "zohobooks":
        module = _MODULE_NAMES.get(parts[1].lower(), parts[1])
        action = _ACTION_NAMES.get(parts[2].lower(), parts[2].lower())
        return f"{module} — {action}"
    return scope


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>Zoho Accounts (sandbox)</title>"
                        f"<style>{_CSS}</style></head><body><div class='card'>"
                        f"<div class='brand'>Zoho Accounts <span>local sandbox</span></div>{body}</div>"
                        f"<p class='foot'>Emulated Zoho Accounts · no real account is used</p></body></html>",
                        status_code=status)


def _error_page(title: str, detail: str) -> HTMLResponse:
    return _page(f"<h1>{html.escape(title)}</h1><p class='sub'>{html.escape(detail)}</p>", 400)


def _consent_page(sandbox: Sandbox, client: OAuthClient, params: dict[str, str], error: str = "",
                  email: str | None = None) -> HTMLResponse:
    demo_user = sandbox.user_by_email(email) if email else None
    if demo_user is None:
        demo_user = next(iter(sandbox.users.values()), None)
    pre_email = email if email is not None else (demo_user.email if demo_user else "")
    pre_pw = demo_user.password if (demo_user and sandbox.config.demo and not error) else ""
    hidden = "".join(f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                     for k, v in params.items() if k in ("scope", "client_id", "response_type", "redirect_uri",
                                                        "access_type", "prompt", "state"))
    scopes = "".join(f"<li><span>{html.escape(describe_scope(s))}</span><code>{html.escape(s)}</code></li>"
                     for s in params.get("scope", "").replace(" ", ",").split(",") if s)
    offline = ("<p class='note' id='offline'>This application can access your data even when you are not using it "
               "(offline access). You can revoke it at any time.</p>" if params.get("access_type") == "offline" else "")
    orgs = ""
    if demo_user:
        opts = "".join(f"<option value='{o}'>{html.escape(sandbox.orgs[o].org.name)} ({o}, "
                       f"{sandbox.orgs[o].org.dc.upper()})</option>" for o in demo_user.org_ids if o in sandbox.orgs)
        orgs = f"<label for='organization_id'>Organization</label><select id='organization_id' name='organization_id'>{opts}</select>"
    err = f"<p class='err' id='error'>{html.escape(error)}</p>" if error else ""
    return _page(f"""
<h1>Sign in to authorize</h1><p class='sub'><b>{html.escape(client.name)}</b> would like to access your Zoho Books data.
<br><span style='font-size:12px'>Client ID {html.escape(client.client_id)}</span></p>
{err}<form method='post' id='consent'>{hidden}
<label for='email'>Email</label><input id='email' name='email' type='email' value='{html.escape(pre_email)}' autocomplete='username'>
<label for='password'>Password</label><input id='password' name='password' type='password' value='{html.escape(pre_pw)}' autocomplete='current-password'>
{orgs}
<label>{html.escape(client.name)} will be able to</label><ul id='scopes'>{scopes}</ul>{offline}
<div class='row'><button class='deny' name='action' value='deny' type='submit' id='deny'>Reject</button>
<button class='accept' name='action' value='accept' type='submit' id='accept'>Accept</button></div>
</form>""", 401 if error else 200)


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


# ----------------------------------------------------------------------------- router
def build_router(sandbox: Sandbox) -> APIRouter:
    router = APIRouter()
    mint_log: dict[str, deque[float]] = {}

    def dc_of(request: Request) -> str:
        first = request.url.path.strip("/").split("/", 1)[0]
        return PREFIX_DC.get(first, "us")

    async def params_of(request: Request) -> dict[str, str]:
        out = {k: v for k, v in request.query_params.items()}
        if request.method == "POST":
            try:
                form = await request.form()
                out.update({k: v for k, v in form.items() if isinstance(v, str)})
            except Exception:  # noqa: BLE001 - a non-form body is simply ignored, as Zoho does
                pass
        return {k: v for k, v in out.items() if k}

    async def auth(request: Request) -> Response:
        p = await params_of(request)
        client = sandbox.clients.get(p.get("client_id", ""))
        if client is None:
            return _error_page("Invalid Client", "The client_id in the request is not registered.")
        redirect_uri = p.get("redirect_uri", "")
        if not redirect_allowed(client, redirect_uri):
            return _error_page("Invalid Redirect Uri", "The redirect_uri does not match the registered one.")
        state = {"state": p["state"]} if "state" in p else {}
        if p.get("response_type", "code") != "code":
            return RedirectResponse(_with_query(redirect_uri, {"error": "unsupported_response_type", **state}), 302)
        scopes = parse_scopes(p.get("scope", ""))
        if not scopes or not all(valid_scope(s) for s in scopes):
            return RedirectResponse(_with_query(redirect_uri, {"error": "invalid_scope", **state}), 302)
        if request.method == "GET":
            return _consent_page(sandbox, client, p)
        if p.get("action") == "deny":
            return RedirectResponse(_with_query(redirect_uri, {"error": "access_denied", **state}), 302)
        user = sandbox.user_by_email(p.get("email", ""))
        if user is None or not secrets.compare_digest(user.password, p.get("password", "")):
            return _consent_page(sandbox, client, p, "Incorrect email or password. Please try again.", p.get("email", ""))
        org_id = p.get("organization_id") or (user.org_ids[0] if user.org_ids else None)
        if org_id not in user.org_ids or org_id not in sandbox.orgs:
            return _consent_page(sandbox, client, p, "Please choose one of your organizations.", p.get("email", ""))
        dc = sandbox.orgs[org_id].org.dc
        code = AuthCode(code=new_token_value(), client_id=client.client_id, redirect_uri=redirect_uri,
                        user_id=user.user_id, scopes=scopes, access_type=(p.get("access_type") or "online").lower(),
                        dc=dc, org_id=org_id, expires_at=sandbox.clock.monotonic() + sandbox.config.code_ttl,
                        scope_text=p.get("scope", "").strip())
        with sandbox.lock:
            sandbox.codes[code.code] = code
        return RedirectResponse(_with_query(redirect_uri, {"code": code.code, **state, "location": dc,
                                                           "accounts-server": dc_base(sandbox, dc)}), 302)

    def oauth_error(error: str) -> JSONResponse:
        return JSONResponse({"error": error}, status_code=200)

    def check_client(p: dict[str, str]) -> OAuthClient | JSONResponse:
        client = sandbox.clients.get(p.get("client_id", ""))
        if client is None:
            return oauth_error("invalid_client")
        if not secrets.compare_digest(client.client_secret, p.get("client_secret", "")):
            return oauth_error("invalid_client_secret")
        return client

    def issue_access(user_id: str, client_id: str, scopes: frozenset[str], dc: str, org_id: str | None,
                     parent: str | None, scope_text: str = "") -> Token:
        now = sandbox.clock.monotonic()
        tok = Token(token=new_token_value(), kind="access", client_id=client_id, user_id=user_id, scopes=scopes,
                    dc=dc, org_id=org_id, created_at=now, expires_at=now + sandbox.config.access_token_ttl,
                    parent=parent, scope_text=scope_text)
        sandbox.tokens[tok.token] = tok
        return tok

    def revoke(tok: Token) -> None:
        tok.revoked = True
        if tok.kind == "refresh":
            for other in sandbox.tokens.values():
                if other.parent == tok.token:
                    other.revoked = True

    def scope_text(scopes: frozenset[str]) -> str:
        return ",".join(sorted(scopes))

    async def token(request: Request) -> Response:
        p = await params_of(request)
        dc = dc_of(request)
        grant = p.get("grant_type", "")
        if grant not in ("authorization_code", "refresh_token"):
            return oauth_error("unsupported_grant_type")
        client = check_client(p)
        if isinstance(client, JSONResponse):
            return client
        now = sandbox.clock.monotonic()
        with sandbox.lock:
            if grant == "authorization_code":
                code = sandbox.codes.get(p.get("code", ""))
                if code is None or code.used or code.expires_at <= now or code.client_id != client.client_id or code.dc != dc:
                    return oauth_error("invalid_code")
                if p.get("redirect_uri", "") != code.redirect_uri:
                    return oauth_error("invalid_redirect_uri")
                code.used = True
                body: dict[str, Any] = {}
                refresh: Token | None = None
                if code.access_type == "offline":
                    refresh = Token(token=new_token_value(), kind="refresh", client_id=client.client_id,
                                    user_id=code.user_id, scopes=code.scopes, dc=code.dc, org_id=code.org_id,
                                    created_at=now, expires_at=None, scope_text=code.scope_text)
                    sandbox.tokens[refresh.token] = refresh
                    live = sorted((t for t in sandbox.tokens.values() if t.kind == "refresh" and not t.revoked
                                   and t.user_id == code.user_id and t.client_id == client.client_id),
                                  key=lambda t: t.created_at)
                    while len(live) > sandbox.config.max_refresh_tokens_per_client:
                        revoke(live.pop(0))
                access = issue_access(code.user_id, client.client_id, code.scopes, code.dc, code.org_id,
                                      refresh.token if refresh else None, code.scope_text)
                body["access_token"] = access.token
                if refresh:
                    body["refresh_token"] = refresh.token
            else:
                refresh = sandbox.tokens.get(p.get("refresh_token", ""))
                if refresh is None or refresh.kind != "refresh" or refresh.revoked or refresh.dc != dc:
                    return oauth_error("invalid_code")
                if refresh.client_id != client.client_id:
                    return oauth_error("invalid_client")
                log = mint_log.setdefault(refresh.token, deque())
                window = sandbox.config.access_token_window_seconds
                while log and log[0] <= now - window:
                    log.popleft()
                if len(log) >= sandbox.config.max_access_tokens_per_refresh:
                    return JSONResponse({"error_description": "You have made too many requests continuously. "
                                                              "Please try again after some time.",
                                         "error": "Access Denied", "status": "failure"}, status_code=400)
                log.append(now)
                access = issue_access(refresh.user_id, refresh.client_id, refresh.scopes, refresh.dc, refresh.org_id,
                                      refresh.token, refresh.scope_text)
                body = {"access_token": access.token}
            body.update({"scope": access.scope_text or scope_text(access.scopes), "api_domain": dc_base(sandbox, access.dc),
                         "token_type": "Bearer", "expires_in": sandbox.config.access_token_ttl})
        return JSONResponse(body, status_code=200)

    async def revoke_route(request: Request) -> Response:
        p = await params_of(request)
        with sandbox.lock:
            tok = sandbox.tokens.get(p.get("token", ""))
            if tok is None or tok.dc != dc_of(request):
                return oauth_error("invalid_token")
            revoke(tok)
        return JSONResponse({"status": "success"}, status_code=200)

    for prefix in DC_PREFIX.values():
        router.add_api_route(prefix + "/oauth/v2/auth", auth, methods=["GET", "POST"], include_in_schema=False)
        router.add_api_route(prefix + "/oauth/v2/token", token, methods=["POST"], include_in_schema=False)
        router.add_api_route(prefix + "/oauth/v2/token/revoke", revoke_route, methods=["POST"], include_in_schema=False)
    return router
