"""Unit tests of the pure push rules (no database, no Zoho)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledgersync.domain.push_rules import (
    Accounts,
    InvoiceFacts,
    PaymentFacts,
    PayoutFacts,
    PushedPayment,
    PushRuleError,
    plan_payment,
    plan_payout,
    plan_reversal,
)

ACC = Accounts("uf", "bank", "fees", "USD")


def pay(*invoices: InvoiceFacts, amount: str = "100.00", fee: str = "3.20") -> PaymentFacts:
    return PaymentFacts(
        payment_id="p1",
        reference_number="ls:pay:p1",
        amount=D(amount),
        currency_code="USD",
        method="card",
        fee=D(fee),
        paid_on=date(2026, 1, 5),
        customer_name="Acme",
        customer_zoho_id="c9",
        invoices=invoices,
    )


def zinv(local: str, allocated: str, balance: str, status: str = "sent", cur: str = "USD", rate: str = "1") -> InvoiceFacts:
    return InvoiceFacts(local, D(allocated), "zoho", cur, f"z{local}", D(balance), status, D(rate))


def test_full_payment_is_one_customer_payment_to_undeposited_funds() -> None:
    plan = plan_payment(pay(zinv("i1", "100.00", "100.00")), ACC)
    (w,) = plan.writes
    assert w.op == "create_customer_payment" and w.reference_number == "ls:pay:p1"
    assert w.payload["account_id"] == "uf" and w.payload["amount"] == D("100.00")
    assert w.payload["invoices"] == [{"invoice_id": "zi1", "amount_applied": D("100.00")}]
    assert "exchange_rate" not in w.payload and plan.unused_credit == 0 and plan.flags == ()


def test_multi_invoice_payment_is_one_zoho_payment_applied_to_each() -> None:
    plan = plan_payment(pay(zinv("a", "60.00", "60.00"), zinv("b", "40.00", "90.00")), ACC)
    (w,) = plan.writes
    assert [i["amount_applied"] for i in w.payload["invoices"]] == [D("60.00"), D("40.00")]


def test_reduced_or_void_invoice_leaves_excess_as_flagged_credit() -> None:
    plan = plan_payment(pay(zinv("a", "60.00", "25.50"), zinv("b", "40.00", "40.00", status="void")), ACC)
    (w,) = plan.writes
    assert w.payload["amount"] == D("100.00")
    assert w.payload["invoices"] == [{"invoice_id": "za", "amount_applied": D("25.50")}]
    assert plan.unused_credit == D("74.50")
    assert len(plan.flags) == 2 and "void" in plan.flags[1]


def test_foreign_currency_invoice_carries_exchange_rate() -> None:
    facts = pay(zinv("e", "100.00", "100.00", cur="EUR", rate="1.0825"))
    (w,) = plan_payment(facts, ACC).writes
    assert w.payload["exchange_rate"] == D("1.0825")


def test_mixed_currencies_refused() -> None:
    with pytest.raises(PushRuleError):
        plan_payment(pay(zinv("a", "50.00", "50.00"), zinv("b", "50.00", "50.00", cur="EUR")), ACC)


def test_platform_invoice_becomes_standalone_deposit_into_undeposited_funds() -> None:
    inv = InvoiceFacts("pi", D("100.00"), "platform", "USD")
    (w,) = plan_payment(pay(inv), ACC).writes
    assert w.op == "create_bank_transaction" and w.reference_number == "ls:pay:p1"
    assert w.payload["transaction_type"] == "deposit" and w.payload["to_account_id"] == "uf"
    assert w.payload["amount"] == D("100.00") and "3.20" in w.payload["description"]
    assert "from_account_id" not in w.payload  # no income account mapped: Zoho's deposit without one


def test_standalone_deposit_comes_from_the_mapped_income_account() -> None:
    from dataclasses import replace

    inv = InvoiceFacts("pi", D("100.00"), "platform", "USD")
    (w,) = plan_payment(pay(inv), replace(ACC, income_account_id="sales")).writes
    assert w.payload["from_account_id"] == "sales" and w.payload["to_account_id"] == "uf"
    mixed = plan_payment(pay(zinv("a", "70.00", "70.00"), InvoiceFacts("pi", D("30.00"), "platform", "USD")),
                         replace(ACC, income_account_id="sales"))
    assert "from_account_id" not in mixed.writes[0].payload  # the customer payment has no "from"
    assert mixed.writes[1].payload["from_account_id"] == "sales"


def test_mixed_origin_payment_splits_into_payment_and_deposit() -> None:
    plan = plan_payment(pay(zinv("a", "70.00", "70.00"), InvoiceFacts("pi", D("30.00"), "platform", "USD")), ACC)
    assert [w.op for w in plan.writes] == ["create_customer_payment", "create_bank_transaction"]
    assert plan.writes[0].payload["amount"] == D("70.00")
    assert plan.writes[1].reference_number == "ls:pay:p1:dep" and plan.writes[1].payload["amount"] == D("30.00")


def test_payout_moves_net_to_bank_and_fees_to_fees_account() -> None:
    facts = PayoutFacts("po", "ls:payout:po", D("1000.00"), D("29.30"), D("970.70"), "USD", date(2026, 1, 9), 3)
    transfer, fees = plan_payout(facts, ACC)
    assert (transfer.payload["from_account_id"], transfer.payload["to_account_id"]) == ("uf", "bank")
    assert transfer.payload["amount"] == D("970.70") and transfer.payload["transaction_type"] == "transfer_fund"
    assert (fees.payload["from_account_id"], fees.payload["to_account_id"]) == ("uf", "fees")
    assert fees.payload["amount"] == D("29.30") and fees.reference_number == "ls:payout:po:fees"


def test_payout_must_add_up() -> None:
    with pytest.raises(PushRuleError):
        plan_payout(PayoutFacts("po", "r", D("10.00"), D("1.00"), D("8.00"), "USD", date(2026, 1, 9), 1), ACC)


def test_reversal_deletes_undeposited_payment() -> None:
    pushed = PushedPayment("p1", D("100.00"), date(2026, 1, 5), "zp", None)
    (w,) = plan_reversal(pushed, "ls:rev:p1", ACC, on=date(2026, 1, 9))
    assert w.op == "delete_customer_payment" and w.target_id == "zp"


def test_reversal_of_deposited_payment_unapplies_and_refunds_from_bank() -> None:
    pushed = PushedPayment("p1", D("100.00"), date(2026, 1, 5), "zp", None, deposited=True)
    unapply, refund = plan_reversal(pushed, "ls:rev:p1", ACC, on=date(2026, 1, 9))
    assert unapply.op == "update_customer_payment" and unapply.payload == {"invoices": []}
    assert refund.op == "refund_customer_payment" and refund.payload["amount"] == D("100.00")
    assert refund.payload["from_account_id"] == "bank"


def test_reversal_of_deposited_standalone_returns_money_then_deletes() -> None:
    pushed = PushedPayment("p1", D("0"), date(2026, 1, 5), None, "zt", D("30.00"), deposited=True)
    ret, delete = plan_reversal(pushed, "ls:rev:p1", ACC, on=date(2026, 1, 9))
    assert ret.payload["from_account_id"] == "bank" and ret.payload["amount"] == D("30.00")
    assert delete.op == "delete_bank_transaction" and delete.target_id == "zt"
