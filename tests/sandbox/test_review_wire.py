"""Review: what other people's Zoho clients send and get — tolerances, refusals with Zoho's
codes, 429 counters, rate-limit headers, exchange-rate postings, the URLs the CLI advertises."""
from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from zohobooks_sandbox import SandboxConfig, create_app
from zohobooks_sandbox.__main__ import base_url_for, build_config, build_parser
from zohobooks_sandbox.faults import FaultKind, FaultPlan, FaultRule
from zohobooks_sandbox.testing import authorize, books_client, exchange
from zohobooks_sandbox.transport import SandboxTransport

ORG = "700000001"


@pytest.fixture()
def app():
    return create_app(SandboxConfig(manual_clock=True))


@pytest.fixture()
def api(app):
    c = books_client(app)
    yield c
    c.close()


def j(resp):
    return json.loads(resp.text, parse_float=Decimal)


def token_of(api) -> str:
    return api.headers["Authorization"].split(" ", 1)[1]


@pytest.fixture()
def customer(api):
    return j(api.post("/contacts", json={"contact_name": "Wire Review Co"}))["contact"]["contact_id"]


# ----------------------------------------------------------------------------- tolerances
def test_what_real_clients_send_is_accepted(app, api, customer) -> None:
    tok = token_of(api)
    base = "http://127.0.0.1:8900/books/v3"
    with httpx.Client(transport=SandboxTransport(app)) as raw:
        q = f"organization_id={ORG}"
        auth = {"Authorization": f"Zoho-oauthtoken {tok}"}
        assert raw.get(f"{base}/contacts/?{q}", headers=auth).status_code == 200  # trailing slash
        assert raw.get(f"{base}//contacts?{q}", headers=auth).status_code == 200  # // after the version
        assert raw.get(f"{base}/contacts?{q}&", headers=auth).status_code == 200  # trailing &
        assert raw.get(f"{base}/contacts?{q}&&per_page=2&", headers=auth).status_code == 200
        # Zoho Accounts documents "Bearer" as an alternative to "Zoho-oauthtoken"
        assert raw.get(f"{base}/contacts?{q}", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
        assert raw.get(f"{base}/contacts", headers={"Authorization": f"zoho-oauthtoken {tok}",
                                                    "X-com-zoho-books-organizationid": ORG}).status_code == 200
        # JSON without Content-Type
        r = raw.post(f"{base}/contacts?{q}", headers=auth, content=b'{"contact_name": "No Type Co"}')
        assert r.status_code == 201, r.text
        # JSONString as a urlencoded form field, as a multipart field, and in the query
        r = raw.post(f"{base}/contacts?{q}", headers=auth, data={"JSONString": '{"contact_name": "Form Co"}'})
        assert r.status_code == 201, r.text
        r = raw.post(f"{base}/contacts?{q}", headers=auth, files={"JSONString": (None, '{"contact_name": "Multi Co"}')})
        assert r.status_code == 201, r.text
        r = raw.post(f"{base}/contacts", headers=auth,
                     params={"organization_id": ORG, "JSONString": '{"contact_name": "Query Co"}'})
        assert r.status_code == 201, r.text
        # unknown fields are ignored, as Zoho does
        r = raw.post(f"{base}/contacts?{q}", headers=auth, json={"contact_name": "Extra Co", "no_such_field": [1]})
        assert r.status_code == 201


def test_scopes_in_any_case(app) -> None:
    c = httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900")
    try:
        q = authorize(c, scope="zohobooks.CONTACTS.read,ZohoBooks.Settings.READ")
        tokens = exchange(c, q["code"], accounts_server=q["accounts-server"])
        auth = {"Authorization": f"Zoho-oauthtoken {tokens['access_token']}"}
        assert c.get("/books/v3/contacts", params={"organization_id": ORG}, headers=auth).status_code == 200
        denied = c.get("/books/v3/invoices", params={"organization_id": ORG}, headers=auth)
        assert denied.status_code == 401 and denied.json()["code"] == 57
    finally:
        c.close()


# ----------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("bad_date", ["2024-13-45", "2024-02-30", "20240101", "01/02/2024", "yesterday"])
def test_invalid_dates_are_refused_naming_the_field(api, customer, bad_date) -> None:
    r = api.post("/invoices", json={"customer_id": customer, "date": bad_date,
                                    "line_items": [{"name": "X", "rate": "1.00"}]})
    assert r.status_code == 400 and j(r)["code"] == 2 and "date" in j(r)["message"]
    r = api.get("/invoices", params={"date_start": bad_date})
    assert r.status_code == 400 and "date_start" in j(r)["message"]


def test_refusals_with_zoho_codes(api, customer) -> None:
    neg = api.post("/customerpayments", json={"customer_id": customer, "payment_mode": "cash", "amount": "-5.00",
                                              "date": "2026-01-02", "invoices": []})
    assert neg.status_code == 400 and j(neg)["code"] == 2 and "amount" in j(neg)["message"]
    missing = api.post("/invoices", json={"line_items": [{"name": "X", "rate": "1"}]})
    assert missing.status_code == 400 and j(missing)["code"] == 4 and "customer_id" in j(missing)["message"]
    no_name = api.post("/contacts", json={})
    assert no_name.status_code == 400 and "contact_name" in j(no_name)["message"]
    broken = api.post("/contacts", content=b'{"contact_name": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and j(broken)["code"] == 4 and "JSONString" in j(broken)["message"]
    not_found = api.get("/invoices/460000000099999")
    assert not_found.status_code == 404 and j(not_found) == {"code": 1002, "message": "Invoice does not exist."}
    big = api.get("/contacts", params={"per_page": 500})
    assert big.status_code == 200 and j(big)["page_context"]["per_page"] == 200  # clamped to Zoho's maximum
    assert api.get("/contacts", params={"per_page": 0}).status_code == 400
    bad_rate = api.post("/invoices", json={"customer_id": customer, "exchange_rate": "-1",
                                           "line_items": [{"name": "X", "rate": "1"}]})
    assert bad_rate.status_code == 400 and "exchange_rate" in j(bad_rate)["message"]


# ----------------------------------------------------------------------------- 429 counters and headers
def test_429s_are_counted_in_total_and_by_operation(app, api) -> None:
    sb = app.state.sandbox
    org = sb.orgs[ORG]
    sb.guard.set_limits(org, per_minute=3)
    for _ in range(3):
        assert api.get("/contacts").status_code == 200
    assert api.get("/contacts").status_code == 429
    assert api.get("/invoices").status_code == 429
    sb.clock.advance(61)
    sb.guard.faults.set_plan(ORG, FaultPlan(seed=1, rules=[FaultRule(kind=FaultKind.RATE_LIMIT, ops=["invoices.get"])]))
    assert api.get("/invoices/1").status_code == 429  # injected burst
    stats = api.get("http://127.0.0.1:8900/_sandbox/orgs/700000001/stats").json()
    assert stats["http_429"] == 3
    assert stats["http_429_by_op"] == {"contacts.list": 1, "invoices.get": 1, "invoices.list": 1}
    api.post("http://127.0.0.1:8900/_sandbox/orgs/700000001/stats/reset")
    assert sb.guard.stats(org)["http_429_by_op"] == {}


def test_rate_limit_headers_on_org_replies_not_on_refusals_before_the_org(app, api) -> None:
    """Zoho's limits are per organisation: a reply refused before the organisation is known
    (bad token, missing organization_id) carries no X-Rate-Limit-* headers; every reply
    that names the organisation does, errors included."""
    assert "X-Rate-Limit-Remaining" in api.get("/invoices/460000000099999").headers
    with httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900/books/v3") as raw:
        bad = raw.get("/contacts", params={"organization_id": ORG}, headers={"Authorization": "Zoho-oauthtoken nope"})
        assert bad.status_code == 401 and j(bad)["code"] == 14
        assert "X-Rate-Limit-Remaining" not in bad.headers
        no_org = raw.get("/contacts", headers={"Authorization": api.headers["Authorization"]})
        assert no_org.status_code == 400 and j(no_org)["code"] == 6
        assert "X-Rate-Limit-Remaining" not in no_org.headers


# ----------------------------------------------------------------------------- exchange rates
def test_foreign_currency_invoice_and_payment_post_in_base_currency(api) -> None:
    def balances():
        return {a["account_name"]: a["current_balance"] for a in j(api.get("/chartofaccounts"))["chartofaccounts"]}

    before = balances()
    eur = j(api.post("/contacts", json={"contact_name": "Euro Kunde GmbH", "currency_code": "EUR"}))["contact"]
    assert eur["currency_code"] == "EUR"
    inv = j(api.post("/invoices", params={"send": "true"}, json={
        "customer_id": eur["contact_id"], "exchange_rate": "1.084312",
        "line_items": [{"name": "Consulting", "rate": "1000.00"}]}))["invoice"]
    assert inv["currency_code"] == "EUR" and Decimal(str(inv["exchange_rate"])) == Decimal("1.084312")
    after_invoice = balances()
    assert after_invoice["Accounts Receivable"] - before["Accounts Receivable"] == Decimal("1084.31")
    assert after_invoice["Sales"] - before["Sales"] == Decimal("1084.31")
    pay = api.post("/customerpayments", json={
        "customer_id": eur["contact_id"], "payment_mode": "banktransfer", "amount": "1000.00", "date": "2026-01-05",
        "exchange_rate": "1.10", "account_id": [a for a in j(api.get("/bankaccounts"))["bankaccounts"]
                                                if a["account_name"] == "Business Checking"][0]["account_id"],
        "invoices": [{"invoice_id": inv["invoice_id"], "amount_applied": "1000.00"}]})
    assert pay.status_code == 201, pay.text
    assert Decimal(str(j(pay)["payment"]["exchange_rate"])) == Decimal("1.10")
    after = balances()
    assert after["Accounts Receivable"] == before["Accounts Receivable"]  # cleared at the invoice's rate
    assert after["Business Checking"] - before["Business Checking"] == Decimal("1100.00")
    # 1100.00 received for a receivable of 1084.31: a gain of 15.69 (credit → negative on an expense account)
    assert after["Exchange Gain or Loss"] - before["Exchange Gain or Loss"] == Decimal("-15.69")
    assert j(api.get(f"/invoices/{inv['invoice_id']}"))["invoice"]["status"] == "paid"
    api.delete(f"/customerpayments/{j(pay)['payment']['payment_id']}")
    assert balances()["Exchange Gain or Loss"] == before["Exchange Gain or Loss"]


# ----------------------------------------------------------------------------- advertised URLs
def test_cli_base_url_uses_the_real_port(app) -> None:
    args = build_parser().parse_args(["--port", "8911"])
    assert build_config(args).base_url == "http://127.0.0.1:8911"
    assert base_url_for("0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert base_url_for("0.0.0.0", 9000, "https://sandbox.example/") == "https://sandbox.example"
    sandbox_app = create_app(build_config(build_parser().parse_args(["--port", "8911", "--invoices", "5",
                                                                    "--customers", "2"])))
    c = httpx.Client(transport=SandboxTransport(sandbox_app), base_url="http://127.0.0.1:8911")
    try:
        q = authorize(c)
        assert q["accounts-server"] == "http://127.0.0.1:8911"
        assert exchange(c, q["code"], accounts_server=q["accounts-server"])["api_domain"] == "http://127.0.0.1:8911"
    finally:
        c.close()


def test_ledgersync_sandbox_command_uses_the_real_port() -> None:
    from ledgersync.cli import _sandbox_app

    assert _sandbox_app(8912, None).state.sandbox.config.base_url == "http://127.0.0.1:8912"
