"""The budget panel (issues 13/14) in a real browser, read by its visible text: after connecting
the demo organisation, the Integrations and Sync log pages show calls used today by purpose
(the initial sync's calls, at most what Zoho itself counted), the calls left and when the daily
window resets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, LiveServers

pytestmark = pytest.mark.browser


def _number(text: str) -> int:
    return int(text.replace(",", "").strip())


def test_budget_panel_shows_calls_by_purpose_left_and_reset(page: Any, live_servers: LiveServers) -> None:
    from playwright.sync_api import expect

    live = live_servers
    page.goto(live.dashboard_url + "/")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/integrations$"))
    page.locator("#zoho-connect").click()
    page.select_option("#organization_id", "700000001")
    page.locator("#accept").click()
    expect(page.locator("#zoho-status")).to_have_text("Connected", timeout=25_000)

    for path in ("/integrations", "/sync-log"):
        page.goto(live.dashboard_url + path)
        panel = page.get_by_role("region", name="Zoho API budget today")
        expect(panel).to_be_visible()
        expect(panel).to_contain_text(re.compile(r"[\d,]+ calls left\s+of 10,000 \(Premium plan\)"))
        expect(panel).to_contain_text("the daily window resets at")
        table = panel.get_by_role("table", name="Calls used today by purpose")
        for purpose in ("Initial sync", "Hourly", "Details", "Deletion checks", "Pushes", "Sweep"):
            expect(table.get_by_role("row", name=re.compile("^" + purpose))).to_be_visible()
        initial = _number(table.get_by_role("row", name=re.compile("^Initial sync")).get_by_role("cell").inner_text())
        org = live.sandbox_app.state.sandbox.orgs["700000001"]
        zoho_count = sum(org.api_calls.values())  # Zoho's own count (it also saw the connect flow's calls)
        assert 0 < initial <= zoho_count
        left = _number(re.search(r"([\d,]+) calls left", panel.inner_text()).group(1))
        assert left <= 10_000 - initial
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "budget-panel.png"), full_page=True)
