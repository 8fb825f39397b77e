"""Integrations → Webhooks: the set-up a partner's admin pastes into Zoho Books, the secret hidden
until asked for, the last delivery, and Rotate secret (confirmed, POST only, own connection only).

Role model: a partner's dashboard login is the partner's admin (the owner `create-partner`
makes; Connect and Disconnect are theirs too). Operator staff (`create-staff`) have their own
session and open no partner page: they neither see the secret nor rotate it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.domain import webhook_auth
from ledgersync.store import orm


def _connect(container: Container, partner_id: str, status: str = "connected") -> orm.Connection:
    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner_id, provider="zoho_books", status=status, plan="premium",
                              organization_id="700000001", organization_name="Zylker")
        uow.session.add(conn)
        uow.commit()
        uow.session.expunge(conn)
    return conn


def _generation(container: Container, conn: orm.Connection) -> int:
    with container.uow() as uow:
        return uow.session.get(orm.Connection, conn.id).webhook_secret_generation  # type: ignore[union-attr]


def _secret(container: Container, conn: orm.Connection) -> str:
    return webhook_auth.connection_webhook_secret(container.settings.webhook_secret.get_secret_value(),
                                                  conn.webhook_token, _generation(container, conn))


@pytest.fixture
def conn(container: Container, partner: orm.Partner) -> orm.Connection:
    return _connect(container, partner.id)


def test_the_panel_shows_url_header_modules_and_hides_the_secret(container: Container, logged_in: TestClient,
                                                                 conn: orm.Connection) -> None:
    """Planted: rendering the secret without ?reveal (always in the page) fails the first check."""
    page = logged_in.get("/integrations")
    assert page.status_code == 200
    html = page.text
    assert 'id="zoho-webhooks"' in html
    assert _secret(container, conn) not in html  # hidden by default: not even in the HTML
    assert f"{container.settings.base_url.rstrip('/')}/webhooks/zoho/{conn.webhook_token}" in html
    assert webhook_auth.SECRET_HEADER in html
    for _, module in webhook_auth.ZOHO_MODULES:
        assert f"<code>{module}</code>" in html
    assert "Settings → Automation → Webhooks" in html and "event_time" in html
    assert "None received yet" in html
    assert 'href="/integrations?reveal=webhook-secret#zoho-webhooks"' in html  # a plain link: works without JS
    assert "no-store" not in page.headers.get("cache-control", "")


def test_show_secret_reveals_it_without_javascript_and_uncached(container: Container, logged_in: TestClient,
                                                                conn: orm.Connection) -> None:
    page = logged_in.get("/integrations?reveal=webhook-secret")
    assert f'value="{_secret(container, conn)}"' in page.text  # a read-only field: select and copy
    assert page.headers["cache-control"] == "no-store"
    assert 'href="/integrations#zoho-webhooks"' in page.text  # Hide secret


def test_rotation_needs_the_confirmation(container: Container, logged_in: TestClient, conn: orm.Connection) -> None:
    """Planted: a route that rotates without the ticked box fails here."""
    before = _secret(container, conn)
    r = logged_in.post("/integrations/zoho/webhook/rotate", data={}, follow_redirects=False)
    assert r.status_code == 303 and _secret(container, conn) == before
    assert "Tick the box to confirm" in logged_in.get(r.headers["location"]).text
    assert logged_in.get("/integrations/zoho/webhook/rotate").status_code == 405  # POST only
    r = logged_in.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303 and _generation(container, conn) == 1
    page = logged_in.get(r.headers["location"])
    assert "New webhook secret made" in page.text and _secret(container, conn) in page.text
    assert before not in page.text


def test_rotation_from_another_site_is_refused(container: Container, logged_in: TestClient,
                                               conn: orm.Connection) -> None:
    r = logged_in.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"},
                       headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and _generation(container, conn) == 0


@pytest.mark.parametrize("status", ["disconnected", None])
def test_no_panel_and_no_rotation_without_a_live_connection(container: Container, logged_in: TestClient,
                                                            partner: orm.Partner, status: str | None) -> None:
    if status is not None:
        _connect(container, partner.id, status=status)
    assert 'id="zoho-webhooks"' not in logged_in.get("/integrations?reveal=webhook-secret").text
    r = logged_in.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    assert "Connect Zoho Books first" in logged_in.get(r.headers["location"]).text


def test_operator_staff_neither_see_nor_rotate_the_secret(container: Container, client: TestClient,
                                                          conn: orm.Connection) -> None:
    """Staff are not partner admins: their session opens no partner page (the login page instead)
    and the operator console does not carry any webhook secret."""
    from ledgersync.services import staff

    staff.create_staff(container, "ops@ops.test", "ops-password-1234")
    assert client.post("/ops/login", data={"email": "ops@ops.test", "password": "ops-password-1234"},
                       follow_redirects=False).status_code == 303
    secret = _secret(container, conn)
    r = client.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _generation(container, conn) == 0
    page = client.get("/integrations?reveal=webhook-secret", follow_redirects=False)
    assert page.status_code == 303 and secret not in page.text
    console = client.get("/ops")
    assert console.status_code == 200 and secret not in console.text


def test_webhook_info_cli_follows_the_rotation(container: Container, logged_in: TestClient, conn: orm.Connection,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ledgersync import cli
    from ledgersync.settings import get_settings
    from tests.conftest import DEMO_LIKE_EMAIL

    logged_in.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"})
    monkeypatch.setenv("LEDGERSYNC_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("LEDGERSYNC_WEBHOOK_SECRET", container.settings.webhook_secret.get_secret_value())
    get_settings.cache_clear()
    try:
        result: Any = CliRunner().invoke(cli.app, ["webhook-info", "--partner-email", DEMO_LIKE_EMAIL])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert _secret(container, conn) in result.output and _generation(container, conn) == 1
