"""A partner connects Zoho Books in a real browser: the seed's four steps, end to end.

login (one click, demo pre-fill) → Integrations → Connect → Zoho consent page (sandbox) →
back on Integrations with status Pending and a progress bar → Connected (when the pull
engine's initial sync exists) → Set Up Accounts → saved and shown.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from typing import Any

import pytest

from ledgersync.services import integration
from tests.browser.conftest import SCREENSHOTS, LiveServers

pytestmark = pytest.mark.browser

HAS_INITIAL_SYNC = importlib.util.find_spec("ledgersync.sync.pull.initial") is not None


def _login_and_connect(page: Any, live: LiveServers) -> None:
    from playwright.sync_api import expect

    page.goto(live.dashboard_url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("input[name=email]")).to_have_value("partner@demo.test")
    page.get_by_role("button", name="Log in").click()  # one click: demo credentials are pre-filled
    expect(page).to_have_url(re.compile(r"/integrations$"))
    expect(page.locator("#zoho-status")).to_have_text("Not connected")

    page.locator("#zoho-connect").click()
    expect(page).to_have_url(re.compile(re.escape(live.sandbox_url) + r"/oauth/v2/auth\?"))
    expect(page.locator("#scopes")).to_contain_text("ZohoBooks.invoices.READ")
    page.select_option("#organization_id", "700000001")
    page.locator("#accept").click()
    expect(page).to_have_url(re.compile(re.escape(live.dashboard_url) + r"/integrations$"))


def _run_initial_sync_in_background(live: LiveServers) -> threading.Thread:
    """What the embedded scheduler does in `ledgersync run` (the test has no scheduler)."""
    from ledgersync.sync.pull.initial import run_initial_sync

    conn = integration.get_connection(live.container, _demo_partner_id(live))
    assert conn is not None
    t = threading.Thread(target=run_initial_sync, args=(live.container, conn.id), daemon=True)
    t.start()
    return t


def _demo_partner_id(live: LiveServers) -> str:
    from ledgersync.services.demo import seed_demo_partner

    return seed_demo_partner(live.container)


def test_connect_pending_setup_accounts_in_chromium(page: Any, live_servers: LiveServers) -> None:
    from playwright.sync_api import expect

    live = live_servers
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _login_and_connect(page, live)

    status = page.locator("#zoho-status")
    expect(page.locator(".flash-success")).to_contain_text("initial sync is running")
    expect(status).to_have_text("Pending")
    expect(page.locator("#zoho-progress .progress")).to_be_visible()
    expect(page.locator("#zoho-org")).to_contain_text("Zylker IT Services")
    page.screenshot(path=str(SCREENSHOTS / "integrations-pending.png"), full_page=True)

    if HAS_INITIAL_SYNC:
        worker = _run_initial_sync_in_background(live)
        expect(status).to_have_text("Connected", timeout=120_000)  # the page polls every 2 s
        worker.join(timeout=60)

    page.locator("#zoho-setup-accounts").click()
    expect(page).to_have_url(re.compile(r"/integrations/zoho/accounts$"))
    undeposited = page.locator("#undeposited_account_id option:checked")
    expect(undeposited).to_contain_text("Undeposited Funds")
    expect(page.locator("#fees_account_id option:checked")).to_contain_text("Bank Fees and Charges")
    bank_options = page.locator("#bank_account_id option")
    assert bank_options.count() >= 2  # placeholder + at least one bank account
    page.select_option("#bank_account_id", index=1)
    bank_name = page.locator("#bank_account_id option:checked").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "set-up-accounts.png"), full_page=True)
    page.locator("#accounts-save").click()

    expect(page).to_have_url(re.compile(r"/integrations$"))
    expect(page.locator(".flash-success")).to_contain_text("Accounts saved")
    accounts = page.locator("#zoho-accounts")
    expect(accounts).to_contain_text("Undeposited Funds")
    expect(accounts).to_contain_text(bank_name.strip())
    expect(accounts).to_contain_text("Bank Fees and Charges")
    page.screenshot(path=str(SCREENSHOTS / "integrations-accounts-saved.png"), full_page=True)


@pytest.mark.skipif(HAS_INITIAL_SYNC, reason="covered by the flow test above")
def test_pending_turns_connected_needs_pull_engine() -> None:
    pytest.skip("ledgersync.sync.pull.initial is not present yet: Pending cannot turn Connected "
                "(remove this test once the pull engine lands)")
