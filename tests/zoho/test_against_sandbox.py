"""The Zoho adapter against the real sandbox, in-process (zohobooks_sandbox.SandboxTransport).

Time is the sandbox's manual clock: our limiter reads it and "sleeps" by advancing it, so a
Zoho minute costs nothing and nothing races.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

zs = pytest.importorskip("zohobooks_sandbox")

from ledgersync.zoho import (  # noqa: E402
    MemoryRateLimiter,
    RefreshingTokenProvider,
    StaticTokenProvider,
    ZohoBooks,
    ZohoHosts,
    ZohoInvoiceSummary,
    ZohoOAuth,
    ZohoReauthorizationRequired,
    ZohoScopeError,
)

BASE = "http://127.0.0.1:8900"
CLIENT_ID = "1000.LEDGERSYNCDEMO0000000000000000"
CLIENT_SECRET = "ledgersync-demo-client-secret"
REDIRECT = "http://127.0.0.1:8000/integrations/zoho/callback"
US_ORG, EU_ORG = "700000001", "700000002"


@pytest.fixture
def app():
    return zs.create_app(zs.SandboxConfig(manual_clock=True, base_url=BASE))


@pytest.fixture
def sandbox(app):
    return app.state.sandbox


@pytest.fixture
def http(app):
    with httpx.Client(transport=zs.SandboxTransport(app)) as client:
        yield client


@pytest.fixture
def oauth(http):
    return ZohoOAuth(http, CLIENT_ID, CLIENT_SECRET, REDIRECT, ZohoHosts(BASE).accounts_server("us"))


def consent(http, oauth, org_id=US_ORG, scopes=None, state="s1"):
    """Act as the Zoho user: post the consent form, return the callback's query."""
    url = oauth.authorize_url(state, **({"scopes": scopes} if scopes else {}))
    page = http.get(url)
    assert page.status_code == 200 and "consent" in page.text
    form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    form.update(email="demo@zylker.test", password="zoho-demo-1234", organization_id=org_id, action="accept")
    answer = http.post(f"{oauth.accounts_server}/oauth/v2/auth", data=form)
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def connect(http, oauth, org_id=US_ORG, scopes=None):
    callback = consent(http, oauth, org_id, scopes)
    hosts = ZohoHosts(BASE)
    accounts = hosts.trusted_accounts_server(callback.get("location"), callback.get("accounts-server"))
    tokens = oauth.exchange_code(callback["code"], accounts)
    return callback, accounts, tokens


def books_for(http, tokens, org_id, **kw):
    return ZohoBooks(http, api_domain=ZohoHosts(BASE).trusted_api_domain(tokens.api_domain), organization_id=org_id,
                     tokens=kw.pop("provider", None) or StaticTokenProvider(tokens.access_token), **kw)


def test_full_oauth_code_exchange(http, oauth):
    callback, accounts, tokens = connect(http, oauth)
    assert callback["state"] == "s1" and callback["location"] == "us"
    assert accounts == BASE and tokens.api_domain == BASE and tokens.refresh_token
    books = books_for(http, tokens, US_ORG)
    assert US_ORG in [o.organization_id for o in books.list_organizations()]
    assert books.get_organization().currency_code == "USD"
    accounts_list = books.list_accounts()
    assert any("undeposited" in a.account_name.lower() for a in accounts_list)


def test_code_is_single_use(http, oauth):
    from ledgersync.zoho import ZohoOAuthError

    callback = consent(http, oauth)
    oauth.exchange_code(callback["code"])
    with pytest.raises(ZohoOAuthError) as caught:
        oauth.exchange_code(callback["code"])
    assert caught.value.error == "invalid_code"


def test_eu_data_centre(http, oauth):
    callback, accounts, tokens = connect(http, oauth, EU_ORG)
    assert callback["location"] == "eu" and accounts == f"{BASE}/eu"
    assert tokens.api_domain == f"{BASE}/eu"
    org = books_for(http, tokens, EU_ORG).get_organization()
    assert org.currency_code == "EUR"


def test_refresh_on_expiry_with_manual_clock(http, oauth, sandbox):
    _, accounts, tokens = connect(http, oauth)
    saved = []
    # The provider's own clock is real time: the token looks fresh to it, so only Zoho's 401 can tell.
    provider = RefreshingTokenProvider(oauth, tokens.refresh_token, access_token=tokens.access_token,
                                       expires_at=tokens.expires_at, accounts_server=accounts, on_refresh=saved.append)
    books = books_for(http, tokens, US_ORG, provider=provider)
    books.get_invoice_pdf  # noqa: B018 - attribute exists
    assert books.count_invoices() >= 0
    sandbox.clock.advance(3700)
    assert books.count_invoices() >= 0
    assert provider.refresh_count == 1 and saved[0].access_token != tokens.access_token
    assert books.calls_by_op["GET /invoices"] == 3  # 200, 401, 200


