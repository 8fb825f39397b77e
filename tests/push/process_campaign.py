"""The fault campaign with real processes: workers SIGKILLed at random moments.

The sandbox is served by uvicorn over a real socket (a thread of this process, so the oracle
can still read Zoho's state from memory); push workers are separate processes
(`python -m tests.push.drain_worker`) on the same database (a SQLite file or PostgreSQL), each
draining the outbox again and again over HTTP. While the platform's activity goes on here and
the sandbox injects its faults (drops after and before writes, timeouts, 5xx,
malformed bodies, revoked grants, expired tokens — no 429s, see `process_fault_plan`), a worker is killed with SIGKILL at a random
moment — mid-write, mid-commit, wherever it happens to be — and a fresh one started, so
another process always drains. Then the faults and the kills stop, the workers finish the
outbox, and `tests/push/oracle.py` judges Zoho against the ledger as in the in-process campaign.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from ledgersync.services.errors import ServiceError
from ledgersync.zoho.errors import ZohoError
from tests.push.campaign import CampaignResult, Workload, _open_intents, _stuck, wait_quiet
from tests.push.oracle import judge
from tests.push.world import World, build_world
from zohobooks_sandbox import SandboxConfig, create_app
from zohobooks_sandbox.faults import FaultKind, FaultPlan, FaultRule

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT_S = 0.5


def process_fault_plan(seed: int) -> FaultPlan:
    return FaultPlan(seed=seed, rules=[
        FaultRule(kind=FaultKind.DROP_AFTER_WRITE, probability=0.08, methods=["write"]),
        FaultRule(kind=FaultKind.DROP_BEFORE_WRITE, probability=0.04, methods=["write"]),
        FaultRule(kind=FaultKind.LATENCY, probability=0.01, latency_seconds=READ_TIMEOUT_S * 2, name="timeout"),
        FaultRule(kind=FaultKind.MALFORMED, probability=0.03),
        FaultRule(kind=FaultKind.SERVER_ERROR, probability=0.05, status=500),
        FaultRule(kind=FaultKind.SERVER_ERROR, probability=0.02, status=503),
    ])  # no 429s here: the real limiter rightly waits for Zoho's window reset (a real minute at
    #     this clock); 429 storms against the real limiter run in the in-process campaign, where
    #     the limiter's waits move the sandbox's clock.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SandboxServer(threading.Thread):
    """The sandbox app served by uvicorn on 127.0.0.1:`port` (lifespan off: the in-process
    transport of this process's container already ran it)."""

    def __init__(self, app: Any, port: int) -> None:
        super().__init__(daemon=True, name=f"sandbox-{port}")
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical",
                                                    access_log=False, lifespan="off"))

    def run(self) -> None:
        self.server.run()

    def wait_started(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.is_alive():
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(10)


class Workers:
    """Worker processes on one connection; `kill_one` is SIGKILL, then a replacement."""

    def __init__(self, container: Any, connection_id: str, n: int, rng: random.Random) -> None:
        self.rng = rng
        self.stop_file = Path(tempfile.mkdtemp(prefix="ls-workers-")) / "stop"
        self.env = os.environ | {
            "LS_WORKER_DB": container.settings.database_url,
            "LS_WORKER_KEY": container.settings.token_encryption_key.get_secret_value(),
            "LS_WORKER_CONNECTION": connection_id, "LS_WORKER_STOP": str(self.stop_file),
            "LS_WORKER_TIMEOUT": str(READ_TIMEOUT_S), "PYTHONPATH": str(ROOT),
        }
        self.procs: list[subprocess.Popen[bytes]] = [self._start() for _ in range(n)]
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        log = open(self.stop_file.parent / "workers.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            return subprocess.Popen([sys.executable, "-m", "tests.push.drain_worker"], cwd=ROOT, env=self.env,
                                    stdout=log, stderr=log)
        finally:
            log.close()

    def ready(self) -> list[int]:
        """Indexes of workers that are up and draining (a worker still importing is not killed:
        that would test Python's start-up, not the engine)."""
        return [i for i, p in enumerate(self.procs) if (self.stop_file.parent / f"ready-{p.pid}").exists()]

    def kill_one(self) -> bool:
        """SIGKILL one draining worker, chosen at random, and start its replacement."""
        ready = self.ready()
        if not ready:
            return False
        i = self.rng.choice(ready)
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.kills += 1
        self.procs[i] = self._start()
        return True

    def finish(self, timeout_s: float = 60.0) -> None:
        self.stop_file.touch()
        for p in self.procs:
            try:
                p.wait(timeout_s)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_process_campaign(container: Any, *, faults: int, seed: int, workers: int = 2, kill_every_s: float = 5.0,
                         settle_timeout_s: float = 300.0, progress: Any = None, min_kills: int = 3) -> CampaignResult:
    """Activity + sandbox faults + random SIGKILLs of worker processes until `faults` have fired
    (kills included) and at least `min_kills` workers were killed, then calm and the oracle.
    The database is `container`'s (file or server)."""
    rng = random.Random(seed)
    port = free_port()
    app = create_app(SandboxConfig(base_url=f"http://127.0.0.1:{port}", demo=True, seed=seed))
    server = SandboxServer(app, port)
    server.start()
    server.wait_started()
    pool: Workers | None = None
    container.settings.zoho_accounts_url = f"http://127.0.0.1:{port}"  # the product trusts this host
    try:
        w = build_world(container, app)  # the partner connects; api_domain is the socket's URL
        org_id = w.org.organization_id
        work = Workload(w, rng)
        w.guard.faults.set_plan(org_id, process_fault_plan(seed))
        pool = Workers(container, w.connection_id, workers, random.Random(seed + 1))
        ttl = float(w.sandbox.config.access_token_ttl)

        def fired() -> int:
            return sum(w.guard.faults.fired(org_id).values()) + (pool.kills if pool else 0)

        next_kill = time.monotonic() + rng.uniform(0.2, 2 * kill_every_s)
        report = time.monotonic() + 10
        # Until enough faults fired AND enough workers were killed (how many of each a span of
        # wall time brings depends on the machine's speed; the stopping rule must not).
        while fired() < faults or pool.kills < min_kills:
            if progress is not None and time.monotonic() > report:
                report = time.monotonic() + 10
                progress(f"fired {w.guard.faults.fired(org_id)} kills {pool.kills} open {_open_intents(container)} "
                         f"calls {sum(w.org.api_calls.values())}")
            work.round()
            _fix_connection(w)
            if rng.random() < 0.04:
                w.guard.faults.add_script(org_id, [FaultRule(kind=FaultKind.TOKEN_REVOKED)])
            if rng.random() < 0.05:
                w.sandbox.clock.advance(ttl + 1)
            time.sleep(rng.uniform(0.05, 0.4))  # the workers drain meanwhile
            if time.monotonic() >= next_kill and pool.kill_one():
                next_kill = time.monotonic() + rng.uniform(0.2, 2 * kill_every_s)
        by_kind = dict(w.guard.faults.fired(org_id)) | {"sigkill": pool.kills}
        total = fired()
        w.guard.faults.set_plan(org_id, None)
        deadline = time.monotonic() + settle_timeout_s
        while _open_intents(container) and time.monotonic() < deadline:
            _fix_connection(w)
            time.sleep(0.2)
        pool.finish()
        wait_quiet(w)
        verdict = judge(container, w.org, w.partner_id, work.before)
        stuck = _stuck(container, verdict)
        return CampaignResult(total, by_kind, pool.kills, 0, 0, stuck, verdict)
    finally:
        if pool is not None:
            pool.finish(5)
        server.stop()


def _fix_connection(w: World) -> None:
    for _ in range(20):
        if w.connection().status != "reauth_required":
            return
        try:
            w.reconnect()
        except (ZohoError, ServiceError):
            continue
