"""Typed errors from Zoho's status/code/message."""
import pytest

from ledgersync.zoho import (
    ZohoAPIError,
    ZohoAuthError,
    ZohoNotFound,
    ZohoRateLimited,
    ZohoRejected,
    ZohoScopeError,
    ZohoServerError,
)
from ledgersync.zoho.errors import error_from_response

from .conftest import zoho_json


@pytest.mark.parametrize("status,body,cls", [
    (401, {"code": 57, "message": "You are not authorized to perform this operation"}, ZohoScopeError),
    (401, {"code": 14, "message": "Invalid OAuth token."}, ZohoAuthError),
    (404, {"code": 1002, "message": "Invoice does not exist."}, ZohoNotFound),
    (400, {"code": 1002, "message": "Payment does not exist."}, ZohoNotFound),
    (404, {"code": 5, "message": "Invalid URL Passed"}, ZohoNotFound),
    (400, {"code": 36023, "message": "over applied"}, ZohoRejected),
    (400, {"code": 1070, "message": "already exists."}, ZohoRejected),
    (500, {"code": 1, "message": "boom"}, ZohoServerError),
    (502, None, ZohoServerError),
])
def test_mapping(status, body, cls):
    err = error_from_response(status, body)
    assert type(err) is cls
    if body:
        assert err.code == body["code"] and err.message == body["message"] and err.status == status


@pytest.mark.parametrize("code,message,limit", [
    (44, "You have made too many requests continuously: the limit is 100 requests per minute", "minute"),
    (45, "You have exceeded the maximum number of API calls allowed per day", "day"),
    (44, "You have made too many concurrent requests", "concurrency"),
    (None, "API usage limit exceeded", "minute"),
])
def test_rate_limit_kind(code, message, limit):
    err = error_from_response(429, {"code": code, "message": message}, reset_seconds=12)
    assert isinstance(err, ZohoRateLimited) and err.limit == limit and err.retry_after == 12


def test_client_raises_typed_error_without_retrying_rejections(make_books):
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        return zoho_json(400, {"code": 2, "message": "Invalid value passed for amount"})

    with pytest.raises(ZohoRejected) as caught:
        make_books(handler).post("/customerpayments", {"amount": -1})
    assert calls["n"] == 1 and "amount" in caught.value.message


def test_code_nonzero_with_http_200_is_an_error(make_books):
    books = make_books(lambda r: zoho_json(200, {"code": 1002, "message": "Invoice does not exist."}))
    with pytest.raises(ZohoNotFound):
        books.get("/invoices/1")


def test_scope_error_does_not_refresh(make_books):
    class Counting:
        refreshed = 0

        def access_token(self):
            return "1000.tok"

        def refresh_access_token(self, stale):
            Counting.refreshed += 1
            return "1000.tok2"

    books = make_books(lambda r: zoho_json(401, {"code": 57, "message": "You are not authorized"}), tokens=Counting())
    with pytest.raises(ZohoScopeError):
        books.get("/banktransactions")
    assert Counting.refreshed == 0
    assert issubclass(ZohoScopeError, ZohoAPIError)
