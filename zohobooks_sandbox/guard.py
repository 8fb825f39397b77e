"""The sandbox-ops Guard: limits, faults, counters, request log and response recorder
around every Books request (see HOOKS.md for where ``before``/``after`` are called).

Order in ``before``: rate limits first (a refused call does no work and injects no fault),
then the fault plan. ``after`` is called exactly once per ``before``: it counts the call by
operation, frees the concurrency slot, stamps the ``X-Rate-Limit-*`` headers on the reply,
applies "after" faults (malformed body, connection dropped once the write is applied), logs
the request and feeds the response recorder used by the schema-conformance test.

Per-org limit overrides live in ``org.settings["limits"]`` (keys ``per_minute``, ``daily``,
``concurrency``, ``enabled``); the plan in ``org.org.plan``.
"""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from . import errors
from .faults import WRITE_METHODS, Fault, FaultInjector, FaultKind, truncate_body
from .limits import OrgLimits, RateLimiter
from .poison import Poisoner
from .state import Guard, OrgData

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request

    from .state import Sandbox

#: Zoho's answer to an internal failure (documented example: code 1000 "Internal error").
SERVER_ERROR_BODIES = {
    500: {"code": 1000, "message": "Internal error"},
    503: {"code": 1000, "message": "Service temporarily unavailable. Please try again later."},
}


#: Replies the planted malformations rewrite (list and single invoice).
POISONED_OPS = frozenset({"invoices.list", "invoices.get"})


