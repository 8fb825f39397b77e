"""Reconciliation report: what the platform and Zoho each say, side by side, with every difference.

For one connection and a date range it compares

* **invoices** (Zoho-origin ones the platform mirrors, by issue date): balance and status;
  Zoho invoices of the range the platform does not know are listed too;
* **payments** (platform payments settled in the range, by their `ls:pay:{id}` reference):
  the Zoho customer payment (or stand-alone deposit) exists once, its amount equals the part
  of the payment on Zoho invoices, and each application equals the allocation; a failed payment
  must be gone from Zoho (deleted) or fully un-applied and refunded; Zoho records carrying a
  ledgersync reference the platform does not have are listed as well;
* **deposits** (payouts arriving in the range): the `transfer_fund` of the net amount to the
  bank and the `expense` of the fees exist with those exact amounts.

Zoho is read through the product's connector (`books_for`, priority `pull`): list calls for the
range (widened by a week so records dated a day off still match) plus one detail read per
ledgersync payment (applications are not in Zoho's list rows). Money is compared exactly.

A difference the integration expects is **explained**, not flagged: an invoice deleted in Zoho
and archived on the platform, an invoice written off in Zoho, a payment pushed and then reversed
(or never pushed) after it failed. Such a line carries an `explanation` and no `issues`, so
`differences` (what an accountant must look at, and what makes the CLI exit 1) stays empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ledgersync.store.orm import Connection, Customer, ExternalRef, Invoice, Payment, Payout, PushIntent
from ledgersync.sync import outbox
from ledgersync.sync.books_factory import ZohoAccess
from ledgersync.sync.call_log import counted_calls
from ledgersync.sync.ports import BooksGateway

ZERO = Decimal("0.00")
SLACK = timedelta(days=7)
PRIORITY = "pull"
OPEN_STATES = {"sent", "viewed", "unpaid", "overdue", "open"}
DELETED_IN_ZOHO = "deleted in Zoho Books"


@dataclass(frozen=True)
class Line:
    """One record as both sides see it (`None` = that side has nothing)."""

    section: str  # invoices | payments | deposits
    label: str
    local_id: str | None
    zoho_id: str | None
    platform_amount: Decimal | None
    zoho_amount: Decimal | None
    platform_status: str | None = None
    zoho_status: str | None = None
    issues: tuple[str, ...] = ()
    customer: str | None = None
    explanation: str | None = None  # why an expected difference is not one

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def state(self) -> str:
        """`difference` (unexplained), `explained` or `ok`."""
        return "difference" if self.issues else "explained" if self.explanation else "ok"


@dataclass
class ReconciliationReport:
    connection_id: str
    organization_id: str | None
    start: date
    end: date
    invoices: list[Line] = field(default_factory=list)
    payments: list[Line] = field(default_factory=list)
    deposits: list[Line] = field(default_factory=list)

    @property
    def differences(self) -> list[Line]:
        return [line for line in (*self.invoices, *self.payments, *self.deposits) if line.issues]

    @property
    def explained(self) -> list[Line]:
        return [line for line in self.lines() if line.state == "explained"]

    def lines(self) -> list[Line]:
        return [*self.invoices, *self.payments, *self.deposits]

    @property
    def ok(self) -> bool:
        return not self.differences

    def sections(self) -> list[tuple[str, list[Line]]]:
        return [("Invoices", self.invoices), ("Payments", self.payments), ("Deposits", self.deposits)]


def _status(value: str | None) -> str:
    value = (value or "").lower()
    return "open" if value in OPEN_STATES else value


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))


def _window(start: date, end: date) -> dict[str, str]:
    return {"date_start": (start - SLACK).isoformat(), "date_end": (end + SLACK).isoformat()}


def _in_range(value: Any, start: date, end: date) -> bool:
    try:
        d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return False
    return start <= d <= end


def reconcile(container: ZohoAccess, connection_id: str, start: date, end: date, *,
              books: BooksGateway | None = None) -> ReconciliationReport:
    """Compare platform and Zoho for one connection over [start, end] (both inclusive)."""
    if books is None:
        books = container.books_factory(container, connection_id)
    lo = datetime.combine(start, time.min, tzinfo=timezone.utc)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc)
    with container.uow() as uow:
        s = uow.session
        conn = s.get(Connection, connection_id)
        if conn is None:
            raise LookupError(f"connection {connection_id} not found")
        report = ReconciliationReport(connection_id, conn.organization_id, start, end)
        refs = {(r.entity, r.local_id): r.zoho_id for r in s.scalars(
            select(ExternalRef).where(ExternalRef.connection_id == connection_id,
                                      ExternalRef.entity.in_(("invoice", "payment", "payout"))))}
        zoho_of_local = {lid: zid for (ent, lid), zid in refs.items() if ent == "invoice"}
        invoices = s.scalars(select(Invoice).where(Invoice.partner_id == conn.partner_id,
                                                   Invoice.origin == "zoho", Invoice.issue_date >= start,
                                                   Invoice.issue_date <= end)).all()
        payments = s.scalars(select(Payment).where(Payment.partner_id == conn.partner_id,
                                                   Payment.status.in_(("succeeded", "failed")),
                                                   Payment.settled_at >= lo, Payment.settled_at < hi)).all()
        payouts = s.scalars(select(Payout).where(Payout.partner_id == conn.partner_id,
                                                 Payout.arrival_date >= start, Payout.arrival_date <= end)).all()
        customer_ids = {i.customer_id for i in invoices} | {p.customer_id for p in payments}
        names = {cid: name for cid, name in s.execute(
            select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids)))} if customer_ids else {}
        reversed_ids = set(s.scalars(select(PushIntent.subject_id).where(
            PushIntent.partner_id == conn.partner_id, PushIntent.kind == outbox.KIND_REVERSAL,
            PushIntent.state == "done")))
        origin_of = {i.id: i.origin for i in s.scalars(select(Invoice).where(Invoice.id.in_(
            {a.invoice_id for p in payments for a in p.allocations})))} if payments else {}
        _invoices(books, report, invoices, zoho_of_local, names, start, end)
        _payments(books, report, payments, zoho_of_local, origin_of, names, reversed_ids, start, end)
        _deposits(books, report, payouts, start, end)
    return report


def reconcile_partner(container: ZohoAccess, partner_id: str, start: date, end: date) -> ReconciliationReport:
    """The report for the partner's Zoho Books connection (`LookupError` if it has none)."""
    with container.uow() as uow:
        conn = outbox.find_connection(uow.session, partner_id)
        if conn is None or not conn.organization_id:
            raise LookupError("Zoho Books is not connected")
        connection_id = conn.id
    books = container.books_factory(container, connection_id)
    with counted_calls(container, connection_id, "reconciliation", books):
        return reconcile(container, connection_id, start, end, books=books)


