"""/metrics (process counters + ledger gauges read from the database), /readyz (each check can
fail on its own) and JSON logs with bound ids and no tokens."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal as D

import httpx
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.observability import logs, metrics
from ledgersync.observability.health import readiness
from ledgersync.settings import Settings
from ledgersync.web.app import create_app


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        exact = line.startswith(name + ("{" + want + "}" if labels else " "))
        if exact or (labels and line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items())):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_zoho_calls_are_counted_by_org_operation_and_status_with_429_and_budget():
    org = "org-metrics-test"
    request = httpx.Request("GET", f"http://zoho.test/books/v3/invoices/4000000123?organization_id={org}")
    before = metrics.ZOHO_CALLS.labels(org, "GET /invoices/{id}", "429")._value.get()
    metrics.count_zoho_response(httpx.Response(429, request=request, headers={
        "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Day-Remaining": "8123"}))
    metrics.count_zoho_response(httpx.Response(200, request=httpx.Request("POST", "http://zoho.test/oauth/v2/token")))
    assert metrics.ZOHO_CALLS.labels(org, "GET /invoices/{id}", "429")._value.get() == before + 1
    assert metrics.ZOHO_429.labels(org)._value.get() >= 1
    assert metrics.BUDGET_LEFT.labels(org, "day")._value.get() == 8123
    assert not [s for s in metrics.ZOHO_CALLS.collect()[0].samples if "oauth" in s.labels.get("operation", "")]


def test_metrics_page_shows_outbox_depth_push_latency_and_lag(container, sandbox_app):
    from ledgersync.services import payments as pay_svc
    from ledgersync.sync.push import PushConfig, drain_outbox
    from tests.push.world import build_world

    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("30.00")
    p = pay_svc.pay_invoices(container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D("30.00"))])
    pay_svc.settle(container, w.partner_id, p.id, "succeeded")
    with TestClient(create_app(container)) as client:
        before = client.get("/metrics").text
        assert sample(before, "ledgersync_outbox_depth", state="pending") == 1.0
        drain_outbox(container, w.connection_id, cfg=PushConfig(backoff_base_s=0.0, defer_s=0.0))
        after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    assert sample(text, "ledgersync_outbox_depth", state="done") == 1.0
    assert sample(text, "ledgersync_outbox_depth", state="pending") is None
    assert sample(text, "ledgersync_push_latency_seconds_count") == 1.0
    assert "ledgersync_sync_lag_max_seconds" in text and "ledgersync_task_duration_seconds" in text
    # the drain's Zoho calls went through the container's client: counted by organisation
    assert f'organization="{w.org.organization_id}"' in text and 'operation="POST /customerpayments"' in text


def test_readyz_is_ready_on_a_migrated_database(container):
    with TestClient(create_app(container)) as client:
        reply = client.get("/readyz")
        assert client.get("/healthz").json() == {"status": "ok"}
    assert reply.status_code == 200, reply.text
    assert reply.json()["checks"]["migrations"] == {"ok": True, "detail": "at head"}


def test_readyz_fails_without_migrations_or_broker(tmp_path, fernet_key):
    settings = Settings(_env_file=None, env="test", database_url=f"sqlite:///{tmp_path}/empty.db",  # type: ignore[call-arg]
                        token_encryption_key=fernet_key, scheduler="celery",
                        celery_broker_url="redis://127.0.0.1:1/0")
    container = Container(settings, run_migrations=False)
    try:
        ok, report = readiness(container)
        assert not ok
        assert report["database"]["ok"] and not report["migrations"]["ok"] and not report["broker"]["ok"]
        assert "ledgersync migrate" in report["migrations"]["detail"]
        with TestClient(create_app(container)) as client:
            assert client.get("/readyz").status_code == 503
    finally:
        container.close()


def test_json_logs_carry_bound_ids_and_never_a_token():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    try:
        logs.configure_logging("json", stream=stream)
        with logs.bound(partner_id="p-1", connection_id="c-1", run_id="r-1", intent_id="i-1"):
            logging.getLogger("ledgersync.test").info("calling with Zoho-oauthtoken 1000.%s", "a" * 32)
        logging.getLogger("ledgersync.test").info("after")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: first[k] for k in ("partner_id", "connection_id", "run_id", "intent_id")} == {
        "partner_id": "p-1", "connection_id": "c-1", "run_id": "r-1", "intent_id": "i-1"}
    assert "a" * 32 not in first["event"] and first["level"] == "info" and first["logger"] == "ledgersync.test"
    assert "connection_id" not in second  # unbound when the block ends


def test_metrics_require_the_bearer_token_when_one_is_set(container):  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    token = "m" * 40
    container.settings.metrics_token = SecretStr(token)
    try:
        with TestClient(create_app(container)) as client:
            assert client.get("/metrics").status_code == 401
            wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
            assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
            assert client.get("/metrics", headers={"Authorization": token}).status_code == 401  # no scheme
            good = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert good.status_code == 200 and "ledgersync_zoho_calls_total" in good.text
            assert client.get("/healthz").status_code == 200  # the probes stay open
    finally:
        container.settings.metrics_token = SecretStr("")
    with TestClient(create_app(container)) as client:
        assert client.get("/metrics").status_code == 200  # demo/test without a token: open


def test_a_workers_metrics_port_requires_the_token_too():
    import socket

    from ledgersync.workers.tasks import serve_metrics

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    token = "w" * 40
    port = serve_metrics(free, token=token, host="127.0.0.1")
    assert port is not None
    url = f"http://127.0.0.1:{port}/metrics"
    assert httpx.get(url, timeout=5).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    good = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert good.status_code == 200 and "ledgersync_task_duration_seconds" in good.text


def test_production_refuses_a_missing_or_short_metrics_token():
    problems = Settings(_env_file=None, env="production", metrics_token="short").unsafe_settings()  # type: ignore[call-arg]
    assert "LEDGERSYNC_METRICS_TOKEN is too short (5 characters, at least 32)" in problems
    assert "LEDGERSYNC_METRICS_TOKEN is not set" in Settings(_env_file=None, env="production").unsafe_settings()  # type: ignore[call-arg]
