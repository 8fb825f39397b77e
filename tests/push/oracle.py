"""The fault campaign's oracle: what Zoho must hold, computed without the engine's help.

Two sources only, both independent of the push engine:

* the platform's own **ledger** — payments (status, amount, allocations, payout), payouts
  (gross, fees, net) — which the engine reads but never writes; and
* **Zoho's state before the workload** (`ZohoBefore`), read straight from the sandbox's memory
  by the campaign when it creates each invoice and when it starts: never through the product's
  client, and never from anything the engine wrote back (the platform's `outstanding`, which
  the engine refreshes from Zoho, or the intents' recorded ids and amounts).

From these the oracle derives every Zoho record and balance the documented entries imply
(`ledgersync/domain/push_rules.py`, module doc) and compares them with the sandbox's state at the
end, record by record:

* each succeeded payment → one customer payment `ls:pay:{id}` of the Zoho part, deposited to
  Undeposited Funds, applied per invoice `min(allocation, the invoice's balance left)` (the cap;
  the rest stays as unused credit), plus for platform invoices a stand-alone deposit of the
  platform part;
* each payout → a `transfer_fund` Undeposited Funds → bank of its net and an `expense`
  Undeposited Funds → fees of its fees;
* each failed payment → nothing live in Zoho (deleted, or un-applied and fully refunded);
* each Zoho invoice's balance = before − Σ applications of succeeded payments;
* Undeposited Funds, the bank and the fees account end at before + what the ledger implies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ledgersync.store import orm

ZERO = Decimal("0.00")


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


@dataclass
class ZohoBefore:
    """Zoho as it was before the platform's pushes, read from the sandbox's memory.

    `invoices`: local invoice id → (Zoho invoice id, balance in Zoho before any push).
    `accounts`: account id → debit balance at the start, plus whatever the campaign itself did
    in Zoho as the Zoho user (`user_moved`), so only the product's writes remain to explain.
    """

    undeposited: str
    bank: str
    fees: str
    accounts: dict[str, Decimal] = field(default_factory=dict)
    invoices: dict[str, tuple[str, Decimal]] = field(default_factory=dict)

    @classmethod
    def start(cls, org: Any, *, undeposited: str, bank: str, fees: str) -> ZohoBefore:
        before = cls(undeposited, bank, fees)
        before.accounts = {a: org.accounts[a].debit_balance for a in (undeposited, bank, fees)}
        return before

    def invoice(self, org: Any, local_id: str, zoho_id: str) -> None:
        self.invoices[local_id] = (zoho_id, org.invoices[zoho_id].balance)

    def user_moved(self, org: Any, before: dict[str, Decimal]) -> None:
        """Add what a Zoho-user action (not the product) moved on the three accounts."""
        for acc in self.accounts:
            self.accounts[acc] += org.accounts[acc].debit_balance - before[acc]

    def balances(self, org: Any) -> dict[str, Decimal]:
        return {a: org.accounts[a].debit_balance for a in self.accounts}


@dataclass
class Verdict:
    payments: int = 0  # succeeded payments found in Zoho exactly as the ledger says
    payouts: int = 0
    returns: int = 0  # payments that failed after they had succeeded (ACH returns)
    duplicates: int = 0
    lost: int = 0
    wrong_amount: int = 0
    not_reversed: int = 0
    balance_mismatches: int = 0
    undeposited_mismatch: int = 0  # cents: Zoho's end balance − the ledger's
    bank_mismatch: int = 0
    fees_mismatch: int = 0
    problems: list[str] = field(default_factory=list)

    def bad(self, what: str, problem: str) -> None:
        setattr(self, what, getattr(self, what) + 1)
        self.problems.append(f"{what}: {problem}")

    @property
    def failures(self) -> int:
        return (self.duplicates + self.lost + self.wrong_amount + self.not_reversed + self.balance_mismatches
                + abs(self.undeposited_mismatch) + abs(self.bank_mismatch) + abs(self.fees_mismatch))


def _by_reference(records: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for r in records:
        out[r.reference_number].append(r)
    return out


def judge(container: Any, org: Any, partner_id: str, before: ZohoBefore) -> Verdict:
    """Compare Zoho's end state with what the ledger and `before` imply (see module doc)."""
    v = Verdict()
    zpays = _by_reference(org.payments.values())
    ztxns = _by_reference(org.bank_transactions.values())
    refs: Counter[str] = Counter()
    for rec in (*org.payments.values(), *org.bank_transactions.values()):
        refs[rec.reference_number] += 1
    for p in org.payments.values():
        for r in p.refunds:
            refs[r.reference_number] += 1
    for ref, n in sorted(refs.items()):
        if ref.startswith("ls:") and n > 1:
            v.duplicates += n - 1
            v.problems.append(f"duplicates: {n} Zoho records carry {ref}")
    with container.uow() as uow:
        s = uow.session
        payments = s.scalars(select(orm.Payment).where(orm.Payment.partner_id == partner_id)
                             .options(selectinload(orm.Payment.allocations))
                             .order_by(orm.Payment.created_at, orm.Payment.id)).all()
        payouts = s.scalars(select(orm.Payout).where(orm.Payout.partner_id == partner_id)).all()
        origin = dict(s.execute(select(orm.Invoice.id, orm.Invoice.origin)
                                .where(orm.Invoice.partner_id == partner_id)).all())
        left = {local: bal for local, (_zid, bal) in before.invoices.items()}
        undeposited = before.accounts[before.undeposited]
        bank = before.accounts[before.bank]
        fees = before.accounts[before.fees]
        for p in payments:
            if p.status == "succeeded":
                undeposited += p.amount
                _succeeded(v, p, origin, left, before, zpays, ztxns)
            elif p.status == "failed":
                returned_after_payout = p.payout_id is not None
                if p.settled_at is not None:
                    v.returns += 1
                if returned_after_payout:  # in UF with its payout, then refunded from the bank
                    undeposited += p.amount
                    bank -= p.amount
                _failed(v, p, zpays, ztxns)
        for po in payouts:
            undeposited -= po.gross
            bank += po.net
            fees += po.fees
            _payout(v, po, before, ztxns)
    for local, (zid, _bal) in sorted(before.invoices.items()):
        actual = org.invoices[zid].balance if zid in org.invoices else None
        if actual != left[local]:
            v.bad("balance_mismatches", f"invoice {local} (Zoho {zid}): expected balance {left[local]}, Zoho {actual}")
    end = before.balances(org)
    v.undeposited_mismatch = cents(end[before.undeposited] - undeposited)
    v.bank_mismatch = cents(end[before.bank] - bank)
    v.fees_mismatch = cents(end[before.fees] - fees)
    for name, exp, got in (("Undeposited Funds", undeposited, end[before.undeposited]),
                           ("bank", bank, end[before.bank]), ("fees", fees, end[before.fees])):
        if exp != got:
            v.problems.append(f"account: {name} ends at {got}, the ledger implies {exp}")
    return v


