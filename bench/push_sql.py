"""Statements and commits per push intent, counted on the real push path.

`python bench/push_sql.py [--payments N] [--database-url URL] [--sql]`

A partner connected by real OAuth to the in-process sandbox (`tests/push/world.py`); N payments
on N Zoho invoices are settled, then ONE `drain_outbox` pushes them all (the product's default
path: `books_for` → httpx → the sandbox). Every statement and commit on the engine during the
drain is counted (`tests/push/sqlcount.py`: SQLAlchemy's `before_cursor_execute` and `commit`
events) and attributed to the engine step that issued it. A second case drains ONE payment
alone (the latency path: a settle wakes a drain for its own intent).

Prints the breakdown by step and, LAST, one JSON line: `per_intent_statements`,
`per_intent_commits` (the N-payment drain divided by N), `single_statements`, `single_commits`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402

from ledgersync.bootstrap import Container  # noqa: E402
from ledgersync.services import payments as pay_svc  # noqa: E402
from ledgersync.settings import Settings  # noqa: E402
from ledgersync.sync.push import PushConfig, drain_outbox  # noqa: E402
from tests.plugins.zoho_fixtures import bind_container_to_sandbox  # noqa: E402
from tests.push.sqlcount import SqlCounter  # noqa: E402
from tests.push.world import World, build_world  # noqa: E402
from zohobooks_sandbox import SandboxConfig, create_app  # noqa: E402


def settle_payments(w: World, n: int) -> list[str]:
    ids = []
    for i in range(n):
        inv = w.zoho_invoice(f"{100 + i}.00")
        p = pay_svc.pay_invoices(w.container, w.partner_id, method="card",
                                 allocations=[pay_svc.AllocationInput(inv, Decimal(f"{100 + i}.00"))])
        pay_svc.settle(w.container, w.partner_id, p.id, "succeeded")
        ids.append(p.id)
    return ids


def measure(w: World, n: int) -> SqlCounter:
    settle_payments(w, n)
    with SqlCounter(w.container.engine) as counter:
        result = drain_outbox(w.container, w.connection_id, cfg=PushConfig(heartbeat_s=0))
    if result.done != n:
        sys.exit(f"expected {n} intents done, got {result}")
    return counter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payments", type=int, default=10)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--sql", action="store_true", help="also print every statement of the single-payment drain")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="push-sql-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    settings = Settings(_env_file=None, env="test", database_url=url,  # type: ignore[call-arg]
                        token_encryption_key=Fernet.generate_key().decode(), scheduler="off")
    container = Container(settings)
    app = create_app(SandboxConfig(demo=True, manual_clock=True, time_scale=1.0))
    bind_container_to_sandbox(container, app)
    w = build_world(container, app)

    single = measure(w, 1)
    print("one payment, one drain:")
    print(single.report())
    if args.sql:
        for site, sql in single.sql:
            print(f"  {site}: {sql}")
    many = measure(w, args.payments)
    print(f"\n{args.payments} payments, one drain:")
    print(many.report())
    print(json.dumps({
        "payments": args.payments, "database": url.split(":", 1)[0],
        "per_intent_statements": round(many.statements / args.payments, 1),
        "per_intent_commits": round(many.commits / args.payments, 1),
        "single_statements": single.statements, "single_commits": single.commits,
    }))
    container.close()


if __name__ == "__main__":
    main()
