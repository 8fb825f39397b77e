"""After a push's writes: make the platform's invoices show Zoho's balance and status."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ledgersync.store.orm import ExternalRef, Invoice
from ledgersync.sync.ports import BooksGateway, Transactional
from ledgersync.zoho.errors import ZohoNotFound


def refresh_invoices(container: Transactional, books: BooksGateway, zoho_ids: tuple[str, ...]) -> None:
    """Make the platform's invoices show Zoho's balance and status after our write.

    Runs after every write of the intent and BEFORE it is `done`: a Zoho error here propagates
    and the intent is retried (its steps are recorded, so only the reads are repeated). Done
    first would let a dependent intent (the reversal of this payment) write to Zoho while this
    refresh still holds an older read; if the dependent's own refresh then failed, the older
    read stayed on the platform.

    The Zoho read happens outside any transaction (no lock is held while Zoho or the rate
    limiter makes us wait). Two pushes never refresh one invoice at the same time: the intent
    holds its turn on its invoices (`push_rules.invoice_turn`) until `_finish`, so the last
    refresh of an invoice always read Zoho after the last push write to it. An invoice deleted
    in Zoho is left to the pull.
    """
    for zid in zoho_ids:
        with container.uow() as uow:
            ref = uow.session.scalars(select(ExternalRef).where(ExternalRef.entity == "invoice",
                                                                ExternalRef.zoho_id == zid)).first()
            local_id = ref.local_id if ref is not None else None
        if local_id is None:
            continue
        try:
            zinv = books.get_invoice_raw(zid, priority="push")
        except ZohoNotFound:
            continue  # deleted in Zoho: the pull archives it
        with container.uow() as uow:
            inv = uow.session.get(Invoice, local_id)
            if inv is None:
                continue
            inv.outstanding = Decimal(str(zinv.get("balance", inv.outstanding))).quantize(Decimal("0.01"))
            status = str(zinv.get("status", inv.status))
            inv.status = {"sent": "open", "viewed": "open", "unpaid": "open"}.get(status, status)
            uow.commit()
