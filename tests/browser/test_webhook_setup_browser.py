"""Integrations → Webhooks in Chromium: a partner's admin reveals and copies the URL and the secret
with the keyboard alone, the copied secret is the one the receiver accepts (and the panel then
says so), Rotate secret gives a new one, the page stays usable at phone width (no sideways
scroll, labelled fields, AA contrast), and without JavaScript Show secret still works.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from ledgersync.domain import webhook_auth
from ledgersync.services import integration
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, LiveServers
from tests.browser.test_dashboard_browser import A11Y_JS, DESKTOP, PHONE, _connected, _login, _no_sideways_scroll

pytestmark = pytest.mark.browser


def _tab_to(page: Any, locator: Any, limit: int = 80) -> None:
    """Press Tab until `locator` has the focus (it must be reachable from the keyboard)."""
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{locator} is not reachable with Tab")


def _clipboard(page: Any) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def test_admin_reveals_and_copies_url_and_secret_from_the_keyboard(page: Any, live_servers: LiveServers) -> None:
    from playwright.sync_api import expect

    live = live_servers
    partner_id = _connected(live)
    conn = integration.get_connection(live.container, partner_id)
    assert conn is not None
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.dashboard_url)
    _login(page, live)
    panel = page.locator("#zoho-webhooks")
    expect(panel.get_by_role("heading", name="Webhooks")).to_be_visible()
    expect(panel).to_contain_text("None received yet")
    url = f"{live.dashboard_url}/webhooks/zoho/{conn.webhook_token}"
    expect(page.get_by_label("URL to notify (method POST)")).to_have_value(url)
    expect(page.locator("#zoho-webhook-secret")).to_have_count(0)  # hidden: not in the page at all

    # the URL, copied from the keyboard
    _tab_to(page, page.get_by_role("button", name="Copy URL"))
    page.keyboard.press("Enter")
    expect(page.locator("#zoho-webhook-copied")).to_have_text("URL copied.")
    assert _clipboard(page) == url

    # Show secret, then Copy secret, from the keyboard
    _tab_to(page, page.get_by_role("link", name="Show secret"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"reveal=webhook-secret"))
    secret_field = page.get_by_label("Webhook secret")
    expect(secret_field).to_be_visible()
    secret = secret_field.input_value()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    _tab_to(page, page.get_by_role("button", name="Copy secret"))
    page.keyboard.press("Enter")
    expect(page.locator("#zoho-webhook-copied")).to_have_text("Secret copied.")
    expect(page.get_by_role("button", name="Copy secret")).to_be_focused()  # the keyboard user stays put
    assert _clipboard(page) == secret

    # what the admin pasted into Zoho works: the receiver accepts it and the panel says so
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")
    hook = {"module": "contact", "event": "update", "event_time": now, "delivery_id": "browser-1"}
    assert httpx.post(url, json=hook, headers={webhook_auth.SECRET_HEADER: _clipboard(page)}).status_code == 202
    page.goto(live.dashboard_url + "/integrations#zoho-webhooks")
    expect(page.locator("#zoho-webhook-outcome")).to_have_text("Accepted")

    # Rotate secret (confirmed) gives a new one; the copied old one is refused from then on
    page.locator("#zoho-webhook-rotate summary").click()
    page.get_by_label("I will paste the new secret into Zoho Books").check()
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.locator(".flash-success")).to_contain_text("New webhook secret made")
    new_secret = page.get_by_label("Webhook secret").input_value()
    assert new_secret != secret
    hook["delivery_id"] = "browser-2"
    assert httpx.post(url, json=hook, headers={webhook_auth.SECRET_HEADER: secret}).status_code == 401
    page.reload()  # (a goto to the same address with a #fragment would not load the page again)
    expect(page.locator("#zoho-webhook-outcome")).to_have_text("Refused: wrong secret")

    # usable on a phone: no sideways scroll with the secret shown; labelled and readable at 1280
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert not page.evaluate(A11Y_JS)
    page.set_viewport_size(PHONE)
    page.reload()
    page.wait_for_load_state("networkidle")
    page.locator("#zoho-webhooks").screenshot(path=str(SCREENSHOTS / "integrations-webhooks-phone.png"))
    assert _no_sideways_scroll(page), "the Webhooks panel scrolls sideways at phone width"
    expect(page.get_by_role("button", name="Copy secret")).to_be_visible()
    page.set_viewport_size(DESKTOP)


def test_show_secret_works_without_javascript(live_servers: LiveServers) -> None:
    from playwright.sync_api import expect, sync_playwright

    live = live_servers
    _connected(live)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=PHONE, java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            _login(page, live)
            expect(page.get_by_role("button", name="Copy URL")).to_be_hidden()  # copying needs JS: no dead button
            page.get_by_role("link", name="Show secret").click()
            field = page.get_by_label("Webhook secret")
            expect(field).to_be_visible()
            assert re.fullmatch(r"[0-9a-f]{64}", field.input_value())
            field.select_text()  # a read-only field: select and copy by hand
            assert page.evaluate("document.activeElement.id") == "zoho-webhook-secret"
            assert _no_sideways_scroll(page)
            page.get_by_role("link", name="Hide secret").click()
            expect(page.locator("#zoho-webhook-secret")).to_have_count(0)
        finally:
            context.close()
            browser.close()
