"""What one push costs the database: statements and commits per intent, counted, with a margin.

The counts come from the real path (`drain_outbox` → `books_for` → the in-process sandbox) and
SQLAlchemy's own events (`tests/push/sqlcount.py`), on SQLite or PostgreSQL alike. Measured
when these limits were set (both databases): a drain of one payment 31 statements / 9 commits
(it was 40 / 12), 24.7 / 6.3 per intent in a drain of ten (it was 31.9 / 8.4). The limits leave
about a quarter of headroom, so a change that brings back a redundant transaction per intent,
or doubles the reads, fails here; `bench/push_sql.py` prints where the statements go.

The commits that make a crash safe are pinned exactly, one per write: the step committed
`uncertain` before the request leaves, the fence check right before it is sent, the answer
recorded after it (docs/push.md, "Exactly once").
"""

from __future__ import annotations

from decimal import Decimal as D

from ledgersync.services import payments as pay_svc
from ledgersync.sync.push import PushConfig, drain_outbox
from tests.push.sqlcount import SqlCounter
from tests.push.world import World, build_world

CFG = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0, heartbeat_s=None)

SINGLE_MAX_STATEMENTS, SINGLE_MAX_COMMITS = 38, 10
PER_INTENT_MAX_STATEMENTS, PER_INTENT_MAX_COMMITS = 30.0, 7.0


def _settle(w: World, n: int) -> None:
    for i in range(n):
        inv = w.zoho_invoice(f"{50 + i}.00")
        p = pay_svc.pay_invoices(w.container, w.partner_id,
                                 allocations=[pay_svc.AllocationInput(inv, D(f"{50 + i}.00"))])
        pay_svc.settle(w.container, w.partner_id, p.id, "succeeded")


def _drain_counted(w: World, n: int) -> SqlCounter:
    _settle(w, n)
    with SqlCounter(w.container.engine) as counted:
        result = drain_outbox(w.container, w.connection_id, cfg=CFG)
    assert result.done == n and not (result.failed or result.retried or result.deferred), result
    assert len(w.org.payments) >= n
    return counted


def test_one_payment_drain_stays_within_its_statement_and_commit_budget(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    counted = _drain_counted(w, 1)
    assert counted.statements <= SINGLE_MAX_STATEMENTS, counted.report()
    assert counted.commits <= SINGLE_MAX_COMMITS, counted.report()
    # the crash guards are still there, one each for the payment's one write
    assert counted.commits_by_site["push.engine._run_step"] == 1, counted.report()  # `uncertain` first
    assert counted.commits_by_site["push.leases.fence_write"] == 1, counted.report()  # token + deadline
    assert counted.commits_by_site["push.engine._record_step"] == 1, counted.report()  # Zoho's id
    assert counted.commits_by_site["push.engine._finish"] == 1, counted.report()  # mapping + done


def test_per_intent_cost_in_a_drain_of_many_payments(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    n = 6
    counted = _drain_counted(w, n)
    assert counted.statements / n <= PER_INTENT_MAX_STATEMENTS, counted.report()
    assert counted.commits / n <= PER_INTENT_MAX_COMMITS, counted.report()
    assert counted.commits_by_site["push.engine._run_step"] == n, counted.report()
    assert counted.commits_by_site["push.leases.fence_write"] == n, counted.report()
    # the drain's own bookkeeping is per drain, not per intent: one run-log row, one adoption
    assert counted.commits_by_site["push.__init__._log_run"] == 1, counted.report()
    assert counted.commits_by_site["push.__init__.due_intents"] == 1, counted.report()
