"""Real servers for browser tests: the dashboard and the Zoho sandbox on free loopback ports.

Both run as uvicorn servers in background threads (the same helper `ledgersync run` uses), with
the embedded scheduler started as `ledgersync run` starts it; the
sandbox knows its own base URL so its consent page redirects back correctly, and the
dashboard's container talks to it over real HTTP. Chromium is Debian's `/usr/bin/chromium`
(Playwright's own browser downloads are not available here).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledgersync.bootstrap import Container

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServers:
    dashboard_url: str
    sandbox_url: str
    sandbox_app: Any
    container: Container


@pytest.fixture
def live_servers(container: Container) -> Iterator[LiveServers]:
    from ledgersync.cli import _ServerThread
    from ledgersync.services.demo import seed_demo_partner
    from ledgersync.web.app import create_app
    from zohobooks_sandbox import SandboxConfig
    from zohobooks_sandbox import create_app as create_sandbox

    sport, dport = free_port(), free_port()
    sandbox_url, dashboard_url = f"http://127.0.0.1:{sport}", f"http://127.0.0.1:{dport}"
    sandbox_app = create_sandbox(SandboxConfig(base_url=sandbox_url, demo=True, time_scale=60.0))
    s = container.settings
    s.env = "demo"  # the login form is pre-filled: one click logs in
    s.base_url = dashboard_url
    s.zoho_accounts_url = sandbox_url
    s.zoho_window_seconds = 1.0  # Zoho's minute runs 60x faster in this sandbox
    seed_demo_partner(container)
    threads = [_ServerThread(sandbox_app, sport), _ServerThread(create_app(container), dport)]
    for t in threads:
        t.start()
    scheduler = None
    try:
        for t in threads:
            t.wait_started()
        # As `ledgersync run`: the embedded scheduler runs the initial sync and the event-driven pushes.
        from ledgersync.workers.embedded import start_embedded

        scheduler = start_embedded(container)
        yield LiveServers(dashboard_url, sandbox_url, sandbox_app, container)
    finally:
        if scheduler is not None:
            scheduler.stop()
        for t in threads:
            t.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        try:
            yield pg
        finally:
            context.close()
            browser.close()


def wait_until(condition: Any, *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `condition()` until it returns something truthy (deterministic: no fixed sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
