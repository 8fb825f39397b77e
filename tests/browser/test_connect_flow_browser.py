"""Issue 3's "Done when", in a real browser: the seed's four steps, end to end, as one test.

login (one click: demo credentials pre-filled) → Integrations → Connect → Zoho consent page
(the sandbox) → back on Integrations: Pending with a progress bar → Connected (the embedded
scheduler runs the initial sync, as in `ledgersync run`) → Set Up Accounts (Undeposited Funds and
Fees pre-selected, a bank chosen) → saved and shown. Every wait is a condition with a timeout.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, LiveServers

pytestmark = pytest.mark.browser


def test_login_connect_consent_pending_connected_set_up_accounts(page: Any, live_servers: LiveServers) -> None:
    from playwright.sync_api import expect

    live = live_servers
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # 1. one-click login (demo mode pre-fills the demo partner)
    page.goto(live.dashboard_url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("input[name=email]")).to_have_value("partner@demo.test")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/integrations$"))
    expect(page.locator("#zoho-status")).to_have_text("Not connected")
    page.goto(live.dashboard_url + "/invoices")  # before connecting, the empty list says what to do
    expect(page.locator("#empty-connect")).to_have_text("Connect Zoho Books")
    page.locator("#empty-connect").click()
    expect(page).to_have_url(re.compile(r"/integrations$"))

    # 2. Connect → Zoho's consent page (the sandbox) → Accept → back with the code
    page.locator("#zoho-connect").click()
    expect(page).to_have_url(re.compile(re.escape(live.sandbox_url) + r"/oauth/v2/auth\?"))
    expect(page.locator("#scopes")).to_contain_text("ZohoBooks.invoices.READ")
    page.select_option("#organization_id", "700000001")
    page.screenshot(path=str(SCREENSHOTS / "consent.png"), full_page=True)
    page.locator("#accept").click()
    expect(page).to_have_url(re.compile(re.escape(live.dashboard_url) + r"/integrations$"))

    # 3. Pending with visible progress, then Connected when the scheduler's initial sync is done
    status = page.locator("#zoho-status")
    expect(page.locator(".flash-success")).to_contain_text("initial sync is running")
    expect(page.locator("#zoho-org")).to_contain_text("Zylker IT Services")
    if status.inner_text() == "Pending":  # the sync may already be done on a fast machine
        expect(page.locator("#zoho-progress .progress")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "integrations-pending.png"), full_page=True)
    expect(status).to_have_text("Connected", timeout=25_000)  # the page polls every 2 s and reloads

    # 4. Set Up Accounts: dropdowns from Zoho's chart of accounts, sensible pre-selection
    page.locator("#zoho-setup-accounts").click()
    expect(page).to_have_url(re.compile(r"/integrations/zoho/accounts$"))
    expect(page.locator("#undeposited_account_id option:checked")).to_contain_text("Undeposited Funds")
    expect(page.locator("#fees_account_id option:checked")).to_contain_text("Bank Fees and Charges")
    assert page.locator("#bank_account_id option").count() >= 2  # placeholder + at least one bank account
    page.select_option("#bank_account_id", index=1)
    bank_name = page.locator("#bank_account_id option:checked").inner_text().strip()
    page.screenshot(path=str(SCREENSHOTS / "set-up-accounts.png"), full_page=True)
    page.locator("#accounts-save").click()

    expect(page).to_have_url(re.compile(r"/integrations$"))
    expect(page.locator(".flash-success")).to_contain_text("Accounts saved")
    accounts = page.locator("#zoho-accounts")
    expect(accounts).to_contain_text("Undeposited Funds")
    expect(accounts).to_contain_text(bank_name.split(" (")[0])
    expect(accounts).to_contain_text("Bank Fees and Charges")
    expect(status).to_have_text("Connected")
    page.screenshot(path=str(SCREENSHOTS / "integrations-accounts-saved.png"), full_page=True)

    # the invoices are there, from Zoho
    page.goto(live.dashboard_url + "/invoices")
    expect(page.locator("#invoices tbody tr").first).to_contain_text("Zoho")
