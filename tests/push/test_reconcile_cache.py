"""The dashboard's reconciliation report is cached per partner and range (issue 14) and never
outlives a sync or a push: Zoho's own call counter says when it was rebuilt."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from ledgersync.services import payments as pay_svc
from ledgersync.services import reconciliation as cache
from ledgersync.sync.pull.engine import run_stream
from ledgersync.sync.push import PushConfig, drain_outbox
from tests.push.world import World, build_world

FAST = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0)
START, END = date(2026, 1, 1), date.today() + timedelta(days=1)


def _calls(w: World) -> int:
    return sum(w.org.api_calls.values())


def _report(w: World, **kw):  # type: ignore[no-untyped-def]
    before = _calls(w)
    got = cache.partner_report(w.container, w.partner_id, START, END, **kw)
    return got, _calls(w) - before


def _pay_and_push(w: World, invoice: str, amount: str) -> str:
    p = pay_svc.pay_invoices(w.container, w.partner_id, method="card",
                             allocations=[pay_svc.AllocationInput(invoice, D(amount))])
    pay_svc.settle(w.container, w.partner_id, p.id, "succeeded")
    drain_outbox(w.container, w.connection_id, cfg=FAST)
    return p.id


def test_cached_until_a_push_or_a_sync_moves_the_partners_data(container, sandbox_app) -> None:
    cache.forget()
    w = build_world(container, sandbox_app)
    a, b = w.zoho_invoice("100.00"), w.zoho_invoice("60.00")
    _pay_and_push(w, a, "100.00")
    first, calls = _report(w)
    assert calls > 0 and not first.hit and len(first.report.payments) == 1
    again, calls = _report(w)
    assert calls == 0 and again.hit and again.report is first.report  # no call to Zoho for the same page
    # a push: the report is built again and shows the new payment
    _pay_and_push(w, b, "60.00")
    after_push, calls = _report(w)
    assert calls > 0 and not after_push.hit and len(after_push.report.payments) == 2
    # a sync run (here a no-change hourly list): built again
    run_stream(container, w.connection_id, "invoices")
    after_sync, calls = _report(w)
    assert calls > 0 and not after_sync.hit
    # on demand
    assert _report(w)[1] == 0
    fresh, calls = _report(w, fresh=True)
    assert calls > 0 and not fresh.hit


def _a_push_rebuilds_the_report(w: World) -> None:
    a, b = w.zoho_invoice("100.00"), w.zoho_invoice("60.00")
    _pay_and_push(w, a, "100.00")
    _report(w)
    _pay_and_push(w, b, "60.00")
    after, calls = _report(w)
    assert calls > 0 and len(after.report.payments) == 2


def test_a_push_rebuilds_the_report(container, sandbox_app) -> None:
    cache.forget()
    _a_push_rebuilds_the_report(build_world(container, sandbox_app))


def test_the_check_fails_when_the_stamp_ignores_pushes(container, sandbox_app, monkeypatch) -> None:
    """Planted: a stamp that never moves serves the report from before the push."""
    import pytest

    cache.forget()
    monkeypatch.setattr(cache, "data_stamp", lambda *a, **k: ("frozen",))
    with pytest.raises(AssertionError):
        _a_push_rebuilds_the_report(build_world(container, sandbox_app))


def test_each_partner_has_its_own_reports(container, sandbox_app) -> None:
    cache.forget()
    w = build_world(container, sandbox_app)
    _pay_and_push(w, w.zoho_invoice("10.00"), "10.00")
    mine = cache.partner_report(container, w.partner_id, START, END)
    other = build_world(container, sandbox_app)
    theirs = cache.partner_report(container, other.partner_id, START, END)
    assert len(mine.report.payments) == 1 and theirs.report.payments == [] and not theirs.hit
    cache.forget(w.partner_id)
    assert not cache.partner_report(container, w.partner_id, START, END).hit
    assert cache.partner_report(container, other.partner_id, START, END).hit
