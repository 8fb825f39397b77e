"""A real `ledgersync run` in production mode, in its own process, for the outside-in checks.

Real (random) secrets, a fresh SQLite file in a temp dir, a free port, no scheduler, the
environment stripped of the developer's `LEDGERSYNC_*` variables and the working directory a temp
dir (so no `.env` is read). A partner is made first with `ledgersync create-partner`.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

LEDGERSYNC = str(Path(sys.executable).with_name("ledgersync"))
OWNER_EMAIL = "owner@prod.test"
OWNER_PASSWORD = "a-long-production-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    """os.environ without LEDGERSYNC_* (but the test database of CI is not wanted here either)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env.update(overrides)
    return env


def production_env(tmp: Path, **overrides: str) -> dict[str, str]:
    """Production mode with real secrets: everything `unsafe_settings` asks for."""
    return clean_env(
        LEDGERSYNC_ENV="production",
        LEDGERSYNC_DATABASE_URL=f"sqlite:///{tmp / 'prod.db'}",
        LEDGERSYNC_SECRET_KEY=secrets.token_urlsafe(48),
        LEDGERSYNC_TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        LEDGERSYNC_WEBHOOK_SECRET=secrets.token_urlsafe(48),
        LEDGERSYNC_METRICS_TOKEN=secrets.token_urlsafe(48),
        LEDGERSYNC_ZOHO_CLIENT_ID="1000.REALCLIENTID1234567890",
        LEDGERSYNC_ZOHO_CLIENT_SECRET=secrets.token_hex(21),
        LEDGERSYNC_ZOHO_ACCOUNTS_URL="https://accounts.zoho.com",
        LEDGERSYNC_SCHEDULER="off",
        **overrides,
    )


@dataclass
class RunningApp:
    base_url: str
    env: dict[str, str]
    cwd: Path
    process: subprocess.Popen[bytes]


def start_app(env: dict[str, str], cwd: Path, port: int, timeout: float = 60.0) -> subprocess.Popen[bytes]:
    log = cwd / f"run-{port}.log"
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen([LEDGERSYNC, "run", "--port", str(port)], env=env, cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ledgersync run exited {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("ledgersync run did not serve within the timeout")


def stop_app(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def production_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    tmp = tmp_path_factory.mktemp("prod")
    port = free_port()
    env = production_env(tmp, LEDGERSYNC_BASE_URL=f"http://127.0.0.1:{port}")
    made = subprocess.run([LEDGERSYNC, "create-partner", "--name", "Prod MSP", "--email", OWNER_EMAIL,
                           "--password", OWNER_PASSWORD], env=env, cwd=tmp, capture_output=True, timeout=120)
    assert made.returncode == 0, made.stdout.decode() + made.stderr.decode()
    proc = start_app(env, tmp, port)
    try:
        yield RunningApp(f"http://127.0.0.1:{port}", env, tmp, proc)
    finally:
        stop_app(proc)
