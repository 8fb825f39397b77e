"""Prometheus metrics (prometheus-client), safe with many processes.

Two kinds, so no process ever has to merge another's counters:

- *Process counters* — Zoho calls by organisation and operation, 429s, the budget Zoho reports
  left, task durations — live in the process that made the call (a web process, each Celery
  worker). A worker serves its own `/metrics` on `LEDGERSYNC_METRICS_PORT` (+ its index when
  several run on one host); Prometheus scrapes every worker like any other target. Zoho calls are
  counted by an httpx response hook on the process's Zoho HTTP client: every call, whichever part
  made it, without touching the connector.
- *Ledger gauges* — sync lag per stream, outbox depth by state, push latency of the last hour,
  per-record errors — are read from the database at scrape time by `LedgerCollector` (the web
  process's `/metrics`): one set of true values however many workers write the tables.
"""

from __future__ import annotations

import hmac
import re
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from ledgersync.store.uow import SqlAlchemyUnitOfWork

REGISTRY = CollectorRegistry(auto_describe=True)

ZOHO_CALLS = Counter("ledgersync_zoho_calls_total", "Zoho Books API calls made by this process",
                     ["organization", "operation", "status"], registry=REGISTRY)
ZOHO_429 = Counter("ledgersync_zoho_http_429_total", "Zoho answers 429 (rate or concurrency limit)",
                   ["organization"], registry=REGISTRY)
BUDGET_LEFT = Gauge("ledgersync_zoho_budget_remaining", "Calls Zoho reports left (X-Rate-Limit-*), by window",
                    ["organization", "window"], registry=REGISTRY)
TASK_SECONDS = Histogram("ledgersync_task_duration_seconds", "Celery task run time", ["task", "outcome"],
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900), registry=REGISTRY)

PUSH_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 1800)
_ID = re.compile(r"/\d{3,}(?=/|$)")


def bearer_ok(authorization: str | None, token: str) -> bool:
    """`/metrics` access: True when no token is configured (demo/test) or the request's
    `Authorization: Bearer <token>` matches it (constant-time compare)."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_wsgi_app(token: str) -> Any:
    """The worker's `/metrics` (process counters), refusing a request without the bearer token."""
    from prometheus_client import make_wsgi_app

    inner = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not bearer_ok(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"metrics token required\n"]
        return inner(environ, start_response)

    return app


def operation_of(method: str, path: str) -> str:
    """`GET /books/v3/invoices/{id}` — ids folded so the label set stays small."""
    tail = path.split("/books/v3", 1)[-1] or "/"
    return f"{method} {_ID.sub('/{id}', tail)}"


def count_zoho_response(response: httpx.Response) -> None:
    """httpx response hook: one Zoho Books call (OAuth and other hosts' calls are not counted)."""
    request = response.request
    path = request.url.path
    if "/books/v3" not in path:
        return
    org = request.url.params.get("organization_id") or request.headers.get("x-com-zoho-books-organizationid") or ""
    ZOHO_CALLS.labels(org, operation_of(request.method, path), str(response.status_code)).inc()
    if response.status_code == 429:
        ZOHO_429.labels(org).inc()
    for window, header in (("minute", "x-rate-limit-remaining"), ("day", "x-rate-limit-day-remaining")):
        value = response.headers.get(header)
        if value is not None and value.lstrip("-").isdigit() and org:
            BUDGET_LEFT.labels(org, window).set(int(value))


class HttpHooks(Protocol):
    """Where the process's Zoho HTTP client takes response hooks (the composition root)."""

    def add_http_response_hook(self, hook: Callable[[httpx.Response], None]) -> None: ...


class Transactional(Protocol):
    """Opens a unit of work (the composition root; read-only use here)."""

    def uow(self) -> SqlAlchemyUnitOfWork: ...


def instrument_http(container: HttpHooks) -> None:
    """Count every Zoho call of the container's shared HTTP client (the hook is added once)."""
    container.add_http_response_hook(count_zoho_response)


class LedgerCollector(Collector):
    """Gauges read from the database at scrape time (the web process's `/metrics`)."""

    def __init__(self, container: Transactional) -> None:
        self.container = container

    def collect(self) -> Iterator[Any]:
        from sqlalchemy import func, select

        from ledgersync.store.orm import PushIntent, SyncError, SyncRun

        now = datetime.now(timezone.utc)
        with self.container.uow() as uow:
            s = uow.session
            depth = s.execute(select(PushIntent.state, func.count()).group_by(PushIntent.state)).all()
            last_ok = s.execute(select(SyncRun.stream, SyncRun.connection_id, func.max(SyncRun.finished_at)).where(
                SyncRun.status == "succeeded").group_by(SyncRun.stream, SyncRun.connection_id)).all()
            done = s.execute(select(PushIntent.created_at, PushIntent.done_at).where(
                PushIntent.done_at.is_not(None), PushIntent.done_at >= now - timedelta(hours=1))).all()
            errors = s.execute(select(SyncError.stream, func.count()).where(SyncError.resolved_at.is_(None))
                               .group_by(SyncError.stream)).all()
        outbox = GaugeMetricFamily("ledgersync_outbox_depth", "Push intents by state", labels=["state"])
        for state, n in depth:
            outbox.add_metric([state], n)
        yield outbox
        yield from _lag_families(last_ok, now)
        yield _push_histogram(done)
        open_errors = GaugeMetricFamily("ledgersync_sync_record_errors_open", "Per-record sync errors not resolved",
                                        labels=["stream"])
        for stream, n in errors:
            open_errors.add_metric([stream], n)
        yield open_errors


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _lag_families(rows: Iterable[tuple[str, str, datetime | None]], now: datetime) -> Iterator[GaugeMetricFamily]:
    """Seconds since each connection's last good run of a stream, as max and median per stream."""
    by_stream: dict[str, list[float]] = {}
    for stream, _conn, at in rows:
        if at is not None and stream != "push":
            by_stream.setdefault(stream, []).append((now - _aware(at)).total_seconds())
    worst = GaugeMetricFamily("ledgersync_sync_lag_max_seconds", "Longest time since a connection's last good run",
                              labels=["stream"])
    median = GaugeMetricFamily("ledgersync_sync_lag_median_seconds", "Median time since the last good run",
                               labels=["stream"])
    for stream, lags in sorted(by_stream.items()):
        worst.add_metric([stream], max(lags))
        median.add_metric([stream], statistics.median(lags))
    yield worst
    yield median


def _push_histogram(rows: Iterable[tuple[datetime, datetime | None]]) -> HistogramMetricFamily:
    """Outbox row created (the payment settled) to done (in Zoho), pushes finished in the last hour."""
    values = [(_aware(done) - _aware(created)).total_seconds() for created, done in rows if done is not None]
    buckets = [(str(b), sum(1 for v in values if v <= b)) for b in PUSH_BUCKETS] + [("+Inf", len(values))]
    family = HistogramMetricFamily("ledgersync_push_latency_seconds",
                                   "Settled to written in Zoho, pushes done in the last hour")
    family.add_metric([], buckets, sum(values))
    return family


class timed:
    """`with timed("ledgersync.pull_stream"):` observes the task duration with its outcome."""

    def __init__(self, task: str) -> None:
        self.task = task

    def __enter__(self) -> timed:
        self.started = time.perf_counter()
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        outcome = "ok" if exc_type is None else exc_type.__name__
        TASK_SECONDS.labels(self.task, outcome).observe(time.perf_counter() - self.started)
