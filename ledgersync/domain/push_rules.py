"""Pure rules that turn a platform money movement into the Zoho writes that record it.

No I/O here: the push engine gathers the facts (the payment, its allocations, each invoice's
current Zoho balance, the connection's accounts) and executes the plan these functions return.
A plan is an ordered list of `ZohoWrite`s; each carries the `reference_number` Zoho stores with
the record, derived once from the outbox key, so a retry after an unknown outcome can look the
record up before writing again (Zoho has no idempotency key).

Entries chosen (documented here because the books must add up to the cent):

* **Payment on Zoho invoices** → one customer payment (`POST /customerpayments`) for the
  mapped customer, deposited to *Undeposited Funds*, `reference_number = ls:pay:{payment_id}`,
  applied to every mapped invoice. Each application is capped at the invoice's *current* Zoho
  balance (0 for a void invoice): the excess stays on the payment as the customer's unused
  credit (Zoho allows `amount` > sum applied) and the plan is flagged so the dashboard shows it.
  Invoices in another currency than the organisation's are paid in that currency with the
  invoice's exchange rate. The processing fee is *not* booked here; it is booked once, with
  the payout, so Undeposited Funds carries gross amounts like the processor's report.
* **Payment on platform-created invoices** (Zoho does not know them) → a stand-alone
  `deposit` bank transaction of the gross amount into *Undeposited Funds*,
  `reference_number = ls:pay:{payment_id}` (or `…:dep` for the platform part of a mixed
  payment), its fee stated in the description. It lands in Undeposited Funds, not in the bank,
  so the payout that carries the payment moves it to the bank with the others and the bank line
  still equals the payout net; the fee is booked with the payout's fees.
* **Payout** (gross G, fees F, net N = G − F) → two bank transactions:
  `transfer_fund` Undeposited Funds → bank account of N (`ls:payout:{id}`; the bank feed line
  equals the payout line to the cent) and `expense` Undeposited Funds → Fees account of F
  (`ls:payout:{id}:fees`, skipped when F = 0). Undeposited Funds drops by exactly G.
* **Failed payment** → if its payout was not pushed yet the Zoho payment (or stand-alone
  deposit) is deleted, which restores the invoice balances; if it was already deposited the
  payment is un-applied from its invoices (balances restored) and its full amount refunded
  from the bank account (`POST /customerpayments/{id}/refunds`, the ACH return), or for a
  stand-alone deposit a `transfer_fund` bank → Undeposited Funds of the amount followed by the
  deletion of the deposit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

WriteOp = Literal[
    "create_customer_payment",
    "create_bank_transaction",
    "update_customer_payment",
    "refund_customer_payment",
    "delete_customer_payment",
    "delete_bank_transaction",
]


class PushRuleError(ValueError):
    """The movement cannot be recorded as asked (permanent: shown on the dashboard, not retried)."""


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _num(value: Decimal) -> Decimal:
    """Amounts go to Zoho as 2-dp Decimals (the JSON encoder writes them as numbers)."""
    return money(value)


@dataclass(frozen=True)
class ZohoWrite:
    """One write to Zoho. `step` names it inside its intent (ids are recorded per step).

    `reference_number` is what a look-up after an unknown outcome searches for; `target_id`
    names the existing record for updates, refunds and deletions.
    """

    step: str
    op: WriteOp
    reference_number: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    target_id: str | None = None


@dataclass(frozen=True)
class Accounts:
    undeposited_account_id: str
    bank_account_id: str
    fees_account_id: str
    base_currency: str = "USD"
    #: the income account a stand-alone deposit comes from (its "from" in Zoho); None: not mapped
    income_account_id: str | None = None


@dataclass(frozen=True)
class InvoiceFacts:
    """An invoice a payment is allocated to, as the platform and (if mapped) Zoho see it now."""

    local_id: str
    allocated: Decimal
    origin: str  # zoho | platform
    currency_code: str
    zoho_id: str | None = None
    zoho_balance: Decimal | None = None
    zoho_status: str | None = None
    exchange_rate: Decimal = Decimal("1")


@dataclass(frozen=True)
class PaymentFacts:
    payment_id: str
    reference_number: str
    amount: Decimal
    currency_code: str
    method: str
    fee: Decimal
    paid_on: date
    customer_name: str
    customer_zoho_id: str | None
    invoices: tuple[InvoiceFacts, ...]


@dataclass(frozen=True)
class Application:
    invoice_local_id: str
    invoice_zoho_id: str
    asked: Decimal
    applied: Decimal

    @property
    def shortfall(self) -> Decimal:
        return self.asked - self.applied


@dataclass(frozen=True)
class PaymentPlan:
    writes: tuple[ZohoWrite, ...]
    applications: tuple[Application, ...] = ()
    unused_credit: Decimal = ZERO
    flags: tuple[str, ...] = ()


def payment_mode(method: str) -> str:
    """Zoho's payment_mode names for the platform's methods."""
    return {"card": "creditcard", "ach": "banktransfer"}.get(method, "others")


def apply_to_balances(invoices: tuple[InvoiceFacts, ...]) -> tuple[tuple[Application, ...], tuple[str, ...]]:
    """Cap each allocation at what Zoho's invoice can take now; say why when it could not take all.

    A void invoice takes nothing; a paid one takes nothing; a reduced one takes its balance.
    """
    apps: list[Application] = []
    flags: list[str] = []
    for inv in invoices:
        if inv.origin != "zoho" or not inv.zoho_id:
            continue
        asked = money(inv.allocated)
        if inv.zoho_status == "void":
            cap = ZERO
        elif inv.zoho_status == "draft":
            cap = ZERO
        else:
            cap = max(ZERO, money(inv.zoho_balance if inv.zoho_balance is not None else asked))
        applied = min(asked, cap)
        apps.append(Application(inv.local_id, inv.zoho_id, asked, applied))
        if applied < asked:
            why = "void" if inv.zoho_status == "void" else (
                "draft" if inv.zoho_status == "draft" else "balance in Zoho was lower")
            flags.append(
                f"invoice {inv.local_id}: {asked - applied} left as unused credit ({why}; applied {applied})"
            )
    return tuple(apps), tuple(flags)


def plan_payment(facts: PaymentFacts, accounts: Accounts) -> PaymentPlan:
    """The writes that record one succeeded platform payment in Zoho."""
    amount = money(facts.amount)
    if amount <= ZERO:
        raise PushRuleError("payment amount must be positive")
    zoho_invs = [i for i in facts.invoices if i.origin == "zoho" and i.zoho_id]
    unmapped_zoho = [i for i in facts.invoices if i.origin == "zoho" and not i.zoho_id]
    if unmapped_zoho:
        raise PushRuleError(f"invoice {unmapped_zoho[0].local_id} came from Zoho but has no Zoho id mapped")
    platform_part = money(sum((i.allocated for i in facts.invoices if i.origin != "zoho"), ZERO))
    zoho_part = amount - platform_part
    writes: list[ZohoWrite] = []
    apps: tuple[Application, ...] = ()
    flags: tuple[str, ...] = ()
    unused = ZERO
    if zoho_invs:
        if not facts.customer_zoho_id:
            raise PushRuleError("the customer is not mapped to a Zoho contact")
        currencies = {i.currency_code for i in zoho_invs}
        if len(currencies) > 1:
            raise PushRuleError("one payment cannot cover invoices in different currencies")
        currency = currencies.pop()
        apps, flags = apply_to_balances(tuple(zoho_invs))
        applied = sum((a.applied for a in apps), ZERO)
        unused = zoho_part - applied
        payload: dict[str, Any] = {
            "customer_id": facts.customer_zoho_id,
            "payment_mode": payment_mode(facts.method),
            "amount": _num(zoho_part),
            "date": facts.paid_on.isoformat(),
            "reference_number": facts.reference_number,
            "description": f"ledgersync payment {facts.payment_id} ({facts.method})",
            "account_id": accounts.undeposited_account_id,
            "invoices": [
                {"invoice_id": a.invoice_zoho_id, "amount_applied": _num(a.applied)}
                for a in apps
                if a.applied > ZERO
            ],
        }
        if currency != accounts.base_currency:
            payload["exchange_rate"] = zoho_invs[0].exchange_rate
        writes.append(
            ZohoWrite("payment", "create_customer_payment", facts.reference_number, payload)
        )
    if platform_part > ZERO:
        ref = facts.reference_number if not zoho_invs else f"{facts.reference_number}:dep"
        writes.append(
            ZohoWrite(
                "deposit",
                "create_bank_transaction",
                ref,
                standalone_deposit_payload(facts, platform_part, ref, accounts),
            )
        )
    return PaymentPlan(tuple(writes), apps, money(unused), flags)


def standalone_deposit_payload(
    facts: PaymentFacts, amount: Decimal, reference_number: str, accounts: Accounts
) -> dict[str, Any]:
    """A `deposit` into Undeposited Funds for money Zoho has no invoice for (see module doc)."""
    payload: dict[str, Any] = {
        "transaction_type": "deposit",
        "to_account_id": accounts.undeposited_account_id,
        "amount": _num(amount),
        "date": facts.paid_on.isoformat(),
        "reference_number": reference_number,
        "payment_mode": payment_mode(facts.method),
        "description": (
            f"ledgersync stand-alone deposit for payment {facts.payment_id} from {facts.customer_name}"
            f" (platform invoice; processing fee {money(facts.fee)} booked with the payout)"
        ),
        "currency_code": facts.currency_code,
    }
    if facts.customer_zoho_id:
        payload["customer_id"] = facts.customer_zoho_id
    if accounts.income_account_id:
        payload["from_account_id"] = accounts.income_account_id
    return payload


@dataclass(frozen=True)
class PayoutFacts:
    payout_id: str
    reference_number: str
    gross: Decimal
    fees: Decimal
    net: Decimal
    currency_code: str
    arrival_date: date
    payment_count: int


def plan_payout(facts: PayoutFacts, accounts: Accounts) -> tuple[ZohoWrite, ...]:
    """Transfer of the net to the bank and the fees to the Fees account (see module doc)."""
    gross, fees, net = money(facts.gross), money(facts.fees), money(facts.net)
    if gross - fees != net:
        raise PushRuleError(f"payout does not add up: {gross} - {fees} != {net}")
    if net < ZERO or fees < ZERO:
        raise PushRuleError("payout net and fees must not be negative")
    writes: list[ZohoWrite] = []
    if net > ZERO:
        writes.append(
            ZohoWrite(
                "transfer",
                "create_bank_transaction",
                facts.reference_number,
                {
                    "transaction_type": "transfer_fund",
                    "from_account_id": accounts.undeposited_account_id,
                    "to_account_id": accounts.bank_account_id,
                    "amount": _num(net),
                    "date": facts.arrival_date.isoformat(),
                    "reference_number": facts.reference_number,
                    "description": (
                        f"ledgersync payout {facts.payout_id}: {facts.payment_count} payments, "
                        f"gross {gross}, fees {fees}, net {net}"
                    ),
                    "currency_code": facts.currency_code,
                },
            )
        )
    if fees > ZERO:
        ref = f"{facts.reference_number}:fees"
        writes.append(
            ZohoWrite(
                "fees",
                "create_bank_transaction",
                ref,
                {
                    "transaction_type": "expense",
                    "from_account_id": accounts.undeposited_account_id,
                    "to_account_id": accounts.fees_account_id,
                    "amount": _num(fees),
                    "date": facts.arrival_date.isoformat(),
                    "reference_number": ref,
                    "description": f"ledgersync payout {facts.payout_id}: processing fees",
                    "currency_code": facts.currency_code,
                },
            )
        )
    return tuple(writes)


@dataclass(frozen=True)
class PushedPayment:
    """What the payment's push left in Zoho (ids recorded per step by the engine)."""

    payment_id: str
    amount: Decimal  # the Zoho customer payment's amount (0 when there is none)
    paid_on: date
    customer_payment_id: str | None
    deposit_transaction_id: str | None
    deposit_amount: Decimal = ZERO
    deposited: bool = False  # its payout's transfer is in Zoho


