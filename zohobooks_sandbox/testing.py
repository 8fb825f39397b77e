"""Helpers for tests that talk to the sandbox in-process through its real HTTP surface.

``authorize(client, ...)`` walks Zoho's OAuth flow (consent form → code → tokens) exactly as
a browser and a connector would; ``books_client(app, ...)`` returns an ``httpx.Client`` bound
to the app with a fresh access token and the organisation header set.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from .demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_EMAIL, DEMO_PASSWORD, DEMO_US_ORG
from .transport import SandboxTransport

DEMO_REDIRECT = "http://127.0.0.1:8000/integrations/zoho/callback"


def authorize(client: httpx.Client, *, scope: str = "ZohoBooks.fullaccess.all", org_id: str = DEMO_US_ORG,
              access_type: str = "offline", state: str = "s1", prefix: str = "",
              email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> dict[str, str]:
    """Consent as the demo user and return the redirect's query (code, state, location, accounts-server)."""
    params = {"scope": scope, "client_id": DEMO_CLIENT_ID, "response_type": "code", "redirect_uri": DEMO_REDIRECT,
              "access_type": access_type, "prompt": "consent", "state": state}
    resp = client.post(prefix + "/oauth/v2/auth", data={**params, "email": email, "password": password,
                                                        "organization_id": org_id, "action": "accept"})
    assert resp.status_code == 302, resp.text
    return {k: v[0] for k, v in parse_qs(urlparse(resp.headers["location"]).query).items()}


def exchange(client: httpx.Client, code: str, *, accounts_server: str = "", redirect_uri: str = DEMO_REDIRECT) -> dict[str, Any]:
    path = accounts_server + "/oauth/v2/token" if accounts_server else "/oauth/v2/token"
    return client.post(path, data={"grant_type": "authorization_code", "code": code, "client_id": DEMO_CLIENT_ID,
                                   "client_secret": DEMO_CLIENT_SECRET, "redirect_uri": redirect_uri}).json()


def books_client(app: Any, *, scope: str = "ZohoBooks.fullaccess.all", org_id: str = DEMO_US_ORG,
                 base_url: str = "http://127.0.0.1:8900") -> httpx.Client:
    """An ``httpx.Client`` on the app, authorised for ``org_id``, base URL = the token's api_domain + /books/v3."""
    client = httpx.Client(transport=SandboxTransport(app), base_url=base_url)
    q = authorize(client, scope=scope, org_id=org_id)
    tokens = exchange(client, q["code"], accounts_server=q["accounts-server"])
    client.base_url = httpx.URL(tokens["api_domain"] + "/books/v3")
    client.headers["Authorization"] = f"Zoho-oauthtoken {tokens['access_token']}"
    client.headers["X-com-zoho-books-organizationid"] = org_id
    return client
