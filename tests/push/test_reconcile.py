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
