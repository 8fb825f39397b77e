"""A partner connected for real to its own sandbox organisation, over the product's wire.

Shared by the push tests, the fault campaign and the benches. Everything the product does goes
through its real path: the OAuth connect flow (`tests.plugins.zoho_fixtures.connect_partner`),
`books_for(container, connection_id)` → `ZohoBooks` → `httpx.Client(transport=SandboxTransport(app))`
→ the sandbox's ASGI app (guard: limits + seeded faults). The test acts as the Zoho user with
`World.zoho(...)` (the sandbox admin's `act`: same handlers, no guard, no faults) and reads the
sandbox state directly to check the books.

Zoho-origin customers and invoices are created in the sandbox and mirrored on the platform
with their `external_refs` exactly as the pull engine stores them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledgersync.bootstrap import Container
from ledgersync.services import integration, partners
from ledgersync.store import orm
from ledgersync.zoho.ratelimit import MemoryRateLimiter
from tests.plugins.zoho_fixtures import DEMO_ZOHO_EMAIL, bind_container_to_sandbox, consent_redirect
from zohobooks_sandbox.admin import act
from zohobooks_sandbox.demo import create_organization
from zohobooks_sandbox.state import OrgData, Sandbox

_seq = itertools.count(1)


def sandbox_time_limiter(sandbox: Sandbox, **knobs: Any) -> MemoryRateLimiter:
    """The connector's limiter on the sandbox's (manual) clock: a wait moves Zoho's clock instead
    of sleeping, so a 429 burst that zeroes the minute window costs no real time."""
    return MemoryRateLimiter(**{"per_minute": 1_000_000, "daily_limit": 100_000_000, **knobs},
                             clock=sandbox.clock.monotonic, sleep=sandbox.clock.advance)


@dataclass
class World:
    container: Container
    app: Any
    sandbox: Sandbox
    org: OrgData
    partner_id: str
    connection_id: str
    customer_id: str
    customer_zoho_id: str

    # ----------------------------------------------------------------- acting as the Zoho user
    def zoho(self, method: str, path: str, body: dict[str, Any] | None = None,
             params: dict[str, str] | None = None) -> dict[str, Any]:
        """A Books call as the organisation's owner (in-process handlers: no guard, no faults)."""
        return act(self.sandbox, self.org, method, path, body, params)[1]

    def zinv(self, local_invoice_id: str) -> dict[str, Any]:
        return self.zoho("GET", f"/invoices/{self.zoho_id('invoice', local_invoice_id)}")["invoice"]

    def account(self, account_id: str | None) -> Any:
        return self.org.accounts[account_id or ""]

    def connection(self) -> orm.Connection:
        with self.container.uow() as uow:
            conn = uow.session.get(orm.Connection, self.connection_id)
            uow.session.expunge(conn)
            return conn

    def zoho_invoice(self, amount: str | Decimal, *, origin: str = "zoho", currency: str | None = None,
                     rate: str = "1") -> str:
        """A sent Zoho invoice mirrored on the platform (or a platform-only invoice)."""
        amt = Decimal(str(amount))
        currency = currency or self.org.org.currency_code
        with self.container.uow() as uow:
            inv = orm.Invoice(partner_id=self.partner_id, customer_id=self.customer_id, number=f"INV-{orm.new_id()[:8]}",
                              currency_code=currency, exchange_rate=Decimal(rate), issue_date=date(2026, 1, 2),
                              total=amt, outstanding=amt, status="open", origin=origin)
            uow.session.add(inv)
            uow.session.flush()
            if origin == "zoho":
                body: dict[str, Any] = {"customer_id": self.customer_zoho_id,
                                        "line_items": [{"name": "Service", "rate": str(amt), "quantity": 1}]}
                if currency != self.org.org.currency_code:
                    body["exchange_rate"] = rate
                zid = str(self.zoho("POST", "/invoices", body)["invoice"]["invoice_id"])
                self.zoho("POST", f"/invoices/{zid}/status/sent")
                uow.session.add(orm.ExternalRef(connection_id=self.connection_id, entity="invoice",
                                                local_id=inv.id, zoho_id=zid))
            uow.commit()
            return inv.id

    def zoho_id(self, entity: str, local_id: str) -> str | None:
        with self.container.uow() as uow:
            return uow.session.scalar(select(orm.ExternalRef.zoho_id).where(
                orm.ExternalRef.connection_id == self.connection_id, orm.ExternalRef.entity == entity,
                orm.ExternalRef.local_id == local_id))

    def set_connection(self, **values: object) -> None:
        with self.container.uow() as uow:
            conn = uow.session.get(orm.Connection, self.connection_id)
            for k, v in values.items():
                setattr(conn, k, v)
            uow.commit()

    def reconnect(self) -> None:
        """The partner clicks Reconnect after Zoho access was revoked: the real OAuth flow again."""
        connect(self.container, self.partner_id, self.org.organization_id)
        integration.mark_connected(self.container, self.connection_id)

    # ----------------------------------------------------------------- sandbox knobs
    @property
    def guard(self) -> Any:
        return self.sandbox.guard


