"""The webhook receiver: a secret per connection, capped bodies, required event_time, pruning
(`sync/pull/webhook_events.py`), and a bounded number of Zoho re-reads per connection and minute.

Drives the real app over HTTP (TestClient) with a recording dispatcher in place of the
scheduler, so each accepted webhook is one recorded re-read request — what would cost Zoho calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgersync.bootstrap import Container
from ledgersync.domain import webhook_auth
from ledgersync.services import partners
from ledgersync.store import orm


class RecordingDispatcher:
    def __init__(self) -> None:
        self.pulls: list[tuple[str, str | None, str]] = []

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None:
        self.pulls.append((connection_id, stream, trigger))

    def push_requested(self, connection_id: str) -> None: ...

    def notify(self, partner_id: str) -> None: ...


def _install_dispatcher(container: Container, dispatcher: RecordingDispatcher) -> None:
    container.dispatcher = dispatcher


def _connection(container: Container, name: str) -> orm.Connection:
    partner = partners.create_partner(container, name=name, email=f"{name.lower()}@hooks.test",
                                      password="hooks-password-1").partner
    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner.id, provider="zoho_books", status="connected", plan="premium",
                              organization_id=f"org-{name}")
        uow.session.add(conn)
        uow.commit()
        uow.session.expunge(conn)
    return conn


@pytest.fixture
def dispatcher(container: Container) -> RecordingDispatcher:
    d = RecordingDispatcher()
    _install_dispatcher(container, d)
    return d


@pytest.fixture
def client(container: Container, dispatcher: RecordingDispatcher) -> Iterator[TestClient]:
    from ledgersync.web.app import create_app

    with TestClient(create_app(container)) as c:
        yield c


def _secret(container: Container, conn: orm.Connection) -> str:
    return webhook_auth.connection_webhook_secret(container.settings.webhook_secret.get_secret_value(),
                                                  conn.webhook_token)


def _event(n: int, **extra: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")
    return {"module": "invoice", "event": "update", "delivery_id": f"d-{n}", "event_time": now,
            "invoice": {"invoice_id": str(1000 + n)}, **extra}


def _post(client: TestClient, conn: orm.Connection, secret: str, body: Any, **kw: Any) -> Any:
    return client.post(f"/webhooks/zoho/{conn.webhook_token}", headers={webhook_auth.SECRET_HEADER: secret},
                       content=body if isinstance(body, bytes) else json.dumps(body), **kw)


def test_each_connection_has_its_own_secret(container: Container, client: TestClient,
                                            dispatcher: RecordingDispatcher) -> None:
    a, b = _connection(container, "Alpha"), _connection(container, "Beta")
    assert _secret(container, a) != _secret(container, b)
    assert _post(client, b, _secret(container, a), _event(1)).status_code == 401  # A's secret on B's URL
    deployment = container.settings.webhook_secret.get_secret_value()
    assert _post(client, b, deployment, _event(2)).status_code == 401  # the deployment secret itself neither
    assert _post(client, b, _secret(container, b), _event(3)).status_code == 202
    assert [p[0] for p in dispatcher.pulls] == [b.id]


def test_body_over_the_cap_is_refused_with_413(container: Container, client: TestClient,
                                               dispatcher: RecordingDispatcher) -> None:
    conn = _connection(container, "Big")
    pad = "x" * (webhook_auth.MAX_BODY_BYTES + 1)
    assert _post(client, conn, _secret(container, conn), _event(1, pad=pad)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while streaming
        yield b'{"pad": "'
        for _ in range(webhook_auth.MAX_BODY_BYTES // 1024 + 2):
            yield b"y" * 1024
        yield b'"}'

    r = client.post(f"/webhooks/zoho/{conn.webhook_token}", content=chunks(),
                    headers={webhook_auth.SECRET_HEADER: _secret(container, conn)})
    assert r.status_code == 413
    assert dispatcher.pulls == []


@pytest.mark.parametrize("event_time", [None, "", "not a time", "99999999999999999999", "1e30"])
def test_event_time_is_required_and_must_parse(container: Container, client: TestClient,
                                               dispatcher: RecordingDispatcher, event_time: Any) -> None:
    conn = _connection(container, "Timely")
    body = _event(1)
    if event_time is None:
        del body["event_time"]
    else:
        body["event_time"] = event_time
    assert _post(client, conn, _secret(container, conn), body).status_code == 400
    assert dispatcher.pulls == []


def test_hostile_bodies_answer_4xx(container: Container, client: TestClient) -> None:
    conn = _connection(container, "Hostile")
    secret = _secret(container, conn)
    for body in (b"[1,2]", b"\xff\xfe", b'{"a":' * 5000, b"null", b'"text"'):
        assert _post(client, conn, secret, body).status_code == 400, body[:20]


def test_reads_per_connection_and_minute_are_bounded(container: Container, client: TestClient,
                                                     dispatcher: RecordingDispatcher) -> None:
    busy, calm = _connection(container, "Busy"), _connection(container, "Calm")
    statuses = [_post(client, busy, _secret(container, busy), _event(i)).status_code
                for i in range(webhook_auth.PULLS_PER_MINUTE + 5)]
    assert statuses.count(202) == webhook_auth.PULLS_PER_MINUTE and statuses[-5:] == [429] * 5
    assert len(dispatcher.pulls) == webhook_auth.PULLS_PER_MINUTE
    assert _post(client, calm, _secret(container, calm), _event(1)).status_code == 202  # per connection


def test_old_deduplication_rows_are_pruned(container: Container, client: TestClient) -> None:
    conn = _connection(container, "Pruned")
    from ledgersync.sync.pull.webhook_events import WINDOW

    assert WINDOW > webhook_auth.MAX_AGE + webhook_auth.MAX_SKEW  # a pruned row could never match a fresh event
    old = datetime.now(timezone.utc) - WINDOW - timedelta(minutes=1)
    with container.uow() as uow:
        uow.session.add_all([orm.WebhookEvent(connection_id=conn.id, event_key=f"{conn.id}:old-{i}", received_at=old)
                             for i in range(3)])
        uow.commit()
    assert _post(client, conn, _secret(container, conn), _event(1)).status_code == 202
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.WebhookEvent)) == 1


def test_webhook_info_cli_prints_the_connections_own_secret(container: Container, tmp_path: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ledgersync import cli
    from ledgersync.settings import get_settings

    conn = _connection(container, "Cli")
    monkeypatch.setenv("LEDGERSYNC_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("LEDGERSYNC_WEBHOOK_SECRET", container.settings.webhook_secret.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["webhook-info", "--partner-email", "cli@hooks.test"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"/webhooks/zoho/{conn.webhook_token}" in result.output
    assert _secret(container, conn) in result.output
