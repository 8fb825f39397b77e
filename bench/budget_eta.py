"""How right the budget panel's history ETA is (issue 14: within 20 % on the demo).

    python bench/budget_eta.py [--customers 25 --invoices 204 --years 3 --time-scale 1 --seed 1]

The demo's organisation (204 invoices) in the in-process sandbox; `--time-scale 1` is the demo
itself (Zoho's 100 calls a minute in real minutes), `--time-scale 2` runs it twice as fast. The
initial sync runs in a thread as the scheduler would run it; every half second (of demo time)
the bench asks the budget panel's service (`services.budget.budget_report`, what the page
shows) for the history ETA — from the first moment the panel shows one, in the recent phase
too — and, when the sync is done, compares each estimate with the time that was really left.

Accuracy, defined so that the end of the sync neither hides nor inflates errors (times in demo
seconds: real seconds x time scale):
- `max_error`, `median_error`: |ETA - actual| / actual over every sample taken while at least
  60 s were really left (a relative error of a few seconds means nothing at the very end);
- `max_abs_error_last_60s`: the largest |ETA - actual| in seconds in the last 60 s;
- `max_error_floor60`: |ETA - actual| / max(actual, 60 s) over EVERY sample: one figure for
  the whole run (the issue's "within 20 %" holds when it is <= 0.2).
Prints a table and, LAST, one JSON line.
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

#: below this many seconds left, errors are judged in seconds (see the module doc)
FLOOR_S = 60.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=25)
    parser.add_argument("--invoices", type=int, default=204)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--time-scale", type=float, default=1.0)
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
        samples: list[tuple[float, float, str]] = []  # (moment, eta seconds, phase) while an ETA shows
        scale = args.time_scale
        while worker.is_alive():
            report = budget_report(container, connection_id)
            if report is not None and report.history_eta_seconds is not None and report.phase not in (None, "done"):
                samples.append((time.monotonic(), report.history_eta_seconds, report.phase))
            time.sleep(0.5 / scale)
        done = time.monotonic()
        # demo seconds: the sandbox's clock runs `scale` times faster than the wall clock
        rows = [((at - started) * scale, eta * scale, (done - at) * scale, phase) for at, eta, phase in samples]
        relative = [abs(eta - actual) / actual for _, eta, actual, _ in rows if actual >= FLOOR_S]
        near_end = [abs(eta - actual) for _, eta, actual, _ in rows if actual < FLOOR_S]
        floored = [abs(eta - actual) / max(actual, FLOOR_S) for _, eta, actual, _ in rows]
        table = Table(title=f"history ETA vs actual: {args.invoices} invoices, x{scale:g} (demo seconds)")
        for col in ("after s", "phase", "ETA s", "actual s", "error"):
            table.add_column(col, justify="right")
        for after, eta, actual, phase in rows[:: max(1, len(rows) // 16)]:
            table.add_row(f"{after:.1f}", phase, f"{eta:.1f}", f"{actual:.1f}",
                          f"{abs(eta - actual) / max(actual, FLOOR_S):.0%}" if actual < FLOOR_S
                          else f"{abs(eta - actual) / actual:.0%}")
        console.print(table)
        out = {"invoices": args.invoices, "time_scale": scale, "samples": len(rows),
               "first_eta_after_s": round(rows[0][0], 1) if rows else None,
               "max_error": round(max(relative), 3) if relative else None,
               "median_error": round(statistics.median(relative), 3) if relative else None,
               "max_abs_error_last_60s": round(max(near_end), 1) if near_end else None,
               "max_error_floor60": round(max(floored), 3) if floored else None,
               "seconds": round((done - started) * scale, 1)}
        print(json.dumps(out), flush=True)
        return out
    finally:
        h.http.close()
        container.close()


if __name__ == "__main__":
    main()
