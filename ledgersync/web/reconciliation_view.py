"""How the reconciliation report is shown: one table of every line, differences first, with the
filters and sort an accountant asks for, and the same rows as CSV.

The report itself (`ledgersync.sync.push.reconcile`) decides what is a difference and what is an
explained, expected one; this module only selects, orders and formats its lines, so the page and
the CSV export can never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledgersync.sync.push.reconcile import Line, ReconciliationReport

KINDS = ("invoices", "payments", "deposits")
SHOW = ("all", "differences", "explained")
STATE_RANK = {"difference": 0, "explained": 1, "ok": 2}
KIND_LABEL = {"invoices": "Invoice", "payments": "Payment", "deposits": "Deposit"}


def _amount_key(value: Decimal | None) -> tuple[int, Decimal]:
    return (1, Decimal(0)) if value is None else (0, value)


SORTS: dict[str, Callable[[Line], Any]] = {
    "state": lambda ln: STATE_RANK[ln.state],
    "kind": lambda ln: ln.section,
    "record": lambda ln: ln.label.lower(),
    "customer": lambda ln: (ln.customer or "").lower(),
    "platform": lambda ln: _amount_key(ln.platform_amount),
    "zoho": lambda ln: _amount_key(ln.zoho_amount),
    "platform_status": lambda ln: ln.platform_status or "",
    "zoho_status": lambda ln: ln.zoho_status or "",
    "zoho_id": lambda ln: ln.zoho_id or "",
}


@dataclass(frozen=True)
class ReportView:
    """The query of the page: which lines, in which order."""

    show: str = "all"
    kind: str = ""
    customer: str = ""
    sort: str = "state"
    desc: bool = False

    @classmethod
    def from_query(cls, q: Mapping[str, str]) -> ReportView:
        show = q.get("show") or "all"
        kind = q.get("kind") or ""
        sort = q.get("sort") or "state"
        return cls(show=show if show in SHOW else "all", kind=kind if kind in KINDS else "",
                   customer=(q.get("customer") or "").strip(), sort=sort if sort in SORTS else "state",
                   desc=q.get("dir") == "desc")

    def select(self, report: ReconciliationReport) -> list[Line]:
        """The lines to show; whatever the sort, ties keep differences first."""
        lines = report.lines()
        if self.show == "differences":
            lines = [ln for ln in lines if ln.state == "difference"]
        elif self.show == "explained":
            lines = [ln for ln in lines if ln.state == "explained"]
        if self.kind:
            lines = [ln for ln in lines if ln.section == self.kind]
        if self.customer:
            needle = self.customer.lower()
            lines = [ln for ln in lines if needle in (ln.customer or "").lower()]
        lines.sort(key=SORTS["state"])
        lines.sort(key=SORTS[self.sort], reverse=self.desc)
        return lines

    def params(self, **changes: str) -> dict[str, str]:
        """The query string of this view with some parameters changed (for links)."""
        base = {"show": self.show, "kind": self.kind, "customer": self.customer, "sort": self.sort,
                "dir": "desc" if self.desc else "asc", "page": ""}
        base.update(changes)
        return {k: v for k, v in base.items() if v}

    def sort_dir_for(self, column: str) -> str:
        """Clicking a column's header sorts by it ascending, or flips it when it is the current one."""
        return "desc" if self.sort == column and not self.desc else "asc"


CSV_HEADER = ("state", "kind", "record", "customer", "platform_amount", "zoho_amount", "platform_status",
              "zoho_status", "zoho_id", "platform_id", "difference", "explanation")


def _text(value: str | None) -> str:
    """A text cell a spreadsheet will not run as a formula (names come from Zoho, typed by anyone)."""
    value = value or ""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(lines: list[Line]) -> str:
    """The lines as CSV (amounts as exact decimals, blank when a side has nothing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for ln in lines:
        writer.writerow((ln.state, ln.section, _text(ln.label), _text(ln.customer),
                         "" if ln.platform_amount is None else str(ln.platform_amount),
                         "" if ln.zoho_amount is None else str(ln.zoho_amount), ln.platform_status or "",
                         _text(ln.zoho_status), ln.zoho_id or "", ln.local_id or "", "; ".join(ln.issues),
                         ln.explanation or ""))
    return out.getvalue()
