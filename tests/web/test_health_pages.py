"""What the pages say while Zoho fails (Integrations, Sync log) and the incident banner with
its action (every page)."""

from __future__ import annotations

from datetime import datetime, timezone

from ledgersync.store.orm import Connection, ConnectionAlert, SyncRun

OUTAGE = "Zoho is not answering (connection refused); retrying at 14:03:10 UTC"


def _connection(container, partner, status="connected"):
    with container.uow() as uow:
        conn = Connection(partner_id=partner.id, status=status, organization_id="1", api_domain="http://z.test",
                          initial_sync_phase="done", status_detail="Zoho refused the stored authorization.")
        uow.session.add(conn)
        uow.commit()
        return conn.id


def test_outage_shown_on_integrations_and_sync_log_until_a_run_gets_through(container, partner, logged_in):
    conn_id = _connection(container, partner)
    with container.uow() as uow:
        uow.session.add(SyncRun(connection_id=conn_id, stream="invoices", status="failed", message=OUTAGE,
                                finished_at=datetime.now(timezone.utc)))
        uow.commit()
    for page in ("/integrations", "/sync-log"):
        html = logged_in.get(page).text
        assert 'id="sync-outage"' in html and "retrying at 14:03:10 UTC" in html, page
    assert 'id="sync-outage"' not in logged_in.get("/invoices").text
    with container.uow() as uow:
        uow.session.add(SyncRun(connection_id=conn_id, stream="invoices", status="succeeded",
                                started_at=datetime.now(timezone.utc), finished_at=datetime.now(timezone.utc)))
        uow.commit()
    assert 'id="sync-outage"' not in logged_in.get("/integrations").text


def test_an_open_incident_is_a_banner_with_its_action_on_every_page(container, partner, logged_in):
    conn_id = _connection(container, partner, status="reauth_required")
    with container.uow() as uow:
        uow.session.add(ConnectionAlert(connection_id=conn_id, partner_id=partner.id, kind="reauth_required"))
        uow.commit()
    for page in ("/invoices", "/payments", "/sync-log"):
        html = logged_in.get(page).text
        assert 'id="alert-reauth_required"' in html and 'href="/integrations">Reconnect' in html, page
    with container.uow() as uow:
        alert = uow.session.query(ConnectionAlert).one()
        alert.resolved_at = datetime.now(timezone.utc)
        uow.commit()
    assert 'id="alert-reauth_required"' not in logged_in.get("/invoices").text
