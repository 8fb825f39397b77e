"""Sync ONE record now (a webhook's hint): re-read it from Zoho — never trust the payload —
and apply it, or archive it if Zoho no longer has it. One call per hint."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ledgersync.domain.pull_rules import ARCHIVED_DELETED
from ledgersync.store.orm import Connection, Customer, ExternalRef, Invoice
from ledgersync.sync.ports import PullGateway
from ledgersync.sync.pull.context import PullPorts, PullRun, open_books
from ledgersync.sync.pull.runlog import finish_run, record_error, resolve_errors, start_run
from ledgersync.sync.pull.upserts import DB_REFUSALS, apply_invoice_details, prefetch_customers, refusal_reason, upsert_customers
from ledgersync.zoho.errors import ZohoError, ZohoNotFound

ENTITIES = {"invoice": ("/invoices", "invoice", "invoice_details"), "contact": ("/contacts", "contact", "customers")}


def sync_record(container: PullPorts, connection_id: str, entity: str, zoho_id: str, *, books: PullGateway | None = None,
                trigger: str = "webhook") -> str:
    """Returns "applied", "archived", "bad" or "unknown" (entity we do not sync). A Zoho
    failure is raised after the run row says why; the run row is closed whatever happens."""
    if entity not in ENTITIES:
        return "unknown"
    path, key, stream = ENTITIES[entity]
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None:
            return "unknown"
        partner_id = conn.partner_id
    books = books if books is not None else open_books(container, connection_id)
    run = PullRun(container=container, connection_id=connection_id, partner_id=partner_id, stream=f"record:{entity}",
                  owner=uuid.uuid4().hex, run_id=start_run(container.session_factory, connection_id, f"record:{entity}", trigger),
                  books=books, trigger=trigger, calls_at_start=books.calls_made)
    outcome, status, message = "applied", "failed", f"{entity} {zoho_id}: interrupted"
    try:
        try:
            body = books.record(path, zoho_id, priority="pull")
        except ZohoNotFound:
            body = None
        except ZohoError as exc:
            message = f"{entity} {zoho_id}: Zoho call failed: {exc}"
            raise
        record = body.get(key) if isinstance(body, dict) else None
        record = record if isinstance(record, dict) else {}
        if body is not None and entity == "invoice":
            prefetch_customers(run, [record])
        try:
            outcome = _apply(container, run, entity, zoho_id, stream, body, record, first=True)
        except IntegrityError:  # a concurrent stream run created the same record first
            outcome = _apply(container, run, entity, zoho_id, stream, body, record, first=False)
        status = "partial" if outcome == "bad" else "succeeded"
        message = f"{entity} {zoho_id}: {outcome}"
        return outcome
    except ZohoError:
        raise
    except Exception as exc:
        message = f"{entity} {zoho_id}: interrupted by an internal error ({type(exc).__name__})"
        raise
    finally:
        finish_run(container.session_factory, run, status, message)


def _apply(container: PullPorts, run: PullRun, entity: str, zoho_id: str, stream: str, body: Any,
           record: dict[str, Any], *, first: bool) -> str:
    """One transaction: archive, apply, or quarantine (the rules' reason, or the database's)."""
    with container.uow() as uow:
        saved = replace(run.stats)
        try:
            if body is None:
                outcome = "archived" if _archive(uow.session, run.connection_id, entity, zoho_id) else "applied"
                run.stats.archived += outcome == "archived"
            elif entity == "invoice":
                ok, bad = apply_invoice_details(uow.session, run, [record])
                for exc in bad:
                    record_error(uow.session, run, zoho_id, exc.message, stream=stream)
                for name in ("invoices", "invoice_details"):  # listed bad, or fetched bad
                    resolve_errors(uow.session, run.connection_id, name, ok)
                outcome = "bad" if bad else "applied"
            else:
                result = upsert_customers(uow.session, run, [record])
                if result.ok_ids:
                    resolve_errors(uow.session, run.connection_id, stream, result.ok_ids)
                outcome = "bad" if result.bad_ids else "applied"
            uow.session.flush()
        except IntegrityError:
            if first:
                raise
            uow.session.rollback()
            run.stats = saved
            record_error(uow.session, run, zoho_id, "the database refused it twice (a conflicting write)", stream=stream)
            outcome = "bad"
        except DB_REFUSALS as exc:
            uow.session.rollback()
            run.stats = saved
            record_error(uow.session, run, zoho_id, refusal_reason(exc), stream=stream)
            outcome = "bad"
        uow.commit()
    return outcome


def _archive(session: Any, connection_id: str, entity: str, zoho_id: str) -> bool:
    ref_entity, model = ("invoice", Invoice) if entity == "invoice" else ("customer", Customer)
    local_id = session.execute(
        select(ExternalRef.local_id).where(ExternalRef.connection_id == connection_id, ExternalRef.entity == ref_entity,
                                           ExternalRef.zoho_id == zoho_id)
    ).scalar_one_or_none()
    if local_id is None:
        return False
    result = session.execute(
        update(model).where(model.id == local_id, model.archived.is_(False))
        .values(archived=True, archived_reason=ARCHIVED_DELETED).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def ensure_line_items(container: PullPorts, invoice_id: str, *, books: PullGateway | None = None) -> bool:
    """On demand (someone opened the invoice): when its line items are missing (the budget plan
    skipped an old paid one) or older than its last modification (an edit the hourly pull did
    not need to read, issue 13), re-read it now, one call. True when the invoice has current
    line items afterwards (no call when they already are)."""
    with container.uow() as uow:
        row = uow.session.execute(
            select(Invoice.line_items_synced, ExternalRef.connection_id, ExternalRef.zoho_id,
                   ExternalRef.details_synced_at, ExternalRef.zoho_last_modified, ExternalRef.details_due)
            .join(ExternalRef, ExternalRef.local_id == Invoice.id)
            .where(Invoice.id == invoice_id, ExternalRef.entity == "invoice")
        ).first()
    if row is None:
        return False
    synced, connection_id, zoho_id, read_at, modified, due = row
    if synced and not due and read_at == modified:
        return True
    return sync_record(container, connection_id, "invoice", zoho_id, books=books, trigger="manual") == "applied"
