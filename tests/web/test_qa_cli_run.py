"""QA of `ledgersync run`: a restart keeps the demo coherent, and the process starts cleanly.

Found walking the demo: (1) the sandbox lived in memory only while the platform kept its Zoho
tokens in `var/ledgersync.db`, so after a restart the refresh token was unknown ("Reauthorization
required") and every payment pushed before the restart was gone from "Zoho"; (2) on a restart
with an existing connection the embedded scheduler began syncing while the dashboard was still
importing its page modules, and CPython's import lock raised `_DeadlockError`, killing the process.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ledgersync import cli
from ledgersync.settings import Settings, get_settings


def test_sandbox_state_defaults_next_to_the_sqlite_database(tmp_path: Path) -> None:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'ls.db'}")
    assert cli.default_sandbox_persist(s) == str(tmp_path / "data" / "sandbox.db")
    assert cli.default_sandbox_persist(Settings(database_url="postgresql://x@h/db")) == str(Path("var") / "sandbox.db")
    assert cli.resolve_sandbox_persist(s, None, no_persist=True) is None
    assert cli.resolve_sandbox_persist(s, None, no_persist=False) == str(tmp_path / "data" / "sandbox.db")
    assert (tmp_path / "data").is_dir()


def test_restarted_sandbox_keeps_tokens_and_records(tmp_path: Path) -> None:
    """What `ledgersync run` now does on a restart: the same refresh token still works."""
    from zohobooks_sandbox import SandboxTransport
    from zohobooks_sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    from zohobooks_sandbox.testing import authorize, exchange

    path = str(tmp_path / "sandbox.db")
    first = cli._sandbox_app(8900, path)
    with httpx.Client(transport=SandboxTransport(first), base_url="http://127.0.0.1:8900") as c:
        q = authorize(c)
        tokens = exchange(c, q["code"], accounts_server=q["accounts-server"])
        count = c.get("/books/v3/invoices", params={"organization_id": "700000001", "response_option": 2},
                      headers={"Authorization": f"Zoho-oauthtoken {tokens['access_token']}"}).json()
    total = count["page_context"]["total"]
    assert total > 0

    second = cli._sandbox_app(8900, path)  # the transport's close ran the first app's shutdown (save)
    with httpx.Client(transport=SandboxTransport(second), base_url="http://127.0.0.1:8900") as c:
        refreshed = c.post("/oauth/v2/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}).json()
        assert "access_token" in refreshed, refreshed
        again = c.get("/books/v3/invoices", params={"organization_id": "700000001", "response_option": 2},
                      headers={"Authorization": f"Zoho-oauthtoken {refreshed['access_token']}"}).json()
    assert again["page_context"]["total"] == total


class _FakeWebhooks:
    started: list[Any] = []

    def __init__(self, sandbox: Any, container: Any) -> None:
        self.sandbox = sandbox

    def start(self) -> None:
        _FakeWebhooks.started.append(self.sandbox)

    def stop(self) -> None: ...


class _FakeThread:
    def __init__(self, app: Any, port: int, **_: Any) -> None:
        self.app, self.port = app, port

    def start(self) -> None: ...
    def wait_started(self, timeout: float = 30.0) -> None: ...
    def stop(self) -> None: ...


def test_run_builds_the_dashboard_before_the_scheduler_and_prints_the_login(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'ledgersync.db'}")
    get_settings.cache_clear()
    order: list[str] = []
    persisted: list[str | None] = []

    import ledgersync.web.app as web_app

    real_create_app = web_app.create_app
    monkeypatch.setattr(web_app, "create_app", lambda c: (order.append("dashboard"), real_create_app(c))[1])
    monkeypatch.setattr(cli, "_start_scheduler", lambda c: order.append("scheduler"))
    sandbox = object()
    fake_app = SimpleNamespace(state=SimpleNamespace(sandbox=sandbox))
    monkeypatch.setattr(cli, "_sandbox_app", lambda port, persist: persisted.append(persist) or fake_app)
    monkeypatch.setattr(cli, "DemoWebhooks", _FakeWebhooks)
    monkeypatch.setattr(cli, "_ServerThread", _FakeThread)
    monkeypatch.setattr(cli.uvicorn, "run", lambda *a, **k: order.append("serve"))
    monkeypatch.setattr(cli, "port_in_use", lambda host, port: False)  # a demo may be running on this box
    try:
        result = CliRunner().invoke(cli.app, ["run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert order == ["dashboard", "scheduler", "serve"]
    assert persisted == [str(tmp_path / "var" / "sandbox.db")]
    assert _FakeWebhooks.started == [sandbox]  # the demo's webhooks registered in the sandbox it started
    assert "http://127.0.0.1:8000" in result.output
    assert "partner@demo.test / demo-partner-1234" in result.output


def test_demo_webhooks_registered_once_per_sandbox_connection(container: Any, connected_connection: Any,
                                                              sandbox_app: Any) -> None:
    """`ledgersync run` acts as the sandbox's Zoho user adding the webhook, so Zoho-side edits show in seconds."""
    sandbox = sandbox_app.state.sandbox
    hooks = cli.DemoWebhooks(sandbox, container)
    assert hooks.sync_once() == 1
    assert hooks.sync_once() == 0  # idempotent (registrations persist with the sandbox)
    (hook,) = sandbox.webhooks.list(connected_connection.organization_id)
    assert hook.url.endswith(f"/webhooks/zoho/{connected_connection.webhook_token}")
    from ledgersync.domain.webhook_auth import connection_webhook_secret

    assert hook.headers["X-Ledgersync-Webhook-Secret"] == connection_webhook_secret(
        container.settings.webhook_secret.get_secret_value(), connected_connection.webhook_token, 0)
    container.settings.webhook_secret = type(container.settings.webhook_secret)("a-new-deployment-secret-" + "x" * 16)
    assert hooks.sync_once() == 1  # the deployment secret changed: re-registered with the new header
    (hook,) = sandbox.webhooks.list(connected_connection.organization_id)
    assert hook.headers["X-Ledgersync-Webhook-Secret"] == connection_webhook_secret(
        container.settings.webhook_secret.get_secret_value(), connected_connection.webhook_token, 0)
    assert set(hook.modules) >= {"invoice", "contact", "customerpayment"}
    from ledgersync.services.webhook_setup import rotate_webhook_secret

    rotated = rotate_webhook_secret(container, connected_connection.partner_id)  # the admin's Rotate secret
    assert hooks.sync_once() == 1  # the demo's Zoho user pastes the new secret
    (hook,) = sandbox.webhooks.list(connected_connection.organization_id)
    assert hook.headers["X-Ledgersync-Webhook-Secret"] == rotated.secret