def plan_reversal(pushed: PushedPayment, reference_number: str, accounts: Accounts, *, on: date) -> tuple[ZohoWrite, ...]:
    """Undo a failed payment in Zoho: delete while undeposited, else un-apply and refund."""
    writes: list[ZohoWrite] = []
    if pushed.customer_payment_id:
        if not pushed.deposited:
            writes.append(ZohoWrite("delete_payment", "delete_customer_payment", target_id=pushed.customer_payment_id))
        else:
            writes.append(
                ZohoWrite(
                    "unapply",
                    "update_customer_payment",
                    target_id=pushed.customer_payment_id,
                    payload={"invoices": []},
                )
            )
            writes.append(
                ZohoWrite(
                    "refund",
                    "refund_customer_payment",
                    reference_number,
                    target_id=pushed.customer_payment_id,
                    payload={
                        "date": on.isoformat(),
                        "refund_mode": "banktransfer",
                        "amount": _num(pushed.amount),
                        "reference_number": reference_number,
                        "from_account_id": accounts.bank_account_id,
                        "description": f"ledgersync: payment {pushed.payment_id} failed after deposit (returned)",
                    },
                )
            )
    if pushed.deposit_transaction_id:
        if pushed.deposited:
            ref = f"{reference_number}:dep"
            writes.append(
                ZohoWrite(
                    "return_deposit",
                    "create_bank_transaction",
                    ref,
                    {
                        "transaction_type": "transfer_fund",
                        "from_account_id": accounts.bank_account_id,
                        "to_account_id": accounts.undeposited_account_id,
                        "amount": _num(pushed.deposit_amount),
                        "date": on.isoformat(),
                        "reference_number": ref,
                        "description": f"ledgersync: payment {pushed.payment_id} failed after deposit (returned)",
                    },
                )
            )
        writes.append(
            ZohoWrite("delete_deposit", "delete_bank_transaction", target_id=pushed.deposit_transaction_id)
        )
    return tuple(writes)