# --------------------------------------------------------------------------- sections


def _invoices(books: BooksGateway, report: ReconciliationReport, invoices: Any, zoho_of_local: dict[str, str],
              names: dict[str, str], start: date, end: date) -> None:
    zoho = {str(r["invoice_id"]): r for r in books.list_invoices_raw(
        {"date_start": start.isoformat(), "date_end": end.isoformat()}, priority=PRIORITY)}
    seen: set[str] = set()
    for inv in invoices:
        zid = zoho_of_local.get(inv.id)
        z = zoho.get(zid or "")
        if z is None and zid:
            try:
                z = books.get_invoice_raw(zid, priority=PRIORITY)
            except Exception:  # noqa: BLE001 - not found (deleted in Zoho) is the difference to show
                z = None
        if zid:
            seen.add(zid)
        issues, explanation = _invoice_verdict(inv, z)
        report.invoices.append(Line("invoices", inv.number, inv.id, zid, inv.outstanding,
                                    _dec(z.get("balance")) if z else None, inv.settlement_status,
                                    str(z.get("status")) if z else None, tuple(issues),
                                    customer=names.get(inv.customer_id), explanation=explanation))
    for zid, z in zoho.items():
        if zid not in seen and _status(z.get("status")) not in ("draft", "void"):
            report.invoices.append(Line("invoices", str(z.get("invoice_number") or zid), None, zid, None,
                                        _dec(z.get("balance")), None, str(z.get("status")),
                                        ("missing on the platform (not pulled yet)",),
                                        customer=str(z.get("customer_name") or "") or None))


