"""What the `ledgersync sync` and `ledgersync reconcile` commands print: rich progress bars and
tables over the sync layer's results (presentation stays out of `ledgersync.sync`)."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import or_, select

from ledgersync.bootstrap import Container
from ledgersync.services.partners import find_user_by_email
from ledgersync.store.orm import Connection, Partner, User
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.progress import initial_sync_progress
from ledgersync.sync.pull.service import INCREMENTAL_STREAMS, sync_connection
from ledgersync.sync.push.reconcile import ReconciliationReport, reconcile_partner


def _connections(container: Container, partner: str | None) -> list[tuple[str, str]]:
    with container.uow() as uow:
        query = (select(Connection.id, Partner.name).join(Partner, Partner.id == Connection.partner_id)
                 .where(Connection.organization_id.is_not(None)))
        if partner:
            users = select(User.partner_id).where(User.email == partner)
            query = query.where(or_(Partner.id == partner, Partner.name == partner, Partner.id.in_(users)))
        return [(cid, name) for cid, name in uow.session.execute(query).all()]


def cli_sync(container: Container, partner: str | None, stream: str | None, initial: bool, console: Console) -> int:
    targets = _connections(container, partner)
    if not targets:
        console.print("[red]No connected Zoho Books organisation found[/red]" + (f" for {partner!r}" if partner else ""))
        return 1
    code = 0
    for connection_id, name in targets:
        console.print(f"[bold]{name}[/bold] (connection {connection_id})")
        if initial:
            code |= _initial_with_progress(container, connection_id, console)
            continue
        streams = [s for s in (stream or "").split(",") if s] or None
        if streams and any(s not in INCREMENTAL_STREAMS for s in streams):
            console.print(f"[red]Unknown stream; choose from {', '.join(INCREMENTAL_STREAMS)}[/red]")
            return 2
        results = sync_connection(container, connection_id, trigger="manual", streams=streams)
        if not results:  # the initial sync ran instead
            code |= _initial_with_progress(container, connection_id, console)
            continue
        table = Table("stream", "status", "created", "updated", "archived", "calls", "errors", "note")
        for r in results:
            table.add_row(r.stream, r.status, str(r.created), str(r.updated), str(r.archived), str(r.calls),
                          str(r.errors), (r.message or "")[:60])
            code |= 1 if r.status == "failed" else 0
        console.print(table)
    return code


def _initial_with_progress(container: Container, connection_id: str, console: Console) -> int:
    outcome: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: outcome.update(run_initial_sync(container, connection_id)), daemon=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                  TextColumn("{task.fields[detail]}"), console=console) as bar:
        task = bar.add_task("initial sync", total=100, detail="")
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
            with container.uow() as uow:
                p = initial_sync_progress(uow.session, connection_id)
            bar.update(task, completed=p["percent"], description=f"initial sync ({p['phase'] or 'starting'})",
                       detail=f"{p['invoices_done']}/{p['invoices_total'] or p['invoices_listed']} invoices")
        with container.uow() as uow:
            p = initial_sync_progress(uow.session, connection_id)
        bar.update(task, completed=p["percent"])
    if p["phase"] == "done":
        console.print("[green]Initial sync complete; the connection is Connected.[/green]")
        return 0
    if p.get("budget_exhausted_until"):
        console.print(f"Zoho's daily API budget is used up; the history continues at {p['budget_exhausted_until']} "
                      f"(estimated completion {p['history_finish_estimate']}).")
        return 0
    console.print(f"[yellow]Initial sync stopped in phase {p['phase']}; see the sync log.[/yellow]")
    return 1



def render_report(report: ReconciliationReport, console: Console) -> None:
    """Rich tables, one per section, differences first in red, explained ones in yellow with
    their explanation, then a one-line verdict."""
    for title, lines in report.sections():
        table = Table(title=f"{title} {report.start} → {report.end} (Zoho org {report.organization_id})")
        for col, justify in (("record", "left"), ("platform", "right"), ("Zoho", "right"), ("platform status", "left"),
                             ("Zoho status", "left"), ("Zoho id", "left"), ("difference", "left")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        rank = {"difference": 0, "explained": 1, "ok": 2}
        for ln in sorted(lines, key=lambda line: rank[line.state]):
            style = {"difference": "red", "explained": "yellow"}.get(ln.state)
            verdict = "; ".join(ln.issues) or (f"explained: {ln.explanation}" if ln.explanation else "ok")
            table.add_row(ln.label, "" if ln.platform_amount is None else str(ln.platform_amount),
                          "" if ln.zoho_amount is None else str(ln.zoho_amount), ln.platform_status or "",
                          ln.zoho_status or "", ln.zoho_id or "", verdict, style=style)
        console.print(table)
    n, explained = len(report.differences), len(report.explained)
    note = f" {explained} expected difference(s) explained." if explained else ""
    if n:
        console.print(f"[red]{n} difference(s).[/red]{note}")
    else:
        console.print(f"[green]No unexplained differences.{note}[/green]" if explained else "[green]No differences.[/green]")


def cli_reconcile(container: Container, partner_email: str, date_from: str, date_to: str, console: Console) -> int:
    """`ledgersync reconcile`: 0 when both sides agree or every difference is explained, 1 when
    there are unexplained differences, 2 on bad input."""
    try:
        start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
    except ValueError:
        console.print("[red]--from/--to must be dates like 2026-01-31[/red]")
        return 2
    user = find_user_by_email(container, partner_email)
    if user is None:
        console.print(f"[red]No partner user {partner_email}[/red]")
        return 2
    try:
        report = reconcile_partner(container, user.partner_id, start, end)
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    render_report(report, console)
    return 1 if report.differences else 0
