"""The Connect → consent → callback → Pending → Set Up Accounts → Disconnect flow through the routes.

The dashboard runs under TestClient, the Zoho sandbox in-process behind the container's HTTP
client; the consent page is answered as the demo Zoho user (the sandbox's HTML form).
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.services import integration
from ledgersync.store import orm
from ledgersync.zoho.tokens import TokenCipher
from tests.plugins.zoho_fixtures import DEMO_US_ORG, consent_redirect

HAS_PULL = importlib.util.find_spec("ledgersync.sync.pull.initial") is not None


@pytest.fixture(autouse=True)
def _zoho_is_the_sandbox(container: Container, sandbox_app: Any) -> None:
    """Every test here talks to the in-process sandbox (binding happens in `sandbox_app`)."""


def _connect(client: TestClient, container: Container) -> dict[str, str]:
    r = client.post("/integrations/zoho/connect", follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    q = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(container.settings.zoho_accounts_url + "/oauth/v2/auth?")
    assert q["access_type"] == "offline" and q["prompt"] == "consent" and q["response_type"] == "code"
    assert "ZohoBooks.accountants.READ" in q["scope"] and q["redirect_uri"].endswith("/integrations/zoho/callback")
    return consent_redirect(container.http, url)


def _row(container: Container, partner_id: str) -> orm.Connection:
    conn = integration.get_connection(container, partner_id)
    assert conn is not None
    return conn


def test_connect_callback_sets_pending_with_encrypted_tokens(
    logged_in: TestClient, container: Container, partner: orm.Partner, sandbox: Any
) -> None:
    params = _connect(logged_in, container)
    assert params["location"] == "us" and "accounts-server" in params
    r = logged_in.get("/integrations/zoho/callback", params=params, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/integrations"
    conn = _row(container, partner.id)
    assert conn.organization_id == DEMO_US_ORG and conn.organization_name == "Zylker IT Services"
    assert conn.data_center == "us" and conn.api_domain == "http://127.0.0.1:8900"
    assert conn.oauth_state is None  # single use
    cipher = TokenCipher(container.settings.token_encryption_key.get_secret_value())
    refresh = cipher.decrypt(conn.refresh_token_enc)
    assert refresh not in conn.refresh_token_enc  # stored encrypted
    assert sandbox.tokens[refresh].kind == "refresh"
    if HAS_PULL:
        assert conn.status in ("pending", "connected")
    else:
        assert conn.status == "pending"
    page = logged_in.get("/integrations")
    assert "Zylker IT Services" in page.text and 'id="zoho-status"' in page.text
    if conn.status == "pending":
        assert "zoho-progress" in page.text and "Pending" in page.text
        status = logged_in.get("/integrations/zoho/status").json()
        assert status["status"] == "pending" and status["label"] == "Pending"


def test_callback_with_wrong_state_is_refused(logged_in: TestClient, container: Container, partner: orm.Partner) -> None:
    params = _connect(logged_in, container)
    params["state"] = params["state"][:-2] + "xx"
    r = logged_in.get("/integrations/zoho/callback", params=params, follow_redirects=False)
    assert r.status_code == 303
    conn = _row(container, partner.id)
    assert conn.refresh_token_enc is None and conn.status == "disconnected"
    page = logged_in.get("/integrations")
    assert "does not match your session" in page.text


def test_callback_state_is_single_use(logged_in: TestClient, container: Container, partner: orm.Partner) -> None:
    params = _connect(logged_in, container)
    assert logged_in.get("/integrations/zoho/callback", params=params, follow_redirects=False).status_code == 303
    version = _row(container, partner.id).token_version
    logged_in.get("/integrations/zoho/callback", params=params, follow_redirects=False)  # replay
    assert _row(container, partner.id).token_version == version
    assert "not started here" in logged_in.get("/integrations").text


def test_consent_denied_leaves_disconnected(logged_in: TestClient, container: Container, partner: orm.Partner) -> None:
    r = logged_in.post("/integrations/zoho/connect", follow_redirects=False)
    params = consent_redirect(container.http, r.headers["location"], action="deny")
    assert params["error"] == "access_denied"
    logged_in.get("/integrations/zoho/callback", params=params, follow_redirects=False)
    assert _row(container, partner.id).status == "disconnected"
    assert "not granted" in logged_in.get("/integrations").text


def test_forged_accounts_server_never_gets_the_code(
    logged_in: TestClient, container: Container, partner: orm.Partner
) -> None:
    params = _connect(logged_in, container)
    params["accounts-server"] = "https://evil.example"
    logged_in.get("/integrations/zoho/callback", params=params, follow_redirects=False)
    assert _row(container, partner.id).refresh_token_enc is None
    assert "Unknown Zoho data centre" in logged_in.get("/integrations").text


def test_set_up_accounts_preselects_and_saves(
    logged_in: TestClient, container: Container, partner: orm.Partner, sandbox_app: Any
) -> None:
    logged_in.get("/integrations/zoho/callback", params=_connect(logged_in, container), follow_redirects=False)
    page = logged_in.get("/integrations/zoho/accounts")
    assert page.status_code == 200
    choices = integration.account_choices(container, partner.id)
    und = {o.account_id: o.name for o in choices.undeposited}
    fees = {o.account_id: o.name for o in choices.fees}
    assert und[choices.selected_undeposited] == "Undeposited Funds"
    assert fees[choices.selected_fees] == "Bank Fees and Charges"
    assert choices.bank and all(o.account_type == "bank" for o in choices.bank)
    assert f'value="{choices.selected_undeposited}" selected' in page.text
    bank = choices.bank[0]
    r = logged_in.post(
        "/integrations/zoho/accounts",
        data={"undeposited_account_id": choices.selected_undeposited, "bank_account_id": bank.account_id,
              "fees_account_id": choices.selected_fees},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/integrations"
    conn = _row(container, partner.id)
    assert (conn.undeposited_account_name, conn.bank_account_id, conn.fees_account_name) == (
        "Undeposited Funds", bank.account_id, "Bank Fees and Charges")
    shown = logged_in.get("/integrations").text
    assert "Accounts saved" in shown and bank.name in shown and "Bank Fees and Charges" in shown
    # a form without the income account (an older client) keeps the default: Sales
    assert conn.income_account_name == "Sales"
    assert re.search(r"<dt>Deposits from</dt><dd title=\"Where stand-alone deposits[^\"]*\">Sales</dd>", shown)


def test_set_up_accounts_offers_income_accounts_for_stand_alone_deposits(
    logged_in: TestClient, container: Container, partner: orm.Partner, sandbox_app: Any
) -> None:
    logged_in.get("/integrations/zoho/callback", params=_connect(logged_in, container), follow_redirects=False)
    choices = integration.account_choices(container, partner.id)
    income = {o.account_id: o for o in choices.income}
    assert income[choices.selected_income].name == "Sales"
    assert income and all(o.account_type in ("income", "other_income") for o in income.values())
    page = logged_in.get("/integrations/zoho/accounts").text
    assert "Stand-alone deposits from" in page and f'value="{choices.selected_income}" selected' in page
    data = {"undeposited_account_id": choices.selected_undeposited, "bank_account_id": choices.bank[0].account_id,
            "fees_account_id": choices.selected_fees}
    # an account of another type is refused (the bank account is not income)
    r = logged_in.post("/integrations/zoho/accounts", data={**data, "income_account_id": choices.bank[0].account_id},
                       follow_redirects=False)
    assert r.headers["location"] == "/integrations/zoho/accounts" and _row(container, partner.id).income_account_id is None
    r = logged_in.post("/integrations/zoho/accounts", data={**data, "income_account_id": choices.selected_income},
                       follow_redirects=False)
    assert r.headers["location"] == "/integrations"
    assert _row(container, partner.id).income_account_name == "Sales"


def test_set_up_accounts_refuses_an_account_of_the_wrong_type(
    logged_in: TestClient, container: Container, partner: orm.Partner
) -> None:
    logged_in.get("/integrations/zoho/callback", params=_connect(logged_in, container), follow_redirects=False)
    choices = integration.account_choices(container, partner.id)
    r = logged_in.post(
        "/integrations/zoho/accounts",
        data={"undeposited_account_id": choices.selected_undeposited, "bank_account_id": choices.selected_fees,
              "fees_account_id": choices.selected_fees},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/integrations/zoho/accounts"
    assert _row(container, partner.id).bank_account_id is None


def test_disconnect_revokes_the_refresh_token_at_zoho(
    logged_in: TestClient, container: Container, partner: orm.Partner, sandbox: Any
) -> None:
    logged_in.get("/integrations/zoho/callback", params=_connect(logged_in, container), follow_redirects=False)
    cipher = TokenCipher(container.settings.token_encryption_key.get_secret_value())
    refresh = cipher.decrypt(_row(container, partner.id).refresh_token_enc)
    r = logged_in.post("/integrations/zoho/disconnect", follow_redirects=False)
    assert r.status_code == 303
    conn = _row(container, partner.id)
    assert conn.status == "disconnected" and conn.refresh_token_enc is None and conn.access_token_enc is None
    assert sandbox.tokens[refresh].revoked
    page = logged_in.get("/integrations").text
    assert "revoked at Zoho" in page and 'id="zoho-connect"' in page


def test_partner_isolation(
    client: TestClient, container: Container, partner: orm.Partner, connected_connection: orm.Connection
) -> None:
    """Another partner sees only their own (empty) integration and cannot finish our flow."""
    from ledgersync.services import partners

    partners.create_partner(container, name="Other MSP", email="other@msp.test", password="other-pass-1234")
    client.post("/login", data={"email": "other@msp.test", "password": "other-pass-1234"})
    page = client.get("/integrations").text
    assert "Other MSP" in page and "Zylker" not in page and 'id="zoho-connect"' in page
    assert client.get("/integrations/zoho/status").json()["status"] == "disconnected"
    assert client.get("/integrations/zoho/accounts", follow_redirects=False).status_code == 303
    # a callback carrying the first partner's flow is refused for this partner
    url = integration.begin_connect(container, partner.id)
    params = consent_redirect(container.http, url)
    client.get("/integrations/zoho/callback", params=params, follow_redirects=False)
    assert integration.get_connection(container, partner.id).token_version == connected_connection.token_version
    with container.uow() as uow:
        others = uow.session.query(orm.Connection).filter(orm.Connection.partner_id != partner.id).all()
        assert all(c.refresh_token_enc is None for c in others)


@pytest.mark.skipif(not HAS_PULL, reason="pull engine's start_initial_sync not present yet: Pending stays")
def test_initial_sync_entry_point_was_called(container: Container, connected_connection: orm.Connection) -> None:
    assert integration.get_connection(container, connected_connection.partner_id).initial_sync_phase is not None


def test_several_organisations_in_one_data_centre_show_a_chooser(
    logged_in: TestClient, container: Container, partner: orm.Partner, sandbox: Any
) -> None:
    from zohobooks_sandbox.demo import create_organization

    user = sandbox.user_by_email("demo@zylker.test")
    extra = create_organization(sandbox, "Zylker Labs Inc", currency_code="USD", dc="us", user=user)
    params = _connect(logged_in, container)
    r = logged_in.get("/integrations/zoho/callback", params=params, follow_redirects=False)
    assert r.headers["location"] == "/integrations/zoho/organization"
    page = logged_in.get("/integrations/zoho/organization").text
    assert "Zylker IT Services" in page and "Zylker Labs Inc" in page
    assert _row(container, partner.id).status == "disconnected"  # not Pending before a choice
    r = logged_in.post("/integrations/zoho/organization", data={"organization_id": extra.organization_id},
                       follow_redirects=False)
    assert r.status_code == 303
    conn = _row(container, partner.id)
    assert conn.organization_id == extra.organization_id and conn.status == "pending"
    r = logged_in.post("/integrations/zoho/organization", data={"organization_id": "999"}, follow_redirects=False)
    assert _row(container, partner.id).organization_id == extra.organization_id


def test_status_changes_for_the_sync_engines(container: Container, connected_connection: orm.Connection) -> None:
    cid, pid = connected_connection.id, connected_connection.partner_id
    assert _row(container, pid).status == "pending" or HAS_PULL
    assert integration.mark_connected(container, cid)
    conn = _row(container, pid)
    assert conn.status == "connected" and conn.connected_at is not None
    assert integration.mark_error(container, cid, "Zoho Books is unavailable; retrying hourly.")
    assert _row(container, pid).status == "error"
    with container.uow() as uow:  # the session form: the caller commits
        uow.session.get(orm.Connection, cid).initial_sync_phase = "done"
        assert integration.mark_recovered(uow.session, cid)
        uow.commit()
    assert _row(container, pid).status == "connected"
    integration.disconnect(container, pid)
    assert not integration.mark_connected(container, cid)  # a late worker cannot resurrect it
    assert _row(container, pid).status == "disconnected"


def test_reconnect_after_reauth_required_returns_to_connected(
    logged_in: TestClient, container: Container, connected_connection: orm.Connection, sandbox: Any
) -> None:
    cid, pid = connected_connection.id, connected_connection.partner_id
    integration.mark_connected(container, cid)
    with container.uow() as uow:
        uow.session.get(orm.Connection, cid).initial_sync_phase = "done"
        integration.mark_reauth_required(uow.session, cid, "Zoho refused the stored authorization.")
        uow.commit()
    page = logged_in.get("/integrations").text
    assert "Reauthorization required" in page and "Reconnect" in page
    old_refresh = TokenCipher(container.settings.token_encryption_key.get_secret_value()).decrypt(
        _row(container, pid).refresh_token_enc)
    logged_in.get("/integrations/zoho/callback", params=_connect(logged_in, container), follow_redirects=False)
    conn = _row(container, pid)
    assert conn.status == "connected" and conn.bank_account_id == connected_connection.bank_account_id
    assert sandbox.tokens[old_refresh].revoked  # the replaced refresh token does not linger at Zoho


def test_every_zoho_call_of_connecting_and_set_up_accounts_is_counted(
    logged_in: TestClient, container: Container, partner: orm.Partner, sandbox: Any
) -> None:
    """The chart of accounts on Set Up Accounts is no sync run, yet it spends the organisation's
    budget: the budget panel counts it under "account setup", and its total is Zoho's own count (the
    sandbox's counter) of the organisation's calls. (Listing the organisations on the callback
    names no organisation: Zoho charges it to none, and the panel does not count it either.)"""
    from datetime import datetime, timezone

    from ledgersync.services.budget import calls_by_purpose

    org = sandbox.orgs[DEMO_US_ORG]
    zoho_before = sum(org.api_calls.values())
    logged_in.get("/integrations/zoho/callback", params=_connect(logged_in, container), follow_redirects=False)
    assert logged_in.get("/integrations/zoho/accounts").status_code == 200
    conn = _row(container, partner.id)
    with container.uow() as uow:
        counts = calls_by_purpose(uow.session, conn.id, datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert counts["account setup"] >= 1  # at least one page of accounts
    assert sum(counts.values()) == sum(org.api_calls.values()) - zoho_before
