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
    """The connection's current secret (at its rotation generation, as stored now)."""
    with container.uow() as uow:
        generation = uow.session.get(orm.Connection, conn.id).webhook_secret_generation  # type: ignore[union-attr]
    return webhook_auth.connection_webhook_secret(container.settings.webhook_secret.get_secret_value(),
                                                  conn.webhook_token, generation)


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


def _login(client: TestClient, name: str) -> None:
    r = client.post("/login", data={"email": f"{name.lower()}@hooks.test", "password": "hooks-password-1"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def test_rotating_the_secret_refuses_the_old_one_and_accepts_the_new(container: Container, client: TestClient,
                                                                     dispatcher: RecordingDispatcher) -> None:
    """Planted: a rotate that leaves the generation alone (old secret still accepted) fails here, and
    so does a receiver that checks generation 0 whatever the connection's (new secret refused)."""
    conn = _connection(container, "Rotor")
    old = _secret(container, conn)
    assert _post(client, conn, old, _event(1)).status_code == 202
    _login(client, "Rotor")
    r = client.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/integrations?reveal=webhook-secret")
    new = _secret(container, conn)
    assert new != old and len(new) == 64
    assert _post(client, conn, old, _event(2)).status_code == 401  # the old secret stops working at once
    assert _post(client, conn, new, _event(3)).status_code == 202  # the new one works, same URL
    assert [p[1] for p in dispatcher.pulls] == ["record:invoice:1001", "record:invoice:1003"]
    page = client.get(r.headers["location"])
    assert new in page.text and old not in page.text  # shown once, right after the rotation


def test_the_first_generation_keeps_the_secret_of_earlier_releases(container: Container) -> None:
    """Secrets partners already pasted into Zoho before rotation existed keep working after the upgrade."""
    import hashlib
    import hmac

    legacy = hmac.new(b"k" * 32, b"ledgersync-webhook:tok", hashlib.sha256).hexdigest()
    assert webhook_auth.connection_webhook_secret("k" * 32, "tok", 0) == legacy
    assert webhook_auth.connection_webhook_secret("k" * 32, "tok", 1) != legacy
    assert webhook_auth.secret_matches(legacy, "k" * 32, "tok", 0)
    assert not webhook_auth.secret_matches(legacy, "k" * 32, "tok", 1)


def test_the_last_delivery_and_its_outcome_are_noted(container: Container, client: TestClient) -> None:
    """What the admin's Webhooks panel shows: accepted, discarded (a repeat) and refused (wrong secret).
    Planted: the receiver not noting refusals leaves `accepted` after the bad-secret call."""
    from ledgersync.services.webhook_setup import webhook_setup

    conn = _connection(container, "Noted")
    assert webhook_setup(container, conn.partner_id).last_at is None  # type: ignore[union-attr]
    secret = _secret(container, conn)

    def last() -> str | None:
        setup = webhook_setup(container, conn.partner_id)
        assert setup is not None and (setup.last_outcome is None or setup.last_at is not None)
        return setup.last_outcome.value if setup.last_outcome else None

    assert _post(client, conn, secret, _event(1)).status_code == 202
    assert last() == "accepted"
    assert _post(client, conn, secret, _event(1)).status_code == 200
    assert last() == "duplicate"
    assert _post(client, conn, "wrong", _event(2)).status_code == 401
    assert last() == "bad_secret"
    assert _post(client, conn, secret, {"module": "invoice"}).status_code == 400
    assert last() == "bad_body"
    _login(client, "Noted")
    page = client.get("/integrations")
    assert "Refused: bad body" in page.text


def test_a_flood_of_refused_deliveries_writes_the_note_rarely(container: Container, client: TestClient) -> None:
    """Anyone who knows the URL can send refused requests: the note is rewritten at most once per
    NOTE_EVERY while the outcome is the same (planted: no throttle, the stamp moves every time)."""
    conn = _connection(container, "Flood")
    assert _post(client, conn, "wrong", _event(1)).status_code == 401
    with container.uow() as uow:
        first = uow.session.get(orm.Connection, conn.id).webhook_last_at  # type: ignore[union-attr]
    for i in range(5):
        assert _post(client, conn, "wrong", _event(i)).status_code == 401
    with container.uow() as uow:
        assert uow.session.get(orm.Connection, conn.id).webhook_last_at == first  # type: ignore[union-attr]


def test_webhook_secrets_never_reach_the_logs(container: Container, client: TestClient,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """Revealing, rotating, a refused and an accepted delivery: neither the old nor the new secret is
    logged, at any level (planted: the rotation logging the new secret is caught), and the header
    is redacted if some message carried it."""
    import logging

    from ledgersync.zoho.tokens import redact

    caplog.set_level(logging.DEBUG)
    conn = _connection(container, "Quiet")
    old = _secret(container, conn)
    _login(client, "Quiet")
    assert old in client.get("/integrations?reveal=webhook-secret").text
    assert client.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"}).status_code == 200
    new = _secret(container, conn)
    assert _post(client, conn, old, _event(1)).status_code == 401
    assert _post(client, conn, new, _event(2)).status_code == 202
    assert "webhook secret rotated" in caplog.text  # the rotation is logged, without the secret
    assert old not in caplog.text and new not in caplog.text
    line = f"delivery headers {webhook_auth.SECRET_HEADER}: {new}; json {{\"webhook_secret\": \"{new}\"}}"
    assert new not in redact(line)
