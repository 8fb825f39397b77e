"""OAuth endpoints (error mapping with HTTP 200) and the data-centre table."""
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ledgersync.zoho import (
    DEFAULT_SCOPES,
    UnknownDataCentre,
    ZohoHosts,
    ZohoOAuth,
    ZohoOAuthError,
    ZohoRateLimited,
    ZohoReauthorizationRequired,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def oauth_with(handler):
    return ZohoOAuth(httpx.Client(transport=httpx.MockTransport(handler)), "1000.CLIENT", "shh",
                     "http://127.0.0.1:8000/integrations/zoho/callback", "https://accounts.zoho.com", now=lambda: NOW)


def test_authorize_url():
    url = oauth_with(lambda r: None).authorize_url("st4te")
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert url.startswith("https://accounts.zoho.com/oauth/v2/auth?")
    assert q["state"] == "st4te" and q["access_type"] == "offline" and q["prompt"] == "consent"
    assert q["response_type"] == "code" and q["scope"].split(",") == list(DEFAULT_SCOPES)


def test_exchange_code_at_the_callbacks_accounts_server():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"access_token": "1000.a", "refresh_token": "1000.r",
                                         "api_domain": "https://www.zohoapis.eu", "token_type": "Bearer",
                                         "expires_in": 3600})

    tokens = oauth_with(handler).exchange_code("code1", "https://accounts.zoho.eu")
    assert str(seen[0].url) == "https://accounts.zoho.eu/oauth/v2/token"
    form = parse_qs(seen[0].content.decode())
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["code1"]
    assert tokens.refresh_token == "1000.r" and tokens.api_domain == "https://www.zohoapis.eu"
    assert (tokens.expires_at - NOW).total_seconds() == 3600
    assert "1000.a" not in repr(tokens)


@pytest.mark.parametrize("error", ["invalid_code", "invalid_client", "invalid_redirect_uri"])
def test_exchange_errors_with_http_200(error):
    with pytest.raises(ZohoOAuthError) as caught:
        oauth_with(lambda r: httpx.Response(200, json={"error": error})).exchange_code("c")
    assert caught.value.error == error


def test_refresh_keeps_refresh_token_and_dead_token_means_reauth():
    ok = oauth_with(lambda r: httpx.Response(200, json={"access_token": "1000.n", "api_domain": "https://x",
                                                        "expires_in": 3600}))
    assert ok.refresh("1000.r").refresh_token == "1000.r"
    dead = oauth_with(lambda r: httpx.Response(200, json={"error": "invalid_code"}))
    with pytest.raises(ZohoReauthorizationRequired):
        dead.refresh("1000.r")


def test_refresh_throttled_is_rate_limited():
    busy = oauth_with(lambda r: httpx.Response(400, json={
        "error": "Access Denied", "error_description": "You have made too many requests continuously."}))
    with pytest.raises(ZohoRateLimited) as caught:
        busy.refresh("1000.r")
    assert caught.value.limit == "token"


def test_revoke_posts_token_and_tolerates_dead_token():
    seen = []
    oauth_with(lambda r: seen.append(r) or httpx.Response(200, json={"status": "success"})).revoke("1000.r")
    assert seen[0].url.path == "/oauth/v2/token/revoke" and seen[0].url.params["token"] == "1000.r"
    oauth_with(lambda r: httpx.Response(200, json={"error": "invalid_token"})).revoke("1000.r")


def test_data_centres_real_and_sandbox():
    real = ZohoHosts()
    assert real.accounts_server("eu") == "https://accounts.zoho.eu"
    assert real.api_domain("com") == "https://www.zohoapis.com"
    assert real.trusted_accounts_server("eu", "https://accounts.zoho.eu/") == "https://accounts.zoho.eu"
    assert real.trusted_accounts_server("au", None) == "https://accounts.zoho.com.au"
    with pytest.raises(UnknownDataCentre):
        real.trusted_accounts_server("us", "https://evil.example")
    with pytest.raises(UnknownDataCentre):
        real.trusted_accounts_server("us", "https://accounts.zoho.eu")
    local = ZohoHosts("http://127.0.0.1:8900/")
    assert local.accounts_server("us") == "http://127.0.0.1:8900"
    assert local.api_domain("eu") == "http://127.0.0.1:8900/eu"
    assert local.location_of("http://127.0.0.1:8900/eu") == "eu"
    assert local.trusted_api_domain("http://127.0.0.1:8900") == "http://127.0.0.1:8900"
