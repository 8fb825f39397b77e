"""The operator console: staff-only (its own accounts and sessions), every connection with its
health figures, search and sort, "Sync now" and "Retry failed pushes" per connection."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from ledgersync.services import operator_console, partners, staff
from ledgersync.services.errors import Conflict, InvalidInput
from ledgersync.store import orm
from ledgersync.web.app import create_app

NOW = datetime.now(timezone.utc)


@pytest.fixture
def two_partners(container):  # type: ignore[no-untyped-def]
    """Acme (healthy, synced 10 min ago) and Zeta (in error, 3 open errors, an alert sent, 2 failed pushes)."""
    ids = {}
    for name, status in (("Acme MSP", "connected"), ("Zeta MSP", "error")):
        p = partners.create_partner(container, name=name, email=f"{name.split()[0].lower()}@msp.test",
                                    password="partner-pass-1234").partner
        with container.uow() as uow:
            conn = orm.Connection(partner_id=p.id, status=status, organization_id=f"org-{name[:4]}",
                                  organization_name=f"{name} Books", initial_sync_phase="done")
            uow.session.add(conn)
            uow.session.flush()
            ids[name] = (p.id, conn.id)
            uow.commit()
    acme, zeta = ids["Acme MSP"][1], ids["Zeta MSP"][1]
    with container.uow() as uow:
        s = uow.session
        s.add(orm.SyncRun(connection_id=acme, stream="invoices", status="succeeded", calls=7,
                          started_at=NOW - timedelta(minutes=11), finished_at=NOW - timedelta(minutes=10)))
        s.add(orm.SyncRun(connection_id=acme, stream="push", trigger="push", status="succeeded", calls=3,
                          started_at=NOW - timedelta(minutes=30), finished_at=NOW - timedelta(minutes=30)))
        s.add(orm.SyncRun(connection_id=acme, stream="invoices", status="succeeded", calls=500,  # yesterday's window
                          started_at=NOW - timedelta(days=3), finished_at=NOW - timedelta(days=3)))
        s.add(orm.SyncRun(connection_id=zeta, stream="invoices", status="failed",
                          started_at=NOW - timedelta(minutes=5), finished_at=NOW - timedelta(minutes=5)))
        for i in range(3):
            s.add(orm.SyncError(connection_id=zeta, stream="invoices", zoho_id=str(i), message="bad record"))
        s.add(orm.ConnectionAlert(connection_id=zeta, partner_id=ids["Zeta MSP"][0], kind="sync_failing",
                                  notified_at=NOW))
        for i in range(2):
            s.add(orm.PushIntent(key=f"ls:pay:test{i}", partner_id=ids["Zeta MSP"][0], connection_id=zeta,
                                 kind="payment", subject_id=f"test{i}", state="failed", last_error="refused"))
        s.commit()
    return {"acme": acme, "zeta": zeta}


def staff_client(container):  # type: ignore[no-untyped-def]
    staff.create_staff(container, "ops@ledgersync.test", "staff-pass-123456")
    client = TestClient(create_app(container))
    assert client.post("/ops/login", data={"email": "ops@ledgersync.test", "password": "wrong-password-1"},
                       follow_redirects=False).status_code == 401
    assert client.post("/ops/login", data={"email": "OPS@ledgersync.test", "password": "staff-pass-123456"},
                       follow_redirects=False).status_code == 303
    return client


def order_of(html: str) -> list[str]:
    return re.findall(r"<td>(\w+ MSP)<br>", html)


def test_console_lists_every_connection_with_its_figures_search_and_sort(container, two_partners):
    client = staff_client(container)
    page = client.get("/ops")
    assert page.status_code == 200
    assert order_of(page.text) == ["Acme MSP", "Zeta MSP"]
    zeta_row = page.text.split(f'data-connection="{two_partners["zeta"]}"')[1].split("</tr>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", zeta_row)
    assert cells[:2] == ["error", "never"] and cells[-3:] == ["3", "1", "2"]  # errors, alerts sent, failed pushes
    acme_row = page.text.split(f'data-connection="{two_partners["acme"]}"')[1].split("</tr>")[0]
    lag = re.search(r"<td>(\d+) min</td>", acme_row)
    assert lag is not None and int(lag.group(1)) >= 10  # synced 10 minutes before the fixture ran
    assert order_of(client.get("/ops", params={"sort": "open_errors", "desc": "1"}).text) == ["Zeta MSP", "Acme MSP"]
    assert order_of(client.get("/ops", params={"sort": "lag_s"}).text) == ["Acme MSP", "Zeta MSP"]  # never synced last
    assert order_of(client.get("/ops", params={"q": "zeta books"}).text) == []
    assert order_of(client.get("/ops", params={"q": "ERROR"}).text) == ["Zeta MSP"]


def test_calls_used_and_left_are_the_per_purpose_counters_not_a_limiter(container, two_partners):
    """Every worker's calls are in the run rows; a process's limiter may have seen none of them."""

    class BlindLimiter:
        def budget_status(self, organization_id: str) -> object:
            raise AssertionError("the console must read the counters, not the limiter")

    container.rate_limiter = BlindLimiter()
    rows = {r.connection_id: r for r in operator_console.rows(container)}
    acme, zeta = rows[two_partners["acme"]], rows[two_partners["zeta"]]
    assert (acme.calls_used, acme.calls_left) == (10, 9990)  # 7 + 3 today; the 500 of 3 days ago are not
    assert (zeta.calls_used, zeta.calls_left) == (0, 10000)


def test_sync_now_and_retry_failed_pushes(container, two_partners):
    asked: list[tuple[str, str | None, str]] = []
    container.dispatcher = type("D", (), {"pull_requested": lambda self, *a: asked.append(a),
                                          "push_requested": lambda self, *a: None,
                                          "notify": lambda self, *a: None})()
    client = staff_client(container)
    assert client.post(f"/ops/connections/{two_partners['acme']}/sync-now", follow_redirects=False).status_code == 303
    assert asked == [(two_partners["acme"], None, "manual")]
    reply = client.post(f"/ops/connections/{two_partners['zeta']}/retry-failed")
    assert "2 failed pushes queued again." in reply.text
    with container.uow() as uow:
        states = {i.key: i.state for i in uow.session.query(orm.PushIntent).all()}
    assert states == {"ls:pay:test0": "pending", "ls:pay:test1": "pending"}


def test_staff_and_partner_logins_do_not_open_each_others_pages(container, two_partners):
    outsider = TestClient(create_app(container))
    assert outsider.get("/ops", follow_redirects=False).headers["location"] == "/ops/login"
    assert outsider.post(f"/ops/connections/{two_partners['acme']}/sync-now",
                         follow_redirects=False).headers["location"] == "/ops/login"
    assert outsider.post("/login", data={"email": "acme@msp.test", "password": "partner-pass-1234"},
                         follow_redirects=False).status_code == 303
    assert outsider.get("/ops", follow_redirects=False).status_code == 303  # a partner is not staff
    assert outsider.post("/ops/login", data={"email": "acme@msp.test", "password": "partner-pass-1234"},
                         follow_redirects=False).status_code == 401
    client = staff_client(container)
    assert client.get("/invoices", follow_redirects=False).status_code == 303  # staff is not a partner
    client.post("/ops/logout")
    assert client.get("/ops", follow_redirects=False).status_code == 303


def test_staff_accounts_are_checked_and_sessions_end(container):
    with pytest.raises(InvalidInput):
        staff.create_staff(container, "ops@x.test", "short")
    staff.create_staff(container, "ops@x.test", "long-enough-pass")
    with pytest.raises(Conflict):
        staff.create_staff(container, "OPS@x.test", "long-enough-pass")
    token = staff.log_in(container, "ops@x.test", "long-enough-pass")
    assert staff.staff_of(container, token) is not None
    with container.uow() as uow:
        row = uow.session.query(orm.StaffSession).one()
        row.last_seen_at = NOW - staff.IDLE - timedelta(minutes=1)
        uow.commit()
    assert staff.staff_of(container, token) is None  # idle too long