# --------------------------------------------------------------------------- when to write
#
# The engine asks these rules, with facts it read from the database, whether an intent may be
# planned now, must wait for another one (`Defer`: looked at again a few seconds later) or has
# nothing to do (`Cancel`). They decide; the engine only carries the decision out.

FINISHED_STATES = frozenset({"done", "cancelled"})
# `failed` waits for a person (the dashboard's Retry); it must not hold other pushes back.
SETTLED_STATES = FINISHED_STATES | {"failed"}


@dataclass(frozen=True)
class Proceed:
    """Plan and write now."""


@dataclass(frozen=True)
class Defer:
    """Another intent must land in Zoho first; look again shortly."""

    reason: str


@dataclass(frozen=True)
class Cancel:
    """Nothing to write: the intent closes as `cancelled` with the reason."""

    reason: str


@dataclass(frozen=True)
class CancelPaymentPush:
    """A reversal whose payment was never sent: cancel that payment's push (only if it is still
    idle and unclaimed, which the engine checks atomically), then cancel the reversal too;
    if the payment's push was claimed meanwhile, defer instead."""

    reason: str


@dataclass(frozen=True)
class ProceedReversal:
    """Undo the payment; `deposited` says whether its payout's transfer is in Zoho."""

    deposited: bool


Gate = Proceed | Defer | Cancel


