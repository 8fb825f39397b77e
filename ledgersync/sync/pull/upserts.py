"""Apply validated Zoho records to the platform's tables, a page at a time.

Each function works inside the caller's transaction (the page's), looks up every external ref
of the page with one query, and returns the Zoho ids it applied cleanly. Bad records raise
`BadRecord` inside the rules; they are caught here, recorded as per-record errors, and
returned separately so the stream can retry them next run. Unchanged records (same Zoho
`last_modified_time` as stored) cost nothing and count as nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError, StatementError
from sqlalchemy.orm import Session

from ledgersync.domain import pull_rules as rules
from ledgersync.store.orm import Customer, ExternalRef, Invoice, InvoiceLineItem, InvoicePdf, new_id
from ledgersync.sync.pull.context import PullRun
from ledgersync.sync.pull.runlog import record_error

ARCHIVED_DELETED_INVOICE = "deleted in Zoho Books"

#: What a database (or a column type binding a value) raises when it refuses a row.
DB_REFUSALS: tuple[type[BaseException], ...] = (SQLAlchemyError, OverflowError, ValueError, TypeError,
                                                ArithmeticError)
#: Exceptions a rule may still raise on a record of an unexpected shape (beyond `BadRecord`).
UNREADABLE = (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError)
_ZOHO_ID = re.compile(r"^[0-9]{1,40}$")

T = TypeVar("T")


def validated(parse: Callable[[dict[str, Any]], T], row: Any, id_key: str) -> T:
    """`parse(row)`, with anything but a `BadRecord` turned into one (a record of a shape the
    rules did not foresee is quarantined with its id, never allowed to stop the run)."""
    zoho_id = str(row.get(id_key) or "")[:40] or None if isinstance(row, dict) else None
    if not isinstance(row, dict):
        raise rules.BadRecord(None, f"record is not an object ({type(row).__name__})")
    try:
        return parse(row)
    except rules.BadRecord:
        raise
    except UNREADABLE as exc:
        raise rules.BadRecord(zoho_id, f"unreadable record ({type(exc).__name__}: {str(exc)[:200]})") from None


def refusal_reason(exc: BaseException) -> str:
    """A short readable reason for a refused write (the driver's first line; never the row's values)."""
    if isinstance(exc, rules.BadRecord):
        return exc.message
    orig = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"the database refused it ({type(orig).__name__}: {first})"


def apply_rows(session: Session, run: PullRun, rows: list[dict[str, Any]], stream: str, id_key: str,
               apply: Callable[[Session, PullRun, list[dict[str, Any]]], PageOutcome]) -> PageOutcome:
    """Apply a page in the caller's transaction, which must hold no other uncommitted write.

    If the database refuses the page (a value the rules let through but a column cannot hold,
    a constraint), the page is rolled back and applied again one record at a time, each in its
    own transaction: the refused records are quarantined with the reason, the rest lands."""
    saved = replace(run.stats)
    try:
        outcome = apply(session, run, rows)
        session.flush()
        return outcome
    except DB_REFUSALS:
        session.rollback()
        run.stats = saved
    outcome = PageOutcome()
    for row in rows:
        before = replace(run.stats)
        try:
            one = apply(session, run, [row])
            session.flush()
            session.commit()
            outcome.ok_ids.extend(one.ok_ids)
            outcome.bad_ids.extend(one.bad_ids)
        except DB_REFUSALS as exc:
            session.rollback()
            run.stats = before
            zoho_id = str(row.get(id_key) or "")[:40] or None if isinstance(row, dict) else None
            record_error(session, run, zoho_id, refusal_reason(exc), stream=stream)
            session.commit()
            if zoho_id:
                outcome.bad_ids.append(zoho_id)
    return outcome


def prefetch_customers(run: PullRun, records: Iterable[Any]) -> None:
    """Customers that invoices refer to but the platform does not know yet are read from Zoho
    (one call each, outside any transaction) so `_apply_snapshot` can tell a customer created
    since our customers run (created now, with its real name) from a broken reference (Zoho
    has no such contact: the invoice is quarantined). Normally none: customers sync first."""
    from ledgersync.zoho.errors import ZohoNotFound

    wanted = {str(r.get("customer_id")) for r in records if isinstance(r, dict)
              and isinstance(r.get("customer_id"), (str, int)) and not isinstance(r.get("customer_id"), bool)}
    wanted -= set(run.contacts)
    if not wanted:
        return
    with run.container.uow() as uow:
        known = set(refs_by_zoho(uow.session, run.connection_id, "customer", wanted))
    for customer_id in sorted(wanted - known):
        if not _ZOHO_ID.match(customer_id):
            run.contacts[customer_id] = None
            continue
        try:
            run.contacts[customer_id] = run.books.contact_record(customer_id, priority="pull")
        except ZohoNotFound:
            run.contacts[customer_id] = None


@dataclass
class PageOutcome:
    ok_ids: list[str] = field(default_factory=list)
    bad_ids: list[str] = field(default_factory=list)


def refs_by_zoho(session: Session, connection_id: str, entity: str, zoho_ids: Iterable[str]) -> dict[str, ExternalRef]:
    ids = list({z for z in zoho_ids if z})
    found: dict[str, ExternalRef] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(ExternalRef).where(ExternalRef.connection_id == connection_id, ExternalRef.entity == entity,
                                      ExternalRef.zoho_id.in_(ids[start:start + 500]))
        ).scalars()
        found.update({r.zoho_id: r for r in rows})
    return found


def _by_id(session: Session, model: Any, ids: Iterable[str]) -> dict[str, Any]:
    ids = list(set(ids))
    out: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(select(model).where(model.id.in_(ids[start:start + 500]))).scalars()
        out.update({r.id: r for r in rows})
    return out


# --------------------------------------------------------------------------- customers


def upsert_customers(session: Session, run: PullRun, rows: list[dict[str, Any]]) -> PageOutcome:
    outcome = PageOutcome()
    snaps: list[rules.CustomerSnapshot] = []
    for row in rows:
        try:
            snap = validated(rules.customer_snapshot, row, "contact_id")
        except rules.BadRecord as exc:
            record_error(session, run, exc.zoho_id, exc.message, stream="customers")
            if exc.zoho_id:
                outcome.bad_ids.append(exc.zoho_id)
            continue
        if snap.is_customer:
            snaps.append(snap)
    refs = refs_by_zoho(session, run.connection_id, "customer", (s.zoho_id for s in snaps))
    customers = _by_id(session, Customer, (r.local_id for r in refs.values()))
    for snap in snaps:
        ref = refs.get(snap.zoho_id)
        outcome.ok_ids.append(snap.zoho_id)
        if ref is not None and ref.zoho_last_modified == snap.last_modified:
            continue
        current = customers.get(ref.local_id) if ref else None
        if current is None:
            fields = rules.customer_updates(None, snap)
            customer = Customer(partner_id=run.partner_id, origin="zoho", **fields)
            session.add(customer)
            session.flush()
            if ref is None:
                session.add(ExternalRef(connection_id=run.connection_id, entity="customer", local_id=customer.id,
                                        zoho_id=snap.zoho_id, zoho_last_modified=snap.last_modified))
            else:
                ref.local_id, ref.zoho_last_modified = customer.id, snap.last_modified
            run.stats.created += 1
            if customer.archived:
                run.stats.archived += 1
            continue
        local = rules.LocalCustomer(current.name, current.email, current.currency_code, current.archived,
                                    current.archived_reason)
        changes = rules.customer_updates(local, snap)
        for name, value in changes.items():
            setattr(current, name, value)
        if changes:
            run.stats.updated += 1
            if changes.get("archived") is True:
                run.stats.archived += 1
        assert ref is not None  # a customer was found through its reference
        ref.zoho_last_modified = snap.last_modified
    return outcome


def placeholder_customer(session: Session, run: PullRun, snap: rules.InvoiceSnapshot) -> str:
    """A customer first seen on an invoice (created in Zoho after our customers run): a row
    named as on the invoice; the next customers run (its bookmark is older) fills it in."""
    customer = Customer(partner_id=run.partner_id, origin="zoho", name=snap.customer_name or snap.customer_zoho_id,
                        currency_code=snap.currency_code)
    session.add(customer)
    session.flush()
    session.add(ExternalRef(connection_id=run.connection_id, entity="customer", local_id=customer.id,
                            zoho_id=snap.customer_zoho_id, zoho_last_modified=None))
    session.flush()
    return customer.id


# --------------------------------------------------------------------------- invoices


def _customer_of(session: Session, run: PullRun, snap: rules.InvoiceSnapshot) -> str:
    """Platform id of the invoice's customer, not yet known locally: created from the contact
    `prefetch_customers` read, a placeholder when nothing was prefetched (the next customers
    run fills it in), or `BadRecord` when Zoho has no such customer (a broken reference)."""
    customer_zoho_id = snap.customer_zoho_id
    if customer_zoho_id not in run.contacts:
        return placeholder_customer(session, run, snap)
    contact = run.contacts[customer_zoho_id]
    if contact is None:
        raise rules.BadRecord(snap.zoho_id, f"its customer {customer_zoho_id[:40]} does not exist in Zoho Books")
    try:
        validated(rules.customer_snapshot, contact, "contact_id")
    except rules.BadRecord as exc:
        raise rules.BadRecord(snap.zoho_id, f"its customer {customer_zoho_id} is unreadable: {exc.message}") from None
    upsert_customers(session, run, [contact])
    ref = refs_by_zoho(session, run.connection_id, "customer", [customer_zoho_id]).get(customer_zoho_id)
    if ref is None:
        raise rules.BadRecord(snap.zoho_id, f"its contact {customer_zoho_id} is not a customer")
    return ref.local_id


def _local(inv: Invoice) -> rules.LocalInvoice:
    return rules.LocalInvoice(total=inv.total, outstanding=inv.outstanding, status=inv.status, due_date=inv.due_date,
                              issue_date=inv.issue_date, number=inv.number, currency_code=inv.currency_code,
                              archived=inv.archived)


def _apply_snapshot(session: Session, run: PullRun, snap: rules.InvoiceSnapshot, ref: ExternalRef | None,
                    inv: Invoice | None, customer_refs: dict[str, ExternalRef], stale_pdfs: list[str],
                    row: dict[str, Any] | None = None) -> Invoice:
    """Create or update one invoice from a validated snapshot; returns the platform invoice.
    Invoices whose Zoho modification time moved are added to `stale_pdfs` (cached PDF invalid).
    `row` is the list row the snapshot came from: it decides whether the line items are due
    for a detail call (`mark_details_due`); None for a detail (the caller marks it read)."""
    if inv is None:
        cref = customer_refs.get(snap.customer_zoho_id)
        customer_id = cref.local_id if cref is not None else _customer_of(session, run, snap)
        if cref is None:
            customer_refs.update(refs_by_zoho(session, run.connection_id, "customer", [snap.customer_zoho_id]))
        # the id is given here, not at a flush: the page's new invoices and their refs are then
        # inserted together at the page's flush (a flush per invoice cost ~1 ms of CPU each)
        inv = Invoice(id=new_id(), partner_id=run.partner_id, customer_id=customer_id, origin="zoho",
                      line_items_synced=False, **rules.invoice_updates(None, snap),
                      **rules.settlement_updates(rules.ZERO, rules.ZERO, rules.ZERO, snap))
        session.add(inv)
        if ref is None:
            ref = ExternalRef(connection_id=run.connection_id, entity="invoice", local_id=inv.id,
                              zoho_id=snap.zoho_id, zoho_last_modified=snap.last_modified)
            session.add(ref)
        else:
            ref.local_id, ref.zoho_last_modified, ref.details_synced_at = inv.id, snap.last_modified, None
        if row is not None:
            mark_details_due(ref, row, new=True)
        run.stats.created += 1
        return inv
    changes = rules.invoice_updates(_local(inv), snap)
    changes.update(rules.settlement_updates(inv.paid_amount, inv.credited_amount, inv.written_off_amount, snap,
                                            payment_date_moved=_payment_date_moved(ref, row)))
    if inv.archived and inv.archived_reason == ARCHIVED_DELETED_INVOICE:
        changes.update(archived=False, archived_reason=None)  # listed again: our deletion verdict was stale
    for name, value in changes.items():
        setattr(inv, name, value)
    if changes:
        run.stats.updated += 1
    if ref is not None and ref.zoho_last_modified != snap.last_modified:
        ref.zoho_last_modified = snap.last_modified
        stale_pdfs.append(inv.id)
    if ref is not None and row is not None:
        mark_details_due(ref, row)
    return inv


def _payment_date_moved(ref: ExternalRef | None, row: dict[str, Any] | None) -> bool:
    """Did this list row's `last_payment_date` move since the invoice was last seen? (A list row
    cannot tell a payment from a credit otherwise; unknown counts as moved.)"""
    if ref is None or row is None:
        return True
    seen = (ref.extra or {}).get("last_payment_date")
    return seen is None or seen != str(row.get("last_payment_date") or "")


def mark_details_due(ref: ExternalRef, row: dict[str, Any], *, new: bool = False) -> None:
    """Apply the detail-call rule (`pull_rules.detail_call_reason`) to a list row: due when the
    line items can have changed; the row's fingerprint is kept for the next comparison."""
    extra = dict(ref.extra or {})
    previous = None if new else extra.get("line_item_fields")
    if rules.detail_call_reason(previous, row) is not None:
        ref.details_due = True
    extra["line_item_fields"] = rules.line_item_fingerprint(row)
    extra["last_payment_date"] = str(row.get("last_payment_date") or "")
    ref.extra = extra


