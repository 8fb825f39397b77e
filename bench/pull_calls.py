"""Pull bench: how many Zoho calls an initial sync and a no-change incremental sync cost.

    python bench/pull_calls.py --customers 200 --invoices 2000 --seed 1 [--time-scale 3600] [--plan premium]

Generates an organisation in the in-process sandbox (Zoho's limits on, its clock scaled by
`--time-scale`: a Zoho minute lasts 60/X real seconds, a day 86400/X), runs the initial sync
to completion (across as many Zoho "days" as the plan's budget needs, waiting for each reset),
then one no-change incremental sync of every stream (deletion checks included). Prints a table
and, LAST, one JSON line:
calls, lower_bound (= ceil(customers/200) + ceil(invoices/200) + invoices needing details),
ratio, http_429, incremental_calls, seconds, records_per_s,
zoho_days (Zoho time the initial sync took, in days, read from the sandbox's clock: waits for
the daily reset included), budget_waits (how many times it waited for that reset),
rate_share (initial-sync calls / (100 a minute × the Zoho minutes it was not waiting for the
daily reset): the share of Zoho's per-minute allowance used; it means something only where the
per-minute limit binds, i.e. at --time-scale 60, where a Zoho minute is a real minute).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledgersync.bootstrap import Container  # noqa: E402
from ledgersync.settings import Settings  # noqa: E402
from ledgersync.store.orm import Partner  # noqa: E402
from ledgersync.sync.pull.initial import run_initial_sync  # noqa: E402
from ledgersync.sync.pull.service import sync_connection  # noqa: E402
from tests.pull.harness import build_harness, connect_platform  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=3600.0)
    parser.add_argument("--plan", default="premium", choices=["free", "standard", "professional", "premium"])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    console = Console(stderr=True)

    harness = build_harness(customers=args.customers, invoices=args.invoices, seed=args.seed, years=args.years,
                            manual_clock=False, time_scale=args.time_scale, plan=args.plan)
    tmp = tempfile.mkdtemp(prefix="pull-bench-")
    settings = Settings(_env_file=None, env="test", scheduler="off",  # type: ignore[call-arg]
                        database_url=args.database_url or f"sqlite:///{tmp}/bench.db")
    container = Container(settings)
    with container.uow() as uow:
        partner = Partner(name="Bench MSP")
        uow.session.add(partner)
        uow.commit()
        partner_id = partner.id
    connection_id = connect_platform(container, partner_id, harness)

    org = harness.org
    live_invoices = len(org.invoices)
    customers = len([c for c in org.contacts.values() if c.contact_type == "customer"])
    needing_details = live_invoices
    lower_bound = math.ceil(customers / 200) + math.ceil(live_invoices / 200) + needing_details

    started = time.perf_counter()
    zoho_started = harness.now()
    waited_zoho_s = 0.0
    days = 0
    progress = run_initial_sync(container, connection_id)
    while progress["phase"] != "done":
        retry = progress.get("budget_exhausted_until")
        if retry is None:
            raise SystemExit(f"initial sync stopped without a budget reason: {progress}")
        from datetime import datetime

        wait = (datetime.fromisoformat(retry) - harness.now()).total_seconds() / args.time_scale
        console.log(f"budget used up at {progress['percent']}% — waiting {wait:.1f}s (a Zoho night)")
        before_wait = harness.now()
        time.sleep(max(0.0, wait) + 0.05)
        waited_zoho_s += (harness.now() - before_wait).total_seconds()
        days += 1
        progress = run_initial_sync(container, connection_id)
    initial_seconds = time.perf_counter() - started
    initial_calls = harness.calls()
    zoho_elapsed_s = (harness.now() - zoho_started).total_seconds()
    active_minutes = max((zoho_elapsed_s - waited_zoho_s) / 60.0, 1e-9)
    rate_share = initial_calls / (100 * active_minutes)

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
        "time_scale": args.time_scale, "plan": args.plan,
    }
    print(json.dumps(out), flush=True)
    harness.http.close()
    container.close()
    return out


if __name__ == "__main__":
    main()