def connect(container: Container, partner_id: str, organization_id: str) -> str:
    """The real connect flow (consent as the demo Zoho user, callback, organisation, accounts)."""
    url = integration.begin_connect(container, partner_id)
    params = consent_redirect(container.http, url, organization_id=organization_id)
    outcome = integration.complete_callback(container, partner_id, params)
    if outcome.choose_organization:
        integration.choose_organization(container, partner_id, organization_id)
    choices = integration.account_choices(container, partner_id)
    integration.save_accounts(container, partner_id, undeposited_account_id=choices.selected_undeposited,
                              bank_account_id=choices.selected_bank or choices.bank[0].account_id,
                              fees_account_id=choices.selected_fees)
    return outcome.connection_id


def build_world(container: Container, app: Any, *, connected: bool = True, currency: str = "USD",
                limits: bool = False, limiter: Any | None = None) -> World:
    """A fresh sandbox organisation of the demo Zoho user, connected for `partner` by real OAuth.

    `limits=False` switches the sandbox's rate limits off for that organisation (the fault
    campaign injects its own 429 storms) and installs a client limiter that never waits;
    pass `limits=True` (and a scaled `limiter`) to run at Zoho's limits.
    """
    bind_container_to_sandbox(container, app)
    sandbox: Sandbox = app.state.sandbox
    n = next(_seq)
    user = sandbox.user_by_email(DEMO_ZOHO_EMAIL)
    org = create_organization(sandbox, f"Push Org {n}", currency_code=currency, user=user)
    if not limits:
        # off, and the X-Rate-Limit-* headers the connector reads show room to spare
        sandbox.guard.set_limits(org, enabled=False, per_minute=1_000_000, daily=100_000_000)
    if limiter is not None:
        container.rate_limiter = limiter
    elif not limits:
        container.rate_limiter = sandbox_time_limiter(sandbox)
    created = partners.create_partner(container, name=f"MSP {n}", email=f"push{n}-{orm.new_id()[:6]}@msp.test",
                                      password="push-pass-1234", currency=currency)
    pid = created.partner.id
    conn_id = connect(container, pid, org.organization_id)
    if connected:
        integration.mark_connected(container, conn_id)
    _, body = act(sandbox, org, "POST", "/contacts", {"contact_name": f"Customer {n} {orm.new_id()[:6]}"})
    cz = str(body["contact"]["contact_id"])
    return World(container, app, sandbox, org, pid, conn_id, _platform_customer(container, pid, conn_id, cz, n, currency), cz)


def _platform_customer(container: Container, pid: str, conn_id: str, cz: str, n: int, currency: str) -> str:
    """The platform's customer for Zoho contact `cz`. With a Celery worker running (tests/celery),
    connecting started the connection's own pull, which may list the new contact and store it
    first: then that one is used (inserting a second ref for the same contact is refused)."""
    with container.uow() as uow:
        cust = orm.Customer(partner_id=pid, name=f"Acme {n}", origin="zoho", currency_code=currency)
        uow.session.add(cust)
        uow.session.flush()
        uow.session.add(orm.ExternalRef(connection_id=conn_id, entity="customer", local_id=cust.id, zoho_id=cz))
        try:
            uow.commit()
            return cust.id
        except IntegrityError:
            uow.session.rollback()
    with container.uow() as uow:
        return str(uow.session.execute(
            select(orm.ExternalRef.local_id).where(orm.ExternalRef.connection_id == conn_id,
                                                   orm.ExternalRef.entity == "customer", orm.ExternalRef.zoho_id == cz)
        ).scalar_one())
