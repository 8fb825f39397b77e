"""The `ledgersync` CLI: migrate and create-partner against a scratch SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledgersync.cli import app
from ledgersync.settings import get_settings


@pytest.fixture
def scratch_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LEDGERSYNC_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_migrate_then_create_partner_then_login(scratch_db: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["create-partner", "--name", "Acme IT", "--email", "ops@acme.test",
                                 "--password", "acme-pass-1234"])
    assert result.exit_code == 0, result.output
    assert "Acme IT" in result.output

    from ledgersync.bootstrap import Container
    from ledgersync.services.partners import authenticate

    container = Container(get_settings())
    try:
        assert authenticate(container, "ops@acme.test", "acme-pass-1234").email == "ops@acme.test"
    finally:
        container.close()


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "sandbox", "migrate", "create-partner"):
        assert command in result.output