def _succeeded(v: Verdict, p: orm.Payment, origin: dict[str, str], left: dict[str, Decimal],
               before: ZohoBefore, zpays: dict[str, list[Any]], ztxns: dict[str, list[Any]]) -> None:
    ref = f"ls:pay:{p.id}"
    zoho_allocs = [(a.invoice_id, a.amount) for a in p.allocations if origin.get(a.invoice_id) == "zoho"]
    platform_part = sum((a.amount for a in p.allocations if origin.get(a.invoice_id) != "zoho"), ZERO)
    ok = True
    if zoho_allocs:
        expected: dict[str, Decimal] = {}
        for local, alloc in zoho_allocs:
            applied = min(alloc, max(ZERO, left[local]))  # the documented cap
            left[local] -= applied
            if applied > ZERO:
                expected[before.invoices[local][0]] = applied
        zoho_part = sum((a for _i, a in zoho_allocs), ZERO)
        found = zpays.get(ref, [])
        if not found:
            v.bad("lost", f"payment {p.id}: no Zoho customer payment {ref}")
            ok = False
        else:
            zp = found[0]
            got = {a.invoice_id: a.amount_applied for a in zp.invoices if a.amount_applied}
            if zp.amount != zoho_part or got != expected or zp.refunded_amount != ZERO \
                    or zp.account_id != before.undeposited:
                v.bad("wrong_amount", f"payment {p.id}: Zoho {zp.amount} applied {got} refunded "
                                      f"{zp.refunded_amount} to {zp.account_id}; expected {zoho_part} applied "
                                      f"{expected} to {before.undeposited}")
                ok = False
    if platform_part > ZERO:
        dref = ref if not zoho_allocs else f"{ref}:dep"
        deps = ztxns.get(dref, [])
        if not deps:
            v.bad("lost", f"payment {p.id}: no stand-alone deposit {dref}")
            ok = False
        elif (deps[0].amount, deps[0].transaction_type, deps[0].to_account_id) != (
                platform_part, "deposit", before.undeposited):
            v.bad("wrong_amount", f"payment {p.id}: deposit {deps[0].transaction_type} {deps[0].amount} to "
                                  f"{deps[0].to_account_id}; expected deposit {platform_part} to {before.undeposited}")
            ok = False
    v.payments += ok


def _failed(v: Verdict, p: orm.Payment, zpays: dict[str, list[Any]], ztxns: dict[str, list[Any]]) -> None:
    ref = f"ls:pay:{p.id}"
    for zp in zpays.get(ref, []):
        if zp.invoices or zp.refunded_amount != zp.amount:
            v.bad("not_reversed", f"failed payment {p.id}: Zoho payment {zp.payment_id} still applied "
                                  f"{[(a.invoice_id, a.amount_applied) for a in zp.invoices]}, refunded "
                                  f"{zp.refunded_amount} of {zp.amount}")
    for dref in (ref, f"{ref}:dep"):
        for t in ztxns.get(dref, []):
            v.bad("not_reversed", f"failed payment {p.id}: stand-alone deposit {t.transaction_id} still in Zoho")


def _payout(v: Verdict, po: orm.Payout, before: ZohoBefore, ztxns: dict[str, list[Any]]) -> None:
    ok = True
    for ref, amount, kind, to in ((f"ls:payout:{po.id}", po.net, "transfer_fund", before.bank),
                                  (f"ls:payout:{po.id}:fees", po.fees, "expense", before.fees)):
        found = ztxns.get(ref, [])
        if amount == ZERO:
            continue
        if not found:
            v.bad("lost", f"payout {po.id}: no {kind} {ref}")
            ok = False
            continue
        t = found[0]
        if (t.amount, t.transaction_type, t.from_account_id, t.to_account_id) != (amount, kind, before.undeposited, to):
            v.bad("wrong_amount", f"payout {po.id}: {t.transaction_type} {t.amount} {t.from_account_id}→"
                                  f"{t.to_account_id}; expected {kind} {amount} {before.undeposited}→{to}")
            ok = False
    v.payouts += ok
