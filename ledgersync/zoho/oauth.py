"""Zoho Accounts OAuth 2.0 (server-based flow): consent URL, code exchange, refresh, revoke.

Zoho answers OAuth failures as JSON ``{"error": "..."}``, often with HTTP 200, so every answer
is inspected for ``error`` before it is trusted. A refresh token that Zoho no longer accepts
(revoked, or silently dropped when the user linked a 21st time) becomes
:class:`ZohoReauthorizationRequired`: the caller marks the connection and stops; nothing loops.

Scopes (``DEFAULT_SCOPES``) are the least the product needs:

* ``contacts.READ``, ``invoices.READ``, ``creditnotes.READ`` — pull customers, invoices,
  line items, PDFs and credits (platform edits never flow back, so no invoice writes);
* ``customerpayments.ALL`` — create, find, delete and refund the payments we push;
* ``banking.ALL`` — bank accounts and the deposit / transfer transactions of payouts;
* ``accountants.READ`` — the chart of accounts for Set Up Accounts;
* ``settings.READ`` — organisations (name, currency, time zone).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx

from .errors import (
    ZohoOAuthError,
    ZohoRateLimited,
    ZohoReauthorizationRequired,
    ZohoServerError,
    ZohoTransportError,
)

log = logging.getLogger(__name__)

DEFAULT_SCOPES: tuple[str, ...] = (
    "ZohoBooks.contacts.READ",
    "ZohoBooks.invoices.READ",
    "ZohoBooks.creditnotes.READ",
    "ZohoBooks.customerpayments.ALL",
    "ZohoBooks.banking.ALL",
    "ZohoBooks.accountants.READ",
    "ZohoBooks.settings.READ",
)

# Errors on the refresh grant that mean "this refresh token is dead": re-link.
_DEAD_REFRESH_TOKEN = {"invalid_token", "invalid_code", "invalid_grant", "invalid_refresh_token"}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class TokenSet:
    """What a token answer gives us. ``refresh_token`` is None on refresh (Zoho keeps the old one)."""

    access_token: str
    refresh_token: str | None
    api_domain: str
    expires_at: datetime
    scope: str | None = None

    def __repr__(self) -> str:  # never print tokens
        return f"TokenSet(api_domain={self.api_domain!r}, expires_at={self.expires_at.isoformat()}, scope={self.scope!r})"


class ZohoOAuth:
    """One OAuth client (client id/secret/redirect URI) against Zoho Accounts.

    ``accounts_server`` is the default (the partner's DC is passed per call once known).
    """

    def __init__(self, http: httpx.Client, client_id: str, client_secret: str, redirect_uri: str,
                 accounts_server: str, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.http = http
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.accounts_server = accounts_server.rstrip("/")
        self._now = now

    def authorize_url(self, state: str, scopes: Iterable[str] = DEFAULT_SCOPES, prompt: str = "consent",
                      access_type: str = "offline") -> str:
        """The consent page to redirect the partner to."""
        query = urlencode({
            "scope": ",".join(scopes),
            "client_id": self.client_id,
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "access_type": access_type,
            "prompt": prompt,
            "state": state,
        })
        return f"{self.accounts_server}/oauth/v2/auth?{query}"

    def exchange_code(self, code: str, accounts_server: str | None = None) -> TokenSet:
        """Trade the callback's single-use ``code`` (at the callback's accounts server)."""
        body = self._post(accounts_server, "/oauth/v2/token", data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": self.redirect_uri,
        }, grant="authorization_code")
        return self._token_set(body, refresh_token=body.get("refresh_token"))

    def refresh(self, refresh_token: str, accounts_server: str | None = None) -> TokenSet:
        """A new access token; the refresh token itself stays the same (returned for convenience)."""
        body = self._post(accounts_server, "/oauth/v2/token", data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }, grant="refresh_token")
        return self._token_set(body, refresh_token=body.get("refresh_token") or refresh_token)

    def revoke(self, refresh_token: str, accounts_server: str | None = None) -> None:
        """Revoke the refresh token (and its access tokens). An already-dead token counts as revoked."""
        try:
            self._post(accounts_server, "/oauth/v2/token/revoke", params={"token": refresh_token}, grant="revoke")
        except ZohoReauthorizationRequired:
            log.info("zoho.oauth.revoke token already invalid")

    # --- internals -------------------------------------------------------------------------

    def _post(self, accounts_server: str | None, path: str, *, data: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, grant: str) -> dict[str, Any]:
        url = (accounts_server or self.accounts_server).rstrip("/") + path
        try:
            response = self.http.post(url, data=data, params=params)
        except httpx.TransportError as exc:
            raise ZohoTransportError(f"Zoho Accounts unreachable: {type(exc).__name__}",
                                     outcome_unknown=not isinstance(exc, httpx.ConnectError)) from exc
        try:
            body = json.loads(response.text) if response.text.strip() else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ZohoServerError(response.status_code, None, "unreadable answer from Zoho Accounts")
        error = body.get("error")
        if error:
            raise self._error(response.status_code, str(error), str(body.get("error_description") or ""), grant)
        if response.status_code >= 500:
            raise ZohoServerError(response.status_code, None, "Zoho Accounts failed")
        if response.status_code >= 400:
            raise ZohoOAuthError(response.status_code, "http_error", f"HTTP {response.status_code}")
        log.info("zoho.oauth %s ok status=%s", grant, response.status_code)
        return body

    @staticmethod
    def _error(status: int, error: str, description: str, grant: str) -> Exception:
        log.warning("zoho.oauth %s error=%s", grant, error)
        lowered = (error + " " + description).lower()
        if "too many requests" in lowered or error.lower() == "access denied":
            return ZohoRateLimited(status, None, f"{error}: {description}", limit="token")
        if grant in ("refresh_token", "revoke") and error in _DEAD_REFRESH_TOKEN:
            return ZohoReauthorizationRequired(status, None, f"refresh token refused by Zoho ({error})")
        return ZohoOAuthError(status, error, description)

    def _token_set(self, body: dict[str, Any], *, refresh_token: str | None) -> TokenSet:
        access = body.get("access_token")
        if not access:
            raise ZohoOAuthError(200, "no_access_token", "token answer without access_token")
        expires_in = body.get("expires_in") or 3600
        try:
            seconds = int(expires_in)
        except (TypeError, ValueError):
            seconds = 3600
        if seconds > 86_400:  # some old answers give milliseconds
            seconds //= 1000
        api_domain = str(body.get("api_domain") or "").rstrip("/")
        return TokenSet(
            access_token=str(access),
            refresh_token=refresh_token,
            api_domain=api_domain,
            expires_at=self._now() + timedelta(seconds=seconds),
            scope=body.get("scope"),
        )
