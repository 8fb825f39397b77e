"""The Celery deployment run natively, as separate processes, driven only over HTTP.

PostgreSQL (a scratch database) and Redis (a random key prefix and queue names) are the
machine's; everything else is started here as its own process: the Zoho Books sandbox
(`python -m zohobooks_sandbox`), `ledgersync migrate`, the web process
(`uvicorn --factory ledgersync.cli:web_app`), two Celery workers and beat. The test is the partner
and the processor: log in, connect Zoho by OAuth (the sandbox's consent page), choose the
accounts, wait for the pull to bring the invoices (REST API), pay one and settle it (REST API),
and wait for the payment to be created in Zoho (the sandbox's own counters) — no service is
called in-process and no task is run by the test.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.plugins.zoho_fixtures import DEMO_US_ORG, DEMO_ZOHO_EMAIL, DEMO_ZOHO_PASSWORD, consent_redirect
from tests.services import redis_or_skip

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("LEDGERSYNC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("LEDGERSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Any, timeout: float, what: str, procs: list[subprocess.Popen[bytes]]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            assert p.poll() is None, f"{p.args[:4]} exited with {p.returncode} while waiting for {what}"
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict[str, Any]]:
    redis_or_skip(REDIS)
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=2)
    except Exception as exc:
        if os.environ.get("LEDGERSYNC_REQUIRE_SERVICES"):
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}")
    db = f"ls_native_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{db}"')
    prefix = f"lsnative-{secrets.token_hex(4)}"
    sandbox_port, web_port = free_port(), free_port()
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env.update({
        "LEDGERSYNC_ENV": "test", "LEDGERSYNC_DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + "/" + db,
        "LEDGERSYNC_SCHEDULER": "celery", "LEDGERSYNC_CELERY_BROKER_URL": REDIS,
        "LEDGERSYNC_REDIS_KEY_PREFIX": prefix, "LEDGERSYNC_CELERY_QUEUE_PREFIX": prefix,
        "LEDGERSYNC_ZOHO_ACCOUNTS_URL": f"http://127.0.0.1:{sandbox_port}", "LEDGERSYNC_ZOHO_SANDBOX": "false",
        "LEDGERSYNC_BASE_URL": f"http://127.0.0.1:{web_port}", "LEDGERSYNC_LOG_FORMAT": "json",
        "LEDGERSYNC_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "LEDGERSYNC_SECRET_KEY": secrets.token_urlsafe(32), "LEDGERSYNC_PULL_TICK_S": "1",
        "PYTHONPATH": str(ROOT),
    })
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *argv: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(list(argv), env=env, cwd=tmp_path, stdout=open(tmp_path / f"{name}.log", "wb"),
                                stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    def cli(*argv: str) -> str:
        done = subprocess.run([str(BIN / "ledgersync"), *argv], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        start("sandbox", sys.executable, "-m", "zohobooks_sandbox", "--port", str(sandbox_port),
              "--customers", "6", "--invoices", "30")
        cli("migrate")  # migrations first: the web and the workers do not migrate
        start("web", sys.executable, "-m", "uvicorn", "--factory", "ledgersync.cli:web_app", "--host", "127.0.0.1",
              "--port", str(web_port), "--no-access-log")
        celery = [sys.executable, "-m", "celery", "-A", "ledgersync.workers.celery_app"]
        queues = ",".join(f"{prefix}.{k}" for k in ("push", "pull", "backfill"))
        for i in range(2):
            start(f"worker{i}", *celery, "worker", "--pool=threads", "--concurrency=3", "-Q", queues,
                  "-n", f"native{i}-{prefix}@localhost", "--without-gossip", "--without-mingle")
        start("beat", *celery, "beat", "-s", str(tmp_path / "beat-schedule"))
        cli("create-partner", "--name", "Native MSP", "--email", "owner@native.test", "--password", "native-pass-1234")
        key = re.search(r"shown once\): (\S+)", cli("create-api-key", "--partner-email", "owner@native.test"))
        assert key is not None
        yield {"web": f"http://127.0.0.1:{web_port}", "sandbox": f"http://127.0.0.1:{sandbox_port}",
               "api_key": key.group(1), "procs": procs, "logs": tmp_path}
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            import redis

            client = redis.Redis.from_url(REDIS)
            for k in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(k)
        except Exception:
            pass
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()


def selected(html: str, name: str) -> str:
    """The value of the selected option (or the first one) of a <select name=...>."""
    block = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert block, name
    options = re.findall(r'<option([^>]*)value="([^"]*)"([^>]*)>', block.group(1))
    chosen = [v for before, v, after in options if "selected" in before + after and v]
    return chosen[0] if chosen else next(v for _, v, _ in options if v)


def test_connect_pull_pay_push_across_processes(deployment):
    web, procs = deployment["web"], deployment["procs"]
    origin = {"Origin": web}
    browser = httpx.Client(base_url=web, timeout=30)
    zoho = httpx.Client(timeout=30)
    wait_until(lambda: browser.get("/readyz").status_code == 200, 180, "the web process to be ready", procs)
    wait_until(lambda: zoho.get(deployment["sandbox"] + "/_sandbox/orgs").status_code == 200, 120, "the sandbox", procs)
    login = browser.post("/login", data={"email": "owner@native.test", "password": "native-pass-1234"}, headers=origin)
    assert login.status_code == 303, login.text[:300]

    connect = browser.post("/integrations/zoho/connect", headers=origin)
    assert connect.status_code == 303
    params = consent_redirect(zoho, connect.headers["location"], organization_id=DEMO_US_ORG,
                              email=DEMO_ZOHO_EMAIL, password=DEMO_ZOHO_PASSWORD)
    back = browser.get("/integrations/zoho/callback", params=params)
    assert back.status_code == 303, back.text[:300]
    if back.headers["location"].endswith("/organization"):
        assert browser.post("/integrations/zoho/organization", data={"organization_id": DEMO_US_ORG},
                            headers=origin).status_code == 303
    page = browser.get("/integrations/zoho/accounts").text
    saved = browser.post("/integrations/zoho/accounts", headers=origin, data={
        name: selected(page, name) for name in ("undeposited_account_id", "bank_account_id", "fees_account_id")})
    assert saved.status_code == 303

    api = httpx.Client(base_url=web + "/api/v1", headers={"Authorization": f"Bearer {deployment['api_key']}"},
                       timeout=30)

    def payable() -> list[dict[str, Any]]:  # the workers' initial pull brought the invoices
        rows = api.get("/invoices", params={"limit": 200}).json()
        return [r for r in rows if r["status"] in ("open", "overdue", "partially_paid") and float(r["outstanding"]) >= 2]

    invoice = wait_until(payable, 300, "the initial pull (invoices over the REST API)", procs)[0]
    payment = api.post("/payments", json={"allocations": [{"invoice_id": invoice["id"], "amount": "1.00"}]})
    assert payment.status_code == 201, payment.text
    settled = api.post(f"/payments/{payment.json()['id']}/settle", json={"outcome": "succeeded"})
    assert settled.status_code == 200 and settled.json()["status"] == "succeeded"

    def pushed() -> bool:  # Zoho's own counter of created payments, read from the sandbox process
        stats = zoho.get(f"{deployment['sandbox']}/_sandbox/orgs/{DEMO_US_ORG}/stats").json()
        return stats.get("api_calls", {}).get("customerpayments.create", 0) >= 1

    wait_until(pushed, 120, "the payment pushed to Zoho by a worker", procs)
    # the web process's /metrics reads the outbox the workers wrote (done once Zoho's invoice is re-read)
    wait_until(lambda: 'ledgersync_outbox_depth{state="done"} 1.0' in browser.get("/metrics").text, 60,
               "the intent done in /metrics", procs)
