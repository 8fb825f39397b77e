"""Zoho's limits in the sandbox: 100/min, daily cap by plan, concurrency, headers, time_scale."""
from __future__ import annotations

import pytest

from zohobooks_sandbox import SandboxConfig, create_app
from zohobooks_sandbox.clock import Clock
from zohobooks_sandbox.limits import OrgLimits, RateLimiter
from zohobooks_sandbox.testing import books_client

HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")


@pytest.fixture()
def app():
    return create_app(SandboxConfig(manual_clock=True))


@pytest.fixture()
def api(app):
    c = books_client(app)
    yield c
    c.close()


def test_101st_call_in_a_minute_is_429_code_44_without_retry_after(app, api) -> None:
    clock = app.state.sandbox.clock
    for n in range(100):
        r = api.get("/contacts", params={"per_page": 1})
        assert r.status_code == 200, r.text
        assert r.headers["X-Rate-Limit-Limit"] == "100"
        assert r.headers["X-Rate-Limit-Remaining"] == str(99 - n)
    clock.advance(20)
    r = api.get("/contacts")
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == 44 and "100 requests per minute" in body["message"]
    assert "retry-after" not in r.headers
    assert r.headers["X-Rate-Limit-Remaining"] == "0"
    assert r.headers["X-Rate-Limit-Reset"] == "40"
    clock.advance(40)  # the fixed window closes 60 sandbox seconds after it opened
    r = api.get("/contacts")
    assert r.status_code == 200 and r.headers["X-Rate-Limit-Remaining"] == "99"
    stats = app.state.sandbox.guard.stats(app.state.sandbox.orgs["700000001"])
    assert stats["http_429"] == 1 and stats["api_calls"]["contacts.list"] == 102


def test_headers_on_every_books_reply_including_errors(api) -> None:
    for resp in (api.get("/invoices"), api.get("/invoices/999"), api.post("/invoices", json={}),
                 api.get("/chartofaccounts"), api.get("/organizations/700000001")):
        assert all(h in resp.headers for h in HEADERS), (resp.status_code, dict(resp.headers))
        assert int(resp.headers["X-Rate-Limit-Reset"]) <= 60


def test_daily_cap_by_plan_resets_after_24h(app, api) -> None:
    admin = api  # same transport; admin routes live outside /books/v3
    r = admin.put("http://127.0.0.1:8900/_sandbox/orgs/700000001/limits", json={"plan": "free", "daily": 5})
    assert r.status_code == 200 and r.json()["daily"] == 5 and r.json()["concurrency"] == 5
    clock = app.state.sandbox.clock
    for _ in range(5):
        assert api.get("/contacts").status_code == 200
        clock.advance(61)  # stay far below the per-minute limit
    r = api.get("/contacts")
    assert r.status_code == 429 and r.json()["code"] == 45 and "per day" in r.json()["message"]
    assert r.headers["X-Rate-Limit-Day-Remaining"] == "0"
    clock.advance(86_400)
    fresh = books_client(app)  # the old access token expired meanwhile
    assert fresh.get("/contacts").status_code == 200
    fresh.close()


def test_free_plan_daily_default_is_1000(app) -> None:
    org = app.state.sandbox.orgs["700000001"]
    app.state.sandbox.guard.set_limits(org, plan="free")
    limits = app.state.sandbox.guard.limits_for(org)
    assert (limits.daily, limits.concurrency, limits.per_minute) == (1000, 5, 100)
    app.state.sandbox.guard.set_limits(org, plan="professional")
    assert app.state.sandbox.guard.limits_for(org).daily == 5000


def test_concurrency_cap_refuses_the_sixth_parallel_call() -> None:
    limiter = RateLimiter(lambda: 0.0)
    limits = OrgLimits.for_plan("free")
    for _ in range(5):
        assert limiter.admit("o", limits).admitted
    refused = limiter.admit("o", limits)
    assert not refused.admitted and refused.rejection.limit == "concurrency"
    assert refused.rejection.code == 44 and "concurrent" in refused.rejection.message
    limiter.release("o")
    assert limiter.admit("o", limits).admitted


def test_time_scale_makes_a_zoho_minute_shorter(monkeypatch) -> None:
    real = {"t": 1000.0}
    monkeypatch.setattr("zohobooks_sandbox.clock.time.monotonic", lambda: real["t"])
    clock = Clock(time_scale=120.0)  # one Zoho minute = 0.5 real seconds
    limiter = RateLimiter(clock.monotonic)
    limits = OrgLimits(per_minute=3)
    for _ in range(3):
        limiter.admit("o", limits)
        limiter.release("o")
    assert not limiter.admit("o", limits).admitted
    real["t"] += 0.5
    assert limiter.admit("o", limits).admitted


def test_limits_can_be_disabled_per_org(app, api) -> None:
    org = app.state.sandbox.orgs["700000001"]
    app.state.sandbox.guard.set_limits(org, per_minute=1, enabled=False)
    assert all(api.get("/contacts").status_code == 200 for _ in range(3))


def test_concurrency_cap_over_http() -> None:
    """A call still running holds its slot: with concurrency 1 a parallel call gets 429."""
    import threading
    import time

    app = create_app(SandboxConfig(manual_clock=True, time_scale=10.0))
    api = books_client(app)
    sandbox = app.state.sandbox
    org = sandbox.orgs["700000001"]
    sandbox.guard.set_limits(org, concurrency=1)
    sandbox.guard.faults.set_plan("700000001", None)
    from zohobooks_sandbox.faults import FaultKind, FaultRule
    sandbox.guard.faults.add_script("700000001", [FaultRule(kind=FaultKind.LATENCY, latency_seconds=15)])
    slow: dict = {}
    worker = threading.Thread(target=lambda: slow.setdefault("r", api.get("/contacts")))
    worker.start()
    deadline = time.monotonic() + 5
    while sandbox.guard.limiter.in_flight("700000001") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the slow call holds its slot (not a timing assertion)
    parallel = api.get("/invoices")
    worker.join()
    api.close()
    assert parallel.status_code == 429 and "concurrent" in parallel.json()["message"]
    assert slow["r"].status_code == 200
