"""Bad-data bench: an organisation in which K invoices of every malformation kind were planted
still syncs to Connected, with every good invoice and every bad one quarantined.

    python bench/bad_data.py --invoices 2000 --poison 5 --seed 1 [--customers 100] [--time-scale 3600]

Generates an organisation in the in-process sandbox (Zoho's limits on, its clock scaled),
plants `--poison` invoices of each kind of `zohobooks_sandbox.poison.POISON_KINDS` in its
replies (seeded), runs the initial sync to completion, then one incremental sync (the
quarantined records are retried and stay quarantined). Prints a table and, LAST, one JSON line:
synced (invoices on the platform whole, line items included), quarantined (distinct Zoho ids with an open error),
expected_good (live invoices in the sandbox minus the planted ones: computed from what was
planted, not from what the engine wrote), stuck_runs (run rows left `running`), connected.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.benchkit import bench_platform  # noqa: E402
from ledgersync.bootstrap import Container  # noqa: E402
from ledgersync.store.orm import Connection, ExternalRef, Invoice, SyncError, SyncRun  # noqa: E402
from ledgersync.sync.pull.initial import run_initial_sync  # noqa: E402
from ledgersync.sync.pull.service import sync_connection  # noqa: E402
from tests.pull.harness import build_harness  # noqa: E402
from zohobooks_sandbox.poison import POISON_KINDS  # noqa: E402


def _measure(container: Container, connection_id: str) -> dict[str, object]:
    with container.uow() as uow:
        s = uow.session
        synced = s.execute(
            select(func.count()).select_from(ExternalRef).join(Invoice, Invoice.id == ExternalRef.local_id)
            .where(ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
                   Invoice.archived.is_(False), Invoice.line_items_synced.is_(True))
        ).scalar_one()
        quarantined = set(s.execute(
            select(SyncError.zoho_id).where(SyncError.connection_id == connection_id, SyncError.resolved_at.is_(None))
        ).scalars())
        stuck = s.execute(select(func.count()).select_from(SyncRun).where(SyncRun.status == "running")).scalar_one()
        status = s.get(Connection, connection_id).status  # type: ignore[union-attr]
    return {"synced": int(synced), "quarantined_ids": quarantined, "stuck_runs": int(stuck), "status": status}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--poison", type=int, default=5, help="invoices planted per malformation kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=0, help="default: invoices / 20, at least 5")
    parser.add_argument("--time-scale", type=float, default=3600.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    customers = args.customers or max(5, args.invoices // 20)

    harness = build_harness(customers=customers, invoices=args.invoices, seed=args.seed, years=3,
                            manual_clock=False, time_scale=args.time_scale)
    container, connection_id = bench_platform(harness, database_url=args.database_url, prefix="bad-data-bench-",
                                              partner_name="Bad data MSP")

    planted = harness.admin("PUT", f"/orgs/{harness.org_id}/faults/poison",
                            {"seed": args.seed, "per_kind": args.poison})["planted"]
    planted_ids = {i for ids in planted.values() for i in ids}
    live = set(harness.org.invoices)
    expected_good = len(live - planted_ids)

    started = time.perf_counter()
    progress = run_initial_sync(container, connection_id)
    days = 0
    while progress["phase"] != "done" and progress.get("budget_exhausted_until"):
        wait = (datetime.fromisoformat(progress["budget_exhausted_until"]) - harness.now()).total_seconds()
        time.sleep(max(0.0, wait / args.time_scale) + 0.05)
        days += 1
        progress = run_initial_sync(container, connection_id)
    initial_seconds = time.perf_counter() - started
    sync_connection(container, connection_id)  # quarantined records are retried (still bad)
    measured = _measure(container, connection_id)
    quarantined_ids = measured["quarantined_ids"]
    assert isinstance(quarantined_ids, set)

    table = Table(title=f"bad-data bench: {len(live)} invoices, {args.poison} planted per kind, seed {args.seed}")
    table.add_column("kind")
    table.add_column("planted", justify="right")
    table.add_column("quarantined", justify="right")
    for kind in POISON_KINDS:
        ids = set(planted.get(kind, []))
        table.add_row(kind, str(len(ids)), str(len(ids & quarantined_ids)))
    table.add_row("(not planted)", "0", str(len(quarantined_ids - planted_ids)))
    table.add_row("good invoices synced", str(expected_good), str(measured["synced"]))
    table.add_row("initial sync seconds", "", f"{initial_seconds:.1f}")
    console.print(table)
    out = {
        "invoices": len(live), "kinds": len(POISON_KINDS), "poison": args.poison, "seed": args.seed,
        "synced": measured["synced"], "quarantined": len(quarantined_ids), "expected_good": expected_good,
        "quarantined_as_planted": quarantined_ids == planted_ids, "stuck_runs": measured["stuck_runs"],
        "connected": measured["status"] == "connected", "zoho_days": days + 1,
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(out), flush=True)
    harness.http.close()
    container.close()
    return out


if __name__ == "__main__":
    main()