def mark_details_read(ref: ExternalRef, detail: dict[str, Any], last_modified: str) -> None:
    """A detail call applied: line items are current as of `last_modified`."""
    ref.details_synced_at = last_modified
    ref.details_due = False
    ref.extra = {**(ref.extra or {}), "line_item_fields": rules.line_item_fingerprint(detail),
                 "last_payment_date": str(detail.get("last_payment_date") or "")}


def drop_stale_pdfs(session: Session, invoice_ids: list[str]) -> None:
    for start in range(0, len(invoice_ids), 500):
        session.execute(delete(InvoicePdf).where(InvoicePdf.invoice_id.in_(invoice_ids[start:start + 500])))


def upsert_invoice_summaries(session: Session, run: PullRun, rows: list[dict[str, Any]]) -> PageOutcome:
    outcome = PageOutcome()
    snaps: list[rules.InvoiceSnapshot] = []
    for row in rows:
        try:
            snaps.append(validated(rules.invoice_snapshot, row, "invoice_id"))
        except rules.BadRecord as exc:
            record_error(session, run, exc.zoho_id, exc.message, stream="invoices")
            if exc.zoho_id:
                outcome.bad_ids.append(exc.zoho_id)
    refs = refs_by_zoho(session, run.connection_id, "invoice", (s.zoho_id for s in snaps))
    moved = [s for s in snaps if s.zoho_id not in refs or refs[s.zoho_id].zoho_last_modified != s.last_modified]
    outcome.ok_ids.extend(s.zoho_id for s in snaps)
    if not moved:
        return outcome
    customer_refs = refs_by_zoho(session, run.connection_id, "customer", (s.customer_zoho_id for s in moved))
    invoices = _by_id(session, Invoice, (refs[s.zoho_id].local_id for s in moved if s.zoho_id in refs))
    stale: list[str] = []
    rows_by_id = {str(r.get("invoice_id")): r for r in rows}
    for snap in moved:
        ref = refs.get(snap.zoho_id)
        try:
            _apply_snapshot(session, run, snap, ref, invoices.get(ref.local_id) if ref else None, customer_refs, stale,
                            row=rows_by_id.get(snap.zoho_id) or {})
        except rules.BadRecord as exc:  # a broken reference: refused before anything of it was written
            record_error(session, run, snap.zoho_id, exc.message, stream="invoices")
            outcome.ok_ids.remove(snap.zoho_id)
            outcome.bad_ids.append(snap.zoho_id)
    drop_stale_pdfs(session, stale)
    return outcome


