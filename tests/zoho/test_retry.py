"""One test per retry rule (ledgersync.zoho.retry), plus the client-level proof for writes."""
import random

import httpx
import pytest

from ledgersync.zoho import ZohoServerError, ZohoTransportError
from ledgersync.zoho.retry import Outcome, backoff_seconds, should_retry

from .conftest import zoho_json


def test_success_and_rejections_are_final():
    assert not should_retry(Outcome.SUCCESS, 1, safe_to_repeat=True)
    assert not should_retry(Outcome.REJECTED, 1, safe_to_repeat=True)
    assert not should_retry(Outcome.AUTH_EXPIRED, 1, safe_to_repeat=True)


def test_not_sent_is_retried_even_for_writes():
    assert should_retry(Outcome.NOT_SENT, 1, safe_to_repeat=False)


def test_rate_limited_is_refused_before_applied_so_writes_retry():
    assert should_retry(Outcome.RATE_LIMITED, 1, safe_to_repeat=False)


def test_daily_limit_is_not_retried():
    assert not should_retry(Outcome.DAILY_LIMIT, 1, safe_to_repeat=True)


@pytest.mark.parametrize("outcome", [Outcome.UNKNOWN, Outcome.SERVER_ERROR, Outcome.MALFORMED])
def test_unknown_outcome_retried_only_when_safe(outcome):
    assert should_retry(outcome, 1, safe_to_repeat=True)
    assert not should_retry(outcome, 1, safe_to_repeat=False)


def test_attempts_are_capped():
    assert should_retry(Outcome.SERVER_ERROR, 4, safe_to_repeat=True, max_attempts=5)
    assert not should_retry(Outcome.SERVER_ERROR, 5, safe_to_repeat=True, max_attempts=5)


def test_backoff_is_jittered_exponential_and_capped():
    rng = random.Random(7)
    for attempt in range(1, 12):
        value = backoff_seconds(attempt, rng, base=0.5, cap=8.0)
        assert 0 <= value <= min(8.0, 0.5 * 2 ** (attempt - 1))


def test_no_repost_after_read_timeout(make_books):
    posts = []

    def handler(request):
        posts.append(request)
        raise httpx.ReadTimeout("accepted, answer lost", request=request)

    books = make_books(handler)
    with pytest.raises(ZohoTransportError) as caught:
        books.create_customer_payment({"amount": "1.00", "reference_number": "ls:1"})
    assert caught.value.outcome_unknown is True
    assert len(posts) == 1


def test_no_repost_after_dropped_connection_or_5xx(make_books):
    calls = {"n": 0}

    def dropped(request):
        calls["n"] += 1
        raise httpx.RemoteProtocolError("server disconnected", request=request)

    with pytest.raises(ZohoTransportError) as caught:
        make_books(dropped).post("/banktransactions", {"amount": 1})
    assert caught.value.outcome_unknown and calls["n"] == 1

    calls["n"] = 0

    def failing(request):
        calls["n"] += 1
        return zoho_json(500, {"code": 1, "message": "internal error"})

    with pytest.raises(ZohoServerError) as caught:
        make_books(failing).post("/customerpayments", {"amount": 1})
    assert caught.value.outcome_unknown and calls["n"] == 1


def test_reads_retry_timeouts_and_5xx(make_books, clock):
    script = iter([httpx.ReadTimeout("slow"), zoho_json(503, {"code": 1, "message": "down"}),
                   httpx.Response(200, content=b"<html>gateway</html>"), zoho_json(200, {"code": 0, "invoices": []})])

    def handler(request):
        step = next(script)
        if isinstance(step, Exception):
            raise step
        return step

    books = make_books(handler)
    assert books.get("/invoices") == {"code": 0, "invoices": []}
    assert books.calls_made == 4 and len(clock.sleeps) == 3


def test_writes_retry_after_429_and_connect_error(make_books):
    script = iter([httpx.ConnectError("refused"),
                   zoho_json(429, {"code": 44, "message": "You have made too many requests continuously"}),
                   zoho_json(201, {"code": 0, "payment": {"payment_id": "5", "amount": 1}})])
    sent = []

    def handler(request):
        sent.append(request)
        step = next(script)
        if isinstance(step, Exception):
            raise step
        return step

    payment = make_books(handler).create_customer_payment({"amount": 1})
    assert payment.payment_id == "5" and len(sent) == 3


def test_reads_give_up_after_max_attempts(make_books):
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        return zoho_json(500, {"code": 1, "message": "boom"})

    with pytest.raises(ZohoServerError) as caught:
        make_books(handler, max_attempts=3).get("/invoices")
    assert calls["n"] == 3 and caught.value.outcome_unknown is False
