"""The Zoho Books API v3 client: one organisation, one token provider, an optional limiter.

What a caller may rely on:

* Every call is paced by the limiter (``priority`` decides who waits) and its reply headers are
  fed back to it; ``calls_made`` / ``calls_by_op`` count every HTTP request sent.
* JSON is read with ``parse_float=Decimal`` and written with Decimal literals (``40.60``, not
  ``"40.60"`` and never a float).
* Reads retry network errors, 429 and 5xx with jittered backoff. Writes are retried only when
  Zoho refused them before applying (429, connect error, 401 → refresh). A write whose outcome
  is unknown raises with ``outcome_unknown=True``; the caller looks it up before re-posting.
* A refused token (401, code 14) is refreshed once through the provider and the call repeated
  once; a dead refresh token surfaces as ``ZohoReauthorizationRequired``.
"""
from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import tenacity

from .books import BooksEndpoints
from .dc import books_base_url
from .errors import (
    ZohoAPIError,
    ZohoAuthError,
    ZohoError,
    ZohoRateLimited,
    ZohoServerError,
    ZohoTransportError,
    error_from_response,
)
from .ratelimit import RateLimiter
from .retry import Outcome, backoff_seconds, should_retry
from .tokens import TokenProvider, redact

log = logging.getLogger(__name__)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
_DEC_PLACEHOLDER = re.compile(r'"\\u0000DEC:(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def _mark_decimals(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} to Zoho")
        return "\u0000DEC:" + format(value, "f") + "\u0000"
    if isinstance(value, dict):
        return {k: _mark_decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mark_decimals(v) for v in value]
    if isinstance(value, float):
        raise TypeError("floats are not money: pass Decimal")
    return value


def dumps_decimal(payload: Any) -> str:
    """JSON with every ``Decimal`` written as its exact literal (``Decimal("40.60")`` → ``40.60``)."""
    text = json.dumps(_mark_decimals(payload), default=str, separators=(",", ":"))
    return _DEC_PLACEHOLDER.sub(r"\1", text)


def loads_decimal(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


@dataclass(frozen=True)
class CallRecord:
    """One HTTP request sent to Zoho (for run logs and benches)."""

    method: str
    op: str
    status: int | None
    priority: str
    attempt: int
    error: str | None
    elapsed_s: float


class _AttemptFailed(Exception):
    """Internal: carries the typed error and the retry outcome of one attempt."""

    def __init__(self, error: ZohoError, outcome: Outcome) -> None:
        super().__init__(str(error))
        self.error = error
        self.outcome = outcome


class ZohoBooks(BooksEndpoints):
    """Zoho Books API for one organisation (see module docstring for guarantees)."""

    def __init__(self, http: httpx.Client, *, api_domain: str, organization_id: str, tokens: TokenProvider,
                 limiter: RateLimiter | None = None, on_call: Callable[[CallRecord], None] | None = None,
                 timeout: float | httpx.Timeout = 30.0, max_attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0) -> None:
        self.http = http
        self.api_domain = api_domain.rstrip("/")
        self.base_url = books_base_url(self.api_domain)
        self.organization_id = str(organization_id)
        self.tokens = tokens
        self.limiter = limiter
        self.on_call = on_call
        self.timeout = timeout
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self.calls_made = 0
        self.calls_by_op: Counter[str] = Counter()
        # the pull engine reads ahead on a second thread (`sync.pull.read_ahead`): counting
        # must not lose a call when both threads finish one at once
        self._count_lock = threading.Lock()
        # Called with (method, op) right before a write attempt is sent (after the limiter's
        # wait); raising stops it unsent. The push engine checks its fencing token here.
        self.before_send: Callable[[str, str], None] | None = None

    def keep_for_hourly(self, calls_per_hour: float) -> None:
        """Tell the limiter what this organisation's hourly pulls and pushes spend, so backfill
        leaves it for the rest of the day (`ratelimit.RateLimiter.set_hourly_need`)."""
        if self.limiter is not None:
            self.limiter.set_hourly_need(self.organization_id, calls_per_hour)

    # --- public verbs ----------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, priority: str = "pull") -> dict[str, Any]:
        return self._json("GET", path, params=params, priority=priority, safe_to_repeat=True)

    def post(self, path: str, json: Any = None, *, params: Mapping[str, Any] | None = None, priority: str = "push",
             headers: Mapping[str, str] | None = None, idempotent: bool = False) -> dict[str, Any]:
        return self._json("POST", path, params=params, body=json, headers=headers, priority=priority,
                          safe_to_repeat=idempotent)

    def put(self, path: str, json: Any = None, *, params: Mapping[str, Any] | None = None, priority: str = "push",
            headers: Mapping[str, str] | None = None, idempotent: bool = True) -> dict[str, Any]:
        return self._json("PUT", path, params=params, body=json, headers=headers, priority=priority,
                          safe_to_repeat=idempotent)

    def delete(self, path: str, *, params: Mapping[str, Any] | None = None, priority: str = "push",
               idempotent: bool = False) -> dict[str, Any]:
        return self._json("DELETE", path, params=params, priority=priority, safe_to_repeat=idempotent)

    def count(self, path: str, params: Mapping[str, Any] | None = None, *, priority: str = "pull") -> int:
        """How many records a list filter matches, in one call (``response_option=2``)."""
        body = self.get(path, {**dict(params or {}), "response_option": 2}, priority=priority)
        context = body.get("page_context") or {}
        if isinstance(context, list):
            context = context[0] if context else {}
        for source in (context, body):
            for key in ("total", "count", "total_count"):
                if source.get(key) is not None:
                    return int(source[key])
        raise ZohoServerError(200, None, f"count of {path} missing from Zoho's answer")

    def get_pdf(self, invoice_id: str, *, priority: str = "pull") -> bytes:
        """The invoice as Zoho renders it (``accept=pdf``)."""
        content: bytes = self._call("GET", f"/invoices/{invoice_id}", params={"accept": "pdf"}, priority=priority,
                                    safe_to_repeat=True, want_bytes=True)
        return content

    # --- machinery ---------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        body: dict[str, Any] = self._call(method, path, **kw)
        return body

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
              headers: Mapping[str, str] | None = None, priority: str, safe_to_repeat: bool,
              want_bytes: bool = False, with_org: bool = True) -> Any:
        query = {k: v for k, v in dict(params or {}).items() if v is not None}
        if with_org:
            query["organization_id"] = self.organization_id
        content = dumps_decimal(body).encode() if body is not None else None
        attempts = {"n": 0}

        def one_attempt() -> Any:
            attempts["n"] += 1
            try:
                return self._attempt(method, path, query, content, headers, priority, safe_to_repeat,
                                     want_bytes, attempts["n"])
            except ZohoError as err:
                raise _AttemptFailed(err, getattr(err, "_retry_outcome", Outcome.REJECTED)) from err

        def retry_predicate(state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            return isinstance(exc, _AttemptFailed) and should_retry(
                exc.outcome, state.attempt_number, safe_to_repeat=safe_to_repeat, max_attempts=self.max_attempts)

        def wait(state: tenacity.RetryCallState) -> float:
            return backoff_seconds(state.attempt_number, self._rng, base=self._backoff_base, cap=self._backoff_cap)

        retrying = tenacity.Retrying(retry=retry_predicate, wait=wait, sleep=self._sleep,
                                     stop=tenacity.stop_after_attempt(self.max_attempts), reraise=True)
        try:
            return retrying(one_attempt)
        except _AttemptFailed as failed:
            raise failed.error from failed.error.__cause__

    def _attempt(self, method: str, path: str, query: dict[str, Any], content: bytes | None,
                 headers: Mapping[str, str] | None, priority: str, safe_to_repeat: bool,
                 want_bytes: bool, attempt: int) -> Any:
        token = self.tokens.access_token()
        response = self._send(method, path, query, content, headers, priority, safe_to_repeat, token, attempt)
        if response.status_code == 401 and not self._is_scope_refusal(response):
            # Token refused before anything was applied: refresh once (compare-and-swap), repeat once.
            log.info("zoho.auth token refused org=%s; refreshing", self.organization_id)
            token = self.tokens.refresh_access_token(token)
            response = self._send(method, path, query, content, headers, priority, safe_to_repeat, token, attempt)
        return self._interpret(method, path, response, safe_to_repeat, want_bytes)

    @staticmethod
    def _is_scope_refusal(response: httpx.Response) -> bool:
        try:
            return int(loads_decimal(response.text).get("code")) == 57
        except Exception:
            return False

    def _send(self, method: str, path: str, query: dict[str, Any], content: bytes | None,
              headers: Mapping[str, str] | None, priority: str, safe_to_repeat: bool, token: str,
              attempt: int) -> httpx.Response:
        url = self.base_url + "/" + path.lstrip("/")
        op = f"{method} {_ID_SEGMENT.sub('/{id}', '/' + path.strip('/'))}"
        request_headers = {"Authorization": f"Zoho-oauthtoken {token}", "Accept": "application/json"}
        if content is not None:
            request_headers["Content-Type"] = "application/json"
        request_headers.update(headers or {})
        if self.limiter is not None:
            self.limiter.acquire(self.organization_id, priority)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            if self.before_send is not None and method != "GET":
                self.before_send(method, op)
            response = self.http.request(method, url, params=query, content=content, headers=request_headers,
                                         timeout=self.timeout)
            status = response.status_code
            if self.limiter is not None:
                self.limiter.observe(self.organization_id, response.headers)
            return response
        except httpx.TransportError as exc:
            error = type(exc).__name__
            not_sent = isinstance(exc, _NOT_SENT)
            unknown = (not not_sent) and method != "GET" and not safe_to_repeat
            err = ZohoTransportError(f"{op}: {type(exc).__name__}: {redact(str(exc))}", outcome_unknown=unknown)
            err._retry_outcome = Outcome.NOT_SENT if not_sent else Outcome.UNKNOWN  # type: ignore[attr-defined]
            raise err from exc
        finally:
            if self.limiter is not None:
                self.limiter.release(self.organization_id)
            with self._count_lock:
                self.calls_made += 1
                self.calls_by_op[op] += 1
            elapsed = time.monotonic() - started
            log.info("zoho.call %s org=%s status=%s priority=%s attempt=%s error=%s",
                     redact(op), self.organization_id, status, priority, attempt, error)
            if self.on_call is not None:
                self.on_call(CallRecord(method, op, status, priority, attempt, error, elapsed))

    def _interpret(self, method: str, path: str, response: httpx.Response, safe_to_repeat: bool,
                   want_bytes: bool) -> Any:
        status = response.status_code
        is_write = method != "GET" and not safe_to_repeat
        if want_bytes and status < 400 and "json" not in response.headers.get("content-type", ""):
            return response.content
        try:
            body = loads_decimal(response.text) if response.text.strip() else None
        except ValueError:
            body = None
        if status >= 400:
            reset = response.headers.get("X-Rate-Limit-Reset")
            err: ZohoAPIError = error_from_response(status, body, reset_seconds=float(reset) if reset else None)
            if isinstance(err, ZohoRateLimited):
                outcome = Outcome.DAILY_LIMIT if err.limit == "day" else Outcome.RATE_LIMITED
            elif isinstance(err, ZohoServerError):
                outcome = Outcome.SERVER_ERROR
                err.outcome_unknown = is_write
            elif isinstance(err, ZohoAuthError):
                outcome = Outcome.AUTH_EXPIRED
            else:
                outcome = Outcome.REJECTED
            err._retry_outcome = outcome  # type: ignore[attr-defined]
            raise err
        if not isinstance(body, dict):
            err = ZohoServerError(status, None, f"{method} {path}: unreadable answer from Zoho", outcome_unknown=is_write)
            err._retry_outcome = Outcome.MALFORMED  # type: ignore[attr-defined]
            raise err
        code = body.get("code", 0)
        if code not in (0, None, "0"):
            err = error_from_response(400 if status < 400 else status, body)
            err._retry_outcome = Outcome.REJECTED  # type: ignore[attr-defined]
            raise err
        return body
