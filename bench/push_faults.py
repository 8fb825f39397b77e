"""Exactly-once fault campaign at any size: `python bench/push_faults.py --faults N --seed S`.

Runs `tests/push/campaign.py` on a scratch SQLite database (or `--database-url`) over the
product's real wire: `books_for` → `ZohoBooks` (real limiter, 100/min) →
`httpx.Client(transport=SandboxTransport(app))` → the sandbox app (limits on), whose guard
injects seeded faults (drops after and before a write, latency and timeouts, malformed, 500/503,
429 bursts and storms, grant revoked) on top of token expiry, engine crashes at every step and
concurrent drains; faults are counted when they fire. Zoho's end state is judged by the
independent oracle (`tests/push/oracle.py`: the platform's ledger + Zoho before the workload).

`--processes N`: the process mode (`tests/push/process_campaign.py`): the sandbox served over a
real socket, N push workers as separate processes on the same database (`--database-url
postgresql://…` for PostgreSQL), one SIGKILLed at random moments while the others drain.

Prints a table, and LAST one JSON line: `faults_fired`, `faults_by_kind`, `kills`, `payments`,
`payouts`, `returns`, `duplicates`, `lost`, `wrong_amount`, `not_reversed`,
`balance_mismatches`, `undeposited_mismatch` (cents), … Exit status 1 when the oracle found
anything.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledgersync.bootstrap import Container  # noqa: E402
from ledgersync.settings import Settings  # noqa: E402
from tests.plugins.zoho_fixtures import bind_container_to_sandbox  # noqa: E402
from tests.push.campaign import run_campaign  # noqa: E402
from zohobooks_sandbox import SandboxConfig, create_app  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--faults", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--processes", type=int, default=0,
                    help="instead: N worker PROCESSES over a real socket, SIGKILLed at random (process mode)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="push-faults-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    settings = Settings(_env_file=None, env="test", database_url=url,  # type: ignore[call-arg]
                        token_encryption_key=Fernet.generate_key().decode(), scheduler="off")
    container = Container(settings)
    app = create_app(SandboxConfig(demo=True, manual_clock=True, time_scale=1.0, seed=args.seed))
    started = time.monotonic()
    if args.processes:
        from tests.push.process_campaign import run_process_campaign

        r = run_process_campaign(container, faults=args.faults, seed=args.seed, workers=args.processes)
    else:
        bind_container_to_sandbox(container, app)
        r = run_campaign(container, app, faults=args.faults, seed=args.seed)
    elapsed = time.monotonic() - started
    out = r.as_dict()
    table = Table(title=f"push fault campaign (seed {args.seed}, {elapsed:.1f} s)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in out.items():
        if k != "faults_by_kind":
            table.add_row(k, str(v))
    for k, v in sorted(r.faults_by_kind.items()):
        table.add_row(f"  fired: {k}", str(v))
    Console(stderr=False).print(table)
    for p in r.problems[:20]:
        print("PROBLEM", p)
    mode = f"{args.processes} worker processes, SIGKILL" if args.processes else "in-process"
    print(json.dumps(out | {"mode": mode, "seed": args.seed, "seconds": round(elapsed, 1)}))
    container.close()
    if not r.clean:
        sys.exit(1)


if __name__ == "__main__":
    main()
