"""Hourly pull bench (issue 13): what a day of Zoho-side changes costs in calls, next to what a
peer that reads every changed invoice's details would spend, and how stale the platform gets.

    python bench/hourly_calls.py --invoices 10000 --hours 24 --changes-per-hour 100 --seed 1

An organisation is generated in the in-process sandbox (manual clock: waiting is free), the
platform runs its initial sync to the end, then for H Zoho hours a Zoho user makes C changes an
hour at random moments, drawn from MIX below through the sandbox's own Books handlers (they
cost the integration nothing), and the platform runs its hourly sync at the top of every hour;
the daily sweep runs when a day has passed since the first hourly run.

Calls are Zoho's own count (the sandbox's per-organisation counter), split by what the
platform was doing when they were made. Staleness and misses are measured INDEPENDENTLY of the
engine: after every sync the bench compares, for every change not yet seen, the sandbox's
current invoice with the platform's database (amounts, status, due date, line items, existence)
and notes the Zoho time when they first agree. A change counts as `missed` when it was not seen
within its bound (1 h; 24 h for a line-item edit that keeps every list-row field) or when, at
the end, an invoice the platform holds still differs from Zoho in its list-row fields.

Prints a table and, LAST, one JSON line: calls_per_hour, detail_calls, deletion_calls,
sweep_calls, tap_equivalent_calls (Σ over hours of ⌈changed/200⌉ + changed + 1: the peer's list
pages, one detail per changed invoice, and its one empty incremental page), ratio_vs_tap (our
hourly calls, the sweep excluded: it spends budget the day would otherwise leave unused),
ratio_vs_tap_with_sweep, stale_line_items_max_h (by kind), stale_max_h_list_fields, missed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.benchkit import bench_platform  # noqa: E402
from ledgersync.bootstrap import Container  # noqa: E402
from ledgersync.store.orm import ExternalRef, Invoice, InvoiceLineItem  # noqa: E402
from ledgersync.sync.pull.initial import run_initial_sync  # noqa: E402
from ledgersync.sync.pull.service import INCREMENTAL_STREAMS, sync_connection  # noqa: E402
from tests.pull import zoho_changes as zc  # noqa: E402
from tests.pull.harness import build_harness  # noqa: E402

#: the documented mix of Zoho-side changes (weights, per cent): what happens to sent invoices
#: most of the time (money and reminders), a few edits, new invoices, rare deletions
MIX: dict[str, int] = {
    "payment": 38, "credit": 5, "write_off": 2, "viewed": 15, "reminder": 15, "due_date": 10,
    "amount_edit": 3, "line_edit_same_total": 3, "new_invoice": 8, "deletion": 1,
}
#: changes whose line items move without any list-row field moving (seen by the sweep, ≤ 24 h)
SWEEP_KINDS = frozenset({"line_edit_same_total"})
LINE_KINDS = frozenset({"amount_edit", "line_edit_same_total", "new_invoice"})
SWEEP_STREAM = "invoice_details_sweep"
HOURLY_STREAMS = tuple(s for s in INCREMENTAL_STREAMS if s != SWEEP_STREAM)


@dataclass
class Change:
    kind: str
    invoice_id: str
    at: datetime
    seen_at: datetime | None = None

    def bound_h(self) -> float:
        return 24.0 if self.kind in SWEEP_KINDS else 1.0


def _pick(rng: random.Random, h: Any, kind: str) -> str | None:
    """Apply one change of `kind` to a suitable invoice; None when none fits."""
    org = h.org
    if kind == "new_invoice":
        customers = sorted(c.contact_id for c in org.contacts.values() if c.contact_type == "customer" and c.status == "active")
        return zc.new_invoice(h, rng.choice(customers), rate=Decimal(rng.randint(50, 900)))
    candidates = zc.open_invoices(h, untouched=kind == "deletion")
    if kind in ("amount_edit", "line_edit_same_total"):
        candidates = [i for i in candidates if i.line_items]
    if not candidates:
        return None
    inv = rng.choice(candidates)
    fn = {"payment": zc.payment, "credit": zc.credit, "write_off": zc.write_off, "viewed": zc.viewed,
          "reminder": zc.reminder, "due_date": zc.due_date, "amount_edit": zc.amount_edit,
          "line_edit_same_total": zc.line_edit_same_total, "deletion": zc.deletion}[kind]
    if kind == "payment":
        return zc.payment(h, inv.invoice_id, min(inv.balance, Decimal(rng.randint(1, 500))))
    return fn(h, inv.invoice_id)


def _platform_view(container: Container, connection_id: str, zoho_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The platform's database, read directly: one dict per Zoho invoice id."""
    out: dict[str, dict[str, Any]] = {}
    with container.uow() as uow:
        for start in range(0, len(zoho_ids), 500):
            rows = uow.session.execute(
                select(ExternalRef.zoho_id, Invoice).join(Invoice, Invoice.id == ExternalRef.local_id)
                .where(ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
                       ExternalRef.zoho_id.in_(zoho_ids[start:start + 500]))).all()
            local = {inv.id: zid for zid, inv in rows}
            lines: dict[str, list[tuple[str, Decimal]]] = {}
            for li in uow.session.execute(select(InvoiceLineItem).where(InvoiceLineItem.invoice_id.in_(list(local)))
                                          .order_by(InvoiceLineItem.position)).scalars():
                lines.setdefault(li.invoice_id, []).append((li.description, li.amount))
            for zid, inv in rows:
                out[zid] = {"archived": inv.archived, "outstanding": inv.outstanding, "total": inv.total,
                            "due_date": inv.due_date, "lines": lines.get(inv.id, [])}
    return out


