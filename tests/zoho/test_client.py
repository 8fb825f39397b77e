"""ZohoBooks over httpx.MockTransport: headers, Decimal round trip, refresh-once, counting, logs."""
import json
import logging
from decimal import Decimal

import httpx
import pytest

from ledgersync.zoho import (
    MemoryRateLimiter,
    StaticTokenProvider,
    ZohoAuthError,
    ZohoReauthorizationRequired,
    ZohoServerError,
    dumps_decimal,
)

from .conftest import zoho_json


def test_sends_auth_header_and_organization_id(make_books):
    seen = []

    def handler(request):
        seen.append(request)
        return zoho_json(200, {"code": 0, "invoice": {}})

    make_books(handler).get("/invoices/123/")
    request = seen[0]
    assert request.headers["Authorization"] == "Zoho-oauthtoken 1000.statictoken"
    assert request.url.params["organization_id"] == "700000001"
    assert str(request.url).startswith("https://www.zohoapis.com/books/v3/invoices/123")


def test_list_organizations_sends_no_organization_id(make_books):
    seen = []

    def handler(request):
        seen.append(request)
        return zoho_json(200, {"code": 0, "organizations": [{"organization_id": 700000001, "name": "Zylker"}]})

    orgs = make_books(handler).list_organizations()
    assert orgs[0].organization_id == "700000001" and "organization_id" not in seen[0].url.params


def test_decimal_round_trip(make_books):
    bodies = []

    def handler(request):
        bodies.append(request.content.decode())
        return httpx.Response(201, content=b'{"code":0,"message":"The payment has been created.",'
                                           b'"payment":{"payment_id":"1","amount":40.60,"bank_charges":0.1}}')

    payment = make_books(handler).create_customer_payment(
        {"amount": Decimal("40.60"), "invoices": [{"invoice_id": "9", "amount_applied": Decimal("40.6")}]})
    assert json.loads(bodies[0], parse_float=Decimal)["amount"] == Decimal("40.60")
    assert '"amount":40.60' in bodies[0] and '"amount_applied":40.6' in bodies[0]
    assert payment.amount == Decimal("40.60") and isinstance(payment.bank_charges, Decimal)
    assert payment.bank_charges == Decimal("0.1")


def test_dumps_decimal_refuses_floats_and_nan():
    assert dumps_decimal({"a": Decimal("1E+2"), "s": "x"}) == '{"a":100,"s":"x"}'
    with pytest.raises(TypeError):
        dumps_decimal({"a": 1.5})
    with pytest.raises(ValueError):
        dumps_decimal({"a": Decimal("NaN")})


def test_401_refreshes_once_and_repeats_once(make_books):
    class Provider:
        def __init__(self):
            self.token, self.refreshes = "1000.old", 0

        def access_token(self):
            return self.token

        def refresh_access_token(self, stale):
            assert stale == self.token
            self.refreshes += 1
            self.token = "1000.new"
            return self.token

    provider = Provider()
    posts = []

    def handler(request):
        posts.append(request.headers["Authorization"])
        if request.headers["Authorization"].endswith("old"):
            return zoho_json(401, {"code": 14, "message": "Invalid OAuth token."})
        return zoho_json(201, {"code": 0, "payment": {"payment_id": "1", "amount": 5}})

    make_books(handler, tokens=provider).create_customer_payment({"amount": Decimal("5")})
    assert provider.refreshes == 1 and posts == ["Zoho-oauthtoken 1000.old", "Zoho-oauthtoken 1000.new"]


def test_401_after_refresh_does_not_loop(make_books):
    class Provider:
        refreshes = 0

        def access_token(self):
            return "1000.a"

        def refresh_access_token(self, stale):
            Provider.refreshes += 1
            return "1000.b"

    calls = []
    books = make_books(lambda r: calls.append(r) or zoho_json(401, {"code": 14, "message": "Invalid OAuth token."}),
                       tokens=Provider())
    with pytest.raises(ZohoAuthError):
        books.get("/invoices")
    assert Provider.refreshes == 1 and len(calls) == 2


def test_static_token_refusal_needs_reauthorization(make_books):
    books = make_books(lambda r: zoho_json(401, {"code": 14, "message": "Invalid OAuth token."}))
    with pytest.raises(ZohoReauthorizationRequired):
        books.get("/invoices")


def test_malformed_body_of_write_is_outcome_unknown(make_books):
    calls = []
    books = make_books(lambda r: calls.append(r) or httpx.Response(200, content=b"<html>oops"))
    with pytest.raises(ZohoServerError) as caught:
        books.post("/banktransactions", {"amount": Decimal("1")})
    assert caught.value.outcome_unknown and len(calls) == 1


def test_calls_are_counted_by_op_and_reported(make_books):
    records = []
    books = make_books(lambda r: zoho_json(200, {"code": 0, "invoice": {}, "page_context": {"total": 42}}),
                       on_call=records.append)
    books.get("/invoices/1")
    books.get("/invoices/2")
    assert books.count_invoices(status="unpaid") == 42
    assert books.calls_made == 3
    assert books.calls_by_op == {"GET /invoices/{id}": 2, "GET /invoices": 1}
    assert [r.status for r in records] == [200, 200, 200]


def test_count_sends_response_option_2(make_books):
    seen = []
    books = make_books(lambda r: seen.append(r) or zoho_json(200, {"code": 0, "page_context": {"total": 7}}))
    assert books.count("/contacts", {"filter_by": "Status.All"}) == 7
    assert seen[0].url.params["response_option"] == "2"


def test_get_pdf_returns_bytes(make_books):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, content=b"%PDF-1.4 ...", headers={"content-type": "application/pdf"})

    assert make_books(handler).get_invoice_pdf("55").startswith(b"%PDF")
    assert seen[0].url.params["accept"] == "pdf"


def test_limiter_is_fed_reply_headers_and_paces_calls(make_books, clock):
    limiter = MemoryRateLimiter(per_minute=100, clock=clock, sleep=clock.sleep)
    headers = {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "30"}
    books = make_books(lambda r: zoho_json(200, {"code": 0}, headers), limiter=limiter)
    books.get("/invoices")
    assert clock.sleeps == []
    books.get("/invoices", priority="push")  # Zoho said 0 left: wait for its reset, don't earn a 429
    assert sum(clock.sleeps) == pytest.approx(30, abs=0.01)


def test_tokens_never_appear_in_logs(make_books, caplog):
    # Set the level on the loggers themselves: the CLI (tested elsewhere in the session) quietens them.
    for name in ("", "ledgersync.zoho.client", "httpx"):
        caplog.set_level(logging.DEBUG, logger=name)
    secret = "1000.0123456789abcdef0123.fedcba9876543210fedc"
    books = make_books(lambda r: zoho_json(401, {"code": 14, "message": "Invalid OAuth token."}),
                       tokens=StaticTokenProvider(secret))
    with pytest.raises(ZohoReauthorizationRequired):
        books.get("/invoices")
    logging.getLogger("httpx").info("HTTP Request: GET https://x/?token=%s Authorization: Zoho-oauthtoken %s",
                                    secret, secret)
    from ledgersync.zoho import RedactingFilter
    flt = RedactingFilter()
    text = "\n".join(flt.filter(r) and r.getMessage() for r in caplog.records)
    assert secret not in text and "zoho.call" in text
