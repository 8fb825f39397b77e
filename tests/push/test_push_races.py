"""Interleavings of two workers on one intent, injected deterministically with the engine's hooks
(no sleeps): a second drain runs INSIDE the first worker's hook at the exact point under test,
on an engine clock the test moves by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

from sqlalchemy import select

from ledgersync.services import payments as pay_svc
from ledgersync.store import orm
from ledgersync.sync.push import Hooks, PushConfig, SimulatedCrash, drain_outbox
from tests.push.world import World, build_world


class ManualClock:
    def __init__(self) -> None:
        self.t = datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)

    def catch_up(self) -> None:
        """Intents enqueued since the clock was made are due (they are stamped with real time)."""
        self.t = max(self.t, datetime.now(timezone.utc))


def _cfg(clock: ManualClock) -> PushConfig:
    return PushConfig(lease_seconds=120, backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0, now=clock.now)


def _pay(w: World, amount: str) -> str:
    inv = w.zoho_invoice(amount)
    p = pay_svc.pay_invoices(w.container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D(amount))])
    pay_svc.settle(w.container, w.partner_id, p.id, "succeeded")
    return p.id


def _zoho_payments(w: World, pid: str) -> list[Any]:
    return [p for p in w.org.payments.values() if p.reference_number == f"ls:pay:{pid}"]


def _intent(w: World, pid: str) -> orm.PushIntent:
    with w.container.uow() as uow:
        row = uow.session.scalars(select(orm.PushIntent).where(orm.PushIntent.key == f"ls:pay:{pid}")).one()
        uow.session.expunge(row)
        return row


def test_write_slower_than_the_lease_is_not_sent_twice_by_a_second_worker(container, sandbox_app) -> None:
    """Regression: worker A marked the step uncertain and its POST is still in flight (a 429 storm,
    a slow Zoho) when a lease of `lease_seconds` would have expired. Worker B must not take the
    intent over, look Zoho up (nothing there yet) and post again: the write's lease covers the
    longest a write can be in flight (`PushConfig.write_timeout_s`), not just `lease_seconds`."""
    w = build_world(container, sandbox_app)
    pid = _pay(w, "42.00")
    clock = ManualClock()
    cfg = _cfg(clock)
    seen: dict[str, Any] = {}

    class SlowWrite(Hooks):
        def at(self, point: str, intent_key: str) -> None:
            if point == "before_write" and "b" not in seen:
                clock.advance(cfg.lease_seconds + 1)  # A's request is still on its way to Zoho
                seen["b"] = drain_outbox(container, w.connection_id, cfg=cfg, worker_id="worker-b")

    a = drain_outbox(container, w.connection_id, cfg=cfg, hooks=SlowWrite(), worker_id="worker-a")
    assert seen["b"].done == 0  # B left the intent to A
    assert a.done == 1
    assert len(_zoho_payments(w, pid)) == 1
    assert _intent(w, pid).state == "done"


def test_crash_during_a_write_is_recovered_once_the_write_can_no_longer_land(container, sandbox_app) -> None:
    """The other side of the same rule: a worker that died with its write in flight holds the
    intent until `write_timeout_s` has passed; then the next drain looks Zoho up and adopts."""
    w = build_world(container, sandbox_app)
    pid = _pay(w, "17.50")
    clock = ManualClock()
    cfg = _cfg(clock)

    class CrashAfterWrite(Hooks):
        def at(self, point: str, intent_key: str) -> None:
            if point == "after_write":
                raise SimulatedCrash(point)

    try:
        drain_outbox(container, w.connection_id, cfg=cfg, hooks=CrashAfterWrite())
    except SimulatedCrash:
        pass
    assert len(_zoho_payments(w, pid)) == 1 and _intent(w, pid).state == "uncertain"
    clock.advance(cfg.lease_seconds + 1)
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 0  # the write may still land
    clock.advance(cfg.write_timeout_s)
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 1
    it = _intent(w, pid)
    assert it.state == "done" and it.detail["steps"]["payment"]["adopted"] is True
    assert len(_zoho_payments(w, pid)) == 1


class _FailingRefresh:
    """The product's client, except that the Nth read of an invoice answers 500 (after retries)."""

    def __init__(self, books: Any, fail_on: int) -> None:
        self.books, self.fail_on, self.invoice_reads = books, fail_on, 0
        self.calls_made = 0

    def get(self, path: str, params: Any = None, *, priority: str = "pull") -> dict:
        from ledgersync.zoho.errors import ZohoServerError

        if path.startswith("/invoices/"):
            self.invoice_reads += 1
            if self.invoice_reads == self.fail_on:
                raise ZohoServerError(500, None, "injected: refresh read failed")
        return self.books.get(path, params, priority=priority)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.books, name)


