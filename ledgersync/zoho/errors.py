"""Typed errors of the Zoho adapter, built from Zoho's HTTP status, ``code`` and ``message``.

::

    ZohoError                         base; .outcome_unknown (True = a write may have been applied)
    ├── ZohoTransportError            no usable answer (timeout, dropped connection)
    ├── ZohoPagingLoop                a list endpoint served the same page twice
    ├── BudgetExhausted               our limiter refused: the DAILY budget for this priority is gone
    └── ZohoAPIError(status, code, message)
        ├── ZohoRateLimited           HTTP 429 (limit = minute | day | concurrency | token)
        ├── ZohoAuthError             HTTP 401 invalid/expired token (refreshed once by the client)
        │   ├── ZohoReauthorizationRequired   refresh token revoked/invalid: re-link, never loop
        │   └── ZohoOAuthError(error)         OAuth endpoint answered {"error": ...}
        ├── ZohoScopeError            HTTP 401 code 57: the granted scopes do not cover the call
        ├── ZohoNotFound              HTTP 404 or code 1002
        ├── ZohoRejected              any other 4xx: permanent, fix the request
        └── ZohoServerError           5xx or an unreadable body: retryable for reads

Apart from the tree: ``RequestWithheld``, raised by one of the HTTP client's request hooks to stop
a request before it leaves (a worker task's time limit): Zoho saw nothing, the client does not
retry it, and it is not a ``ZohoError`` (no outage, nothing of Zoho's to report).

Why ``outcome_unknown`` lives on the base: a write that timed out after being sent, or that
got a 5xx / garbage back, may or may not exist in Zoho. The caller must look it up (by its
``reference_number``) before posting again; the client never re-posts such a write itself.
"""
from __future__ import annotations

from datetime import datetime

# Zoho codes the adapter gives meaning to (the sandbox keeps the same table).
CODE_INVALID_TOKEN = 14
CODE_NOT_AUTHORIZED = 57
CODE_NOT_FOUND = 1002
CODE_ALREADY_EXISTS = 1070
CODE_RATE_MINUTE = 44
CODE_RATE_DAY = 45


class ZohoError(Exception):
    """Base of every adapter error."""

    outcome_unknown: bool = False

    def __init__(self, message: str = "", *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class RequestWithheld(Exception):
    """A request hook stopped the request before it was sent (`workers/deadline.py`: the task's
    time limit passed). Nothing reached Zoho with this attempt; the caller stops its work and
    leaves it resumable."""


class ZohoTransportError(ZohoError):
    """The request got no usable answer (timeout, dropped connection, connect failure).

    ``outcome_unknown`` is True when the request may have reached Zoho (anything after the
    request was sent); a connect error leaves it False.
    """


class ZohoPagingLoop(ZohoError):
    """A list endpoint served a page already seen: stop instead of looping forever."""


class BudgetExhausted(ZohoError):
    """The organisation's daily budget left for ``priority`` is used up until ``retry_at``.

    Raised by the rate limiter before any request is sent: reschedule the work, don't wait.
    """

    def __init__(self, org_id: str, priority: str, retry_at: datetime) -> None:
        super().__init__(f"daily Zoho API budget of organisation {org_id} exhausted for {priority!r} "
                         f"calls until {retry_at.isoformat()}")
        self.org_id = org_id
        self.priority = priority
        self.retry_at = retry_at


class ZohoAPIError(ZohoError):
    """Zoho answered with an error: HTTP ``status``, Zoho ``code`` and ``message``."""

    def __init__(self, status: int, code: int | None, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(f"Zoho {status} code={code}: {message}", outcome_unknown=outcome_unknown)
        self.status = status
        self.code = code
        self.message = message


class ZohoRateLimited(ZohoAPIError):
    """HTTP 429. ``limit`` says which: ``minute``, ``day``, ``concurrency`` or ``token``
    (too many token refreshes). ``retry_after`` is Zoho's reset in seconds when known."""

    def __init__(self, status: int, code: int | None, message: str, *, limit: str,
                 retry_after: float | None = None) -> None:
        super().__init__(status, code, message)
        self.limit = limit
        self.retry_after = retry_after


class ZohoAuthError(ZohoAPIError):
    """The access token was refused (expired, revoked, unknown)."""


class ZohoReauthorizationRequired(ZohoAuthError):
    """The refresh token is revoked or invalid: the partner must connect again."""


class ZohoOAuthError(ZohoAuthError):
    """Zoho Accounts answered ``{"error": ...}`` (often with HTTP 200)."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(status, None, f"{error}{': ' + description if description else ''}")
        self.error = error


class ZohoScopeError(ZohoAPIError):
    """Code 57: the token is fine but the granted scopes (or org access) do not cover the call."""


class ZohoNotFound(ZohoAPIError):
    """The record does not exist (HTTP 404 or code 1002)."""


class ZohoRejected(ZohoAPIError):
    """A permanent refusal (validation, state): retrying the same request cannot succeed."""


class ZohoServerError(ZohoAPIError):
    """Zoho failed (5xx) or sent an unreadable body: reads may retry; writes are outcome-unknown."""


def rate_limit_kind(code: int | None, message: str) -> str:
    """Which limit a 429 names: from the code (44/45) and the message's wording."""
    text = message.lower()
    if code == CODE_RATE_DAY or "per day" in text or "daily" in text:
        return "day"
    if "concurren" in text:
        return "concurrency"
    return "minute"


def error_from_response(status: int, body: object, *, reset_seconds: float | None = None) -> ZohoAPIError:
    """Build the typed error for an error answer (``body`` is the parsed JSON, or None)."""
    code: int | None = None
    message = ""
    if isinstance(body, dict):
        raw_code = body.get("code")
        try:
            code = int(raw_code) if raw_code is not None else None
        except (TypeError, ValueError):
            code = None
        message = str(body.get("message") or body.get("error") or "")
    if status == 429:
        return ZohoRateLimited(status, code, message, limit=rate_limit_kind(code, message), retry_after=reset_seconds)
    if code == CODE_NOT_AUTHORIZED:
        return ZohoScopeError(status, code, message)
    if status == 401:
        return ZohoAuthError(status, code, message)
    if status == 404 or code == CODE_NOT_FOUND:
        return ZohoNotFound(status, code, message)
    if status >= 500:
        return ZohoServerError(status, code, message)
    return ZohoRejected(status, code, message)
