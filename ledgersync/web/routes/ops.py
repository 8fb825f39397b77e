"""Operations endpoints: `/metrics` (Prometheus), `/readyz` (database, broker, migrations).

`/healthz` (the process answers) lives in `ledgersync.web.app`. `/metrics` serves this process's
counters (Zoho calls it made, by organisation and operation; 429s; budget left) and the ledger's
gauges read from the database now (sync lag per stream, outbox depth by state, push latency of
the last hour, open per-record errors). Celery workers serve their own counters on their port.
Neither endpoint shows partner data beyond Zoho organisation ids. `/metrics` (here and on the
workers) requires `Authorization: Bearer $LEDGERSYNC_METRICS_TOKEN` when that setting is set,
which production mode requires; keep both on the internal network all the same.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.responses import Response

from ledgersync.observability import metrics
from ledgersync.observability.health import readiness

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics_page(request: Request) -> Response:
    container = request.app.state.container
    if not metrics.bearer_ok(request.headers.get("authorization"),
                             container.settings.metrics_token.get_secret_value()):
        return Response("metrics token required\n", status_code=401, headers={"WWW-Authenticate": "Bearer"},
                        media_type="text/plain")
    ledger = CollectorRegistry(auto_describe=False)
    ledger.register(metrics.LedgerCollector(container))
    body = generate_latest(metrics.REGISTRY) + generate_latest(ledger)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    ok, report = readiness(request.app.state.container)
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": report}, status_code=200 if ok else 503)
