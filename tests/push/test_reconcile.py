"""Reconciliation report against the sandbox: both sides agree after pushes; every kind of
difference is listed; the CLI exits 1 when there are differences."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from ledgersync.services import payments as pay_svc
from ledgersync.services import payouts as payout_svc
from ledgersync.sync.push import PushConfig, drain_outbox
from ledgersync.sync.push.reconcile import reconcile
from tests.push.world import World, build_world

FAST = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0)
START, END = date(2026, 1, 1), date.today() + timedelta(days=1)


def pay(w: World, *allocs: tuple[str, str], method: str = "card") -> str:
    p = pay_svc.pay_invoices(w.container, w.partner_id, method=method,
                             allocations=[pay_svc.AllocationInput(i, D(a)) for i, a in allocs])
    pay_svc.settle(w.container, w.partner_id, p.id, "succeeded")
    return p.id


def drain(w: World) -> None:
    drain_outbox(w.container, w.connection_id, cfg=FAST)


def test_both_sides_agree_after_pushes(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a, b, c = w.zoho_invoice("100.00"), w.zoho_invoice("80.00"), w.zoho_invoice("30.00")
    plat = w.zoho_invoice("45.00", origin="platform")
    pay(w, (a, "100.00"))
    pay(w, (b, "20.00"), method="ach")
    pay(w, (plat, "45.00"))
    failed = pay(w, (c, "30.00"), method="ach")
    drain(w)
    payout_svc.create_payout(container, w.partner_id)
    drain(w)
    pay_svc.settle(container, w.partner_id, failed, "failed", reason="R01")
    drain(w)
    report = reconcile(container, w.connection_id, START, END)
    assert report.differences == [], report.differences
    assert len(report.invoices) == 3 and len(report.payments) == 4 and len(report.deposits) == 1
    statuses = {ln.local_id: ln.zoho_status for ln in report.payments}
    assert statuses[failed] == "reversed"


def test_every_difference_is_listed(container, sandbox_app) -> None:
    w = build_world(container, sandbox_app)
    a, b = w.zoho_invoice("100.00"), w.zoho_invoice("60.00")
    pay(w, (a, "100.00"))
    drain(w)
    not_pushed = pay(w, (b, "10.00"))  # settled, not drained yet: missing in Zoho (b's balance too)
    w.zoho("POST", "/customerpayments", {  # someone records a payment in Zoho with a ledgersync-looking ref
        "customer_id": w.customer_zoho_id, "amount": "5.00", "date": date.today().isoformat(),
        "reference_number": "ls:pay:ghost", "account_id": w.connection().undeposited_account_id})
    report = reconcile(container, w.connection_id, START, END)
    issues = {(ln.section, ln.local_id): ln.issues for ln in report.differences}
    assert issues[("payments", not_pushed)] == ("missing in Zoho",)
    assert issues[("invoices", b)] == ("balance differs", "status differs")
    assert ("payments", None) in issues and issues[("payments", None)] == ("missing on the platform",)
    assert ("invoices", a) not in issues


def test_cli_exit_code_and_table(container, sandbox_app, monkeypatch: pytest.MonkeyPatch) -> None:
    import ledgersync.cli as cli

    w = build_world(container, sandbox_app)
    with container.uow() as uow:
        from ledgersync.store import orm

        email = uow.session.query(orm.User).filter_by(partner_id=w.partner_id).one().email
    a = w.zoho_invoice("70.00")
    pid = pay(w, (a, "70.00"))
    monkeypatch.setattr(cli, "Container", lambda _settings: container)
    from rich.console import Console

    monkeypatch.setattr(cli, "console", Console(width=250, soft_wrap=True))
    args = ["reconcile", "--partner-email", email, "--from", START.isoformat(), "--to", END.isoformat()]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 1, result.output
    assert "missing in Zoho" in result.output and "difference" in result.output
    drain(w)
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert "No differences" in result.output and pid[:8] in result.output


# --------------------------------------------------------------------------- explained differences


def test_an_invoice_deleted_in_zoho_and_archived_is_explained_not_flagged(container, sandbox_app,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14: the deleted-and-archived invoice read "missing in Zoho" forever and the CLI exited 1."""
    from ledgersync.sync.pull.records import sync_record

    w = build_world(container, sandbox_app)
    kept, gone = w.zoho_invoice("50.00"), w.zoho_invoice("75.00")
    gone_zid = w.zoho_id("invoice", gone)
    w.zoho("DELETE", f"/invoices/{gone_zid}")
    planted = reconcile(container, w.connection_id, START, END)  # not pulled yet: a real difference
    assert [(ln.local_id, ln.issues) for ln in planted.differences] == [(gone, ("missing in Zoho",))]
    assert sync_record(container, w.connection_id, "invoice", gone_zid) == "archived"  # the pull's path
    report = reconcile(container, w.connection_id, START, END)
    assert report.differences == []
    by_id = {ln.local_id: ln for ln in report.invoices}
    assert by_id[gone].state == "explained" and "deleted in Zoho Books" in (by_id[gone].explanation or "")
    assert by_id[kept].state == "ok" and by_id[kept].customer
    _cli_exit(container, w, monkeypatch, expect=0, text="deleted in Zoho Books")


def test_a_write_off_and_a_reversed_payment_are_explained(container, sandbox_app) -> None:
    from ledgersync.sync.pull.records import sync_record

    w = build_world(container, sandbox_app)
    off, paid = w.zoho_invoice("40.00"), w.zoho_invoice("30.00")
    failed = pay(w, (paid, "30.00"), method="ach")
    drain(w)
    pay_svc.settle(container, w.partner_id, failed, "failed", reason="R01")
    drain(w)
    w.zoho("POST", f"/invoices/{w.zoho_id('invoice', off)}/writeoff")
    assert sync_record(container, w.connection_id, "invoice", w.zoho_id("invoice", off) or "") == "applied"
    report = reconcile(container, w.connection_id, START, END)
    assert report.differences == [], report.differences
    states = {ln.local_id: (ln.state, ln.explanation or "") for ln in report.lines()}
    assert states[off][0] == "explained" and "written off" in states[off][1]
    assert states[failed][0] == "explained" and "reversed" in states[failed][1]


def _cli_exit(container, w: World, monkeypatch: pytest.MonkeyPatch, *, expect: int, text: str) -> None:
    from rich.console import Console

    import ledgersync.cli as cli
    from ledgersync.store import orm

    with container.uow() as uow:
        email = uow.session.query(orm.User).filter_by(partner_id=w.partner_id).one().email
    monkeypatch.setattr(cli, "Container", lambda _settings: container)
    monkeypatch.setattr(cli, "console", Console(width=250, soft_wrap=True))
    result = CliRunner().invoke(cli.app, ["reconcile", "--partner-email", email, "--from", START.isoformat(),
                                          "--to", END.isoformat()])
    assert result.exit_code == expect, result.output
    assert text in result.output and "explained" in result.output
