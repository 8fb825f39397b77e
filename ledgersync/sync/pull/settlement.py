"""The Zoho events that settled an invoice — payments, credit notes applied, a write-off — for
the invoice page, so an accountant sees *how* an invoice got to "collected", "credited" or
"written off".

Zoho's invoice detail carries only the totals (`payment_made`, `credits_applied`,
`write_off_amount`, which the pull stores on the invoice). The individual events are two more
reads (`GET /invoices/{id}/payments`, `GET /invoices/{id}/creditsapplied`), made only when the
totals say there is something to list, on first view, and cached on the invoice's external ref
keyed by Zoho's `last_modified_time` (like the PDF): a page view costs no call until the invoice
changes in Zoho. The write-off has no event list in Zoho: its amount is the event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ledgersync.store.orm import Connection, ExternalRef, Invoice
from ledgersync.sync.books_factory import ZohoAccess
from ledgersync.sync.call_log import counted_calls
from ledgersync.sync.ports import BooksGateway
from ledgersync.sync.pull.engine import open_books

CACHE_KEY = "settlement_events"


@dataclass(frozen=True)
class SettlementEvent:
    kind: str  # payment | credit | write_off
    amount: Decimal
    date: str | None = None
    number: str | None = None  # Zoho payment or credit note number
    zoho_id: str | None = None
    reference: str | None = None  # the payment's reference (ls:pay:… when the platform pushed it)
    mode: str | None = None


def _to_cache(events: list[SettlementEvent]) -> list[dict[str, Any]]:
    return [{**asdict(e), "amount": str(e.amount)} for e in events]


def _from_cache(rows: list[dict[str, Any]]) -> list[SettlementEvent]:
    return [SettlementEvent(**{**r, "amount": Decimal(r["amount"])}) for r in rows]


def _fetch(books: BooksGateway, zoho_id: str, inv: Invoice) -> list[SettlementEvent]:
    events: list[SettlementEvent] = []
    if inv.paid_amount > 0:
        for p in books.invoice_payments(zoho_id, priority="pull"):
            events.append(SettlementEvent("payment", Decimal(str(p.get("amount") or "0")).quantize(Decimal("0.01")),
                                          str(p.get("date") or "") or None, str(p.get("payment_number") or "") or None,
                                          str(p.get("payment_id") or "") or None,
                                          str(p.get("reference_number") or "") or None,
                                          str(p.get("payment_mode") or "") or None))
    if inv.credited_amount > 0:
        for c in books.invoice_credits_applied(zoho_id, priority="pull"):
            events.append(SettlementEvent("credit",
                                          Decimal(str(c.get("amount_applied") or "0")).quantize(Decimal("0.01")),
                                          str(c.get("credited_date") or "") or None,
                                          str(c.get("creditnotes_number") or "") or None,
                                          str(c.get("creditnote_id") or "") or None))
    events.sort(key=lambda e: (e.date or "", e.kind))
    return events


def invoice_events(container: ZohoAccess, invoice_id: str, *, books: BooksGateway | None = None) -> list[SettlementEvent]:
    """Payments, credits and the write-off that settled a Zoho invoice, oldest first.

    Raises whatever the Zoho client raises when the events must be fetched and Zoho does not
    answer; the caller shows the stored totals instead.
    """
    with container.uow() as uow:
        s = uow.session
        inv = s.get(Invoice, invoice_id)
        if inv is None or inv.origin != "zoho":
            return []
        ref = s.execute(
            select(ExternalRef).join(Connection, Connection.id == ExternalRef.connection_id)
            .where(ExternalRef.entity == "invoice", ExternalRef.local_id == invoice_id,
                   Connection.partner_id == inv.partner_id)
        ).scalars().first()
        write_off = ([SettlementEvent("write_off", inv.written_off_amount)] if inv.written_off_amount > 0 else [])
        if ref is None or (inv.paid_amount <= 0 and inv.credited_amount <= 0):
            return write_off
        cached = (ref.extra or {}).get(CACHE_KEY)
        if cached is not None and cached.get("modified") == ref.zoho_last_modified:
            return _from_cache(cached["events"]) + write_off
        connection_id, zoho_id, modified = ref.connection_id, ref.zoho_id, ref.zoho_last_modified
        s.expunge(inv)
    books = books or open_books(container, connection_id)
    with counted_calls(container, connection_id, "invoice_page", books):
        events = _fetch(books, zoho_id, inv)
    with container.uow() as uow:
        ref = uow.session.execute(select(ExternalRef).where(
            ExternalRef.connection_id == connection_id, ExternalRef.entity == "invoice",
            ExternalRef.zoho_id == zoho_id)).scalars().first()
        if ref is not None:
            ref.extra = {**(ref.extra or {}), CACHE_KEY: {"modified": modified, "events": _to_cache(events)}}
            uow.commit()
    return events + write_off