def test_demo_webhook_delivery_is_accepted_by_the_dashboard(container: Any, connected_connection: Any,
                                                            sandbox_app: Any) -> None:
    """The registered URL and secret are the ones the receiver checks (a real delivery, in-process)."""
    from fastapi.testclient import TestClient

    from ledgersync.web.app import create_app
    from zohobooks_sandbox import admin

    sandbox = sandbox_app.state.sandbox
    cli.DemoWebhooks(sandbox, container).sync_once()
    statuses: list[int] = []
    with TestClient(create_app(container), base_url=container.settings.base_url) as web:
        def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
            r = web.post(url.replace(container.settings.base_url.rstrip("/"), ""), content=body, headers=headers)
            statuses.append(r.status_code)
            return r.status_code

        sandbox.webhooks.sender = deliver
        org = sandbox.orgs[connected_connection.organization_id]
        invoice_id = next(iter(org.invoices))
        with sandbox.lock:
            admin.act(sandbox, org, "PUT", f"/invoices/{invoice_id}", {"reference_number": "QA-1"})
        sandbox.webhooks.flush(10)
    assert statuses and all(200 <= s < 300 for s in statuses), statuses


def test_run_refuses_a_busy_port_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("LEDGERSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'ledgersync.db'}")
    get_settings.cache_clear()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            result = CliRunner().invoke(cli.app, ["run", "--port", str(port), "--sandbox-port", str(port)])
        finally:
            get_settings.cache_clear()
    assert result.exit_code == 1
    assert f"Port {port} for the dashboard is already in use" in result.output
    assert "--sandbox-port" in result.output
    assert "Traceback" not in result.output


def test_stop_within_gives_up_on_a_stuck_scheduler() -> None:
    import threading

    release = threading.Event()

    class Stuck:
        def stop(self) -> None:
            release.wait(5)

    class Quick:
        def stop(self) -> None:
            pass

    assert cli.stop_within(Quick(), 1.0) is True
    assert cli.stop_within(Stuck(), 0.05) is False
    release.set()