def _zoho_view(h: Any, zoho_id: str) -> dict[str, Any] | None:
    inv = h.org.invoices.get(zoho_id)
    if inv is None:
        return None
    return {"archived": False, "outstanding": Decimal(0) if inv.base_status == "void" else inv.balance,
            "total": inv.total, "due_date": inv.due_date,
            "lines": [(li.description, li.item_total) for li in inv.line_items]}


def _agrees(zoho: dict[str, Any] | None, ours: dict[str, Any] | None, *, lines: bool) -> bool:
    if zoho is None:
        return ours is None or ours["archived"]
    if ours is None or ours["archived"]:
        return False
    keys = ("outstanding", "total", "due_date") + (("lines",) if lines else ())
    return all(zoho[k] == ours[k] for k in keys)


def _check(container: Container, connection_id: str, h: Any, pending: list[Change], now: datetime) -> list[Change]:
    """Mark the changes the platform now reflects (compared with Zoho's current state)."""
    ours = _platform_view(container, connection_id, sorted({c.invoice_id for c in pending}))
    still: list[Change] = []
    for change in pending:
        if _agrees(_zoho_view(h, change.invoice_id), ours.get(change.invoice_id), lines=change.kind in LINE_KINDS or
                   change.kind in SWEEP_KINDS):
            change.seen_at = now
        else:
            still.append(change)
    return still


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=None, help="default: invoices / 50")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--changes-per-hour", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--plan", default="premium", choices=["free", "standard", "professional", "premium"])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    started = time.perf_counter()

    customers = args.customers or max(10, args.invoices // 50)
    h = build_harness(customers=customers, invoices=args.invoices, seed=args.seed, years=args.years,
                      manual_clock=True, plan=args.plan)
    container, connection_id = bench_platform(h, database_url=args.database_url, prefix="hourly-bench-")
    try:
        return _measure(args, h, container, connection_id, console, started)
    finally:
        h.http.close()
        container.close()


def _measure(args: argparse.Namespace, h: Any, container: Container, connection_id: str, console: Console,
             started: float) -> dict[str, Any]:
    progress = run_initial_sync(container, connection_id)
    while progress["phase"] != "done":
        retry = progress.get("budget_exhausted_until")
        if retry is None:
            raise SystemExit(f"initial sync stopped without a budget reason: {progress}")
        h.advance(max(0.0, (datetime.fromisoformat(retry) - h.now()).total_seconds()) + 1)
        progress = run_initial_sync(container, connection_id)
    initial_calls = h.calls()
    console.log(f"initial sync: {initial_calls} calls; {len(h.org.invoices)} invoices")
    # start of the measured period: the first hourly run (it also starts the sweep's day)
    h.advance(3600 - (h.now().timestamp() % 3600))
    sync_connection(container, connection_id, streams=INCREMENTAL_STREAMS)

    rng = random.Random(args.seed)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    changes: list[Change] = []
    pending: list[Change] = []
    by_purpose: Counter[str] = Counter()
    tap = 0
    per_hour: list[dict[str, Any]] = []
    for hour in range(args.hours):
        hour_start = h.now()
        moments = sorted(rng.uniform(1, 3599) for _ in range(args.changes_per_hour))
        changed: set[str] = set()
        for offset in moments:
            h.advance(max(0.0, (hour_start + timedelta(seconds=offset) - h.now()).total_seconds()))
            kind = rng.choices(kinds, weights)[0]
            zoho_id = _pick(rng, h, kind)
            if zoho_id is None:
                continue
            change = Change(kind, zoho_id, h.now())
            changes.append(change)
            pending.append(change)
            if kind != "deletion":
                changed.add(zoho_id)
        tap += math.ceil(len(changed) / 200) + len(changed) + 1
        h.advance(max(0.0, (hour_start + timedelta(hours=1) - h.now()).total_seconds()))
        row: dict[str, Any] = {"hour": hour + 1, "changes": len(moments), "changed_invoices": len(changed)}
        # a change counts as seen at the start of the sync run that made the platform agree
        # with Zoho (the runs themselves take Zoho time: pacing, the sweep's hundreds of calls)
        for streams in (HOURLY_STREAMS, (SWEEP_STREAM,)):
            sync_started = h.now()
            for stream in streams:
                before = h.calls()
                sync_connection(container, connection_id, streams=[stream])
                spent = h.calls() - before
                purpose = {"invoice_details": "details", "invoice_deletions": "deletion checks",
                           "customer_deletions": "deletion checks", SWEEP_STREAM: "sweep"}.get(stream, "lists")
                by_purpose[purpose] += spent
                row[purpose] = row.get(purpose, 0) + spent
            pending = _check(container, connection_id, h, pending, sync_started)
        per_hour.append(row)

    end = h.now()
    # independent end check: every invoice Zoho has (and every one it deleted) against the platform
    zoho_ids = sorted(set(h.org.invoices) | {c.invoice_id for c in changes})
    ours = _platform_view(container, connection_id, zoho_ids)
    differing = [z for z in zoho_ids if not _agrees(_zoho_view(h, z), ours.get(z), lines=False)]
    late = [c for c in changes if c.seen_at is not None and (c.seen_at - c.at).total_seconds() / 3600 > c.bound_h()]
    unseen_overdue = [c for c in changes if c.seen_at is None and (end - c.at).total_seconds() / 3600 > c.bound_h()]
    missed = len(late) + len(unseen_overdue) + len(differing)
    if missed:
        console.print(f"missed: late {Counter(c.kind for c in late)}, unseen {Counter(c.kind for c in unseen_overdue)}, "
                      f"differing at the end {differing[:10]}")

    def stale_max(selected: list[Change]) -> float:
        ages = [((c.seen_at or end) - c.at).total_seconds() / 3600 for c in selected]
        return round(max(ages), 2) if ages else 0.0

    hourly_calls = sum(v for k, v in by_purpose.items() if k != "sweep")
    table = Table(title=f"hourly pull: {len(h.org.invoices)} invoices, {args.changes_per_hour} changes/h, "
                        f"{args.hours} h, plan {args.plan}")
    for col in ("hour", "changes", "changed_invoices", "lists", "details", "deletion checks", "sweep"):
        table.add_column(col, justify="right")
    for row in per_hour:
        table.add_row(*(str(row.get(c, 0)) for c in ("hour", "changes", "changed_invoices", "lists", "details",
                                                      "deletion checks", "sweep")))
    console.print(table)
    kinds_seen = Counter(c.kind for c in changes)
    console.print("mix applied: " + ", ".join(f"{k} {kinds_seen[k]}" for k in kinds))
    out = {
        "invoices": args.invoices, "hours": args.hours, "changes_per_hour": args.changes_per_hour, "seed": args.seed,
        "plan": args.plan, "changes": len(changes), "initial_calls": initial_calls,
        "calls_per_hour": round(hourly_calls / max(1, args.hours), 2),
        "detail_calls": by_purpose["details"], "list_calls": by_purpose["lists"],
        "deletion_calls": by_purpose["deletion checks"], "sweep_calls": by_purpose["sweep"],
        "tap_equivalent_calls": tap,
        "ratio_vs_tap": round(hourly_calls / max(1, tap), 4),
        "ratio_vs_tap_with_sweep": round((hourly_calls + by_purpose["sweep"]) / max(1, tap), 4),
        "stale_line_items_max_h": {
            "total_keeping_edits": stale_max([c for c in changes if c.kind in SWEEP_KINDS]),
            "other_line_item_changes": stale_max([c for c in changes if c.kind in LINE_KINDS - SWEEP_KINDS]),
        },
        "stale_max_h_list_fields": stale_max([c for c in changes if c.kind not in LINE_KINDS]),
        "missed": missed, "missed_by_kind": dict(Counter(c.kind for c in late + unseen_overdue)),
        "differing_at_end": len(differing), "http_429": h.http_429(), "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
