"""Pull bench: how many Zoho calls an initial sync and a no-change incremental sync cost.

    python bench/pull_calls.py --customers 200 --invoices 2000 --seed 1 [--time-scale 3600] [--plan premium]
        [--sandbox process|thread]

Generates an organisation in the sandbox (Zoho's limits on, its clock scaled by `--time-scale`:
a Zoho minute lasts 60/X real seconds, a day 86400/X). By default the sandbox serves over local
HTTP from a child process (`--sandbox process`): Zoho is another server in production, so its
CPU is not the engine's, and on a 2-core machine each gets a core; `--sandbox thread` runs it in
this process behind an in-process transport (the engine and Zoho then share one core and the
GIL). Runs the initial sync
to completion (across as many Zoho "days" as the plan's budget needs, waiting for each reset),
then one no-change incremental sync of every stream (deletion checks included). Prints a table
and, LAST, one JSON line:
calls, lower_bound (= ceil(customers/200) + ceil(invoices/200) + invoices needing details),
ratio, http_429, incremental_calls, seconds, records_per_s,
zoho_days (Zoho time the initial sync took, in days, read from the sandbox's clock: waits for
the daily reset included), budget_waits (how many times it waited for that reset),
rate_share (the share of Zoho's per-minute allowance the initial sync used while it was
backlogged and alone: calls Zoho admitted, by its own counter — refused ones (429) excluded —
÷ (100 × the Zoho minutes from the start of the initial sync to its end, less the waits for the
daily reset). Every moment the engine spends not calling (applying pages, committing, switching
streams) counts against it; nobody else calls the organisation. It means something only where the
per-minute limit binds, i.e. at --time-scale 60, where a Zoho minute lasts one real second, so the
engine must make ~97 calls a real second. The limiter paces at most 97 calls per 61.2 s sliding
window (a 2 % guard, 3 calls kept for a push), so 0.95 is its ceiling.
limiter_wait_share (the share of that same time the engine spent sleeping because the limiter
said so: low together with a low rate_share means the engine itself — applying, committing, its
HTTP client — was the bottleneck, not the limiter).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.benchkit import bench_platform  # noqa: E402
from ledgersync.sync.pull.initial import run_initial_sync  # noqa: E402
from ledgersync.sync.pull.service import sync_connection  # noqa: E402
from tests.pull.harness import build_harness, spawn_harness  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=3600.0)
    parser.add_argument("--plan", default="premium", choices=["free", "standard", "professional", "premium"])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sandbox", default="process", choices=["process", "thread"],
                        help="serve the sandbox from a child process over HTTP (default) or in this process")
    args = parser.parse_args(argv)
    console = Console(stderr=True)

    size = {"customers": args.customers, "invoices": args.invoices, "seed": args.seed, "years": args.years,
            "time_scale": args.time_scale, "plan": args.plan}
    harness: Any = spawn_harness(**size) if args.sandbox == "process" else build_harness(manual_clock=False, **size)
    try:
        return _measure(args, harness, console)
    finally:
        harness.close()


def _measure(args: argparse.Namespace, harness: Any, console: Console) -> dict[str, Any]:
    container, connection_id = bench_platform(harness, database_url=args.database_url, prefix="pull-bench-")
    try:
        return _run(args, harness, container, connection_id, console)
    finally:
        container.close()


def _run(args: argparse.Namespace, harness: Any, container: Any, connection_id: str,
         console: Console) -> dict[str, Any]:
    live_invoices = harness.invoice_count
    customers = harness.customer_count
    needing_details = live_invoices
    lower_bound = math.ceil(customers / 200) + math.ceil(live_invoices / 200) + needing_details

    started = time.perf_counter()
    zoho_started = harness.now()
    waited_before = harness.limiter_waits.seconds
    waited_zoho_s = 0.0
    days = 0
    progress = run_initial_sync(container, connection_id)
    while progress["phase"] != "done":
        retry = progress.get("budget_exhausted_until")
        if retry is None:
            raise SystemExit(f"initial sync stopped without a budget reason: {progress}")
        wait = (datetime.fromisoformat(retry) - harness.now()).total_seconds() / args.time_scale
        console.log(f"budget used up at {progress['percent']}% — waiting {wait:.1f}s (a Zoho night)")
        before_wait = harness.now()
        time.sleep(max(0.0, wait) + 0.05)
        waited_zoho_s += (harness.now() - before_wait).total_seconds()
        days += 1
        progress = run_initial_sync(container, connection_id)
    initial_seconds = time.perf_counter() - started
    zoho_elapsed_s = (harness.now() - zoho_started).total_seconds()
    initial_calls = harness.calls()
    refused = harness.http_429()
    active_minutes = max((zoho_elapsed_s - waited_zoho_s) / 60.0, 1e-9)
    rate_share = (initial_calls - refused) / (100 * active_minutes)
    limiter_wait_share = (harness.limiter_waits.seconds - waited_before) / (active_minutes * 60)

    inc_started = time.perf_counter()
    results = sync_connection(container, connection_id)
    incremental_calls = harness.calls() - initial_calls
    seconds = time.perf_counter() - started
    ops = harness.calls_by_op()

    table = Table(title=f"pull bench: {customers} customers, {live_invoices} invoices, plan {args.plan}, x{args.time_scale:g}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in [
        ("initial sync calls", initial_calls), ("lower bound", lower_bound),
        ("ratio", f"{initial_calls / lower_bound:.3f}"), ("invoices.list", ops.get("invoices.list", 0)),
        ("invoices.get (line items)", ops.get("invoices.get", 0)), ("contacts.list", ops.get("contacts.list", 0)),
        ("Zoho days elapsed", f"{zoho_elapsed_s / 86400:.3f}"), ("daily-reset waits", days),
        ("Zoho minutes calling", f"{active_minutes:.1f}"), ("share of 100 calls/minute", f"{rate_share:.3f}"),
        ("share of that time waiting for the limiter", f"{limiter_wait_share:.3f}"),
        ("initial seconds", f"{initial_seconds:.1f}"),
        ("incremental calls (no change)", incremental_calls),
        ("incremental streams", ", ".join(f"{r.stream}:{r.calls}" for r in results)),
        ("incremental seconds", f"{time.perf_counter() - inc_started:.2f}"), ("HTTP 429", harness.http_429()),
    ]:
        table.add_row(name, str(value))
    console.print(table)
    out = {
        "customers": customers, "invoices": live_invoices, "calls": initial_calls, "lower_bound": lower_bound,
        "ratio": round(initial_calls / lower_bound, 4), "http_429": harness.http_429(),
        "incremental_calls": incremental_calls, "seconds": round(seconds, 2),
        "records_per_s": round((live_invoices + customers) / initial_seconds, 1),
        "zoho_days": round(zoho_elapsed_s / 86400, 4), "budget_waits": days, "rate_share": round(rate_share, 4),
        "limiter_wait_share": round(limiter_wait_share, 4),
        "time_scale": args.time_scale, "plan": args.plan, "sandbox": args.sandbox,
    }
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
