"""`ledgersync sync [--partner …] [--stream …] [--initial]`: run a pull now, with a rich
progress bar for the initial sync (phase, invoices done/total, history finish estimate)."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import or_, select

from ledgersync.bootstrap import Container
from ledgersync.store.orm import Connection, Partner, User
from ledgersync.sync.pull.initial import run_initial_sync
from ledgersync.sync.pull.progress import initial_sync_progress
from ledgersync.sync.pull.service import INCREMENTAL_STREAMS, sync_connection


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
