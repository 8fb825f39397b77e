"""What real clients send and what Zoho answers when it goes wrong: one error table."""
from __future__ import annotations

import json

import httpx
import pytest

from zohobooks_sandbox import SandboxConfig, SandboxTransport, create_app
from zohobooks_sandbox.testing import books_client


@pytest.fixture(scope="module")
def app():
    return create_app(SandboxConfig(manual_clock=True, rate_limits_enabled=False))


@pytest.fixture(scope="module")
def api(app):
    c = books_client(app)
    yield c
    c.close()


@pytest.fixture(scope="module")
def customer_id(app):
    return next(c.contact_id for c in app.state.sandbox.orgs["700000001"].contacts.values())


def test_path_and_query_tolerance(api, customer_id):
    assert api.get(f"/contacts/{customer_id}/").status_code == 200
    raw = api.get(f"http://127.0.0.1:8900/books/v3//contacts/{customer_id}")
    assert raw.status_code == 200
    trailing_amp = api.get("http://127.0.0.1:8900/books/v3/invoices?organization_id=700000001&per_page=1&")
    assert trailing_amp.status_code == 200 and trailing_amp.json()["page_context"]["per_page"] == 1


def test_bodies_without_content_type_and_jsonstring_form(api):
    no_ct = api.post("/contacts", content=json.dumps({"contact_name": "No Content Type Ltd"}).encode(),
                     headers={"Content-Type": ""})
    assert no_ct.status_code == 201
    form = api.post("/contacts", data={"JSONString": json.dumps({"contact_name": "Form Client Ltd"})})
    assert form.status_code == 201 and form.json()["contact"]["contact_name"] == "Form Client Ltd"
    curl_style = api.post("/contacts", content=json.dumps({"contact_name": "Curl Style Ltd"}).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert curl_style.status_code == 201
    query = api.post("/contacts", params={"JSONString": json.dumps({"contact_name": "Query String Ltd"})})
    assert query.status_code == 201
    bad = api.post("/contacts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json() == {"code": 4, "message": "Invalid value passed for JSONString"}


def test_organization_id_by_header_or_query_and_errors(app, api):
    token = api.headers["Authorization"]
    with httpx.Client(transport=SandboxTransport(app), base_url="http://127.0.0.1:8900/books/v3",
                      headers={"Authorization": token}) as c:
        assert c.get("/invoices", params={"organization_id": "700000001", "per_page": 1}).status_code == 200
        missing = c.get("/invoices")
        assert missing.status_code == 400 and missing.json()["code"] == 6
        foreign = c.get("/invoices", params={"organization_id": "123"})
        assert foreign.status_code == 401 and foreign.json()["code"] == 6041
        assert c.get("/organizations").status_code == 200  # the one call without an organisation
        noauth = c.get("/invoices", params={"organization_id": "700000001"}, headers={"Authorization": ""})
        assert noauth.status_code == 401 and noauth.json()["code"] == 14


def test_error_table(api):
    assert api.get("/invoices/1").json() == {"code": 1002, "message": "Invoice does not exist."}
    assert api.get("/nothing-here").status_code == 404 and api.get("/nothing-here").json()["code"] == 5
    r = api.patch("/invoices")
    assert r.status_code == 405 and r.json()["code"] == 37
    missing = api.post("/invoices", json={"line_items": [{"name": "x", "rate": 1}]})
    assert missing.status_code == 400 and missing.json() == {"code": 4, "message": "customer_id is required"}
    bad_amount = api.post("/customerpayments", json={"customer_id": "1", "amount": "abc", "date": "2026-01-01"})
    assert bad_amount.status_code == 400 and bad_amount.json()["code"] == 2 and "customer_id" in bad_amount.json()["message"]
    bad_date = api.post("/contacts", json={"contact_name": "Date Person", "email": "not-an-email"})
    assert bad_date.json() == {"code": 2, "message": "Invalid value passed for email"}


def test_money_is_emitted_as_json_numbers_with_two_decimals(api, customer_id):
    r = api.post("/invoices", json={"customer_id": customer_id, "line_items": [{"name": "x", "rate": "40.6"}]})
    assert '"total": 40.60' in r.text and '"balance": 40.60' in r.text
    assert isinstance(r.json()["invoice"]["total"], float)


def test_timestamps_are_zoho_formatted(api, customer_id):
    inv = api.get("/invoices", params={"per_page": 1}).json()["invoices"][0]
    stamp = inv["last_modified_time"]
    assert len(stamp) == 24 and stamp[10] == "T" and stamp[-5] in "+-" and ":" not in stamp[-5:]


def test_api_calls_are_counted_per_operation(app, api):
    org = app.state.sandbox.orgs["700000001"]
    before = org.api_calls["invoices.list"]
    api.get("/invoices", params={"per_page": 1})
    assert org.api_calls["invoices.list"] == before + 1


def test_transport_is_thread_safe(app, api):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: api.get("/invoices", params={"per_page": 5}).status_code, range(40)))
    assert codes == [200] * 40
