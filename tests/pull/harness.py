"""Acting as the Zoho user and as the platform for pull tests and the pull bench.

`ZohoHarness` builds an in-process sandbox (manual or scaled clock), one organisation of the
demo user filled by the sandbox's generator, an access token minted directly in the sandbox's
accounts store (the OAuth dance is the web part's and the connector's to test), a `ZohoBooks`
client over `SandboxTransport` with a `MemoryRateLimiter` that reads the SANDBOX clock (so a
manual clock makes "waiting a minute" free and deterministic), and a platform connection row
bound to that organisation. `container.books_factory` hands the engines that client.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

import zohobooks_sandbox as zs
from ledgersync.bootstrap import Container
from ledgersync.store.orm import Connection
from ledgersync.zoho import MemoryRateLimiter, StaticTokenProvider, ZohoBooks
from zohobooks_sandbox.demo import create_organization
from zohobooks_sandbox.generator import generate
from zohobooks_sandbox.state import Token, User

BASE = "http://127.0.0.1:8900"
PLAN_DAILY = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}


@dataclass
class ZohoHarness:
    app: Any
    org_id: str
    token: str
    http: httpx.Client
    limiter: MemoryRateLimiter
    books: ZohoBooks
    generated: dict[str, Any] = field(default_factory=dict)

    @property
    def sandbox(self) -> Any:
        return self.app.state.sandbox

    @property
    def org(self) -> Any:
        return self.sandbox.orgs[self.org_id]

    def calls(self) -> int:
        """Calls the sandbox counted for the organisation (Zoho's view, not ours)."""
        return sum(self.org.api_calls.values())

    def calls_by_op(self) -> dict[str, int]:
        return dict(self.org.api_calls)

    def http_429(self) -> int:
        return int(self.org.http_429)

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        """The sandbox's admin API (`/_sandbox/...`): act as the Zoho user."""
        resp = self.http.request(method, f"{BASE}/_sandbox{path}", json=json)
        assert resp.status_code < 400, resp.text
        return resp.json() if resp.content else None

    def advance(self, seconds: float) -> None:
        self.sandbox.clock.advance(seconds)

    def now(self) -> datetime:
        return self.sandbox.clock.now()


def build_harness(*, customers: int = 10, invoices: int = 60, seed: int = 7, years: int = 3,
                  manual_clock: bool = True, time_scale: float = 1.0, plan: str = "premium",
                  daily_limit: int | None = None, rate_limits: bool = True) -> ZohoHarness:
    config = zs.SandboxConfig(manual_clock=manual_clock, time_scale=time_scale, base_url=BASE, demo=False,
                              seed=seed, rate_limits_enabled=rate_limits, default_plan=plan)
    app = zs.create_app(config)
    sandbox = app.state.sandbox
    with sandbox.lock:
        user = User(user_id=sandbox.next_id(), email="owner@zylker.test", password="x", name="Owner")
        sandbox.users[user.user_id] = user
        org = create_organization(sandbox, "Pull Test Co", plan=plan, user=user)
        if org.organization_id not in user.org_ids:
            user.org_ids.append(org.organization_id)
        token = "1000." + secrets.token_hex(16)
        sandbox.tokens[token] = Token(token=token, kind="access", client_id="1000.PULLTESTS", user_id=user.user_id,
                                      scopes=frozenset({"zohobooks.fullaccess.all"}), dc="us", org_id=None,
                                      created_at=sandbox.clock.monotonic(), expires_at=None)
    result = generate(sandbox, org.organization_id, customers=customers, invoices=invoices, years=years, seed=seed)
    http = httpx.Client(transport=zs.SandboxTransport(app))
    clock = sandbox.clock
    window = 60.0 / (time_scale if not manual_clock else 1.0)
    limiter = MemoryRateLimiter(
        per_minute=100, window_seconds=60.0, daily_limit=daily_limit or PLAN_DAILY[plan], day_seconds=86400.0,
        clock=lambda: clock.now().timestamp(),
        sleep=(clock.advance if manual_clock else _scaled_sleep(time_scale)),
    )
    del window
    books = ZohoBooks(http, api_domain=BASE, organization_id=org.organization_id, tokens=StaticTokenProvider(token),
                      limiter=limiter, sleep=(clock.advance if manual_clock else _scaled_sleep(time_scale)))
    return ZohoHarness(app=app, org_id=org.organization_id, token=token, http=http, limiter=limiter, books=books,
                       generated=result.as_dict())


def _scaled_sleep(time_scale: float):  # type: ignore[no-untyped-def]
    import time

    return lambda seconds: time.sleep(max(0.0, seconds) / time_scale)


def connect_platform(container: Container, partner_id: str, harness: ZohoHarness) -> str:
    """A pending connection of `partner_id` bound to the harness's organisation."""
    with container.uow() as uow:
        conn = Connection(partner_id=partner_id, status="pending", organization_id=harness.org_id,
                          organization_name="Pull Test Co", currency_code="USD", data_center="us", api_domain=BASE,
                          plan="premium", connected_at=datetime.now(timezone.utc))
        uow.session.add(conn)
        uow.commit()
        connection_id = conn.id
    container.books_factory = lambda _c, _cid: harness.books
    container.clock = harness.now
    return connection_id
