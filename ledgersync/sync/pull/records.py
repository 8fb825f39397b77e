"""Sync ONE record now (a webhook's hint): re-read it from Zoho — never trust the payload —
and apply it, or archive it if Zoho no longer has it. One call per hint."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ledgersync.bootstrap import Container
from ledgersync.domain.pull_rules import ARCHIVED_DELETED, BadRecord
from ledgersync.store.orm import Connection, Customer, ExternalRef, Invoice
from ledgersync.sync.pull.context import PullRun
from ledgersync.sync.pull.engine import open_books
from ledgersync.sync.pull.runlog import finish_run, record_error, start_run
from ledgersync.sync.pull.upserts import apply_invoice_details, upsert_customers
from ledgersync.zoho.errors import ZohoNotFound

ENTITIES = {"invoice": ("/invoices", "invoice", "invoice_details"), "contact": ("/contacts", "contact", "customers")}


def sync_record(container: Container, connection_id: str, entity: str, zoho_id: str, *, books: Any = None,
                trigger: str = "webhook") -> str:
    """Returns "applied", "archived", "bad" or "unknown" (entity we do not sync)."""
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
                  books=books, trigger=trigger, calls_at_start=int(getattr(books, "calls_made", 0)))
    outcome = "applied"
    try:
        body = books.get(f"{path}/{zoho_id}", priority="pull")
    except ZohoNotFound:
        body = None
    for _attempt in range(2):  # a concurrent stream run may create the same record first
        try:
            with container.uow() as uow:
                if body is None:
                    outcome = "archived" if _archive(uow.session, connection_id, entity, zoho_id) else "applied"
                    run.stats.archived += outcome == "archived"
                elif entity == "invoice":
                    _, bad = apply_invoice_details(uow.session, run, [body.get(key) or {}])
                    for exc in bad:
                        record_error(uow.session, run, zoho_id, exc.message, stream=stream)
                        outcome = "bad"
                else:
                    result = upsert_customers(uow.session, run, [body.get(key) or {}])
                    outcome = "bad" if result.bad_ids else "applied"
                uow.commit()
            break
        except IntegrityError:
            continue
        except BadRecord as exc:  # pragma: no cover - rules errors are caught above
            outcome = "bad"
            del exc
            break
    finish_run(container.session_factory, run, "partial" if outcome == "bad" else "succeeded", f"{entity} {zoho_id}: {outcome}")
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