def test_proactive_refresh_uses_the_sandbox_clock(http, oauth, sandbox):
    _, accounts, tokens = connect(http, oauth)
    provider = RefreshingTokenProvider(oauth, tokens.refresh_token, access_token=tokens.access_token,
                                       expires_at=tokens.expires_at, accounts_server=accounts, now=sandbox.clock.now)
    books = books_for(http, tokens, US_ORG, provider=provider)
    sandbox.clock.advance(3590)  # within the 60 s skew: refresh before calling
    books.count_contacts()
    assert provider.refresh_count == 1 and books.calls_made == 1


def test_revoked_refresh_token_needs_reauthorization(http, oauth):
    _, accounts, tokens = connect(http, oauth)
    oauth.revoke(tokens.refresh_token, accounts)
    provider = RefreshingTokenProvider(oauth, tokens.refresh_token, access_token=tokens.access_token,
                                       accounts_server=accounts)
    books = books_for(http, tokens, US_ORG, provider=provider)
    with pytest.raises(ZohoReauthorizationRequired):
        books.count_invoices()


def test_scope_error(http, oauth):
    _, _, tokens = connect(http, oauth, scopes=["ZohoBooks.contacts.READ"])
    books = books_for(http, tokens, US_ORG)
    books.count_contacts()
    with pytest.raises(ZohoScopeError) as caught:
        books.count_invoices()
    assert caught.value.code == 57


def test_pagination_over_a_generated_org(http, oauth, sandbox):
    from zohobooks_sandbox.generator import generate

    generate(sandbox, US_ORG, customers=30, invoices=450, years=2, seed=3)
    _, _, tokens = connect(http, oauth)
    books = books_for(http, tokens, US_ORG)
    expected = books.count_invoices()
    seen, pages = [], []
    for page in books.iter_invoice_pages():
        good, bad = page.parse(ZohoInvoiceSummary, "invoice_id")
        assert bad == []
        seen.extend(i.invoice_id for i in good)
        pages.append(page.page)
    assert len(seen) == len(set(seen)) == expected >= 450
    assert pages == list(range(1, len(pages) + 1)) and len(pages) == -(-expected // 200)
    resumed = [p.page for p in books.iter_invoice_pages(start_page=2)]
    assert resumed == pages[1:]


def test_never_exceeds_the_minute_limit(http, oauth, sandbox):
    _, _, tokens = connect(http, oauth)
    org = sandbox.orgs[US_ORG]
    clock = sandbox.clock
    limiter = MemoryRateLimiter(per_minute=100, clock=clock.monotonic, sleep=clock.advance)
    books = books_for(http, tokens, US_ORG, limiter=limiter)
    start = clock.monotonic()
    for _ in range(230):
        books.get("/contacts", {"per_page": 1}, priority="push")
    assert org.http_429 == 0 and books.calls_made == 230
    assert clock.monotonic() - start >= 120  # it had to wait for two windows


def test_shared_budget_slows_us_down_instead_of_429(http, oauth, sandbox):
    """Another integration spent 97 of this minute's calls: Zoho's headers make us wait."""
    _, _, tokens = connect(http, oauth)
    org = sandbox.orgs[US_ORG]
    other = books_for(http, tokens, US_ORG)
    for _ in range(97):
        other.get("/contacts", {"per_page": 1})
    clock = sandbox.clock
    limiter = MemoryRateLimiter(per_minute=100, clock=clock.monotonic, sleep=clock.advance)
    ours = books_for(http, tokens, US_ORG, limiter=limiter)
    for _ in range(20):
        ours.get("/contacts", {"per_page": 1}, priority="pull")
    assert org.http_429 == 0


def test_429_is_retried_for_a_write(http, oauth, sandbox):
    """Without a limiter, a 429 (refused before applied) is retried even for a POST."""
    _, _, tokens = connect(http, oauth)
    org = sandbox.orgs[US_ORG]
    clock = sandbox.clock
    books = books_for(http, tokens, US_ORG, sleep=lambda s: clock.advance(61), max_attempts=3)
    for _ in range(100):
        books.get("/contacts", {"per_page": 1})
    contact_id = next(iter(org.contacts))
    payment = books.create_customer_payment({
        "customer_id": contact_id, "payment_mode": "cash", "amount": "1.00",
        "date": clock.now().date().isoformat(), "reference_number": "ls:test-429"})
    assert org.http_429 == 1
    assert [p.payment_id for p in books.find_customer_payments("ls:test-429")] == [payment.payment_id]