def _invoice_verdict(inv: Any, z: dict[str, Any] | None) -> tuple[list[str], str | None]:
    """(unexplained issues, explanation of an expected difference) for one platform invoice."""
    if z is None:
        if inv.archived:
            reason = inv.archived_reason or "archived"
            if reason == DELETED_IN_ZOHO:
                return [], "deleted in Zoho Books; archived on the platform (not payable)"
            return [], f"archived on the platform ({reason})"
        return ["missing in Zoho"], None
    issues: list[str] = []
    if _dec(z.get("balance")) != inv.outstanding:
        issues.append("balance differs")
    written_off = _dec(z.get("write_off_amount"))
    zoho_status = _status(z.get("status"))
    platform = _status(inv.status)
    if platform == "written_off" and zoho_status == "paid" and written_off > ZERO:
        platform = "paid"
    if zoho_status != platform and not (platform == "overdue" and zoho_status == "open"):
        issues.append("status differs")
    if issues:
        return issues, None
    if written_off > ZERO:
        return [], f"written off in Zoho Books ({written_off})"
    if inv.archived:
        return [], f"archived on the platform ({inv.archived_reason or 'archived'}); Zoho still has it"
    return [], None


def _payments(books: BooksGateway, report: ReconciliationReport, payments: Any, zoho_of_local: dict[str, str],
              origin_of: dict[str, str], names: dict[str, str], reversed_ids: set[str],
              start: date, end: date) -> None:
    window = _window(start, end)
    zpays: dict[str, list[dict[str, Any]]] = {}
    for r in books.list_customer_payments_raw(window, priority=PRIORITY):
        ref = str(r.get("reference_number") or "")
        if ref.startswith("ls:pay:"):
            zpays.setdefault(ref, []).append(r)
    ztxns: dict[str, list[dict[str, Any]]] = {}
    for r in books.list_bank_transactions_raw(window, priority=PRIORITY):
        ref = str(r.get("reference_number") or "")
        if ref.startswith("ls:"):
            ztxns.setdefault(ref, []).append(r)
    report._bank_txns = ztxns  # type: ignore[attr-defined]  # reused by the deposits section
    known: set[str] = set()
    for p in payments:
        ref = outbox.payment_key(p.id)
        known.add(ref)
        zoho_part = sum((a.amount for a in p.allocations if origin_of.get(a.invoice_id) == "zoho"), ZERO)
        platform_part = p.amount - zoho_part
        found = zpays.get(ref, [])
        deposits = ztxns.get(ref, []) + ztxns.get(f"{ref}:dep", [])
        issues: list[str] = []
        zoho_amount: Decimal | None = None
        zoho_status: str | None = None
        zid: str | None = None
        if len(found) > 1 or len(deposits) > 1:
            issues.append(f"duplicated in Zoho ({len(found) + len(deposits)} records)")
        if p.status == "succeeded":
            if zoho_part > ZERO:
                if not found:
                    issues.append("missing in Zoho")
                else:
                    zid = str(found[0]["payment_id"])
                    detail = books.get_customer_payment_raw(zid, priority=PRIORITY)
                    zoho_amount = _dec(detail.get("amount"))
                    zoho_status = "applied"
                    if zoho_amount != zoho_part:
                        issues.append("amount differs")
                    applied = {str(i["invoice_id"]): _dec(i.get("amount_applied")) for i in detail.get("invoices") or []}
                    for a in p.allocations:
                        if origin_of.get(a.invoice_id) != "zoho":
                            continue
                        got = applied.get(zoho_of_local.get(a.invoice_id, ""), ZERO)
                        if got != a.amount:
                            issues.append(f"applied {got} instead of {a.amount} (rest left as unused credit)")
            if platform_part > ZERO:
                if not deposits:
                    issues.append("stand-alone deposit missing in Zoho")
                else:
                    amount = _dec(deposits[0].get("amount"))
                    zoho_amount = (zoho_amount or ZERO) + amount
                    zid = zid or str(deposits[0].get("transaction_id"))
                    zoho_status = zoho_status or "deposited"
                    if amount != platform_part:
                        issues.append("deposit amount differs")
        else:  # failed: nothing may be left live in Zoho
            if found:
                zid = str(found[0]["payment_id"])
                detail = books.get_customer_payment_raw(zid, priority=PRIORITY)
                refunded = sum((_dec(r.get("amount")) for r in
                                books.payment_refunds(zid, priority=PRIORITY)),
                               ZERO)
                zoho_amount, zoho_status = _dec(detail.get("amount")), "reversed"
                if detail.get("invoices") or refunded != zoho_amount:
                    zoho_status = "live"
                    issues.append("failed on the platform but still applied in Zoho")
            elif deposits:
                returned = ztxns.get(outbox.reversal_key(p.id), [])
                zoho_status = "reversed" if returned else "live"
                zoho_amount = _dec(deposits[0].get("amount"))
                if not returned:
                    issues.append("failed on the platform but its deposit is still in Zoho")
            else:
                zoho_status = "deleted"
        report.payments.append(Line("payments", f"{p.method} {p.id[:8]}", p.id, zid, p.amount, zoho_amount,
                                    p.status, zoho_status, tuple(issues), customer=names.get(p.customer_id),
                                    explanation=None if issues else _payment_explanation(p.status, zoho_status,
                                                                                     p.id in reversed_ids)))
    for ref, rows in zpays.items():
        if ref not in known and any(_in_range(r.get("date"), start, end) for r in rows):
            r = rows[0]
            report.payments.append(Line("payments", ref, None, str(r.get("payment_id")), None, _dec(r.get("amount")),
                                        None, "applied", ("missing on the platform",)))


