"""The push planners and their when-to-write rules on fakes: no database, no sandbox.

Expectations are written out by hand from the business rule, not computed with the code under test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from ledgersync.domain import push_rules as rules
from ledgersync.domain.push_intent import AppliedInvoice, IntentDetail, StepRecord
from ledgersync.sync.push.planners import (
    InvoiceSnapshot,
    PaymentPlanner,
    PaymentSnapshot,
    PayoutPlanner,
    PayoutSnapshot,
    PlanContext,
    ReversalPlanner,
    ReversalSnapshot,
)
from ledgersync.zoho.books import BooksEndpoints
from ledgersync.zoho.errors import ZohoNotFound

ACC = rules.Accounts("uf", "bank", "fees", "USD")
CTX = PlanContext("conn-1", ACC, date(2026, 3, 1))


class FakeBooks(BooksEndpoints):
    """Answers invoice reads from a dict; records every call; refuses writes (planners only read).
    The named calls of the `BooksGateway` port come from `BooksEndpoints`, over these verbs."""

    def __init__(self, invoices: dict[str, dict[str, Any]]) -> None:
        self.invoices = invoices
        self.calls: list[str] = []

    def get(self, path: str, params: Any = None, *, priority: str = "pull") -> dict[str, Any]:
        self.calls.append(path)
        zid = path.rsplit("/", 1)[-1]
        if zid not in self.invoices:
            raise ZohoNotFound(404, None, "no such invoice")
        return {"invoice": self.invoices[zid]}

    def post(self, *a: Any, **k: Any) -> dict[str, Any]:
        raise AssertionError("a planner must not write")

    put = delete = post


# --------------------------------------------------------------------------- rules


def test_payment_push_gate() -> None:
    assert rules.payment_push_gate("succeeded", paid_out=False, started=False) == rules.Proceed()
    assert rules.payment_push_gate("failed", paid_out=False, started=False) == rules.Cancel(
        "payment is failed; nothing to push")
    assert rules.payment_push_gate("failed", paid_out=False, started=True) == rules.Proceed()  # reversal undoes it
    assert rules.payment_push_gate("failed", paid_out=True, started=False) == rules.Proceed()  # payout needs it


def test_payout_waits_for_every_payment_it_carries() -> None:
    done = rules.IntentStatus("ls:pay:a", "done")
    assert rules.payout_gate([done, rules.IntentStatus("ls:pay:b", "cancelled")]) == rules.Proceed()
    gate = rules.payout_gate([done, rules.IntentStatus("ls:pay:c", "uncertain"), None])
    assert isinstance(gate, rules.Defer) and "2 payment(s)" in gate.reason


@pytest.mark.parametrize(("push", "paid_out", "payout", "expected"), [
    (None, False, None, rules.Cancel),
    (rules.IntentStatus("k", "cancelled"), False, None, rules.Cancel),
    (rules.IntentStatus("k", "pending"), False, None, rules.CancelPaymentPush),
    (rules.IntentStatus("k", "failed"), False, None, rules.CancelPaymentPush),
    (rules.IntentStatus("k", "pending", started=True), False, None, rules.Defer),  # a write may be in Zoho
    (rules.IntentStatus("k", "pending"), True, None, rules.Defer),  # paid out: must reach Zoho first
    (rules.IntentStatus("k", "in_flight"), False, None, rules.Defer),
    (rules.IntentStatus("k", "done"), True, rules.IntentStatus("p", "pending"), rules.Defer),
])
def test_reversal_gate(push: Any, paid_out: bool, payout: Any, expected: type) -> None:
    assert isinstance(rules.reversal_gate(push, paid_out=paid_out, payout_push=payout), expected)


def test_reversal_knows_whether_the_payment_was_deposited() -> None:
    done = rules.IntentStatus("k", "done")
    assert rules.reversal_gate(done, paid_out=False, payout_push=None) == rules.ProceedReversal(False)
    assert rules.reversal_gate(done, paid_out=True, payout_push=rules.IntentStatus("p", "done")) == \
        rules.ProceedReversal(True)
    assert rules.reversal_gate(done, paid_out=True, payout_push=rules.IntentStatus("p", "cancelled")) == \
        rules.ProceedReversal(False)


def n(key: str, state: str = "pending", *, earlier: bool = False, holds: bool = False) -> rules.Neighbour:
    return rules.Neighbour(key, state, earlier, holds)


def test_invoice_turn_waits_for_earlier_causes_and_for_holders() -> None:
    # the ACH return's reversal came first: a later payment on the invoice waits for it
    assert isinstance(rules.invoice_turn([n("ls:rev:p1", earlier=True)]), rules.Defer)
    # a later intent that already holds the invoice (it passed before this one was visible)
    assert isinstance(rules.invoice_turn([n("ls:pay:p3", "uncertain", holds=True)]), rules.Defer)
    # later and not holding: this one goes first
    assert rules.invoice_turn([n("ls:pay:p3")]) == rules.Proceed()
    # settled ones hold nothing back, `failed` included (it waits for a person's Retry)
    assert rules.invoice_turn([n("a", "done", earlier=True, holds=True), n("b", "cancelled", earlier=True),
                               n("c", "failed", earlier=True, holds=True)]) == rules.Proceed()
    assert rules.invoice_turn([]) == rules.Proceed()


def test_invoices_to_refresh_skips_only_what_arithmetic_proves() -> None:
    apps = [("z1", D("30.00")), ("z2", D("10.00")), ("z3", D("5.00"))]
    before = {"z1": D("100.00"), "z2": D("10.00"), "z3": None}
    platform = {"z1": D("70.00"), "z2": D("5.00"), "z3": D("0.00")}
    assert rules.invoices_to_refresh(apps, before, platform, first_attempt=True) == ("z2", "z3")
    assert rules.invoices_to_refresh(apps, before, platform, first_attempt=False) == ("z1", "z2", "z3")


# --------------------------------------------------------------------------- typed detail


def test_intent_detail_reads_what_the_engine_wrote_before_it_was_typed() -> None:
    legacy = {"steps": {"payment": {"state": "done", "op": "create_customer_payment", "reference": "ls:pay:p",
                                    "amount": "12.50", "sent_at": "2026-01-01T00:00:00+00:00",
                                    "zoho_id": "cp9", "adopted": True}},
              "applications": [{"invoice": "i1", "zoho_invoice": "z1", "asked": "12.50", "applied": "10.00"}],
              "unused_credit": "2.50", "flags": ["invoice i1: 2.50 left"], "payment_amount": "12.50"}
    d = IntentDetail.from_json(legacy)
    assert d.zoho_id_of("payment") == "cp9" and d.started and not d.uncertain
    assert d.applications == (AppliedInvoice("i1", "z1", D("12.50"), D("10.00")),)
    assert d.unused_credit == D("2.50") and d.payment_amount == D("12.50") and d.deposit_amount is None
    assert IntentDetail.from_json(d.to_json()) == d
    assert d.to_json()["steps"]["payment"]["adopted"] is True and d.to_json()["unused_credit"] == "2.50"


def test_intent_detail_of_a_fresh_intent() -> None:
    d = IntentDetail.from_json(None)
    assert not d.started and not d.uncertain and d.main_zoho_id is None and not d.holds_invoices
    sent = d.with_step("payment", StepRecord("uncertain", op="create_customer_payment"))
    assert sent.uncertain and sent.started and d.steps == {}  # values, not mutation


# --------------------------------------------------------------------------- planners on fakes


def snapshot(*invoices: InvoiceSnapshot, amount: str = "100.00", first: bool = True) -> PaymentSnapshot:
    return PaymentSnapshot("p1", "ls:pay:p1", D(amount), "USD", "card", D("3.20"), date(2026, 2, 2), "Acme", "c9",
                           invoices, IntentDetail(), first)


def inv(local: str, allocated: str, zoho_id: str | None, outstanding: str, origin: str = "zoho") -> InvoiceSnapshot:
    return InvoiceSnapshot(local, D(allocated), origin, "USD", zoho_id, D("1"), D(outstanding))


def test_payment_planner_caps_at_zoho_balance_and_rereads_what_it_cannot_prove() -> None:
    books = FakeBooks({"za": {"balance": "100.00", "status": "sent"}, "zb": {"balance": "15.00", "status": "sent"}})
    # the platform shows a: 100 - 60 = 40 (provable), b: 25 (Zoho only takes 15: must be re-read)
    plan = PaymentPlanner().plan(snapshot(inv("a", "60.00", "za", "40.00"), inv("b", "40.00", "zb", "25.00")),
                                 books, CTX)
    (w,) = plan.writes
    assert w.payload["invoices"] == [{"invoice_id": "za", "amount_applied": D("60.00")},
                                     {"invoice_id": "zb", "amount_applied": D("15.00")}]
    assert plan.detail.unused_credit == D("25.00") and len(plan.detail.flags) == 1
    assert plan.detail.applications[1] == AppliedInvoice("b", "zb", D("40.00"), D("15.00"))
    assert plan.refresh_invoices == ("zb",)
    assert books.calls == ["/invoices/za", "/invoices/zb"]


def test_payment_planner_applies_nothing_to_an_invoice_deleted_in_zoho() -> None:
    plan = PaymentPlanner().plan(snapshot(inv("a", "100.00", "gone", "0.00")), FakeBooks({}), CTX)
    assert plan.writes[0].payload["invoices"] == [] and plan.detail.unused_credit == D("100.00")


def test_payment_planner_on_platform_invoices_reads_nothing_from_zoho() -> None:
    books = FakeBooks({})
    plan = PaymentPlanner().plan(snapshot(inv("a", "80.00", None, "0.00", origin="platform"), amount="80.00"),
                                 books, CTX)
    (w,) = plan.writes
    assert w.op == "create_bank_transaction" and w.payload["amount"] == D("80.00") and books.calls == []


def test_payout_and_reversal_planners_make_no_zoho_call() -> None:
    books = FakeBooks({})
    payout = PayoutPlanner().plan(PayoutSnapshot(rules.PayoutFacts(
        "po", "ls:payout:po", D("100.00"), D("3.00"), D("97.00"), "USD", date(2026, 2, 3), 2), IntentDetail()),
        books, CTX)
    assert [w.payload["amount"] for w in payout.writes] == [D("97.00"), D("3.00")]
    pushed = rules.PushedPayment("p1", D("40.00"), date(2026, 2, 2), "cp1", None, D("0"), deposited=True)
    rev = ReversalPlanner().plan(ReversalSnapshot(pushed, "ls:rev:p1", date(2026, 2, 9), ("z1",),
                                                  IntentDetail(deposited=True)), books, CTX)
    assert [w.op for w in rev.writes] == ["update_customer_payment", "refund_customer_payment"]
    assert rev.refresh_invoices == ("z1",) and books.calls == []
