"""Production mode refuses unsafe configuration, in every process, with one sentence naming each variable.

Checked from outside: real `ledgersync run`, `ledgersync create-api-key` and `celery … worker`
processes with the demo (or missing, or short) secrets exit non-zero within seconds and name the
variables; with real secrets `ledgersync run` serves, offers no demo login and refuses it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledgersync.settings import Settings, UnsafeConfiguration
from tests.security.conftest import LEDGERSYNC, RunningApp, clean_env, free_port, production_env

SECRET_VARS = ["LEDGERSYNC_SECRET_KEY", "LEDGERSYNC_TOKEN_ENCRYPTION_KEY", "LEDGERSYNC_WEBHOOK_SECRET",
               "LEDGERSYNC_ZOHO_CLIENT_SECRET", "LEDGERSYNC_ZOHO_CLIENT_ID", "LEDGERSYNC_ZOHO_ACCOUNTS_URL",
               "LEDGERSYNC_METRICS_TOKEN"]


def _settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_demo_mode_needs_nothing() -> None:
    assert _settings().unsafe_settings() == []
    _settings().require_safe()


def test_production_with_nothing_set_names_every_secret() -> None:
    problems = " ".join(_settings(env="production").unsafe_settings())
    for var in SECRET_VARS:
        assert var in problems


def test_production_names_demo_values_and_short_secrets() -> None:
    from ledgersync.settings import DEMO_FERNET_KEY, DEMO_SECRET_KEY

    s = _settings(env="production", secret_key=DEMO_SECRET_KEY, webhook_secret="short",
                  token_encryption_key=DEMO_FERNET_KEY)
    problems = s.unsafe_settings()
    assert "LEDGERSYNC_SECRET_KEY is the public demo value" in problems
    assert "LEDGERSYNC_WEBHOOK_SECRET is too short (5 characters, at least 32)" in problems
    assert "LEDGERSYNC_TOKEN_ENCRYPTION_KEY contains the public demo key" in problems
    with pytest.raises(UnsafeConfiguration, match=r"^Refusing to start with LEDGERSYNC_ENV=production: .*\.") as err:
        s.require_safe()
    assert ". " not in str(err.value) and str(err.value).endswith(").")  # one sentence


def test_production_with_real_secrets_is_safe(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    values = {k.removeprefix("LEDGERSYNC_").lower(): v for k, v in env.items() if k.startswith("LEDGERSYNC_")}
    assert _settings(**values).unsafe_settings() == []
    values["token_encryption_key"] += ",not-a-fernet-key"
    assert "not a Fernet key" in " ".join(_settings(**values).unsafe_settings())


def test_unknown_mode_is_refused_in_any_case() -> None:
    assert "LEDGERSYNC_ENV is 'prod'" in _settings(env="prod").unsafe_settings()[0]


def test_container_refuses_unsafe_production_settings(tmp_path: Path) -> None:
    from ledgersync.bootstrap import Container

    with pytest.raises(UnsafeConfiguration):
        Container(_settings(env="production", database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert not (tmp_path / "x.db").exists()  # refused before anything was created


# --------------------------------------------------------------------------- from outside


def _demo_secrets_env(tmp: Path) -> dict[str, str]:
    return clean_env(LEDGERSYNC_ENV="production", LEDGERSYNC_DATABASE_URL=f"sqlite:///{tmp / 'p.db'}",
                     LEDGERSYNC_SECRET_KEY="demo-session-secret-change-me", LEDGERSYNC_SCHEDULER="off")


def _assert_refused(cmd: list[str], env: dict[str, str], cwd: Path, names: list[str]) -> None:
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=60)
    elapsed = time.monotonic() - started
    out = done.stdout.decode() + done.stderr.decode()
    assert done.returncode != 0, out
    for name in names:
        assert name in out, out
    assert "Refusing to start" in out
    assert elapsed < 30, f"took {elapsed:.1f} s"  # generous for a loaded 2-core machine; it is ~1-2 s


def test_ledgersync_run_with_demo_secrets_exits_naming_them(tmp_path: Path) -> None:
    port = free_port()
    _assert_refused([LEDGERSYNC, "run", "--port", str(port)], _demo_secrets_env(tmp_path), tmp_path, SECRET_VARS)
    assert not (tmp_path / "p.db").exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_token_touching_cli_commands_refuse_too(tmp_path: Path) -> None:
    env = _demo_secrets_env(tmp_path)
    _assert_refused([LEDGERSYNC, "create-api-key", "--partner-email", "x@y.test"], env, tmp_path, SECRET_VARS)
    _assert_refused([LEDGERSYNC, "sync"], env, tmp_path, ["LEDGERSYNC_TOKEN_ENCRYPTION_KEY"])


def test_celery_worker_and_beat_refuse(tmp_path: Path) -> None:
    env = _demo_secrets_env(tmp_path) | {"LEDGERSYNC_CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    celery = [sys.executable, "-m", "celery", "-A", "ledgersync.workers.celery_app"]
    _assert_refused([*celery, "worker", "--pool=solo"], env, tmp_path, SECRET_VARS)
    _assert_refused([*celery, "beat"], env, tmp_path, SECRET_VARS)


def test_uvicorn_web_process_refuses(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "ledgersync.cli:web_app", "--port", str(free_port())]
    _assert_refused(cmd, _demo_secrets_env(tmp_path), tmp_path, SECRET_VARS)


def test_with_real_secrets_it_serves_and_the_demo_login_is_refused(production_app: RunningApp) -> None:
    with httpx.Client(base_url=production_app.base_url) as http:
        page = http.get("/login")
        assert page.status_code == 200
        assert "demo-partner-1234" not in page.text and "partner@demo.test" not in page.text
        r = http.post("/login", data={"email": "partner@demo.test", "password": "demo-partner-1234"},
                      headers={"Origin": production_app.base_url})
        assert r.status_code == 401
        assert http.get("/integrations", follow_redirects=False).status_code == 303
    log = next(production_app.cwd.glob("run-*.log")).read_text()
    assert "demo-partner-1234" not in log and "Zoho Books sandbox" not in log
