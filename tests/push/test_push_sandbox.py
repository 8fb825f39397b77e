"""Each push rule end to end: platform services → outbox → engine → `books_for` → HTTP → the sandbox."""

from __future__ import annotations

import threading
from decimal import Decimal as D

from sqlalchemy import select

from ledgersync.services import payments as pay_svc
from ledgersync.services import payouts as payout_svc
from ledgersync.store import orm
from ledgersync.sync.push import PushConfig, drain_outbox
from tests.push.world import World, build_world
from zohobooks_sandbox.faults import FaultKind, FaultRule

FAST = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0)


def pay(w: World, *allocs: tuple[str, str], method: str = "card", settle: bool = True) -> str:
    p = pay_svc.pay_invoices(w.container, w.partner_id, method=method,
                             allocations=[pay_svc.AllocationInput(i, D(a)) for i, a in allocs])
    if settle:
        pay_svc.settle(w.container, w.partner_id, p.id, "succeeded")
    return p.id


def drain(w: World):
    """The product's default path: `books_for(container, connection_id)` over the sandbox transport."""
    return drain_outbox(w.container, w.connection_id, cfg=FAST)


def intent(w: World, key: str) -> orm.PushIntent:
    with w.container.uow() as uow:
        row = uow.session.scalars(select(orm.PushIntent).where(orm.PushIntent.key == key)).one()
        uow.session.expunge(row)
        return row


def zinv(w: World, inv_id: str) -> dict:
    return w.zinv(inv_id)


def payments_with_ref(w: World, ref: str) -> list:
    return [p for p in w.org.payments.values() if p.reference_number == ref]


