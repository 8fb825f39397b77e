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
    limiter_waits: LimiterWaits | None = None

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

    @property
    def base_url(self) -> str:
        return BASE

    @property
    def customer_count(self) -> int:
        return len([c for c in self.org.contacts.values() if c.contact_type == "customer"])

    @property
    def invoice_count(self) -> int:
        return len(self.org.invoices)

    def close(self) -> None:
        self.http.close()

    def now(self) -> datetime:
        return self.sandbox.clock.now()


def _build_sandbox(*, customers: int, invoices: int, seed: int, years: int, manual_clock: bool, time_scale: float,
                   plan: str, rate_limits: bool, base_url: str = BASE) -> tuple[Any, str, str, dict[str, Any]]:
    """The sandbox app with one generated organisation of the demo user and an access token for
    it: (app, organization_id, token, what the generator made)."""
    config = zs.SandboxConfig(manual_clock=manual_clock, time_scale=time_scale, base_url=base_url, demo=False,
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
    return app, org.organization_id, token, result.as_dict()


class LimiterWaits:
    """The limiter's sleep, measured: how many sandbox seconds the engine was told to wait."""

    def __init__(self, sleep: Any) -> None:
        self._sleep = sleep
        self.seconds = 0.0

    def __call__(self, seconds: float) -> None:
        self.seconds += max(0.0, seconds)
        self._sleep(seconds)


def _client_side(http: httpx.Client, clock: Any, *, base_url: str, org_id: str, token: str, manual_clock: bool,
                 time_scale: float, plan: str, daily_limit: int | None,
                 ) -> tuple[MemoryRateLimiter, ZohoBooks, LimiterWaits]:
    """The platform's side: a limiter that reads the SANDBOX clock and a client over `http`."""
    sleep = clock.advance if manual_clock else _scaled_sleep(time_scale)
    limiter = MemoryRateLimiter(
        per_minute=100, window_seconds=60.0, daily_limit=daily_limit or PLAN_DAILY[plan], day_seconds=86400.0,
        clock=lambda: clock.now().timestamp(), sleep=(waits := LimiterWaits(sleep)),
    )
    books = ZohoBooks(http, api_domain=base_url, organization_id=org_id, tokens=StaticTokenProvider(token),
                      limiter=limiter, sleep=sleep)
    return limiter, books, waits


def build_harness(*, customers: int = 10, invoices: int = 60, seed: int = 7, years: int = 3,
                  manual_clock: bool = True, time_scale: float = 1.0, plan: str = "premium",
                  daily_limit: int | None = None, rate_limits: bool = True) -> ZohoHarness:
    app, org_id, token, generated = _build_sandbox(customers=customers, invoices=invoices, seed=seed, years=years,
                                                   manual_clock=manual_clock, time_scale=time_scale, plan=plan,
                                                   rate_limits=rate_limits)
    http = httpx.Client(transport=zs.SandboxTransport(app))
    limiter, books, waits = _client_side(http, app.state.sandbox.clock, base_url=BASE, org_id=org_id, token=token,
                                  manual_clock=manual_clock, time_scale=time_scale, plan=plan,
                                  daily_limit=daily_limit)
    return ZohoHarness(app=app, org_id=org_id, token=token, http=http, limiter=limiter, books=books,
                       generated=generated, limiter_waits=waits)


@dataclass
class RemoteZohoHarness:
    """The sandbox serving over HTTP from a child process (`spawn_harness`): Zoho is another
    server, as in production, so its CPU is not the engine's. Counters are read from the
    sandbox's admin API (`/_sandbox/orgs/{id}/stats`), its clock from a local `Clock` anchored
    at the same start (`time.monotonic` is system-wide)."""

    process: Any
    base_url: str
    org_id: str
    token: str
    http: httpx.Client
    clock: Any
    limiter: MemoryRateLimiter
    books: ZohoBooks
    customer_count: int
    invoice_count: int
    generated: dict[str, Any] = field(default_factory=dict)
    limiter_waits: LimiterWaits | None = None

    def _stats(self) -> dict[str, Any]:
        resp = self.http.get(f"{self.base_url}/_sandbox/orgs/{self.org_id}/stats")
        resp.raise_for_status()
        stats: dict[str, Any] = resp.json()
        return stats

    def calls(self) -> int:
        return sum(self.calls_by_op().values())

    def calls_by_op(self) -> dict[str, int]:
        return dict(self._stats()["api_calls"])

    def http_429(self) -> int:
        return int(self._stats()["http_429"])

    def now(self) -> datetime:
        return self.clock.now()

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _serve_sandbox(conn: Any, options: dict[str, Any]) -> None:  # pragma: no cover - runs in the child
    import socket

    import uvicorn

    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY on accepted connections only then (with
    # proto 0, Nagle and delayed ACKs add ~40 ms to every reply)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app, org_id, token, generated = _build_sandbox(base_url=base_url, **options)
    org = app.state.sandbox.orgs[org_id]
    customers = len([c for c in org.contacts.values() if c.contact_type == "customer"])
    start, real0 = app.state.sandbox.clock.anchor()
    conn.send({"base_url": base_url, "org_id": org_id, "token": token, "generated": generated, "start": start,
               "real0": real0, "customers": customers, "invoices": len(org.invoices)})
    conn.close()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    server.run(sockets=[sock])


def spawn_harness(*, customers: int = 10, invoices: int = 60, seed: int = 7, years: int = 3,
                  time_scale: float = 1.0, plan: str = "premium", daily_limit: int | None = None,
                  rate_limits: bool = True) -> RemoteZohoHarness:
    """Like `build_harness` on a scaled clock, but the sandbox runs in a child process and is
    reached over local HTTP. Call `close()` to stop it."""
    import multiprocessing

    from zohobooks_sandbox.clock import Clock

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    options = {"customers": customers, "invoices": invoices, "seed": seed, "years": years, "manual_clock": False,
               "time_scale": time_scale, "plan": plan, "rate_limits": rate_limits}
    process = ctx.Process(target=_serve_sandbox, args=(child, options), daemon=True, name="zoho-sandbox")
    process.start()
    child.close()
    if not parent.poll(600):
        process.kill()
        raise RuntimeError("the sandbox process did not start")
    info = parent.recv()
    clock = Clock(time_scale, start=datetime.fromisoformat(info["start"]), real0=info["real0"])
    http = httpx.Client(timeout=30.0)
    for _ in range(200):  # the child binds before it answers; uvicorn accepts once it has started
        try:
            http.get(f"{info['base_url']}/_sandbox/orgs/{info['org_id']}/stats").raise_for_status()
            break
        except httpx.TransportError:
            import time

            time.sleep(0.05)
    limiter, books, waits = _client_side(http, clock, base_url=info["base_url"], org_id=info["org_id"], token=info["token"],
                                  manual_clock=False, time_scale=time_scale, plan=plan, daily_limit=daily_limit)
    return RemoteZohoHarness(process=process, base_url=info["base_url"], org_id=info["org_id"], token=info["token"],
                             http=http, clock=clock, limiter=limiter, books=books,
                             customer_count=info["customers"], invoice_count=info["invoices"],
                             generated=info["generated"], limiter_waits=waits)


def _scaled_sleep(time_scale: float):  # type: ignore[no-untyped-def]
    import time

    return lambda seconds: time.sleep(max(0.0, seconds) / time_scale)


def connect_platform(container: Container, partner_id: str, harness: ZohoHarness | RemoteZohoHarness) -> str:
    """A pending connection of `partner_id` bound to the harness's organisation."""
    with container.uow() as uow:
        conn = Connection(partner_id=partner_id, status="pending", organization_id=harness.org_id,
                          organization_name="Pull Test Co", currency_code="USD", data_center="us",
                          api_domain=harness.base_url,
                          plan="premium", connected_at=datetime.now(timezone.utc))
        uow.session.add(conn)
        uow.commit()
        connection_id = conn.id
    container.books_factory = lambda _c, _cid: harness.books
    container.clock = harness.now
    return connection_id
