"""Benchmark: how fast the sandbox generator builds a large organisation.

    .venv/bin/python bench/sandbox_generate.py [--invoices 100000] [--customers 2000] [--years 3]

Prints a table (records and seconds per size) and, last, one JSON line for machines:
``{"bench": "sandbox_generate", "invoices": 100000, "seconds": 6.1, ...}``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from zohobooks_sandbox.clock import Clock
from zohobooks_sandbox.config import SandboxConfig
from zohobooks_sandbox.generator import generate
from zohobooks_sandbox.state import Sandbox


def run(invoices: int, customers: int, years: int, seed: int) -> dict:
    sandbox = Sandbox(SandboxConfig(manual_clock=True, demo=False, seed=seed))
    sandbox.clock = Clock(manual=True, start=datetime(2026, 6, 1, tzinfo=timezone.utc))
    started, cpu_started = time.perf_counter(), time.process_time()
    result = generate(sandbox, "700000100", customers=customers, invoices=invoices, years=years, seed=seed)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started  # what the generator costs, whatever else runs on the box
    org = sandbox.orgs["700000100"]
    return {"bench": "sandbox_generate", "invoices": result.invoices, "customers": result.customers,
            "deleted_invoices": result.deleted_invoices, "payments": len(org.payments),
            "creditnotes": len(org.creditnotes), "line_items": sum(len(i.line_items) for i in org.invoices.values()),
            "years": years, "seed": seed, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
            "invoices_per_second": round(result.invoices / wall) if wall else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--invoices", type=int, default=100_000)
    p.add_argument("--customers", type=int, default=2_000)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    sizes = sorted({max(1, args.invoices // 10), args.invoices})
    rows = [run(n, max(1, args.customers * n // args.invoices), args.years, args.seed) for n in sizes]
    header = (f"{'invoices':>9} {'customers':>9} {'payments':>9} {'credits':>8} {'lines':>8} {'seconds':>8} "
              f"{'cpu s':>8} {'inv/s':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['invoices']:>9} {r['customers']:>9} {r['payments']:>9} {r['creditnotes']:>8} "
              f"{r['line_items']:>8} {r['seconds']:>8.2f} {r['cpu_seconds']:>8.2f} {r['invoices_per_second']:>8}")
    print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()