def apply_invoice_details(session: Session, run: PullRun,
                          details: list[dict[str, Any]]) -> tuple[list[str], list[rules.BadRecord]]:
    """Whole invoices with line items, a batch at a time (one query per table, not per
    invoice); marks their details as synced. Bad records are validated out BEFORE any write,
    so they never leave half an invoice behind. Returns (applied Zoho ids, bad records)."""
    parsed: list[tuple[rules.InvoiceSnapshot, list[rules.LineItemSnapshot]]] = []
    bad: list[rules.BadRecord] = []
    raw_by_id: dict[str, dict[str, Any]] = {}
    for detail in details:
        try:
            parsed.append((validated(rules.invoice_snapshot, detail, "invoice_id"),
                           validated(rules.line_items, detail, "invoice_id")))
            raw_by_id[str(detail.get("invoice_id"))] = detail
        except rules.BadRecord as exc:
            if exc.zoho_id is None and isinstance(detail, dict):
                exc.zoho_id = str(detail.get("invoice_id") or "")[:40] or None
            bad.append(exc)
    if not parsed:
        return [], bad
    refs = refs_by_zoho(session, run.connection_id, "invoice", (s.zoho_id for s, _ in parsed))
    customer_refs = refs_by_zoho(session, run.connection_id, "customer", (s.customer_zoho_id for s, _ in parsed))
    invoices = _by_id(session, Invoice, (r.local_id for r in refs.values()))
    stale: list[str] = []
    applied: list[tuple[rules.InvoiceSnapshot, list[rules.LineItemSnapshot], Invoice]] = []
    for snap, items in parsed:
        ref = refs.get(snap.zoho_id)
        try:
            inv = _apply_snapshot(session, run, snap, ref, invoices.get(ref.local_id) if ref else None, customer_refs,
                                  stale)
        except rules.BadRecord as exc:  # a broken reference: refused before anything of it was written
            bad.append(exc)
            continue
        applied.append((snap, items, inv))
    session.flush()
    missing = [s.zoho_id for s, _, _ in applied if s.zoho_id not in refs]
    if missing:
        refs.update(refs_by_zoho(session, run.connection_id, "invoice", missing))
    ids = [inv.id for _, _, inv in applied]
    for start in range(0, len(ids), 500):
        session.execute(delete(InvoiceLineItem).where(InvoiceLineItem.invoice_id.in_(ids[start:start + 500])))
    rows = [
        {"id": new_id(), "invoice_id": inv.id, "position": item.position, "name": item.name,
         "description": item.description, "quantity": item.quantity, "rate": item.rate, "amount": item.amount,
         "tax_amount": item.tax_amount, "zoho_line_item_id": item.zoho_line_item_id or None}
        for _, items, inv in applied for item in items
    ]
    if rows:
        session.execute(insert(InvoiceLineItem), rows)
    for snap, _, inv in applied:
        inv.line_items_synced = True
        ref = refs[snap.zoho_id]
        ref.zoho_last_modified = snap.last_modified
        mark_details_read(ref, raw_by_id[snap.zoho_id], snap.last_modified)
    drop_stale_pdfs(session, stale)
    return [s.zoho_id for s, _, _ in applied], bad


def apply_invoice_detail(session: Session, run: PullRun, detail: dict[str, Any]) -> None:
    """One whole invoice with line items (raises `BadRecord`)."""
    _, bad = apply_invoice_details(session, run, [detail])
    if bad:
        raise bad[0]