def test_a_failed_invoice_refresh_keeps_the_push_open_until_the_platform_shows_zoho(container, sandbox_app) -> None:
    """Regression (PostgreSQL campaign, seed 103: platform 6.06 vs Zoho 40.37): the refresh used to
    run after `done`, best effort. A reversal could then write to the invoice while that refresh
    held an older read, and if the reversal's own refresh failed the older read stayed. Now the
    refresh belongs to the push: a failed read retries the intent and nothing depending on it
    (the reversal) starts before the platform shows Zoho's result."""
    from ledgersync.sync.books_factory import books_for
    from zohobooks_sandbox.faults import FaultKind, FaultRule

    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("40.37")
    p = pay_svc.pay_invoices(container, w.partner_id, method="ach",
                             allocations=[pay_svc.AllocationInput(inv, D("34.31"))])
    pay_svc.settle(container, w.partner_id, p.id, "succeeded")
    clock = ManualClock()
    cfg = _cfg(clock)
    w.guard.faults.add_script(w.org.organization_id, [
        FaultRule(kind=FaultKind.DROP_AFTER_WRITE, ops=["customerpayments.create"])])
    drain_outbox(container, w.connection_id, cfg=cfg)  # applied in Zoho, answer lost: uncertain
    books = _FailingRefresh(books_for(container, w.connection_id), fail_on=2)  # 1 = plan, 2 = refresh
    r = drain_outbox(container, w.connection_id, cfg=cfg, books=books)
    assert r.done == 0 and r.retried == 1
    assert _intent(w, p.id).state == "pending" and len(_zoho_payments(w, p.id)) == 1
    pay_svc.settle(container, w.partner_id, p.id, "failed", reason="R01")  # ACH return
    clock.advance(cfg.lease_seconds + 1)
    drain_outbox(container, w.connection_id, cfg=cfg)
    assert _intent(w, p.id).state == "done"
    assert not _zoho_payments(w, p.id) and w.zinv(inv)["balance"] == D("40.37")
    with container.uow() as uow:
        assert uow.session.get(orm.Invoice, inv).outstanding == D("40.37")


# --------------------------------------------------------------------------- no lock across Zoho


def assert_no_write_lock_or_open_transaction(engine: Any) -> None:
    """Nothing of ours holds the database while Zoho is called.

    SQLite: another connection can take the write lock at once (`BEGIN IMMEDIATE`, no waiting).
    PostgreSQL: no other session of this database is `idle in transaction`.
    """
    if engine.dialect.name == "sqlite":
        import sqlite3

        raw = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
        finally:
            raw.close()
        return
    from sqlalchemy import text

    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).scalar_one()
    assert n == 0, f"{n} transaction(s) left open during a Zoho call"


class LockProbe:
    """The product's client; before every Zoho call it checks that no transaction is held."""

    def __init__(self, books: Any, engine: Any) -> None:
        self.books, self.engine, self.checked = books, engine, 0

    def _probe(self) -> None:
        assert_no_write_lock_or_open_transaction(self.engine)
        self.checked += 1

    def get(self, *a: Any, **k: Any) -> dict:
        self._probe()
        return self.books.get(*a, **k)

    def post(self, *a: Any, **k: Any) -> dict:
        self._probe()
        return self.books.post(*a, **k)

    def put(self, *a: Any, **k: Any) -> dict:
        self._probe()
        return self.books.put(*a, **k)

    def delete(self, *a: Any, **k: Any) -> dict:
        self._probe()
        return self.books.delete(*a, **k)

    @property
    def calls_made(self) -> int:
        return int(self.books.calls_made)


def _probe_books(w: World) -> LockProbe:
    from ledgersync.sync.books_factory import books_for

    return LockProbe(books_for(w.container, w.connection_id), w.container.engine)