@dataclass(frozen=True)
class IntentStatus:
    """How another intent stands, as far as a rule needs to know."""

    key: str
    state: str
    started: bool = False  # a write of it was sent or recorded


def payment_push_gate(payment_status: str, *, paid_out: bool, started: bool) -> Gate:
    """A payment's push goes on while the payment succeeded; if it failed meanwhile it still
    goes on when something of it may be in Zoho (a write sent: the reversal undoes it) or when
    it was paid out (the payout's transfer moves its money out of Undeposited Funds, so it must
    be there; the reversal refunds it). Otherwise there is nothing to push."""
    if payment_status == "succeeded" or started or paid_out:
        return Proceed()
    return Cancel(f"payment is {payment_status}; nothing to push")


def payout_gate(payment_pushes: Sequence[IntentStatus | None]) -> Gate:
    """A payout's transfer needs every payment it carries in Undeposited Funds first."""
    not_ready = [p for p in payment_pushes if p is None or p.state not in FINISHED_STATES]
    if not_ready:
        return Defer(f"waiting for {len(not_ready)} payment(s) of the payout to reach Zoho")
    return Proceed()


ReversalGate = Cancel | CancelPaymentPush | Defer | ProceedReversal


def reversal_gate(payment_push: IntentStatus | None, *, paid_out: bool,
                  payout_push: IntentStatus | None) -> ReversalGate:
    """Undo a failed payment only once its push has finished (and its payout's, if any).

    A payment push that never sent anything and whose payment was not paid out is cancelled
    instead (nothing reached Zoho); one that may have written is waited for, then undone.
    """
    if payment_push is None or payment_push.state == "cancelled":
        return Cancel("the payment never reached Zoho; nothing to undo")
    if payment_push.state != "done":
        if not payment_push.started and not paid_out and payment_push.state in ("pending", "waiting", "failed"):
            return CancelPaymentPush("the payment failed before it was pushed; push cancelled")
        return Defer("waiting for the payment's push to finish")
    if paid_out:
        if payout_push is not None and payout_push.state not in FINISHED_STATES:
            return Defer("waiting for the payout's deposit to reach Zoho")
        return ProceedReversal(deposited=payout_push is not None and payout_push.state == "done")
    return ProceedReversal(deposited=False)


