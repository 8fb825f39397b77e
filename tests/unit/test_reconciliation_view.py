"""The reconciliation page's selection, order and CSV, on hand-made report lines."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

from ledgersync.sync.push.reconcile import Line, ReconciliationReport
from ledgersync.web.reconciliation_view import ReportView, to_csv


def _report() -> ReconciliationReport:
    r = ReconciliationReport("c", "org", date(2026, 1, 1), date(2026, 1, 31))
    r.invoices = [Line("invoices", "INV-2", "i2", "z2", D("10.00"), D("10.00"), "open", "sent", customer="Beta"),
                  Line("invoices", "INV-1", "i1", "z1", D("5.00"), None, "open", None, ("missing in Zoho",),
                       customer="Acme"),
                  Line("invoices", "INV-3", "i3", "z3", D("0.00"), None, "open", None, customer="Acme",
                       explanation="deleted in Zoho Books; archived on the platform")]
    r.payments = [Line("payments", "card p1", "p1", None, D("7.00"), None, "succeeded", None, ("missing in Zoho",),
                       customer="=cmd|' /C calc'!A0")]
    return r


def test_differences_come_first_then_explained_then_ok() -> None:
    lines = ReportView().select(_report())
    assert [ln.state for ln in lines] == ["difference", "difference", "explained", "ok"]


def test_filters_differences_only_kind_and_customer() -> None:
    r = _report()
    assert [ln.label for ln in ReportView(show="differences").select(r)] == ["INV-1", "card p1"]
    assert [ln.label for ln in ReportView(kind="payments").select(r)] == ["card p1"]
    assert [ln.label for ln in ReportView(customer="acme").select(r)] == ["INV-1", "INV-3"]
    assert [ln.label for ln in ReportView(show="explained").select(r)] == ["INV-3"]


def test_sort_by_column_both_ways_missing_amounts_last() -> None:
    r = _report()
    assert [ln.label for ln in ReportView(sort="record").select(r)] == ["card p1", "INV-1", "INV-2", "INV-3"]
    assert [ln.label for ln in ReportView(sort="platform", desc=True).select(r)][0] == "INV-2"
    assert [ln.label for ln in ReportView(sort="zoho").select(r)][0] == "INV-2"


def test_query_parsing_ignores_unknown_values() -> None:
    v = ReportView.from_query({"show": "bogus", "kind": "x", "sort": "drop table", "dir": "desc"})
    assert (v.show, v.kind, v.sort, v.desc) == ("all", "", "state", True)


def test_csv_has_every_selected_line_exact_amounts_and_no_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(ReportView().select(_report())))))
    assert [r["record"] for r in rows] == ["INV-1", "card p1", "INV-3", "INV-2"]
    assert rows[0]["platform_amount"] == "5.00" and rows[0]["zoho_amount"] == ""
    assert rows[1]["customer"].startswith("'=")
    assert rows[2]["explanation"].startswith("deleted in Zoho")
