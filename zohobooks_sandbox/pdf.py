"""Invoice PDFs (fpdf2): one page per invoice, from the same dict the JSON API renders, so the
PDF shows exactly the numbers a client would read from ``GET /invoices/{id}``."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from fpdf import FPDF

from .state import OrgData


def _m(value: Any, currency: str) -> str:
    return f"{currency} {Decimal(value):,.2f}"


def _latin(text: Any) -> str:
    return str(text).replace("€", "EUR").encode("latin-1", "replace").decode("latin-1")


def invoices_pdf(org: OrgData, invoices: list[dict[str, Any]]) -> bytes:
    """A PDF document with one page per rendered invoice."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(_latin(f"Invoices - {org.org.name}"))
    pdf.set_creator("Zoho Books sandbox")
    for inv in invoices:
        cur = inv.get("currency_code", org.org.currency_code)
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 10, _latin(org.org.name), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, _latin(f"Organization ID {org.organization_id}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, _latin(f"INVOICE {inv['invoice_number']}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for label, value in (("Bill to", inv["customer_name"]), ("Invoice date", inv["date"]),
                             ("Due date", inv["due_date"]), ("Terms", inv.get("payment_terms_label", "")),
                             ("Reference", inv.get("reference_number", "")), ("Status", inv["status"].upper())):
            pdf.cell(35, 6, _latin(label + ":"))
            pdf.cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 10)
        widths = (90, 25, 35, 40)
        for w, h in zip(widths, ("Item", "Qty", "Rate", "Amount"), strict=True):
            pdf.cell(w, 8, h, border="B")
        pdf.ln()
        pdf.set_font("Helvetica", "", 10)
        for li in inv.get("line_items", []):
            name = li.get("name") or li.get("description") or ""
            pdf.cell(widths[0], 7, _latin(name[:48]))
            pdf.cell(widths[1], 7, _latin(li["quantity"]))
            pdf.cell(widths[2], 7, _latin(_m(li["rate"], cur)))
            pdf.cell(widths[3], 7, _latin(_m(li["item_total"], cur)), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        rows = [("Sub total", inv.get("sub_total", 0))] + [(t["tax_name"], t["tax_amount"]) for t in inv.get("taxes", [])]
        rows += [("Total", inv["total"]), ("Payment made", inv.get("payment_made", 0)),
                 ("Credits applied", inv.get("credits_applied", 0))]
        if Decimal(inv.get("write_off_amount", 0)):
            rows.append(("Written off", inv["write_off_amount"]))
        rows.append(("Balance due", inv["balance"]))
        for label, value in rows:
            pdf.cell(150, 7, _latin(label), align="R")
            pdf.cell(40, 7, _latin(_m(value, cur)), align="R", new_x="LMARGIN", new_y="NEXT")
        if inv.get("notes"):
            pdf.ln(4)
            pdf.multi_cell(0, 5, _latin(inv["notes"]))
    return bytes(pdf.output())