def _payment_explanation(status: str, zoho_status: str | None, reversal_done: bool) -> str | None:
    """A failed payment differs from Zoho on purpose: what happened to what was pushed."""
    if status != "failed":
        return None
    if zoho_status == "reversed":
        return "pushed, then reversed in Zoho Books after the payment failed (un-applied and refunded)"
    if reversal_done:
        return "pushed, then reversed in Zoho Books after the payment failed (deleted there)"
    return "failed before it was pushed; nothing of it is in Zoho Books"


def _deposits(books: BooksGateway, report: ReconciliationReport, payouts: Any, start: date, end: date) -> None:
    ztxns: dict[str, list[dict[str, Any]]] = getattr(report, "_bank_txns", None) or {}
    known: set[str] = set()
    for po in payouts:
        ref = outbox.payout_key(po.id)
        known.update({ref, f"{ref}:fees"})
        transfer, fees = ztxns.get(ref, []), ztxns.get(f"{ref}:fees", [])
        issues: list[str] = []
        if not transfer:
            issues.append("bank transfer missing in Zoho")
        elif len(transfer) > 1:
            issues.append(f"bank transfer duplicated in Zoho ({len(transfer)})")
        elif _dec(transfer[0].get("amount")) != po.net:
            issues.append("net amount differs")
        if po.fees > ZERO:
            if not fees:
                issues.append("fees entry missing in Zoho")
            elif _dec(fees[0].get("amount")) != po.fees:
                issues.append("fees differ")
        report.deposits.append(Line("deposits", f"payout {po.id[:8]} ({po.arrival_date})", po.id,
                                    str(transfer[0].get("transaction_id")) if transfer else None, po.net,
                                    _dec(transfer[0].get("amount")) if transfer else None, po.status,
                                    "deposited" if transfer else None, tuple(issues)))
    for ref, rows in ztxns.items():
        if ref.startswith("ls:payout:") and ref not in known and any(_in_range(r.get("date"), start, end) for r in rows):
            report.deposits.append(Line("deposits", ref, None, str(rows[0].get("transaction_id")), None,
                                        _dec(rows[0].get("amount")), None, "deposited", ("missing on the platform",)))
