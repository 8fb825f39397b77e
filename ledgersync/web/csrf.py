"""CSRF defence for the dashboard: a strict Origin/Referer check on every state-changing request.

Why this and not tokens in forms: every dashboard form would need a hidden field (and every
`fetch()` a header) kept in step by everyone who edits a template; an Origin check protects them
all from one place. Browsers send `Origin` on every cross-site POST (and `Referer` when a
privacy setting strips `Origin`), and a page cannot forge either, so a request is allowed when:

* its method is safe (GET, HEAD, OPTIONS — those must change nothing), or
* its path is not cookie-authenticated (`/api/v1` takes a Bearer API key, webhooks a secret), or
* its `Origin` (else the origin of its `Referer`) is the dashboard's own: the configured
  `LEDGERSYNC_BASE_URL`'s origin or the origin the request itself was addressed to (`Host`).

Any other request — a foreign origin, `Origin: null` (sandboxed frames, some redirects) — is
answered 403 before it reaches a route. A request with neither header does not come from a
browser page (scripts, tests); in production it is refused too, in demo/test mode let through.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_PREFIXES = ("/api/", "/webhooks/")
REFUSAL = "Refused: this form was sent from another site (cross-site request). Reload the page and try again."


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL (default ports dropped), lower-cased; None if it has none."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return None
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port and port != default else "")


class OriginCheckMiddleware:
    """Pure ASGI middleware (no body buffering); see the module docstring for the rule."""

    def __init__(self, app: ASGIApp, *, base_url: str, require_header: bool = False) -> None:
        self.app = app
        self.allowed = {o for o in (origin_of(base_url),) if o}
        self.require_header = require_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._allowed(scope):
            await self.app(scope, receive, send)
            return
        await PlainTextResponse(REFUSAL, status_code=403)(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        claimed = headers.get("origin")
        if claimed is None and headers.get("referer"):
            claimed = origin_of(headers["referer"]) or "null"
        if claimed is None:
            return not self.require_header
        own = {*self.allowed}
        host = headers.get("host")
        if host:
            own.add(origin_of(f"{scope.get('scheme', 'http')}://{host}") or "")
        return origin_of(claimed) in own
