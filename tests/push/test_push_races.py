"""Interleavings of two workers on one intent, injected deterministically with the engine's hooks
(no sleeps): a second drain runs INSIDE the first worker's hook at the exact point under test,
on an engine clock the test moves by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

from sqlalchemy import select, update

from ledgersync.services import payments as pay_svc
from ledgersync.store import orm
from ledgersync.sync.ports import NullDispatcher
from ledgersync.sync.push import Hooks, PushConfig, SimulatedCrash, drain_outbox
from ledgersync.sync.push.engine import Heartbeat, Lease, claim, renew_lease
from tests.plugins.db_probe import assert_no_write_lock_or_open_transaction
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
    # heartbeat_s=None: no heartbeat thread; a test renews a live worker's lease by hand
    return PushConfig(lease_seconds=15, write_timeout_s=60, heartbeat_s=None, backoff_base_s=0.0, defer_s=0.0,
                      waiting_recheck_s=0.0, now=clock.now)


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


def _lease_of(w: World, pid: str) -> Lease:
    it = _intent(w, pid)
    assert it.lease_owner is not None
    return Lease(it.id, it.lease_owner, it.fence)


class _SlowPost:
    """The product's client whose POST runs `meanwhile()` after the fence check and before the
    request leaves: the window in which the write is on its way to Zoho."""

    def __init__(self, books: Any, meanwhile: Any) -> None:
        self.books, self.meanwhile, self.calls_made = books, meanwhile, 0

    def post(self, *a: Any, **k: Any) -> dict:
        self.meanwhile()
        return self.books.post(*a, **k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.books, name)


def test_a_live_worker_keeps_its_write_while_it_is_on_its_way(container, sandbox_app) -> None:
    """Worker A's POST is slow (a 429 storm, a slow Zoho). While A lives its heartbeat renews
    the lease, and while its attempt can still land the write deadline holds: B leaves the
    intent either way (B posting after a look-up that found nothing yet would be a duplicate)."""
    from ledgersync.sync.books_factory import books_for

    w = build_world(container, sandbox_app)
    pid = _pay(w, "42.00")
    clock = ManualClock()
    clock.catch_up()
    cfg = _cfg(clock)
    seen: dict[str, Any] = {}

    def meanwhile() -> None:
        lease = _lease_of(w, pid)
        for _ in range(40):  # ten minutes of a live worker: a heartbeat every 15 s
            clock.advance(cfg.lease_seconds - 1)
            assert renew_lease(container, lease, cfg)
        seen["alive"] = drain_outbox(container, w.connection_id, cfg=cfg, worker_id="worker-b")
        clock.advance(cfg.lease_seconds + 1)  # A stops beating, but its attempt may still land
        with container.uow() as uow:  # (its deadline counts from the fence check, just now)
            uow.session.execute(update(orm.PushIntent).where(orm.PushIntent.id == lease.intent_id)
                                .values(write_deadline=clock.now() + timedelta(seconds=10)))
            uow.commit()
        seen["in_flight"] = drain_outbox(container, w.connection_id, cfg=cfg, worker_id="worker-c")

    books = _SlowPost(books_for(container, w.connection_id), meanwhile)
    a = drain_outbox(container, w.connection_id, cfg=cfg, books=books, worker_id="worker-a")
    assert seen["alive"].done == 0 and seen["in_flight"].done == 0  # both left the intent to A
    assert a.done == 1 and len(_zoho_payments(w, pid)) == 1
    assert _intent(w, pid).state == "done"


def test_a_worker_that_lost_its_lease_sends_nothing(container, sandbox_app) -> None:
    """The fencing token: A marked its write uncertain, then stalled (a paused VM, a stopped
    process) past its lease without a heartbeat. B took the intent over, looked Zoho up (nothing)
    and posted. When A wakes up, its fence check refuses the send: still one payment in Zoho."""
    w = build_world(container, sandbox_app)
    pid = _pay(w, "23.40")
    clock = ManualClock()
    clock.catch_up()
    cfg = _cfg(clock)
    seen: dict[str, Any] = {}

    class Stall(Hooks):
        def at(self, point: str, intent_key: str) -> None:
            if point == "before_write" and "b" not in seen:
                clock.advance(cfg.lease_seconds + 1)
                seen["b"] = drain_outbox(container, w.connection_id, cfg=cfg, worker_id="worker-b")

    a = drain_outbox(container, w.connection_id, cfg=cfg, hooks=Stall(), worker_id="worker-a")
    assert seen["b"].done == 1 and a.done == 0 and a.skipped == 1
    assert len(_zoho_payments(w, pid)) == 1
    it = _intent(w, pid)
    assert it.state == "done" and it.fence == 2  # claimed twice: A, then B


def test_a_retry_after_a_rate_limit_wait_is_fenced_too(container, sandbox_app) -> None:
    """The connector retries a 429'd POST after a wait. If the worker lost the intent during that
    wait (stalled past its lease and write deadline; B took over and posted), the retry is
    refused by the fence check the connector runs before every attempt: one payment in Zoho."""
    from ledgersync.sync.books_factory import books_for
    from zohobooks_sandbox.faults import FaultKind, FaultRule

    w = build_world(container, sandbox_app)
    pid = _pay(w, "61.00")
    clock = ManualClock()
    clock.catch_up()
    cfg = _cfg(clock)
    w.guard.faults.add_script(w.org.organization_id, [
        FaultRule(kind=FaultKind.RATE_LIMIT, ops=["customerpayments.create"], burst=1)])
    seen: dict[str, Any] = {}

    def stall(_seconds: float) -> None:  # the connector's back-off before its retry
        if "b" not in seen:
            clock.advance(cfg.write_timeout_s + 1)
            seen["b"] = drain_outbox(container, w.connection_id, cfg=cfg, worker_id="worker-b")

    books = books_for(container, w.connection_id, sleep=stall)
    a = drain_outbox(container, w.connection_id, cfg=cfg, books=books, worker_id="worker-a")
    assert seen["b"].done == 1 and a.done == 0 and a.skipped == 1
    assert len(_zoho_payments(w, pid)) == 1 and _intent(w, pid).state == "done"


def test_a_push_whose_worker_died_mid_write_is_taken_over_within_a_minute_not_ten(container, sandbox_app) -> None:
    """A died right after its POST landed (the answer never recorded). No heartbeat renews its
    lease; the next drain after the lease AND the write deadline (not a fixed 600 s) looks Zoho
    up and adopts the payment."""
    w = build_world(container, sandbox_app)
    pid = _pay(w, "17.50")
    clock = ManualClock()
    clock.catch_up()
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
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 0  # its attempt may still land
    clock.advance(cfg.write_timeout_s - cfg.lease_seconds)
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 1  # 61 s after the send
    it = _intent(w, pid)
    assert it.state == "done" and it.detail["steps"]["payment"]["adopted"] is True
    assert len(_zoho_payments(w, pid)) == 1


def test_a_push_whose_worker_died_before_sending_is_taken_over_after_the_lease(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    pid = _pay(w, "9.99")
    clock = ManualClock()
    clock.catch_up()
    cfg = _cfg(clock)

    class CrashBeforeWrite(Hooks):
        def at(self, point: str, intent_key: str) -> None:
            if point == "before_write":
                raise SimulatedCrash(point)

    try:
        drain_outbox(container, w.connection_id, cfg=cfg, hooks=CrashBeforeWrite())
    except SimulatedCrash:
        pass
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 0  # lease still running
    clock.advance(cfg.lease_seconds + 1)
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 1
    assert len(_zoho_payments(w, pid)) == 1


def test_the_heartbeat_thread_keeps_the_lease_and_stops_with_the_worker(container, sandbox_app) -> None:
    """The real thread (waits on an event, no sleeps): while it runs, the lease follows the
    clock and nobody can claim; once stopped, the lease runs out and a claim takes a new token,
    after which the old heartbeat can renew nothing."""
    import threading

    w = build_world(container, sandbox_app)
    pid = _pay(w, "5.00")
    clock = ManualClock()
    clock.catch_up()
    cfg = PushConfig(lease_seconds=15, heartbeat_s=0.01, now=clock.now)
    intent_id = _intent(w, pid).id
    assert claim(container, intent_id, "worker-a", cfg)
    lease = _lease_of(w, pid)
    clock.advance(60)  # far past the first lease
    with Heartbeat(container, lease, cfg):
        renewed = threading.Event()
        for _ in range(2000):  # wait for a beat at the new time (bounded; no timing assert)
            if _intent(w, pid).lease_until >= clock.now():
                renewed.set()
                break
            threading.Event().wait(0.005)
        assert renewed.is_set()
        assert not claim(container, intent_id, "worker-b", cfg)
    clock.advance(cfg.lease_seconds + 1)
    assert claim(container, intent_id, "worker-b", cfg)
    assert _intent(w, pid).fence == lease.fence + 1
    assert not renew_lease(container, lease, cfg)


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
    clock.advance(cfg.write_timeout_s + 1)  # the lost answer's attempt can no longer land
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


def test_the_embedded_scheduler_takes_a_dead_workers_push_over_once_its_lease_ran_out(container, sandbox_app) -> None:
    """No event, no safety-net round: the scheduler's tick asks which pushes are due, and a push
    whose worker died (its lease no longer renewed) is due as soon as the lease ran out."""
    import threading

    from ledgersync.workers.embedded import EmbeddedScheduler

    w = build_world(container, sandbox_app)
    pid = _pay(w, "12.00")
    with container.uow() as uow:  # a worker of another process claimed it, then died
        uow.session.execute(update(orm.PushIntent).where(orm.PushIntent.key == f"ls:pay:{pid}").values(
            state="in_flight", lease_owner="dead-worker", fence=1,
            lease_until=datetime.now(timezone.utc) + timedelta(seconds=0.3)))
        uow.commit()
    # clock=0: the periodic rounds (pull, the push safety net) run once, at the start, while the lease holds
    sched = EmbeddedScheduler(container, workers=1, tick_s=0.02, clock=lambda: 0.0).start()
    try:
        for _ in range(1000):  # wait for the outcome (bounded), no timing assert
            if _intent(w, pid).state == "done":
                break
            threading.Event().wait(0.02)
    finally:
        sched.stop()
    it = _intent(w, pid)
    assert it.state == "done" and it.fence == 2 and len(_zoho_payments(w, pid)) == 1


def test_celery_beat_asks_for_the_due_pushes_every_few_seconds(container, sandbox_app) -> None:
    """Under Celery the same question is a beat task on the push queue (no broker needed to
    call it): a dead worker's push is requested once its lease ran out, not before."""
    from ledgersync.workers import tasks
    from ledgersync.workers.celery_app import app
    from ledgersync.workers.schedule import PUSH, kind_of

    w = build_world(container, sandbox_app)
    pid = _pay(w, "3.00")
    lease_end = datetime.now(timezone.utc) + timedelta(hours=1)
    with container.uow() as uow:
        uow.session.execute(update(orm.PushIntent).where(orm.PushIntent.key == f"ls:pay:{pid}").values(
            state="in_flight", lease_owner="dead-worker", fence=1, lease_until=lease_end))
        uow.commit()

    class Recorder:
        def __init__(self) -> None:
            self.pushes: list[str] = []

        def push_requested(self, connection_id: str) -> None:
            self.pushes.append(connection_id)

    recorder = Recorder()
    container.dispatcher = recorder
    tasks.set_container(container)
    try:
        assert tasks.schedule_due_pushes() == 0 and recorder.pushes == []  # its lease still runs
        with container.uow() as uow:
            uow.session.execute(update(orm.PushIntent).where(orm.PushIntent.key == f"ls:pay:{pid}")
                                .values(lease_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
            uow.commit()
        assert tasks.schedule_due_pushes() == 1 and recorder.pushes == [w.connection_id]
    finally:
        tasks.set_container(None)
        container.dispatcher = NullDispatcher()
    entry = app.conf.beat_schedule["pushes-due"]
    assert entry["task"] == "ledgersync.schedule_due_pushes" and entry["schedule"] <= 10
    assert kind_of("ledgersync.schedule_due_pushes", []) == PUSH


def test_a_failed_push_retried_while_another_holds_its_invoice_waits_its_turn(container, sandbox_app) -> None:
    """A failed push gave its invoice up (a later payment went on). Retried by hand while that
    payment holds the invoice, it must wait behind it, not join it on the same invoice."""
    from ledgersync.sync.push.engine import retry_intent

    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("100.00")
    clock = ManualClock()
    p1 = pay_svc.pay_invoices(container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D("50.00"))])
    pay_svc.settle(container, w.partner_id, p1.id, "succeeded")
    clock.catch_up()
    cfg = _cfg(clock)
    assert drain_outbox(container, w.connection_id, cfg=cfg).done == 1
    first = _intent(w, p1.id)
    with container.uow() as uow:  # as if its last step had been refused after its payment landed
        uow.session.execute(update(orm.PushIntent).where(orm.PushIntent.id == first.id).values(
            state="failed", detail={**first.detail, "holds_invoices": True}))
        uow.commit()
    p2 = pay_svc.pay_invoices(container, w.partner_id, allocations=[pay_svc.AllocationInput(inv, D("30.00"))])
    pay_svc.settle(container, w.partner_id, p2.id, "succeeded")
    clock.catch_up()
    seen: dict[str, Any] = {}

    class RetryMeanwhile(Hooks):
        def at(self, point: str, intent_key: str) -> None:
            if point == "before_write" and intent_key == f"ls:pay:{p2.id}" and "b" not in seen:
                retry_intent(container, first.id)
                clock.catch_up()
                seen["b"] = drain_outbox(container, w.connection_id, cfg=cfg, worker_id="worker-b")

    drain_outbox(container, w.connection_id, cfg=cfg, hooks=RetryMeanwhile(), worker_id="worker-a")
    assert seen["b"].deferred == 1 and seen["b"].done == 0
    drain_outbox(container, w.connection_id, cfg=cfg)
    assert _intent(w, p1.id).state == "done" and _intent(w, p2.id).state == "done"
    assert w.zinv(inv)["balance"] == D("20.00") and _outstanding(w, inv) == D("20.00")
