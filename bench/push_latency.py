"""Latency from "payment settled on the platform" to "payment visible in Zoho Books".

`python bench/push_latency.py --payments N [--during-backfill] [--interval S]`

Default case (the realistic-but-hard one): `--payments 50 --during-backfill` with a payment
settling every 2 s (`--interval 2.0`, 30 payments a minute: a busy partner's card and ACH run
on a collection day) while the same organisation's initial sync of 6,000 invoices runs.

Real threads and Zoho's REAL limits: the sandbox runs at time scale 1 with 100 calls per
minute per organisation (and its concurrency cap), the product uses its default per-process
limiter from settings (100/min, push reserve), and pushes are event-driven: `settle()` →
`outbox.notify` → the embedded scheduler's `push_requested` → `drain_outbox` →
`books_for(...)` → HTTP (in-process `SandboxTransport`) → the sandbox. A watcher thread reads
the sandbox state directly (not through the API budget) to timestamp when each payment appears.

`--during-backfill`: the organisation also holds a large generated history and its initial
sync (`ledgersync.sync.pull.initial.run_initial_sync`) runs in another thread the whole time,
competing for the same 100 calls a minute; pushes must keep priority. The payments start only
once the initial sync is in its HISTORY phase (the backfill, at `backfill` priority) and has
made backfill calls — its recent window is shortened (`--recent-days`, default 7) so that
phase is reached within a minute or two — and the bench prints how many backfill calls were
made while the payments were measured (`backfill_calls_during`) and the phase at both ends.

Prints a table and, LAST, one JSON line with `p50_s`, `p95_s`, `max_s`, `http_429`, `payments`,
`backfill_calls_during`, `phase_at_start`, `phase_at_end`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledgersync.bootstrap import Container  # noqa: E402
from ledgersync.services import payments as pay_svc  # noqa: E402
from ledgersync.settings import Settings  # noqa: E402
from tests.plugins.zoho_fixtures import bind_container_to_sandbox  # noqa: E402
from tests.push.world import build_world  # noqa: E402
from zohobooks_sandbox import SandboxConfig, create_app  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = max(0, min(len(ordered) - 1, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payments", type=int, default=50)
    ap.add_argument("--during-backfill", action="store_true",
                    help="run the payments while the organisation's initial sync competes for its budget")
    ap.add_argument("--interval", type=float, default=2.0,
                    help="seconds between two payments settling (default 2: a busy partner, 30 payments a minute)")
    ap.add_argument("--history-invoices", type=int, default=6000)
    ap.add_argument("--recent-days", type=int, default=7,
                    help="the initial sync's recent window (small, so the history backfill is reached soon)")
    ap.add_argument("--wait-backfill-s", type=float, default=600.0)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="push-latency-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    settings = Settings(_env_file=None, env="test", database_url=url,  # type: ignore[call-arg]
                        token_encryption_key=Fernet.generate_key().decode(), scheduler="off")
    container = Container(settings)
    app = create_app(SandboxConfig(demo=True, time_scale=1.0))
    bind_container_to_sandbox(container, app)
    sandbox = app.state.sandbox
    w = build_world(container, app, limits=True, connected=not args.during_backfill)
    org = w.org
    if args.during_backfill:
        from zohobooks_sandbox.generator import generate

        generate(sandbox, org.organization_id, customers=300, invoices=args.history_invoices, years=5, seed=7)
    invoices = [w.zoho_invoice(f"{100 + i}.{i % 100:02d}") for i in range(args.payments)]
    sandbox.guard.reset_stats(org, reset_windows=True)
    limiter = container.rate_limiter
    cfg = limiter.cfg  # type: ignore[attr-defined]
    waits = _TimedAcquire(limiter)
    container.rate_limiter = waits  # same limiter, acquire timed by priority
    if args.during_backfill:
        from ledgersync.sync.pull.context import PullOptions

        container.pull_options = PullOptions(recent_days=args.recent_days)
    limits = sandbox.guard.limits_for(org)
    bench_settings = {
        "payments": args.payments, "interval_s": args.interval, "during_backfill": args.during_backfill,
        "history_invoices": args.history_invoices if args.during_backfill else 0,
        "sandbox": f"time_scale 1, {limits.per_minute}/min, {limits.daily}/day, concurrency {limits.concurrency}",
        "limiter": (f"{cfg.per_minute}/{cfg.window_seconds:g}s, burst {cfg.burst}, reserves/min "
                    + ", ".join(f"{p} {cfg.reserve(p).minute}" for p in ("push", "pull", "backfill"))),
    }
    Console().print("settings: " + json.dumps(bench_settings))

    from ledgersync.workers.embedded import EmbeddedScheduler

    scheduler = EmbeddedScheduler(container, periodic=False, tick_s=5.0).start()
    backfill_done = threading.Event()
    backfill_progress: dict = {}
    if args.during_backfill:
        from ledgersync.sync.pull.initial import run_initial_sync

        def backfill() -> None:
            try:
                backfill_progress.update(run_initial_sync(container, w.connection_id))
            except Exception as exc:  # noqa: BLE001 - reported, the bench still measures pushes
                backfill_progress["error"] = repr(exc)
            finally:
                backfill_done.set()

        threading.Thread(target=backfill, name="backfill", daemon=True).start()
        # Measure against the HISTORY backfill (backfill priority), not the recent phase: wait
        # until the initial sync is in it and has made backfill calls of its own.
        reached = time.monotonic() + args.wait_backfill_s
        while time.monotonic() < reached and not backfill_done.is_set() and not (
                _phase(container, w.connection_id) == "history" and len(waits.waits.get("backfill", [])) >= 5):
            time.sleep(0.2)
        if _phase(container, w.connection_id) != "history":
            sys.exit(f"the initial sync did not reach its history phase in {args.wait_backfill_s:.0f} s "
                     f"(phase {_phase(container, w.connection_id)!r}): nothing to compete with")

    settled_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            with sandbox.lock:
                refs = [p.reference_number for p in list(org.payments.values())]
            now = time.monotonic()
            for ref in refs:
                if ref.startswith("ls:pay:") and ref not in seen_at:
                    seen_at[ref] = now
            stop.wait(0.02)

    watcher = threading.Thread(target=watch, name="watcher", daemon=True)
    watcher.start()
    started = time.monotonic()
    backfill_before = len(waits.waits.get("backfill", []))
    calls_before = sandbox.guard.stats(org)["total_calls"]
    phase_at_start = _phase(container, w.connection_id) if args.during_backfill else None
    for inv in invoices:
        p = pay_svc.pay_invoices(container, w.partner_id, method="card",
                                 allocations=[pay_svc.AllocationInput(inv, Decimal(str(_outstanding(container, inv))))])
        settled_at[f"ls:pay:{p.id}"] = time.monotonic()
        pay_svc.settle(container, w.partner_id, p.id, "succeeded")  # notifies the dispatcher
        time.sleep(args.interval)
    deadline = time.monotonic() + 600
    while len(seen_at.keys() & settled_at.keys()) < len(settled_at) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    watcher.join()
    elapsed = time.monotonic() - started
    backfill_calls_during = len(waits.waits.get("backfill", [])) - backfill_before
    phase_at_end = _phase(container, w.connection_id) if args.during_backfill else None
    scheduler.stop()
    lat = [seen_at[r] - settled_at[r] for r in settled_at if r in seen_at]
    stats = sandbox.guard.stats(org)
    result = {
        "payments": len(settled_at),
        "visible": len(lat),
        "p50_s": round(statistics.median(lat), 3) if lat else None,
        "p95_s": round(percentile(lat, 0.95), 3) if lat else None,
        "max_s": round(max(lat), 3) if lat else None,
        "http_429": stats["http_429"],
        "during_backfill": args.during_backfill,
        "phase_at_start": phase_at_start,
        "phase_at_end": phase_at_end,
        "backfill_calls_during": backfill_calls_during,
        "zoho_calls": stats["total_calls"] - calls_before,  # during the measurement
        "seconds": round(elapsed, 1),
    }
    push_waits = waits.waits.get("push", [])
    limiter_row = (f"p95 {percentile(push_waits, 0.95):.3f} s, max {max(push_waits, default=0.0):.3f} s"
                   f" over {len(push_waits)} calls")
    table = Table(title="push latency: settled → visible in Zoho (sandbox at Zoho's real limits)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in bench_settings.items():
        table.add_row(f"setting {k}", str(v))
    for k, v in result.items():
        table.add_row(k, str(v))
    if args.during_backfill:
        table.add_row("initial-sync phase at the end", str(_phase(container, w.connection_id)))
        table.add_row("Zoho calls per minute (all, during the measurement)",
                      f"{(stats['total_calls'] - calls_before) / max(elapsed / 60, 1e-9):.1f}")
    table.add_row("push waits in the limiter", limiter_row)
    for prio in ("pull", "backfill"):
        if waits.waits.get(prio):
            table.add_row(f"{prio} calls (limiter wait total)",
                          f"{len(waits.waits[prio])} ({sum(waits.waits[prio]):.1f} s)")
    for op, n in sorted(stats["api_calls"].items()):
        table.add_row(f"  calls {op}", str(n))
    Console().print(table)
    print(json.dumps(result))
    container.close()


class _TimedAcquire:
    """The container's limiter, unchanged, with the time each `acquire` blocked recorded by
    priority: tells the limiter's share of a push's latency from the rest (database, drain)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.waits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, org_id: str, priority: str = "pull", cost: int = 1) -> None:
        started = time.monotonic()
        try:
            self._inner.acquire(org_id, priority, cost)  # type: ignore[attr-defined]
        finally:
            with self._lock:
                self.waits.setdefault(priority, []).append(time.monotonic() - started)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def _outstanding(container: Container, inv_id: str) -> Decimal:
    from ledgersync.store import orm

    with container.uow() as uow:
        return uow.session.get(orm.Invoice, inv_id).outstanding


def _phase(container: Container, connection_id: str) -> str | None:
    from ledgersync.store import orm

    with container.uow() as uow:
        return uow.session.get(orm.Connection, connection_id).initial_sync_phase


if __name__ == "__main__":
    main()