def _reversal(w: World, pid: str) -> orm.PushIntent:
    with w.container.uow() as uow:
        row = uow.session.scalars(select(orm.PushIntent).where(orm.PushIntent.key == f"ls:rev:{pid}")).one()
        uow.session.expunge(row)
        return row


def _outstanding(w: World, inv: str) -> D:
    with w.container.uow() as uow:
        return uow.session.get(orm.Invoice, inv).outstanding


def test_a_payment_after_an_ach_return_waits_for_the_reversal_and_leaves_no_unused_credit(
        container, sandbox_app) -> None:
    """Regression (issue 9, multi-process run): the return restores the invoice on the platform,
    the customer pays it again, and both pushes are due at once. Payments used to drain before
    reversals, so the new payment met Zoho's stale balance of 0 and stayed as unused credit —
    then the reversal reopened the invoice in Zoho and on the platform (charged twice). Now the
    later payment waits its turn on the invoice behind the earlier reversal."""
    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("100.00")
    clock = ManualClock()
    cfg = _cfg(clock)
    p1 = pay_svc.pay_invoices(container, w.partner_id, method="ach", allocations=[pay_svc.AllocationInput(inv, D("100.00"))])
    pay_svc.settle(container, w.partner_id, p1.id, "succeeded")
    clock.catch_up()
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 1
    assert w.zinv(inv)["balance"] == D("0.00")
    pay_svc.settle(container, w.partner_id, p1.id, "failed", reason="R01")  # ACH return: invoice open again
    clock.advance(1)
    p2 = pay_svc.pay_invoices(container, w.partner_id, method="card", allocations=[pay_svc.AllocationInput(inv, D("100.00"))])
    pay_svc.settle(container, w.partner_id, p2.id, "succeeded")
    clock.catch_up()
    books = _probe_books(w)
    drain_outbox(container, w.connection_id, cfg=cfg, books=books)
    assert _reversal(w, p1.id).state == "done" and _intent(w, p2.id).state == "done"
    assert _intent(w, p2.id).detail.get("unused_credit") in ("0", "0.00")
    (zp2,) = _zoho_payments(w, p2.id)
    assert [(i.invoice_id, i.amount_applied) for i in zp2.invoices] == [(w.zoho_id("invoice", inv), D("100.00"))]
    assert w.zinv(inv)["balance"] == D("0.00") and _outstanding(w, inv) == D("0.00")
    assert books.checked >= 4  # plan reads, writes and refreshes all went through the probe


def test_two_payments_on_one_invoice_pushed_concurrently_leave_both_sides_exact(container, sandbox_app) -> None:
    """Worker B drains while worker A is between its write and its refresh (the window in which
    B's plan would read a balance A is about to change and the two refreshes could commit out
    of order). B must leave the second payment for later; then both sides are exact."""
    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("90.00")
    clock = ManualClock()
    cfg = _cfg(clock)
    ids = []
    for amount in ("30.00", "45.00"):
        p = pay_svc.pay_invoices(container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D(amount))])
        pay_svc.settle(container, w.partner_id, p.id, "succeeded")
        ids.append(p.id)
    clock.catch_up()
    seen: dict[str, Any] = {}

    class SecondWorkerInTheWindow(Hooks):
        def at(self, point: str, intent_key: str) -> None:
            if point in ("after_write", "before_done") and point not in seen:
                seen[point] = drain_outbox(container, w.connection_id, cfg=cfg, worker_id=f"worker-b-{point}",
                                           books=_probe_books(w))

    a = drain_outbox(container, w.connection_id, cfg=cfg, hooks=SecondWorkerInTheWindow(), worker_id="worker-a",
                     max_intents=1, books=_probe_books(w))
    assert a.done == 1
    assert all(r.done == 0 and r.deferred == 1 for r in seen.values()), seen
    assert drain_outbox(container, w.connection_id, cfg=cfg, books=_probe_books(w)).done == 1
    assert [_intent(w, pid).state for pid in ids] == ["done", "done"]
    assert w.zinv(inv)["balance"] == D("15.00") and _outstanding(w, inv) == D("15.00")
    assert all(_intent(w, pid).detail.get("unused_credit") in ("0", "0.00") for pid in ids)
