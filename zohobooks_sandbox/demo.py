"""The demo world of CONTRACTS.md: user, OAuth client and two organisations with a few records.

``create_organization`` is the one way to make an organisation (default chart of accounts,
a sales tax); the admin API and the generator may use it too.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from .books import chartofaccounts, contacts, customerpayments, invoices
from .books.registry import Ctx
from .state import OAuthClient, Organization, OrgData, Sandbox, Token, User

DEMO_EMAIL = "demo@zylker.test"
DEMO_PASSWORD = "zoho-demo-1234"
DEMO_CLIENT_ID = "1000.LEDGERSYNCDEMO0000000000000000"
DEMO_CLIENT_SECRET = "ledgersync-demo-client-secret"
DEMO_US_ORG = "700000001"
DEMO_EU_ORG = "700000002"

_TZ = {"us": "America/Los_Angeles", "eu": "Europe/Berlin", "in": "Asia/Kolkata", "au": "Australia/Sydney",
       "jp": "Asia/Tokyo", "ca": "America/Toronto", "cn": "Asia/Shanghai", "sa": "Asia/Riyadh", "uk": "Europe/London"}
_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "AUD": "$", "JPY": "¥", "CAD": "$"}


def create_organization(sandbox: Sandbox, name: str, *, currency_code: str = "USD", dc: str = "us",
                        plan: str | None = None, time_zone: str | None = None, org_id: str | None = None,
                        user: User | None = None) -> OrgData:
    """A new organisation with Zoho's default accounts and one sales tax, owned by ``user``."""
    with sandbox.lock:
        oid = org_id or sandbox.next_org_id()
        org = OrgData(Organization(organization_id=oid, name=name, currency_code=currency_code,
                                   currency_symbol=_SYMBOL.get(currency_code, currency_code), dc=dc,
                                   plan=plan or sandbox.config.default_plan, time_zone=time_zone or _TZ.get(dc, "UTC"),
                                   country="Germany" if dc == "eu" else "U.S.A",
                                   email=user.email if user else "", created_time=sandbox.now()))
        sandbox.orgs[oid] = org
        chartofaccounts.create_default_accounts(sandbox, org)
        tax_id = sandbox.next_id()
        org.taxes[tax_id] = ({"tax_id": tax_id, "tax_name": "VAT", "tax_percentage": "19"} if currency_code == "EUR"
                             else {"tax_id": tax_id, "tax_name": "Sales Tax", "tax_percentage": "8.25"})
        if user is not None and oid not in user.org_ids:
            user.org_ids.append(oid)
            org.org.is_default_org = len(user.org_ids) == 1
        sandbox.emit_change(oid, "organizations", "created", oid)
        return org


def _ctx(sandbox: Sandbox, org: OrgData, body: dict[str, Any]) -> Ctx:
    tok = Token("seed", "access", "", "", frozenset(), org.org.dc, org.organization_id, 0.0, None)
    return Ctx(sandbox=sandbox, org=org, token=tok, method="POST", params={}, path_args={}, body=body, dc=org.org.dc)


def seed_demo(sandbox: Sandbox) -> None:
    """Create the demo user, client and organisations (idempotent), then a few records.

    If sandbox-ops installed ``sandbox.generator`` (a callable ``(sandbox, org_id) -> Any``),
    it adds bulk data to the US demo organisation."""
    with sandbox.lock:
        user = sandbox.user_by_email(DEMO_EMAIL)
        if user is None:
            user = User(user_id=sandbox.next_id(), email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo Zylker")
            sandbox.users[user.user_id] = user
        sandbox.clients.setdefault(DEMO_CLIENT_ID, OAuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "ledgersync (demo)",
                                                               [], demo=True))
        fresh = DEMO_US_ORG not in sandbox.orgs
        us = sandbox.orgs.get(DEMO_US_ORG) or create_organization(
            sandbox, "Zylker IT Services", currency_code="USD", dc="us", org_id=DEMO_US_ORG, user=user)
        if DEMO_EU_ORG not in sandbox.orgs:
            create_organization(sandbox, "Zylker Europe GmbH", currency_code="EUR", dc="eu", org_id=DEMO_EU_ORG,
                                user=user)
        if fresh:
            _seed_records(sandbox, us)
            _seed_records(sandbox, sandbox.orgs[DEMO_EU_ORG], small=True)
    if sandbox.generator is not None and fresh:
        sandbox.generator(sandbox, DEMO_US_ORG)


def _seed_records(sandbox: Sandbox, org: OrgData, small: bool = False) -> None:
    names = ["Acme Dental Group", "Brightside Logistics", "Cobalt Legal LLP"][: 1 if small else 3]
    ids = []
    for n, name in enumerate(names):
        first, last = ("Ana", "Fischer") if small else (["Maria", "Tom", "Priya"][n], ["Lopez", "Becker", "Shah"][n])
        _, body = contacts.create_contact(_ctx(sandbox, org, {
            "contact_name": name, "company_name": name, "payment_terms": 30,
            "contact_persons": [{"first_name": first, "last_name": last, "is_primary_contact": True,
                                 "email": f"{first.lower()}@{name.split()[0].lower()}.test"}]}))
        ids.append(body["contact"]["contact_id"])
    today = sandbox.clock.today(org.org.time_zone)
    plans = [(ids[0], "Managed IT services", "1200.00", 40, "sent", None),
             (ids[0], "Backup & recovery", "350.00", 10, "sent", "350.00"),
             (ids[-1], "Network audit", "2400.00", 5, "sent", "1000.00"),
             (ids[-1], "Helpdesk hours", "95.00", 0, "draft", None)]
    for cust, item, rate, age, status, paid in plans[: 2 if small else 4]:
        date = today - timedelta(days=age)
        _, body = invoices.create_invoice(_ctx(sandbox, org, {
            "customer_id": cust, "date": date.isoformat(), "payment_terms": 30,
            "line_items": [{"name": item, "rate": rate, "quantity": 1}]}))
        inv_id = body["invoice"]["invoice_id"]
        if status == "sent":
            c = _ctx(sandbox, org, {})
            c.path_args = {"invoice_id": inv_id}
            invoices.mark_sent(c)
        if paid:
            customerpayments.create_payment(_ctx(sandbox, org, {
                "customer_id": cust, "amount": paid, "date": today.isoformat(), "payment_mode": "banktransfer",
                "reference_number": f"DEMO-{inv_id[-4:]}", "invoices": [{"invoice_id": inv_id, "amount_applied": paid}]}))
