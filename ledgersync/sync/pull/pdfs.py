"""Invoice PDFs from Zoho: fetched lazily on first view, cached in `invoice_pdfs` keyed by the
invoice's Zoho `last_modified_time`, invalidated when the invoice changes (the pull engine
drops the cache row when the modification time moves; the key check covers any race).
The partner gets `/invoices/{id}/pdf`; their customer a signed, expiring link (HMAC of the
deployment's secret key), so no login is needed and links cannot be forged or reused forever.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from sqlalchemy import select

from ledgersync.store.orm import Connection, ExternalRef, Invoice, InvoicePdf
from ledgersync.sync.call_log import counted_calls
from ledgersync.sync.pull.context import PullPorts, open_books

LINK_TTL_S = 30 * 24 * 3600


class PdfUnavailable(LookupError):
    """The invoice is not a Zoho invoice of a live connection (platform invoices have no Zoho PDF)."""


def invoice_pdf(container: PullPorts, invoice_id: str, *, books=None) -> bytes:  # type: ignore[no-untyped-def]
    """The invoice's PDF, from the cache when Zoho's copy has not changed since, else from Zoho
    (one call) and cached."""
    with container.uow() as uow:
        s = uow.session
        inv = s.get(Invoice, invoice_id)
        if inv is None or inv.origin != "zoho":
            raise PdfUnavailable(invoice_id)
        row = s.execute(
            select(ExternalRef.connection_id, ExternalRef.zoho_id, ExternalRef.zoho_last_modified)
            .join(Connection, Connection.id == ExternalRef.connection_id)
            .where(ExternalRef.entity == "invoice", ExternalRef.local_id == invoice_id, Connection.partner_id == inv.partner_id)
        ).first()
        if row is None:
            raise PdfUnavailable(invoice_id)
        connection_id, zoho_id, modified = row
        cached = s.get(InvoicePdf, invoice_id)
        if cached is not None and cached.zoho_last_modified == modified:
            return cached.content
    books = books or open_books(container, connection_id)
    with counted_calls(container, connection_id, "pdf", books):
        content = books.get_pdf(zoho_id, priority="pull")
    with container.uow() as uow:
        cached = uow.session.get(InvoicePdf, invoice_id)
        if cached is None:
            uow.session.add(InvoicePdf(invoice_id=invoice_id, zoho_last_modified=modified, content=content))
        else:
            cached.zoho_last_modified, cached.content = modified, content
        uow.commit()
    return content


def _signature(secret: str, invoice_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"pdf:{invoice_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_pdf_path(container: PullPorts, invoice_id: str, *, ttl_s: int = LINK_TTL_S, now: float | None = None) -> str:
    """A path the partner can send to their customer: `/p/invoices/{id}/pdf?e=…&s=…`."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    sig = _signature(container.settings.secret_key.get_secret_value(), invoice_id, expires)
    return f"/p/invoices/{invoice_id}/pdf?e={expires}&s={sig}"


def verify_pdf_link(container: PullPorts, invoice_id: str, expires: int, signature: str, *, now: float | None = None) -> bool:
    if expires < (now if now is not None else time.time()):
        return False
    expected = _signature(container.settings.secret_key.get_secret_value(), invoice_id, expires)
    return hmac.compare_digest(expected, signature)
