"""Issue 14: the connection's badge, banners, step markers and counts agree with the state
machine — no "connected" while Pending, no stale "Connected since", no "205 of 204"."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.domain.connection import ConnectionStatus
from ledgersync.store import orm
from ledgersync.web.connection_view import callback_message, clamp_progress, progress_text, steps
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD


@pytest.mark.parametrize("phase,expected", [
    (None, ["current", "", ""]), ("recent", ["current", "", ""]), ("history", ["done", "current", ""]),
    ("done", ["done", "done", "done"]),
])
def test_step_markers_follow_the_phase(phase: str | None, expected: list[str]) -> None:
    assert [s["state"] for s in steps(phase)] == expected


def test_counts_never_exceed_totals() -> None:
    p = clamp_progress({"phase": "history", "invoices_done": 205, "invoices_listed": 203, "invoices_total": 204,
                        "percent": 100.4})
    assert p is not None and (p["invoices_done"], p["invoices_total"], p["percent"]) == (204, 204, 100.0)
    grown = clamp_progress({"invoices_done": 205, "invoices_listed": 206, "invoices_total": 204, "percent": 99.0})
    assert grown is not None and (grown["invoices_done"], grown["invoices_total"]) == (205, 206)
    assert progress_text(p) == "204 of 204 invoices synced · syncing all history"


def test_no_connected_wording_unless_connected() -> None:
    for status in ConnectionStatus:
        said = callback_message(status.value).lower()
        assert (" connected" in said.replace("reconnected", "")) == (status == ConnectionStatus.PENDING), said
        if status == ConnectionStatus.PENDING:
            assert "pending" in said and "turns connected" in said


@pytest.fixture
def web(container: Container, partner: orm.Partner) -> TestClient:
    from ledgersync.web.app import create_app

    c = TestClient(create_app(container), base_url="http://testserver")
    assert c.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD},
                  follow_redirects=False).status_code == 303
    return c


def _connection(container: Container, partner: orm.Partner, status: str) -> None:
    with container.uow() as uow:
        uow.session.add(orm.Connection(partner_id=partner.id, provider="zoho_books", status=status,
                                       organization_id="700000001", organization_name="Acme Books",
                                       connected_at=datetime(2026, 11, 1, tzinfo=timezone.utc),
                                       initial_sync_phase="history" if status == "pending" else None))
        uow.commit()


@pytest.mark.parametrize("status", ["disconnected", "pending", "error", "reauth_required", "connected"])
def test_connected_since_only_when_connected(web: TestClient, container: Container, partner: orm.Partner,
                                             status: str) -> None:
    _connection(container, partner, status)
    page = web.get("/integrations").text
    assert ("Connected since" in page) == (status == "connected")
    badge = re.search(r'id="zoho-status">([^<]+)<', page)
    assert badge is not None and (badge.group(1) == "Connected") == (status == "connected")


def test_pending_page_marks_the_history_step(web: TestClient, container: Container, partner: orm.Partner) -> None:
    _connection(container, partner, "pending")
    page = web.get("/integrations").text
    current = re.findall(r'<li class="current" data-step="(\w+)"', page)
    assert current == ["history"], current


@pytest.mark.parametrize("status,says,never", [
    (None, "Integrations → Connect", "is connected"),
    ("pending", "Pending", "Integrations → Connect"),
    ("connected", "is connected to Acme Books", "Integrations → Connect"),
    ("reauth_required", "Reconnect", "is connected"),
])
def test_restart_banner_fits_the_state(container: Container, partner: orm.Partner, status: str | None, says: str,
                                       never: str) -> None:
    from ledgersync.cli import next_step_line

    if status:
        _connection(container, partner, status)
    line = next_step_line(container, partner.id)
    assert says in line and never not in line, line
