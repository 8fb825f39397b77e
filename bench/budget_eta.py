"""How right the budget panel's history ETA is (issue 14: within 20 % on the demo).

    python bench/budget_eta.py [--customers 25 --invoices 204 --years 3 --time-scale 60 --seed 1]

The demo's size by default: an organisation of 204 invoices in the in-process sandbox, its
clock scaled (×2 by default: Zoho's 100 calls a minute bind at 100 per 30 real seconds;
at ×60 the whole sync lasts seconds, too short to sample). The initial sync runs
in a thread as the scheduler would run it; every half second the bench asks the budget panel's
service (`services.budget.budget_report`, what the page shows) for the history ETA, and when the
sync is done compares each estimate made in the history phase with the time that was really
left. Prints a table and, LAST, one JSON line: samples, max_error, median_error (|ETA − actual| ÷
actual), max_error_first_80pct (estimates made in the first 80 % of the history phase), seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledgersync.bootstrap import Container  # noqa: E402
from ledgersync.services.budget import budget_report  # noqa: E402
from ledgersync.settings import Settings  # noqa: E402
from ledgersync.store.orm import Partner  # noqa: E402
from ledgersync.sync.pull.initial import run_initial_sync  # noqa: E402
from tests.pull.harness import build_harness, connect_platform  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=25)
    parser.add_argument("--invoices", type=int, default=204)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--time-scale", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    h = build_harness(customers=args.customers, invoices=args.invoices, seed=args.seed, years=args.years,
                      manual_clock=False, time_scale=args.time_scale)
    tmp = tempfile.mkdtemp(prefix="eta-bench-")
    container = Container(Settings(_env_file=None, env="test", scheduler="off",  # type: ignore[call-arg]
                                   database_url=f"sqlite:///{tmp}/eta.db"))
    try:
        with container.uow() as uow:
            partner = Partner(name="Bench MSP")
            uow.session.add(partner)
            uow.commit()
            partner_id = partner.id
        connection_id = connect_platform(container, partner_id, h)
        started = time.monotonic()
        worker = threading.Thread(target=run_initial_sync, args=(container, connection_id), daemon=True)
        worker.start()
        samples: list[tuple[float, float]] = []  # (moment, eta seconds) in the history phase
        while worker.is_alive():
            report = budget_report(container, connection_id)
            if report is not None and report.phase == "history" and report.history_eta_seconds is not None:
                samples.append((time.monotonic(), report.history_eta_seconds))
            time.sleep(0.5)
        done = time.monotonic()
        errors = [abs(eta - (done - at)) / max(done - at, 1e-9) for at, eta in samples if done - at > 2.0]
        # the last seconds of the history (deletion checks, a final page) make any relative error
        # huge: also report the estimates made in the first 80 % of the history phase
        first = samples[0][0] if samples else done
        early = [abs(eta - (done - at)) / (done - at) for at, eta in samples if at - first <= 0.8 * (done - first)]
        table = Table(title=f"history ETA vs actual: {args.invoices} invoices, x{args.time_scale:g}")
        for col in ("after s", "ETA s", "actual s", "error"):
            table.add_column(col, justify="right")
        for at, eta in samples[:: max(1, len(samples) // 12)]:
            actual = done - at
            table.add_row(f"{at - started:.1f}", f"{eta:.1f}", f"{actual:.1f}", f"{abs(eta - actual) / actual:.0%}")
        console.print(table)
        out = {"invoices": args.invoices, "time_scale": args.time_scale, "samples": len(errors),
               "max_error": round(max(errors), 3) if errors else None,
               "median_error": round(statistics.median(errors), 3) if errors else None,
               "max_error_first_80pct": round(max(early), 3) if early else None,
               "seconds": round(done - started, 1)}
        print(json.dumps(out), flush=True)
        return out
    finally:
        h.http.close()
        container.close()


if __name__ == "__main__":
    main()
