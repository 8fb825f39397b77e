"""Zoho outages pause a stream with a short backoff and the sync resumes by itself; the
connection's health follows (Error past a threshold, back by itself); one e-mail per incident
and one when it is resolved, caught by a local SMTP server (aiosmtpd) on a free port."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import zohobooks_sandbox as zs
from ledgersync.store.orm import Connection, ConnectionAlert, SyncCursor, SyncError, SyncRun, User
from ledgersync.sync import alerts
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.service import sync_connection
from ledgersync.workers.embedded import EmbeddedScheduler
from ledgersync.zoho import StaticTokenProvider, ZohoBooks
from tests.pull.harness import BASE


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes

        msg = message_from_bytes(envelope.content)
        self.messages.append({"to": ",".join(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                              "body": msg.get_payload(decode=True).decode()})
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox(container, partner) -> Iterator[Inbox]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    container.settings.smtp_url = f"smtp://127.0.0.1:{controller.port}"
    container.settings.base_url = "https://app.example.test"
    with container.uow() as uow:  # the partner fixture's user is the recipient
        assert uow.session.execute(select(User.email).where(User.partner_id == partner.id)).scalars().all() \
            == ["owner@msp.test"]
    yield box
    controller.stop()
    container.settings.smtp_url = None


def _status(container, connection_id) -> tuple[str, str | None]:
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        return conn.status, conn.status_detail


def _storm(zoho, kind: str, calls: int, **extra) -> None:
    zoho.admin("POST", f"/orgs/{zoho.org_id}/faults/script",
               [{"kind": kind, "methods": ["read"], **extra} for _ in range(calls)])


@pytest.mark.parametrize(("kind", "extra", "reason"), [
    ("server_error", {"status": 503}, "Zoho is failing (HTTP 503"),
    ("malformed", {}, "Zoho sent an unreadable answer (GET /contacts: unreadable answer from Zoho)"),
])
def test_a_storm_fails_the_run_with_its_reason_and_a_retry_in_seconds(container, connection_id, zoho, kind, extra,
                                                                        reason):
    run_initial_sync(container, connection_id)
    _storm(zoho, kind, 50, **extra)
    before = datetime.now(timezone.utc)
    results = sync_connection(container, connection_id)
    assert [r.status for r in results] == ["failed"]  # the other streams wait for the retry
    assert reason in results[0].message and "retrying at" in results[0].message
    with container.uow() as uow:
        cursor = uow.session.get(SyncCursor, (connection_id, "customers"))
        delay = (cursor.next_run_at - before).total_seconds()
        from ledgersync.sync.health import outage

        assert outage(uow.session, connection_id) == results[0].message
    assert 25 <= delay <= 60  # seconds, not "the next hourly run"
    assert _status(container, connection_id)[0] == "connected"  # one failure is not an incident


@pytest.mark.parametrize("kind", ["server_error", "rate_limit", "refused", "timeout"])
def test_the_initial_sync_resumes_by_itself_after_an_outage(container, partner, zoho, kind, monkeypatch):
    """The embedded scheduler (real threads) picks the failed stream up at its `next_run_at`."""
    from tests.pull.harness import connect_platform

    connection_id = connect_platform(container, partner.id, zoho)
    monkeypatch.setattr(container.settings, "pull_retry_base_s", 0.05)
    monkeypatch.setattr(container.settings, "pull_retry_max_s", 0.5)
    failing = {"left": 12}
    if kind in ("server_error", "rate_limit"):
        _storm(zoho, kind, failing["left"], **({"status": 503} if kind == "server_error" else {}))
    else:
        inner = zs.SandboxTransport(zoho.app)

        class Flaky(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if failing["left"] > 0:
                    failing["left"] -= 1
                    if kind == "refused":
                        raise httpx.ConnectError("connection refused", request=request)
                    raise httpx.ReadTimeout("timed out", request=request)
                return inner.handle_request(request)

        clock = zoho.sandbox.clock
        books = ZohoBooks(httpx.Client(transport=Flaky()), api_domain=BASE, organization_id=zoho.org_id,
                          tokens=StaticTokenProvider(zoho.token), limiter=zoho.limiter, sleep=clock.advance)
        container.books_factory = lambda _c, _cid: books
    scheduler = EmbeddedScheduler(container, tick_s=0.05).start()
    try:
        deadline = time.monotonic() + 120
        while _status(container, connection_id)[0] != "connected":
            assert time.monotonic() < deadline, "the sync did not resume by itself"
            time.sleep(0.05)
        assert scheduler.wait_idle(60)
    finally:
        scheduler.stop()
    with container.uow() as uow:
        runs = uow.session.execute(select(SyncRun.status, SyncRun.message)).all()
    failed = [m for s, m in runs if s == "failed"]
    assert failed and all("retrying at" in m for m in failed)
    assert not [s for s, _ in runs if s == "running"]
    assert len(zoho.org.invoices) == _invoice_count(container)


def _invoice_count(container) -> int:
    from sqlalchemy import func

    from ledgersync.store.orm import Invoice

    with container.uow() as uow:
        return uow.session.execute(select(func.count()).select_from(Invoice)).scalar_one()


def test_failing_past_the_threshold_is_an_incident_told_once_and_resolved_once(container, connection_id, zoho, inbox):
    run_initial_sync(container, connection_id)
    assert inbox.messages == []
    _storm(zoho, "server_error", 400, status=503)
    for attempt in range(5):  # five failed retries: one incident, one e-mail
        sync_connection(container, connection_id)
        status, detail = _status(container, connection_id)
        assert status == ("error" if attempt >= 2 else "connected"), attempt
    assert "Zoho is failing (HTTP 503" in detail
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["to"] == "owner@msp.test" and "keeps failing" in mail["subject"]
    assert "https://app.example.test/integrations" in mail["body"] and "HTTP 503" in mail["body"]
    with container.uow() as uow:
        assert [b["kind"] for b in alerts.banners(uow.session, uow.session.get(Connection, connection_id).partner_id)] \
            == ["failing"]

    zoho.admin("DELETE", f"/orgs/{zoho.org_id}/faults")
    sync_connection(container, connection_id)
    assert _status(container, connection_id) == ("connected", None)
    assert len(inbox.messages) == 2 and inbox.messages[1]["subject"].startswith("[ledgersync] Resolved:")
    sync_connection(container, connection_id)
    assert len(inbox.messages) == 2


def test_a_revoked_token_needs_reauthorization_with_one_mail(container, connection_id, zoho, inbox):
    from ledgersync.sync.health import auth_lost

    run_initial_sync(container, connection_id)
    auth_lost(container, connection_id, "Zoho refused the stored authorization (revoked or replaced).")
    auth_lost(container, connection_id, "again")
    assert _status(container, connection_id) == ("reauth_required",
                                                 "Zoho refused the stored authorization (revoked or replaced).")
    assert len(inbox.messages) == 1 and "reconnected" in inbox.messages[0]["subject"]
    assert "https://app.example.test/integrations" in inbox.messages[0]["body"]


def test_records_failing_for_a_day_are_an_incident(container, connection_id, zoho, inbox):
    run_initial_sync(container, connection_id)
    with container.uow() as uow:
        uow.session.add(SyncError(connection_id=connection_id, stream="invoices", zoho_id="42", message="bad",
                                  created_at=datetime.now(timezone.utc) - timedelta(days=1, minutes=1)))
        uow.commit()
    alerts.evaluate(container, connection_id)
    alerts.evaluate(container, connection_id)
    assert len(inbox.messages) == 1 and "could not be synced for a day" in inbox.messages[0]["subject"]
    assert "https://app.example.test/sync-log" in inbox.messages[0]["body"]
    with container.uow() as uow:
        for e in uow.session.execute(select(SyncError)).scalars():
            e.resolved_at = datetime.now(timezone.utc)
        uow.commit()
    alerts.evaluate(container, connection_id)
    assert len(inbox.messages) == 2 and "Resolved" in inbox.messages[1]["subject"]
    with container.uow() as uow:
        rows = uow.session.execute(select(ConnectionAlert)).scalars().all()
        assert len(rows) == 1 and rows[0].resolved_notified_at is not None


def test_nothing_is_sent_without_smtp_url(container, connection_id, zoho):
    from ledgersync.sync.health import auth_lost

    run_initial_sync(container, connection_id)
    assert container.settings.smtp_url is None
    auth_lost(container, connection_id, "revoked")
    with container.uow() as uow:
        row = uow.session.execute(select(ConnectionAlert)).scalar_one()
        assert row.kind == "reauth_required" and row.notified_at is None
