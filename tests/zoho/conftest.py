"""Shared helpers of the Zoho adapter tests: a fake clock and a scripted Zoho over MockTransport."""
from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from ledgersync.zoho import StaticTokenProvider, ZohoBooks


class FakeClock:
    """Seconds that only move when someone sleeps (deterministic limiter tests)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def zoho_json(status: int = 200, body: dict | None = None, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body if body is not None else {"code": 0, "message": "success"}),
                          headers={"content-type": "application/json", **(headers or {})})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_books(clock: FakeClock) -> Callable[..., ZohoBooks]:
    def build(handler: Callable[[httpx.Request], httpx.Response], **kw) -> ZohoBooks:
        kw.setdefault("tokens", StaticTokenProvider("1000.statictoken"))
        kw.setdefault("sleep", clock.sleep)
        return ZohoBooks(httpx.Client(transport=httpx.MockTransport(handler)), api_domain="https://www.zohoapis.com",
                         organization_id="700000001", **kw)
    return build
