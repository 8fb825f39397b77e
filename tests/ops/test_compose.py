"""compose.yaml and the Dockerfile, checked without a container engine (Docker does not run on
this machine, so `docker compose config` cannot): the structure is parsed and every command,
entry point, queue and variable it names is checked against the code."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import yaml

from ledgersync.settings import Settings
from ledgersync.workers.schedule import queue_names

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_services_and_their_order():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("web", "worker", "beat"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"  # migrations first
        assert needs["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["ledgersync", "migrate"] and services["migrate"]["restart"] == "no"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_commands_name_real_entry_points_and_queues():
    services = compose()["services"]
    web = services["web"]["command"]
    assert web[:3] == ["uvicorn", "--factory", "ledgersync.cli:web_app"]
    module, attr = web[2].split(":")
    assert callable(getattr(importlib.import_module(module), attr))
    for name in ("worker", "beat"):
        cmd = services[name]["command"]
        assert cmd[:3] == ["celery", "-A", "ledgersync.workers.celery_app"]
    worker = services["worker"]["command"]
    assert worker[worker.index("-Q") + 1].split(",") == list(queue_names("ledgersync").values())  # push, pull, backfill
    from typer.main import get_command

    from ledgersync.cli import app

    assert "migrate" in get_command(app).commands  # type: ignore[attr-defined]


def test_every_variable_is_a_setting_and_the_env_is_production():
    doc = compose()
    env = dict(doc["x-ledgersync"]["environment"])
    env.update(doc["services"]["worker"]["environment"])
    fields = set(Settings.model_fields)
    for var in env:
        assert var.startswith("LEDGERSYNC_") and var.removeprefix("LEDGERSYNC_").lower() in fields, var
    assert env["LEDGERSYNC_ENV"] == "production" and env["LEDGERSYNC_SCHEDULER"] == "celery"
    assert "@postgres:5432/" in env["LEDGERSYNC_DATABASE_URL"] and env["LEDGERSYNC_CELERY_BROKER_URL"].startswith("redis://redis:")
    assert doc["x-ledgersync"]["env_file"] == ".env" and (ROOT / ".env.example").exists()


def test_dockerfile_copies_what_exists_and_installs_in_place():
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    for line in lines:
        if line.startswith("COPY "):
            for src in shlex.split(line)[1:-1]:
                assert (ROOT / src).exists(), src
    assert any("pip install" in ln and " -e ." in ln for ln in lines)  # migrations are read from the source tree
