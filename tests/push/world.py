"""A partner connected to a sandbox organisation, with Zoho-origin invoices mapped as pull would.

Shared by the push tests and `bench/push_faults.py`. Platform rows are created through the
core services where they exist (partner, payments, settlement, payouts); Zoho-origin customers
and invoices are inserted with their `external_refs` exactly as the pull engine stores them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from ledgersync.bootstrap import Container
from ledgersync.services import partners
from ledgersync.store import orm
from tests.push.harness import SandboxBooks, account_id, new_org, zoho_contact, zoho_invoice
from zohobooks_sandbox.state import OrgData, Sandbox

_emails = itertools.count(1)


@dataclass
class World:
    container: Container
    sandbox: Sandbox
    org: OrgData
    books: SandboxBooks  # fault-free client for set-up and checks
    partner_id: str
    connection_id: str
    customer_id: str
    customer_zoho_id: str

    def zoho_invoice(self, amount: str, *, origin: str = "zoho", currency: str = "USD", rate: str = "1") -> str:
        """A sent Zoho invoice mirrored on the platform (or a platform-only invoice)."""
        amt = Decimal(amount)
        with self.container.uow() as uow:
            inv = orm.Invoice(partner_id=self.partner_id, customer_id=self.customer_id, number=f"INV-{orm.new_id()[:8]}",
                              currency_code=currency, exchange_rate=Decimal(rate), issue_date=date(2026, 1, 2),
                              total=amt, outstanding=amt, status="open", origin=origin)
            uow.session.add(inv)
            uow.session.flush()
            if origin == "zoho":
                zid = zoho_invoice(self.books, self.customer_zoho_id, amt,
                                   currency_rate=Decimal(rate) if currency != "USD" else None)
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


def build_world(container: Container, *, sandbox: Sandbox | None = None, connected: bool = True) -> World:
    sandbox = sandbox or Sandbox()
    org = new_org(sandbox, sandbox.next_org_id())
    books = SandboxBooks(sandbox, org.organization_id)
    n = next(_emails)
    created = partners.create_partner(container, name=f"MSP {n}", email=f"push{n}-{orm.new_id()[:6]}@msp.test",
                                      password="push-pass-1234")
    pid = created.partner.id
    cz = zoho_contact(books, f"Customer {n} {orm.new_id()[:6]}")
    with container.uow() as uow:
        conn = orm.Connection(partner_id=pid, status="connected" if connected else "pending",
                              organization_id=org.organization_id, currency_code="USD",
                              undeposited_account_id=account_id(org, "Undeposited Funds"),
                              bank_account_id=account_id(org, "Business Checking"),
                              fees_account_id=account_id(org, "Bank Fees and Charges"))
        cust = orm.Customer(partner_id=pid, name="Acme", origin="zoho")
        uow.session.add_all([conn, cust])
        uow.session.flush()
        uow.session.add(orm.ExternalRef(connection_id=conn.id, entity="customer", local_id=cust.id, zoho_id=cz))
        uow.commit()
        return World(container, sandbox, org, books, pid, conn.id, cust.id, cz)