def test_full_and_partial_payments_reach_zoho_once(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a, b = w.zoho_invoice("100.00"), w.zoho_invoice("80.00")
    p1 = pay(w, (a, "100.00"))
    p2 = pay(w, (b, "30.00"))
    r = drain(w)
    assert r.done == 2
    assert zinv(w, a)["status"] == "paid" and zinv(w, b)["balance"] == D("50.00")
    assert zinv(w, b)["status"] == "partially_paid"
    (zp,) = payments_with_ref(w, f"ls:pay:{p1}")
    assert zp.account_id == w.connection().undeposited_account_id
    assert intent(w, f"ls:pay:{p2}").zoho_id == w.zoho_id("payment", p2)
    with container.uow() as uow:
        assert uow.session.get(orm.Invoice, b).outstanding == D("50.00")  # refreshed from Zoho
    assert drain(w).done == 0  # nothing left, nothing doubled
    assert len(w.org.payments) == 2


def test_multi_invoice_payment_is_one_zoho_payment(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a, b = w.zoho_invoice("60.00"), w.zoho_invoice("40.00")
    pid = pay(w, (a, "60.00"), (b, "40.00"))
    drain(w)
    (zp,) = payments_with_ref(w, f"ls:pay:{pid}")
    assert sorted(x.amount_applied for x in zp.invoices) == [D("40.00"), D("60.00")]


def test_invoice_reduced_or_voided_in_zoho_leaves_flagged_credit(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a, b = w.zoho_invoice("100.00"), w.zoho_invoice("50.00")
    w.zoho("POST", f"/invoices/{w.zoho_id('invoice', b)}/status/void")
    pid = pay(w, (a, "100.00"), (b, "50.00"))
    drain(w)
    (zp,) = payments_with_ref(w, f"ls:pay:{pid}")
    assert zp.amount == D("150.00") and zp.unused_amount == D("50.00")
    it = intent(w, f"ls:pay:{pid}")
    assert it.state == "done" and it.detail["flags"] and it.detail["unused_credit"] == "50.00"


def test_platform_invoice_payment_becomes_standalone_deposit(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("75.00", origin="platform")
    pid = pay(w, (inv, "75.00"))
    drain(w)
    (t,) = [t for t in w.org.bank_transactions.values() if t.reference_number == f"ls:pay:{pid}"]
    assert t.transaction_type == "deposit" and t.amount == D("75.00")
    assert not w.org.payments
    # its "from" is the income account Set Up Accounts chose (Sales by default), as Zoho shows it
    assert w.org.accounts[t.from_account_id].account_name == "Sales"
    with w.container.uow() as uow:
        conn = uow.session.get(orm.Connection, w.connection_id)
        assert (conn.income_account_id, conn.income_account_name) == (t.from_account_id, "Sales")


def test_standalone_deposit_with_its_from_account_is_created_once_when_the_reply_is_lost(container,
                                                                                         sandbox_app) -> None:
    """Zoho records the deposit, the answer is lost: the retry adopts it by reference, no second one."""
    from datetime import timedelta

    w = build_world(container, sandbox_app)
    inv = w.zoho_invoice("40.00", origin="platform")
    pid = pay(w, (inv, "40.00"))
    w.guard.faults.add_script(w.org.organization_id, [
        FaultRule(kind=FaultKind.DROP_AFTER_WRITE, ops=["banktransactions.create"])])
    drain(w)
    assert intent(w, f"ls:pay:{pid}").state == "uncertain"  # the answer was lost
    later = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0,
                       now=lambda: FAST.now() + timedelta(seconds=FAST.write_timeout_s + 1))
    drain_outbox(w.container, w.connection_id, cfg=later)
    deposits = [t for t in w.org.bank_transactions.values() if t.reference_number == f"ls:pay:{pid}"]
    assert len(deposits) == 1 and w.org.accounts[deposits[0].from_account_id].account_name == "Sales"
    assert intent(w, f"ls:pay:{pid}").state == "done"

def test_payout_deposit_matches_net_to_the_cent(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a, b = w.zoho_invoice("1000.00"), w.zoho_invoice("250.55")
    pay(w, (a, "1000.00"))
    pay(w, (b, "250.55"), method="ach")
    po = payout_svc.create_payout(container, w.partner_id)
    drain(w)
    conn = w.connection()
    bank, uf, fees = (w.account(conn.bank_account_id), w.account(conn.undeposited_account_id),
                      w.account(conn.fees_account_id))
    assert bank.debit_balance == po.net and fees.debit_balance == po.fees
    assert uf.debit_balance == D("0.00")
    (transfer,) = [t for t in w.org.bank_transactions.values() if t.reference_number == f"ls:payout:{po.id}"]
    assert transfer.amount == po.net


def test_failed_payment_before_deposit_is_deleted_in_zoho(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("100.00")
    pid = pay(w, (a, "100.00"), method="ach")
    drain(w)
    assert zinv(w, a)["status"] == "paid"
    pay_svc.settle(container, w.partner_id, pid, "failed", reason="R01 insufficient funds")
    drain(w)
    assert not w.org.payments and zinv(w, a)["balance"] == D("100.00")
    with container.uow() as uow:
        assert uow.session.get(orm.Invoice, a).outstanding == D("100.00")
    assert intent(w, f"ls:rev:{pid}").state == "done"


def test_failed_payment_after_deposit_is_unapplied_and_refunded(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("100.00")
    pid = pay(w, (a, "100.00"), method="ach")
    payout_svc.create_payout(container, w.partner_id)
    drain(w)
    pay_svc.settle(container, w.partner_id, pid, "failed", reason="R01")
    drain(w)
    (zp,) = w.org.payments.values()
    assert zp.invoices == [] and zp.refunded_amount == D("100.00")
    assert zinv(w, a)["balance"] == D("100.00")


def test_not_connected_waits_then_goes_out(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app, connected=False)
    w.set_connection(status="error")
    a = w.zoho_invoice("10.00")
    pid = pay(w, (a, "10.00"))
    assert intent(w, f"ls:pay:{pid}").state == "waiting"
    drain(w)
    it = intent(w, f"ls:pay:{pid}")
    assert it.state == "waiting" and "error" in (it.last_error or "")
    bank = w.connection().bank_account_id
    w.set_connection(status="connected", bank_account_id=None)
    drain(w)
    assert "accounts not set up" in (intent(w, f"ls:pay:{pid}").last_error or "")
    w.set_connection(bank_account_id=bank)
    drain(w)
    assert intent(w, f"ls:pay:{pid}").state == "done" and len(w.org.payments) == 1


def test_revoked_token_waits_then_goes_out(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("10.00")
    pid = pay(w, (a, "10.00"))
    w.guard.faults.add_script(w.org.organization_id, [FaultRule(kind=FaultKind.TOKEN_REVOKED)])
    drain(w)  # Zoho revoked the grant: the refresh is refused, the connection needs re-authorising
    it = intent(w, f"ls:pay:{pid}")
    assert it.state == "waiting" and "reconnect" in (it.last_error or "").lower()
    assert w.connection().status == "reauth_required" and not w.org.payments
    drain(w)
    assert intent(w, f"ls:pay:{pid}").state == "waiting"
    w.reconnect()
    drain(w)
    assert intent(w, f"ls:pay:{pid}").state == "done" and len(w.org.payments) == 1


def test_dropped_response_retry_creates_one_payment(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("10.00")
    pid = pay(w, (a, "10.00"))
    w.guard.faults.add_script(w.org.organization_id, [
        FaultRule(kind=FaultKind.DROP_AFTER_WRITE, ops=["customerpayments.create"])])
    drain(w)  # accepted by Zoho, then the connection dropped: outcome unknown
    assert intent(w, f"ls:pay:{pid}").state == "uncertain" and len(w.org.payments) == 1
    assert drain(w).done == 0  # the lost answer's attempt could still land: nobody re-sends yet
    from datetime import timedelta

    later = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0,  # its write deadline passed
                       now=lambda: FAST.now() + timedelta(seconds=FAST.write_timeout_s + 1))
    drain_outbox(w.container, w.connection_id, cfg=later)
    assert intent(w, f"ls:pay:{pid}").state == "done" and len(payments_with_ref(w, f"ls:pay:{pid}")) == 1
    assert intent(w, f"ls:pay:{pid}").detail["steps"]["payment"]["adopted"] is True


def test_two_threads_same_payment_one_zoho_payment(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    ids = [w.zoho_invoice("5.00") for _ in range(6)]
    pids = [pay(w, (i, "5.00")) for i in ids]
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        drain(w)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drain(w)
    for pid in pids:
        assert len(payments_with_ref(w, f"ls:pay:{pid}")) == 1


def test_foreign_currency_invoice_paid_in_its_currency_with_the_rate(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    cz = w.zoho("POST", "/contacts", {"contact_name": "Euro Kunde GmbH", "currency_code": "EUR"})["contact"]["contact_id"]
    with container.uow() as uow:
        cust = orm.Customer(partner_id=w.partner_id, name="Euro Kunde GmbH", origin="zoho", currency_code="EUR")
        uow.session.add(cust)
        uow.session.flush()
        uow.session.add(orm.ExternalRef(connection_id=w.connection_id, entity="customer", local_id=cust.id, zoho_id=cz))
        uow.commit()
        w.customer_id, w.customer_zoho_id = cust.id, str(cz)
    inv = w.zoho_invoice("200.00", currency="EUR", rate="1.10")
    assert w.zinv(inv)["currency_code"] == "EUR"
    pid = pay(w, (inv, "120.00"))
    assert drain(w).done == 1
    (zp,) = payments_with_ref(w, f"ls:pay:{pid}")
    assert zp.currency_code == "EUR" and zp.exchange_rate == D("1.10") and zp.amount == D("120.00")
    assert w.zinv(inv)["balance"] == D("80.00") and w.zinv(inv)["status"] == "partially_paid"
    with container.uow() as uow:
        assert uow.session.get(orm.Invoice, inv).outstanding == D("80.00")


def test_each_drain_that_did_work_is_in_the_sync_log(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("40.00")
    pid = pay(w, (a, "40.00"), method="ach")
    drain(w)
    drain(w)  # nothing to do: no row
    pay_svc.settle(container, w.partner_id, pid, "failed", reason="R01")
    drain(w)
    with container.uow() as uow:
        runs = uow.session.scalars(select(orm.SyncRun).where(orm.SyncRun.connection_id == w.connection_id,
                                                             orm.SyncRun.stream == "push")
                                   .order_by(orm.SyncRun.started_at)).all()
        runs = [(r.status, r.message or "", r.created, r.calls) for r in runs]
    assert [r[0] for r in runs] == ["succeeded", "succeeded"]
    assert f"ls:pay:{pid}: created customer payment" in runs[0][1] and runs[0][2] == 1 and runs[0][3] > 0
    assert f"ls:rev:{pid}: deleted customer payment" in runs[1][1]  # the run log says what was undone


def test_pushes_go_out_while_the_initial_sync_is_pending(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app, connected=False)
    assert w.connection().status == "pending"
    a = w.zoho_invoice("15.00")
    pid = pay(w, (a, "15.00"))
    assert drain(w).done == 1 and len(payments_with_ref(w, f"ls:pay:{pid}")) == 1


def test_event_driven_push_through_the_embedded_dispatcher(container, sandbox_app) -> None:
    """settle → outbox.notify → dispatcher.push_requested → drain: no schedule involved."""
    from ledgersync.workers.embedded import EmbeddedScheduler

    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("99.00")
    scheduler = EmbeddedScheduler(container, periodic=False, tick_s=30.0).start()
    try:
        pid = pay(w, (a, "99.00"))  # settle() notifies after its commit
        assert scheduler.wait_idle(timeout=30.0)
    finally:
        scheduler.stop()
    assert [j[0] for j in scheduler.completed] == ["push"] and scheduler.completed[0][3] == "event"
    assert len(payments_with_ref(w, f"ls:pay:{pid}")) == 1 and w.zinv(a)["status"] == "paid"


def test_crash_after_write_then_payment_fails_is_still_undone_in_zoho(container, sandbox_app) -> None:
    """Regression (found by the campaign on PostgreSQL): the write was recorded, the worker died
    before `done`, then the ACH payment failed. The push must finish so the reversal undoes it."""
    from ledgersync.sync.push import Hooks, SimulatedCrash

    class CrashBeforeDone(Hooks):
        def at(self, point: str, intent_key: str) -> None:
            if point == "before_done":
                raise SimulatedCrash(point)

    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("64.00")
    pid = pay(w, (a, "64.00"), method="ach")
    try:
        drain_outbox(container, w.connection_id, cfg=FAST, hooks=CrashBeforeDone())
    except SimulatedCrash:
        pass
    assert len(payments_with_ref(w, f"ls:pay:{pid}")) == 1
    pay_svc.settle(container, w.partner_id, pid, "failed", reason="R01")
    from datetime import timedelta

    later = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0,  # the crashed lease expired
                       now=lambda: FAST.now() + timedelta(seconds=FAST.write_timeout_s + 60))
    drain_outbox(container, w.connection_id, cfg=later)
    assert intent(w, f"ls:pay:{pid}").state == "done"
    assert intent(w, f"ls:rev:{pid}").state == "done"
    assert not payments_with_ref(w, f"ls:pay:{pid}") and w.zinv(a)["balance"] == D("64.00")


def test_payment_failing_after_its_payout_but_before_its_push_still_balances(container, sandbox_app) -> None:
    """An ACH return can arrive after the payment was paid out but before its push ran: the
    payout's transfer moves the payment's money out of Undeposited Funds, so the payment must
    still be recorded (then refunded) or Undeposited Funds ends short by its amount."""
    w = build_world(container, sandbox_app)
    a = w.zoho_invoice("100.00")
    pid = pay(w, (a, "100.00"), method="ach")
    po = payout_svc.create_payout(container, w.partner_id)
    pay_svc.settle(container, w.partner_id, pid, "failed", reason="R01")
    drain(w)
    drain(w)
    conn = w.connection()
    uf, bank, fees = (w.account(conn.undeposited_account_id), w.account(conn.bank_account_id),
                      w.account(conn.fees_account_id))
    assert uf.debit_balance == D("0.00")
    (zp,) = w.org.payments.values()
    assert zp.invoices == [] and zp.refunded_amount == D("100.00")
    assert zinv(w, a)["balance"] == D("100.00")
    assert bank.debit_balance == po.net - D("100.00") and fees.debit_balance == po.fees
    assert intent(w, f"ls:pay:{pid}").state == "done" and intent(w, f"ls:rev:{pid}").state == "done"
    with container.uow() as uow:
        assert uow.session.get(orm.Invoice, a).outstanding == D("100.00")
