"""An intent's turn on the Zoho invoices it touches (the rule is `push_rules.invoice_turn`)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledgersync.domain import push_rules as rules
from ledgersync.domain.push_intent import IntentDetail
from ledgersync.store.orm import Invoice, PaymentAllocation, PushIntent
from ledgersync.sync import outbox

INVOICE_KINDS = (outbox.KIND_PAYMENT, outbox.KIND_STANDALONE, outbox.KIND_REVERSAL)


def lock_invoices(session: Session, intent_id: str, invoice_ids: tuple[str, ...]) -> None:
    """Serialise turn decisions on these invoices until the transaction ends.

    PostgreSQL: the invoice rows `FOR UPDATE`, in id order (no two workers lock in opposite
    orders), taken before the intent's own row. SQLite has no row locks: a no-op write of the
    intent row takes the database's write lock, so the reads that follow see every committed
    turn and no other writer can slip in before the commit. The transaction makes no Zoho call.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(PushIntent).where(PushIntent.id == intent_id)
                        .values(lease_owner=PushIntent.lease_owner).execution_options(synchronize_session=False))
        return
    session.execute(select(Invoice.id).where(Invoice.id.in_(invoice_ids)).order_by(Invoice.id).with_for_update())


def neighbours(session: Session, intent: PushIntent, invoice_ids: tuple[str, ...]) -> list[rules.Neighbour]:
    """Unsettled intents that touch one of these invoices, other than `intent` itself."""
    rows = session.execute(
        select(PushIntent.id, PushIntent.key, PushIntent.state, PushIntent.created_at, PushIntent.detail)
        .join(PaymentAllocation, PaymentAllocation.payment_id == PushIntent.subject_id)
        .where(PushIntent.kind.in_(INVOICE_KINDS), PaymentAllocation.invoice_id.in_(invoice_ids),
               PushIntent.id != intent.id, PushIntent.state.not_in(tuple(rules.SETTLED_STATES)))
    ).all()
    mine = (intent.created_at, intent.id)
    seen: dict[str, rules.Neighbour] = {}
    for rid, key, state, created_at, detail in rows:
        seen[rid] = rules.Neighbour(key, state, earlier=(created_at, rid) < mine,
                                    holds=IntentDetail.from_json(detail).holds_invoices)
    return list(seen.values())
