"""QA: a partner can get a REST API key (dashboard page or CLI) — before, nothing issued one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ledgersync.bootstrap import Container
from ledgersync.store import orm


def test_create_use_and_revoke_a_key_from_the_dashboard(logged_in: TestClient) -> None:
    page = logged_in.get("/api-keys").text
    assert "No API keys yet" in page and 'href="/api-keys"' in page
    r = logged_in.post("/api-keys", data={"name": "billing export"})
    assert 'id="new-api-key"' in r.text and "Copy it now" in r.text
    key = r.text.split('id="new-api-key-value"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert key.startswith("ls_live_")
    assert 'id="new-api-key"' not in logged_in.get("/api-keys").text  # shown once
    api = logged_in.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200, api.text
    key_id = logged_in.get("/api-keys").text.split('data-key-id="', 1)[1].split('"', 1)[0]
    logged_in.post(f"/api-keys/{key_id}/revoke")
    assert logged_in.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert "revoked" in logged_in.get("/api-keys").text


def test_cli_creates_a_key(container: Container, partner: orm.Partner, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledgersync import cli
    from ledgersync.services.api_keys import partner_for_key
    from tests.conftest import DEMO_LIKE_EMAIL

    monkeypatch.setattr(cli, "Container", lambda settings: container)
    monkeypatch.setattr(container, "close", lambda: None)
    result = CliRunner().invoke(cli.app, ["create-api-key", "--partner-email", DEMO_LIKE_EMAIL])
    assert result.exit_code == 0, result.output
    key = result.output.split("shown once): ", 1)[1].split()[0]
    assert partner_for_key(container, key) == partner.id
    bad = CliRunner().invoke(cli.app, ["create-api-key", "--partner-email", "nobody@x.test"])
    assert bad.exit_code == 1 and "No partner user" in bad.output
