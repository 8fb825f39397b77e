"""QA of `ledgersync run`: a restart keeps the demo coherent, and the process starts cleanly.

Found walking the demo: (1) the sandbox lived in memory only while the platform kept its Zoho
tokens in `var/ledgersync.db`, so after a restart the refresh token was unknown ("Reauthorization
required") and every payment pushed before the restart was gone from "Zoho"; (2) on a restart
with an existing connection the embedded scheduler began syncing while the dashboard was still
importing its page modules, and CPython's import lock raised `_DeadlockError`, killing the process.
"""

from __future__ import annotations

from pathlib import Path
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
    monkeypatch.setattr(cli, "_sandbox_app", lambda port, persist: persisted.append(persist) or object())
    monkeypatch.setattr(cli, "_ServerThread", _FakeThread)
    monkeypatch.setattr(cli.uvicorn, "run", lambda *a, **k: order.append("serve"))
    try:
        result = CliRunner().invoke(cli.app, ["run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert order == ["dashboard", "scheduler", "serve"]
    assert persisted == [str(tmp_path / "var" / "sandbox.db")]
    assert "http://127.0.0.1:8000" in result.output
    assert "partner@demo.test / demo-partner-1234" in result.output
