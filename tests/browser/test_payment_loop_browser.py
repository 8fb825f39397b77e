"""Issue 5's demo in a real browser: a payment made on the platform arrives in the sandbox's Zoho.

The partner is connected (the real OAuth flow, programmatically) and the embedded scheduler has
imported the invoices; in Chromium the partner pays an open invoice on the Payments page; the
event-driven push records it in the sandbox's Zoho Books — applied to that invoice, deposited to
Undeposited Funds, carrying the platform payment id — and the Payments page (refreshing itself
while the push is on its way) shows "synced" with that Zoho payment id.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from ledgersync.services import integration
from ledgersync.services.demo import seed_demo_partner
from ledgersync.store import orm
from tests.browser.conftest import SCREENSHOTS, LiveServers, wait_until
from tests.plugins.zoho_fixtures import connect_partner

pytestmark = pytest.mark.browser

ORG = "700000001"


def _zoho_invoice_id(live: LiveServers, invoice_id: str) -> str:
    from sqlalchemy import select

    with live.container.uow() as uow:
        return uow.session.execute(select(orm.ExternalRef.zoho_id).where(
            orm.ExternalRef.entity == "invoice", orm.ExternalRef.local_id == invoice_id)).scalar_one()


def test_pay_on_the_platform_arrives_in_zoho_and_shows_synced(page: Any, live_servers: LiveServers) -> None:
    from playwright.sync_api import expect

    live = live_servers
    partner_id = seed_demo_partner(live.container)
    conn = connect_partner(live.container, partner_id, organization_id=ORG)  # consent + Set Up Accounts
    wait_until(lambda: (c := integration.get_connection(live.container, partner_id)) and c.status == "connected",
               timeout=25, what="the initial sync to finish")
    undeposited = conn.undeposited_account_id

    page.goto(live.dashboard_url + "/login")
    page.get_by_role("button", name="Log in").click()
    page.goto(live.dashboard_url + "/payments")
    chosen = page.locator("#pay-invoice select[name=invoice_id] option").first
    invoice_id = chosen.get_attribute("value")
    label = chosen.inner_text()
    number = label.split(" · ")[0]
    due = Decimal(re.search(r"([\d,]+\.\d\d) [A-Z]{3} due", label).group(1).replace(",", ""))
    page.select_option("#pay-invoice select[name=invoice_id]", invoice_id)
    page.select_option("#pay-invoice select[name=method]", "card")
    page.select_option("#pay-invoice select[name=outcome]", "succeeded")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator(".flash-success")).to_contain_text(f"on {number} succeeded")

    row = page.locator("#payments tbody tr").first
    payment_id = row.get_attribute("data-payment-id")
    expect(row.locator("[data-push-state]").first).to_have_text("synced", timeout=15_000)  # page refreshes itself
    page.screenshot(path=str(SCREENSHOTS / "payment-synced.png"), full_page=True)

    # The sandbox's Zoho Books, as its user would see it
    org = live.sandbox_app.state.sandbox.orgs[ORG]
    zoho_invoice = _zoho_invoice_id(live, invoice_id)
    with live.sandbox_app.state.sandbox.lock:
        mine = [p for p in org.payments.values() if p.reference_number == f"ls:pay:{payment_id}"]
        assert len(mine) == 1, "exactly one Zoho payment for the platform payment"
        zp = mine[0]
        assert zp.amount == due
        assert zp.account_id == undeposited
        assert [(a.invoice_id, a.amount_applied) for a in zp.invoices] == [(zoho_invoice, due)]
        assert org.invoices[zoho_invoice].balance == Decimal("0.00")
    expect(row).to_contain_text(f"#{zp.payment_id}")
    expect(row).to_contain_text(f"{number}")


def test_stand_alone_deposit_comes_from_the_income_account_chosen_in_set_up_accounts(
        page: Any, live_servers: LiveServers) -> None:
    """Issue 14: a stand-alone deposit's "from" was blank. Set Up Accounts offers the income
    accounts (Sales pre-selected); a payment on a platform-created invoice becomes a deposit into
    Undeposited Funds from that account in Zoho, and the Payments page says so."""
    from playwright.sync_api import expect

    from ledgersync.services import customers as customer_svc
    from ledgersync.services import invoices as invoice_svc

    live = live_servers
    partner_id = seed_demo_partner(live.container)
    connect_partner(live.container, partner_id, organization_id=ORG)
    wait_until(lambda: (c := integration.get_connection(live.container, partner_id)) and c.status == "connected",
               timeout=25, what="the initial sync to finish")
    customer = customer_svc.create_customer(live.container, partner_id, name="Walk-in Dental")
    platform_invoice = invoice_svc.create_invoice(
        live.container, partner_id, customer_id=customer.id, number="PL-DEP-1",
        line_items=[invoice_svc.LineItemInput("Check-up", Decimal("1"), Decimal("42.00"))])

    page.goto(live.dashboard_url + "/login")
    page.get_by_role("button", name="Log in").click()
    page.goto(live.dashboard_url + "/integrations/zoho/accounts")
    deposits_from = page.get_by_label("Stand-alone deposits from")
    expect(deposits_from.locator("option:checked")).to_have_text("Sales")
    deposits_from.select_option(label="Sales")
    page.get_by_role("button", name="Save accounts").click()
    expect(page.get_by_text("Accounts saved")).to_be_visible()
    expect(page.locator("#zoho-accounts")).to_contain_text("Deposits from")
    expect(page.locator("#zoho-accounts")).to_contain_text("Sales")

    page.goto(live.dashboard_url + "/payments?pick=PL-DEP-1")
    page.get_by_role("combobox", name=re.compile("^Invoice")).select_option(platform_invoice.id)
    page.get_by_role("button", name="Pay").click()
    expect(page.locator(".flash-success")).to_contain_text("on PL-DEP-1 succeeded")
    row = page.locator("#payments tbody tr").first
    expect(row.get_by_text("Stand-alone deposit")).to_contain_text("from account Sales", timeout=15_000)

    org = live.sandbox_app.state.sandbox.orgs[ORG]
    payment_id = row.get_attribute("data-payment-id")
    with live.sandbox_app.state.sandbox.lock:
        (deposit,) = [t for t in org.bank_transactions.values() if t.reference_number == f"ls:pay:{payment_id}"]
        assert deposit.transaction_type == "deposit" and deposit.amount == Decimal("42.00")
        assert org.accounts[deposit.from_account_id].account_name == "Sales"
        assert org.accounts[deposit.to_account_id].account_name == "Undeposited Funds"
