"""Zoho Accounts emulation end to end through HTTP: consent page, codes, tokens, scopes."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from zohobooks_sandbox import SandboxConfig, SandboxTransport, create_app
from zohobooks_sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from zohobooks_sandbox.testing import DEMO_REDIRECT, authorize, exchange

AUTH_PARAMS = {"scope": "ZohoBooks.invoices.READ,ZohoBooks.contacts.ALL", "client_id": DEMO_CLIENT_ID,
               "response_type": "code", "redirect_uri": DEMO_REDIRECT, "access_type": "offline",
               "prompt": "consent", "state": "st-42"}


@pytest.fixture()
def app():
    return create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False))


@pytest.fixture()
def client(app):
    with httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900") as c:
        yield c


def books_get(client, token, path, org="700000001", prefix=""):
    return client.get(f"{prefix}/books/v3{path}", params={"organization_id": org},
                      headers={"Authorization": f"Zoho-oauthtoken {token}"})


def test_consent_page_lists_scopes_orgs_and_prefills_demo_user(client):
    page = client.get("/oauth/v2/auth", params=AUTH_PARAMS)
    assert page.status_code == 200
    assert "ZohoBooks.invoices.READ" in page.text and "ZohoBooks.contacts.ALL" in page.text
    assert "Zylker IT Services" in page.text and "Zylker Europe GmbH" in page.text
    assert 'value=\'demo@zylker.test\'' in page.text and "zoho-demo-1234" in page.text


def test_full_flow_code_token_refresh_revoke(client):
    q = authorize(client, scope=AUTH_PARAMS["scope"], state="st-42")
    assert q["state"] == "st-42" and q["location"] == "us" and q["accounts-server"] == "http://127.0.0.1:8900"
    tokens = exchange(client, q["code"])
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["api_domain"] == "http://127.0.0.1:8900" and tokens["refresh_token"]
    assert books_get(client, tokens["access_token"], "/invoices").status_code == 200

    refreshed = client.post("/oauth/v2/token", params={  # query parameters work as at Zoho
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET}).json()
    assert "refresh_token" not in refreshed and refreshed["access_token"] != tokens["access_token"]
    assert books_get(client, refreshed["access_token"], "/invoices").status_code == 200

    assert client.post("/oauth/v2/token/revoke", params={"token": tokens["refresh_token"]}).json() == {"status": "success"}
    dead = books_get(client, refreshed["access_token"], "/invoices")
    assert dead.status_code == 401 and dead.json()["code"] == 14
    again = client.post("/oauth/v2/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                                 "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
    assert again.status_code == 200 and again.json() == {"error": "invalid_code"}


def test_wrong_password_refused_and_deny_redirects(client):
    bad = client.post("/oauth/v2/auth", data={**AUTH_PARAMS, "email": "demo@zylker.test", "password": "nope",
                                              "organization_id": "700000001", "action": "accept"})
    assert bad.status_code == 401 and "Incorrect email or password" in bad.text
    denied = client.post("/oauth/v2/auth", data={**AUTH_PARAMS, "action": "deny"})
    assert denied.status_code == 302
    q = parse_qs(urlparse(denied.headers["location"]).query)
    assert q["error"] == ["access_denied"] and q["state"] == ["st-42"]


def test_invalid_client_and_redirect_pages(client):
    assert client.get("/oauth/v2/auth", params={**AUTH_PARAMS, "client_id": "1000.NOPE"}).status_code == 400
    assert client.get("/oauth/v2/auth", params={**AUTH_PARAMS, "redirect_uri": "https://evil.test/cb"}).status_code == 400


def test_token_errors_are_http_200_with_error_field(client):
    q = authorize(client)
    base = {"grant_type": "authorization_code", "code": q["code"], "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET, "redirect_uri": DEMO_REDIRECT}
    for change, error in (({"client_id": "1000.UNKNOWN"}, "invalid_client"),
                          ({"client_secret": "wrong"}, "invalid_client_secret"),
                          ({"redirect_uri": "http://127.0.0.1:8000/other"}, "invalid_redirect_uri"),
                          ({"code": "1000.bogus"}, "invalid_code"),
                          ({"grant_type": "password"}, "unsupported_grant_type")):
        r = client.post("/oauth/v2/token", data={**base, **change})
        assert r.status_code == 200 and r.json() == {"error": error}
    assert "access_token" in client.post("/oauth/v2/token", data=base).json()
    reuse = client.post("/oauth/v2/token", data=base)
    assert reuse.json() == {"error": "invalid_code"}


def test_code_expires_with_sandbox_clock(app, client):
    q = authorize(client)
    app.state.sandbox.clock.advance(121)
    assert exchange(client, q["code"]) == {"error": "invalid_code"}


def test_access_token_expires_after_ttl(app, client):
    tokens = exchange(client, authorize(client)["code"])
    app.state.sandbox.clock.advance(3599)
    assert books_get(client, tokens["access_token"], "/contacts").status_code == 200
    app.state.sandbox.clock.advance(2)
    r = books_get(client, tokens["access_token"], "/contacts")
    assert r.status_code == 401 and r.json() == {"code": 14, "message": "Invalid OAuth token."}


def test_online_access_gets_no_refresh_token(client):
    tokens = exchange(client, authorize(client, access_type="online")["code"])
    assert "refresh_token" not in tokens and tokens["access_token"]


def test_scopes_enforced_per_call_case_insensitively(client):
    tokens = exchange(client, authorize(client, scope="zohobooks.INVOICES.read,ZohoBooks.Contacts.All")["code"])
    at = tokens["access_token"]
    assert books_get(client, at, "/invoices").status_code == 200
    assert books_get(client, at, "/contacts").status_code == 200
    denied = books_get(client, at, "/customerpayments")
    assert denied.status_code == 401
    assert denied.json() == {"code": 57, "message": "You are not authorized to perform this operation"}
    create = client.post("/books/v3/invoices", params={"organization_id": "700000001"}, json={},
                         headers={"Authorization": f"Zoho-oauthtoken {at}"})
    assert create.status_code == 401 and create.json()["code"] == 57
    assert books_get(client, at, "/chartofaccounts").json()["code"] == 57  # accountants scope
    assert books_get(client, at, "/bankaccounts").json()["code"] == 57  # banking scope
    full = exchange(client, authorize(client, scope="ZohoBooks.FullAccess.all")["code"])["access_token"]
    assert books_get(client, full, "/chartofaccounts").status_code == 200


def test_twenty_first_refresh_token_revokes_the_oldest(client):
    refresh_tokens = [exchange(client, authorize(client)["code"])["refresh_token"] for _ in range(21)]

    def refresh(rt):
        return client.post("/oauth/v2/token", data={"grant_type": "refresh_token", "refresh_token": rt,
                                                    "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}).json()

    assert refresh(refresh_tokens[0]) == {"error": "invalid_code"}
    assert "access_token" in refresh(refresh_tokens[1])
    assert "access_token" in refresh(refresh_tokens[20])


def test_refresh_token_mint_rate_is_limited(client):
    rt = exchange(client, authorize(client)["code"])["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": rt, "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET}
    for _ in range(10):
        assert "access_token" in client.post("/oauth/v2/token", data=data).json()
    r = client.post("/oauth/v2/token", data=data)
    assert r.status_code == 400 and r.json()["error"] == "Access Denied"


def test_eu_data_centre(client):
    q = authorize(client, org_id="700000002")
    assert q["location"] == "eu" and q["accounts-server"] == "http://127.0.0.1:8900/eu"
    assert exchange(client, q["code"]) == {"error": "invalid_code"}  # exchanged at the US server
    q = authorize(client, org_id="700000002")
    tokens = exchange(client, q["code"], accounts_server=q["accounts-server"])
    assert tokens["api_domain"] == "http://127.0.0.1:8900/eu"
    at = tokens["access_token"]
    orgs = client.get("/eu/books/v3/organizations", headers={"Authorization": f"Zoho-oauthtoken {at}"}).json()
    assert [o["organization_id"] for o in orgs["organizations"]] == ["700000002"]
    assert books_get(client, at, "/invoices", org="700000002", prefix="/eu").status_code == 200
    wrong_org = books_get(client, at, "/invoices", org="700000001", prefix="/eu")
    assert wrong_org.status_code == 401 and wrong_org.json()["code"] == 6041
    assert books_get(client, at, "/invoices", org="700000002").status_code == 401  # EU token at the US domain
