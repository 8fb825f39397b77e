"""Drive the push engine against the sandbox's real Books handlers, in-process, with faults.

`SandboxBooks` speaks the `Books` protocol of the push engine (get/post/put/delete returning
Zoho envelopes) by running the sandbox's own route handlers (`zohobooks_sandbox.books`): same
validation, balances, look-ups and ledger as over HTTP, without sockets, so a campaign of
thousands of faults runs in seconds. Answers are JSON round-tripped with the connector's
decimal codec, and sandbox errors become the connector's typed errors, so the engine sees what
it sees behind `ZohoBooks`.

Faults (`FaultPlan`) are injected around the handler like the sandbox's guard does:
`429` / `5xx` before the handler (refused, nothing applied), `drop` after it (applied, answer
lost: `ZohoTransportError(outcome_unknown=True)`), `5xx_after` (applied, then a 500 — outcome
unknown too), `revoked` (`ZohoReauthorizationRequired`).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledgersync.zoho.client import dumps_decimal, loads_decimal
from ledgersync.zoho.errors import (
    ZohoNotFound,
    ZohoRateLimited,
    ZohoReauthorizationRequired,
    ZohoRejected,
    ZohoServerError,
    ZohoTransportError,
)
from zohobooks_sandbox import errors as sb_errors
from zohobooks_sandbox.books import load_all
from zohobooks_sandbox.books.chartofaccounts import create_default_accounts
from zohobooks_sandbox.books.registry import Ctx, match
from zohobooks_sandbox.state import Organization, OrgData, Sandbox, Token

load_all()

FAULT_KINDS = ("429", "5xx", "drop", "5xx_after", "revoked")


@dataclass
class FaultPlan:
    """Per-call fault probability for writes (and reads, for 429/5xx) with a seeded RNG."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    revoked: bool = False  # token revoked until the test "reconnects"
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def decide(self, method: str) -> str | None:
        with self._lock:
            if self.revoked:
                return "revoked"
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kinds = self.kinds if method != "GET" else tuple(k for k in self.kinds if k in ("429", "5xx"))
            if not kinds:
                return None
            kind = self._rng.choice(kinds)
            if kind == "revoked":
                return "token_expired"  # transient: the connector refreshes and the call is refused once
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind

    @property
    def total(self) -> int:
        return sum(self.injected.values())


class SandboxBooks:
    """The push engine's `Books`, backed by the sandbox's handlers of one organisation."""

    def __init__(self, sandbox: Sandbox, org_id: str, faults: FaultPlan | None = None) -> None:
        self.sandbox = sandbox
        self.org_id = org_id
        self.faults = faults or FaultPlan()
        self.token = Token(token="t", kind="access", client_id="c", user_id="u", scopes=frozenset({"zohobooks.fullaccess.all"}),
                           dc="us", org_id=org_id, created_at=0.0, expires_at=None)
        self.calls = 0
        self.writes = 0

    def _call(self, method: str, path: str, params: Any = None, body: Any = None, headers: Any = None) -> dict:
        self.calls += 1
        fault = self.faults.decide(method)
        if fault == "revoked":
            raise ZohoReauthorizationRequired(401, 14, "refresh token revoked")
        if fault == "token_expired":
            self.faults.injected["token_expired"] = self.faults.injected.get("token_expired", 0) + 1
            raise ZohoRateLimited(429, 44, "refused while refreshing the token", limit="token", retry_after=0)
        if fault == "429":
            raise ZohoRateLimited(429, 44, "too many requests", limit="minute", retry_after=0)
        if fault == "5xx":
            raise ZohoServerError(500, 9999, "internal error", outcome_unknown=False)
        route, args, _ = match(method, path)
        if route is None:
            raise ZohoNotFound(404, 5, f"no route {method} {path}")
        ctx = Ctx(
            sandbox=self.sandbox,
            org=self.sandbox.orgs[self.org_id],
            token=self.token,
            method=method,
            params={k: str(v) for k, v in (params or {}).items()},
            path_args=args,
            body=loads_decimal(dumps_decimal(body)) if body is not None else {},
            headers={k.lower(): v for k, v in (headers or {}).items()},
        )
        try:
            status, payload = route.handler(ctx)
        except sb_errors.ZohoError as e:
            if e.status == 404:
                raise ZohoNotFound(e.status, e.code, e.message) from None
            if e.status >= 500:
                raise ZohoServerError(e.status, e.code, e.message) from None
            raise ZohoRejected(e.status, e.code, e.message) from None
        if method != "GET":
            self.writes += 1
        if fault == "drop":
            raise ZohoTransportError("connection dropped after the request was sent", outcome_unknown=True)
        if fault == "5xx_after":
            raise ZohoServerError(502, 9999, "bad gateway (applied)", outcome_unknown=True)
        return loads_decimal(dumps_decimal(payload))

    def get(self, path: str, params: Any = None, *, priority: str = "pull") -> dict:
        return self._call("GET", path, params)

    def post(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
             headers: Any = None, idempotent: bool = False) -> dict:
        return self._call("POST", path, params, json, headers)

    def put(self, path: str, json: Any = None, *, params: Any = None, priority: str = "push",
            headers: Any = None, idempotent: bool = True) -> dict:
        return self._call("PUT", path, params, json, headers)

    def delete(self, path: str, *, params: Any = None, priority: str = "push", idempotent: bool = False) -> dict:
        return self._call("DELETE", path, params)


# --------------------------------------------------------------------------- sandbox set-up


def new_org(sandbox: Sandbox, org_id: str = "700000009", currency: str = "USD") -> OrgData:
    org = OrgData(Organization(organization_id=org_id, name="Push Test Org", currency_code=currency))
    sandbox.orgs[org_id] = org
    create_default_accounts(sandbox, org)
    return org


def account_id(org: OrgData, name: str) -> str:
    return org.system_account(name).account_id


def zoho_contact(books: SandboxBooks, name: str) -> str:
    env = books.post("/contacts", json={"contact_name": name})
    return str(env["contact"]["contact_id"])


def zoho_invoice(books: SandboxBooks, customer_id: str, amount: Decimal, *, currency_rate: Decimal | None = None) -> str:
    body: dict[str, Any] = {"customer_id": customer_id, "line_items": [{"name": "Service", "rate": amount, "quantity": 1}]}
    if currency_rate is not None:
        body["exchange_rate"] = currency_rate
    env = books.post("/invoices", json=body)
    inv_id = str(env["invoice"]["invoice_id"])
    books.post(f"/invoices/{inv_id}/status/sent")
    return inv_id