@dataclass(frozen=True)
class Neighbour:
    """Another intent that touches one of this intent's Zoho invoices."""

    key: str
    state: str
    earlier: bool  # its cause happened before this intent's (enqueued first)
    holds: bool  # it passed its turn and has not finished: it may be writing to the invoice


def invoice_turn(neighbours: Sequence[Neighbour]) -> Proceed | Defer:
    """Pushes touching one invoice take effect in Zoho one at a time, in the order of their causes.

    An intent waits while another one on a shared invoice holds it (it may be writing, or its
    refresh of the platform's balance is not in yet) or was caused earlier and has not finished.
    So a payment made after an ACH return is planned only once the return's reversal has
    restored the invoice in Zoho (planned before, Zoho would cap it at the stale balance of 0
    and leave the money as unused credit against an open invoice), and two payments on one
    invoice never read or refresh its balance at the same time. A `failed` intent waits for a
    person and holds nothing back. Holders never wait (they passed already), and waiting only
    points at earlier intents or at holders, so no two intents ever wait for each other.
    """
    for n in neighbours:
        if n.state in SETTLED_STATES:
            continue
        if n.holds:
            return Defer(f"waiting for {n.key} on the same invoice to land in Zoho")
        if n.earlier:
            return Defer(f"waiting for the earlier {n.key} on the same invoice")
    return Proceed()


def invoices_to_refresh(
    applications: Sequence[tuple[str, Decimal]],
    zoho_balance_before: Mapping[str, Decimal | None],
    platform_outstanding: Mapping[str, Decimal | None],
    *,
    first_attempt: bool,
) -> tuple[str, ...]:
    """Zoho invoice ids to re-read after the write, so the platform shows Zoho's result.

    `applications` are (Zoho invoice id, amount applied). A re-read is skipped (one API call
    saved per invoice: the budget is what push latency is made of) when arithmetic already
    proves the platform right: on a first attempt, Zoho's balance read just before the write
    minus what is applied equals the platform's outstanding. Any other case (capped
    application, Zoho-side changes, a retry whose earlier write may have landed) is re-read.
    """
    out: list[str] = []
    for zid, applied in applications:
        before, platform = zoho_balance_before.get(zid), platform_outstanding.get(zid)
        if first_attempt and before is not None and platform is not None and before - applied == platform:
            continue
        out.append(zid)
    return tuple(out)