@dataclass
class RecordedResponse:
    """One Books reply as a client saw it (for schema validation)."""

    method: str
    path: str
    op_name: str
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ResponseRecorder:
    """Collects Books replies; thread-safe. Fed by every guard when installed globally."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[RecordedResponse] = []

    def add(self, record: RecordedResponse) -> None:
        with self._lock:
            self.records.append(record)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()


#: The recorder every sandbox feeds when set (tests set it for the whole session).
GLOBAL_RECORDER: ResponseRecorder | None = None


def set_global_recorder(recorder: ResponseRecorder | None) -> None:
    """Install (or remove) the process-wide response recorder."""
    global GLOBAL_RECORDER
    GLOBAL_RECORDER = recorder


@dataclass
class RequestLogEntry:
    at: str
    org_id: str | None
    op_name: str
    method: str
    path: str
    query: str
    status: int
    fault: str | None
    limited: str | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _CallState:
    started: float
    admitted: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    limited: str | None = None
    org: OrgData | None = None  # organisation named by a call that needs none (organizations.get)


class OpsGuard(Guard):
    """Zoho's limits + seeded faults + per-org counters; replaces the core's no-op Guard."""

    def __init__(self, sandbox: Sandbox, log_size: int = 500) -> None:
        self.sandbox = sandbox
        self.limiter = RateLimiter(sandbox.clock.monotonic)
        self.faults = FaultInjector(default_seed=sandbox.config.seed)
        self.poison = Poisoner()
        self.log: deque[RequestLogEntry] = deque(maxlen=log_size)
        self.recorder: ResponseRecorder | None = ResponseRecorder() if getattr(
            sandbox.config, "record_responses", False) else None
        self._log_lock = threading.Lock()

    # ------------------------------------------------------------------ limits
    def limits_for(self, org: OrgData) -> OrgLimits:
        """Effective limits of ``org``: config defaults for its plan, then per-org overrides."""
        cfg = self.sandbox.config
        base = OrgLimits.for_plan(
            org.org.plan or cfg.default_plan, per_minute=cfg.per_minute_limit,
            daily_limits=cfg.daily_limits, concurrency_limits=cfg.concurrency_limits,
            enabled=cfg.rate_limits_enabled,
        )
        overrides = org.settings.get("limits") or {}
        for key in ("per_minute", "daily", "concurrency", "enabled"):
            if overrides.get(key) is not None:
                setattr(base, key, overrides[key])
        return base

    def set_limits(self, org: OrgData, **overrides: Any) -> OrgLimits:
        """Override limits of ``org`` (``None`` values clear an override); returns the result."""
        with self.sandbox.lock:
            current = dict(org.settings.get("limits") or {})
            plan = overrides.pop("plan", None)
            if plan:
                org.org.plan = plan
            for key, value in overrides.items():
                if value is None:
                    current.pop(key, None)
                else:
                    current[key] = value
            org.settings["limits"] = current
        return self.limits_for(org)

    # ------------------------------------------------------------------ hooks
    async def before(self, org: OrgData | None, op_name: str, request: Request) -> Response | None:
        call = _CallState(started=time.perf_counter())
        request.state.ops_call = call
        if org is None:
            org = self._implied_org(request)
            call.org = org
            if org is None:
                return None
        limits = self.limits_for(org)
        admission = self.limiter.admit(org.organization_id, limits)
        call.headers = admission.headers
        if not admission.admitted:
            assert admission.rejection is not None
            call.limited = admission.rejection.limit
            self._count_429(org, op_name)
            return _json(429, {"code": admission.rejection.code, "message": admission.rejection.message})
        call.admitted = True
        fault = self.faults.decide(org.organization_id, op_name, request.method)
        call.fault = fault
        if fault is None:
            return None
        fire = self.faults.fire
        oid = org.organization_id
        if fault.kind is FaultKind.SERVER_ERROR:
            status = fault.status if fault.status in SERVER_ERROR_BODIES else 500
            fire(oid, fault.rule.label)
            return _json(status, SERVER_ERROR_BODIES[status])
        if fault.kind is FaultKind.RATE_LIMIT:
            self._count_429(org, op_name)
            if not fault.continues_burst:  # a burst is one fault, however many 429s it answers
                fire(oid, fault.rule.label)
            call.headers = dict(call.headers, **{"X-Rate-Limit-Remaining": "0"})
            return _json(429, {"code": 44, "message": (
                f"You have made too many requests continuously: the limit is {limits.per_minute} "
                "requests per minute per organization. Please try again after some time.")})
        if fault.kind is FaultKind.TOKEN_REVOKED:
            if self._revoke_caller(request):
                fire(oid, fault.rule.label)
            err = errors.invalid_token()
            return _json(err.status, err.body())
        if fault.kind is FaultKind.DROP_BEFORE_WRITE:
            # The handler must not run: answer with a placeholder that `after` turns into a drop.
            return Response(b"", status_code=599)
        if fault.kind is FaultKind.LATENCY and fault.rule.latency_seconds > 0:
            scale = self.sandbox.clock.time_scale or 1.0
            fire(oid, fault.rule.label)
            await asyncio.sleep(fault.rule.latency_seconds / scale)
        return None

    async def after(self, org: OrgData | None, op_name: str, request: Request, response: Response) -> Response:
        call: _CallState = getattr(request.state, "ops_call", None) or _CallState(started=time.perf_counter())
        if org is None:
            org = call.org
        try:
            if org is not None:
                with self.sandbox.lock:
                    org.api_calls[op_name] += 1
            for name, value in call.headers.items():
                response.headers[name] = value
            if "retry-after" in response.headers:  # MutableHeaders has no pop() on Starlette 1.x
                del response.headers["retry-after"]
            fault = call.fault
            if fault is not None and fault.kind is FaultKind.DROP_BEFORE_WRITE and org is not None:
                self.faults.fire(org.organization_id, fault.rule.label)
                raise errors.ConnectionDropped(f"{op_name}: connection dropped before the request was handled")
            if fault is not None and fault.kind is FaultKind.MALFORMED and response.status_code < 400:
                if org is not None:
                    self.faults.fire(org.organization_id, fault.rule.label)
                body = truncate_body(bytes(getattr(response, "body", b"") or b""))
                headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
                response = Response(body, status_code=response.status_code, headers=headers,
                                    media_type=response.media_type or "application/json")
            poisoned = False
            if org is not None and op_name in POISONED_OPS and response.status_code == 200:
                response, poisoned = self._poison(org, response)
            self._log(org, op_name, request, response, call)
            deliberately_broken = poisoned or (fault is not None and fault.kind is FaultKind.MALFORMED)
            if not deliberately_broken:  # not Zoho's shape: kept out of the conformance recorder
                self._record(op_name, request, response)
            if fault is not None and fault.kind is FaultKind.DROP_AFTER_WRITE:
                if org is not None:  # fired as a drop after an APPLIED write only if the handler succeeded
                    applied = response.status_code < 400 and request.method.upper() in WRITE_METHODS
                    self.faults.fire(org.organization_id, fault.rule.label if applied else "drop_after_answer")
                raise errors.ConnectionDropped(f"{op_name}: accepted, then the connection was dropped")
            return response
        finally:
            if call.admitted and org is not None:
                self.limiter.release(org.organization_id)

    def token_expired(self, org_id: str) -> None:
        self.faults.fire(org_id, "token_expired")

    # ------------------------------------------------------------------ helpers
    def _poison(self, org: OrgData, response: Response) -> tuple[Response, bool]:
        """The reply with the organisation's planted malformations (see ``poison.py``)."""
        if not self.poison.active(org.organization_id):
            return response, False
        from .books.common import dumps, loads

        try:
            body = loads(bytes(getattr(response, "body", b"") or b""))
        except ValueError:
            return response, False
        if not self.poison.rewrite(org.organization_id, body):
            return response, False
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(dumps(body), status_code=response.status_code, headers=headers,
                        media_type=response.media_type or "application/json"), True

    def _count_429(self, org: OrgData, op_name: str) -> None:
        """Every 429 the sandbox answers (limit or injected burst), in total and by operation."""
        with self.sandbox.lock:
            org.http_429 += 1
            by_op = getattr(org, "http_429_by_op", None)
            if by_op is None:  # an organisation restored from an older snapshot
                from collections import Counter

                by_op = org.http_429_by_op = Counter()
            by_op[op_name] += 1

    def _implied_org(self, request: Request) -> OrgData | None:
        """The organisation a call without ``organization_id`` still concerns (``GET
        /organizations/{id}``, or one passing it anyway), so its reply carries the headers too."""
        org_id = (request.query_params.get("organization_id")
                  or request.headers.get("x-com-zoho-books-organizationid") or "").strip()
        if not org_id:
            match = re.search(r"/organizations/([^/]+)$", request.url.path)
            org_id = match.group(1) if match else ""
        return self.sandbox.orgs.get(org_id) if org_id else None

    def _revoke_caller(self, request: Request) -> bool:
        """Revoke the caller's access token and the refresh token that minted it (False: no such token)."""
        auth = request.headers.get("authorization", "")
        value = auth.split(" ", 1)[1].strip() if " " in auth else ""
        with self.sandbox.lock:
            token = self.sandbox.tokens.get(value)
            if token is None:
                return False
            token.revoked = True
            if token.parent and token.parent in self.sandbox.tokens:
                self.sandbox.tokens[token.parent].revoked = True
            return True

    def _log(self, org: OrgData | None, op_name: str, request: Request, response: Response,
             call: _CallState) -> None:
        entry = RequestLogEntry(
            at=self.sandbox.now().isoformat(), org_id=org.organization_id if org else None, op_name=op_name,
            method=request.method, path=request.url.path, query=request.url.query, status=response.status_code,
            fault=call.fault.kind.value if call.fault else None, limited=call.limited,
            seconds=round(time.perf_counter() - call.started, 6),
        )
        with self._log_lock:
            self.log.append(entry)

    def last_requests(self, n: int = 50, org_id: str | None = None) -> list[dict[str, Any]]:
        """The last ``n`` Books requests (newest last), optionally of one organisation."""
        with self._log_lock:
            entries = [e for e in self.log if org_id is None or e.org_id == org_id]
        return [e.as_dict() for e in entries[-n:]]

    def _record(self, op_name: str, request: Request, response: Response) -> None:
        targets = [r for r in (self.recorder, GLOBAL_RECORDER) if r is not None]
        if not targets:
            return
        body = getattr(response, "body", None)
        if body is None:
            return
        record = RecordedResponse(
            method=request.method, path=request.url.path, op_name=op_name, status=response.status_code,
            content_type=response.headers.get("content-type", ""), body=bytes(body),
        )
        for recorder in targets:
            recorder.add(record)

    # ------------------------------------------------------------------ stats
    def stats(self, org: OrgData) -> dict[str, Any]:
        """Counters benchmarks read: calls by op, 429s, faults injected, current windows."""
        limits = self.limits_for(org)
        with self.sandbox.lock:
            calls = dict(sorted(org.api_calls.items()))
            http_429 = org.http_429
            http_429_by_op = dict(sorted((getattr(org, "http_429_by_op", None) or {}).items()))
        return {
            "organization_id": org.organization_id,
            "plan": org.org.plan,
            "api_calls": calls,
            "total_calls": sum(calls.values()),
            "http_429": http_429,
            "http_429_by_op": http_429_by_op,
            "faults_injected": self.faults.injected(org.organization_id),
            "faults_fired": self.faults.fired(org.organization_id),
            "in_flight": self.limiter.in_flight(org.organization_id),
            "limits": {"per_minute": limits.per_minute, "daily": limits.daily,
                       "concurrency": limits.concurrency, "enabled": limits.enabled},
            "rate_limit_headers": self.limiter.headers(org.organization_id, limits),
        }

    def reset_stats(self, org: OrgData, reset_windows: bool = False) -> None:
        """Zero the counters of ``org``; with ``reset_windows`` also its rate-limit windows."""
        with self.sandbox.lock:
            org.api_calls.clear()
            org.http_429 = 0
            if getattr(org, "http_429_by_op", None) is not None:
                org.http_429_by_op.clear()
        if reset_windows:
            self.limiter.reset(org.organization_id)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body).encode(), status_code=status, media_type="application/json;charset=UTF-8")
