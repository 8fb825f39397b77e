"""Payouts: settled payments sent to the partner's bank, minus the processor's fees.

The payout and its deposit push intent commit together; the payments are locked while they
are claimed so one payment never lands in two payouts.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select

from ledgersync.domain import payments as pay_rules
from ledgersync.domain.money import iso_currency
from ledgersync.services._session import detached
from ledgersync.services.errors import Conflict, InvalidInput, NotFound
from ledgersync.services.paging import Page, fetch, sorted_by
from ledgersync.store import orm
from ledgersync.sync import outbox
from ledgersync.sync.ports import Dispatching


def create_payout(
    container: Dispatching,
    partner_id: str,
    *,
    payment_ids: list[str] | None = None,
    currency: str | None = None,
    arrival_date: date | None = None,
) -> orm.Payout:
    """A payout of the given payments, or of every succeeded payment not yet paid out.

    Without `payment_ids` the payout takes the eligible payments in `currency` (default: the
    partner's base currency). gross − fees = net; the Zoho deposit push is enqueued.
    """
    with container.uow() as uow:
        partner = uow.session.get(orm.Partner, partner_id)
        if partner is None:
            raise NotFound("partner", partner_id)
        code = iso_currency(currency or partner.base_currency)
        if code is None:
            raise InvalidInput("currency_code", "must be an ISO 4217 currency code such as USD or EUR")
        rows = _claim(uow.session, partner_id, payment_ids, code)
        try:
            totals = pay_rules.compose_payout(_candidate(r) for r in rows)
        except pay_rules.PayoutError as err:
            raise (InvalidInput("payment_ids", str(err)) if payment_ids else Conflict(str(err))) from err
        payout = orm.Payout(
            partner_id=partner_id,
            currency_code=totals.currency,
            gross=totals.gross,
            fees=totals.fees,
            net=totals.net,
            status="paid",
            arrival_date=arrival_date or datetime.now(timezone.utc).date(),
        )
        uow.session.add(payout)
        uow.session.flush()
        for row in rows:
            row.payout_id = payout.id
        outbox.enqueue_payout_push(uow, payout.id)
        uow.commit()
        result = detached(uow, payout)
    outbox.notify(container, partner_id)
    return result


def _claim(session, partner_id: str, payment_ids: list[str] | None, currency: str) -> list[orm.Payment]:  # type: ignore[no-untyped-def]
    stmt = select(orm.Payment).where(orm.Payment.partner_id == partner_id)
    if payment_ids:
        stmt = stmt.where(orm.Payment.id.in_(set(payment_ids)))
    else:
        stmt = stmt.where(
            orm.Payment.status == pay_rules.SUCCEEDED,
            orm.Payment.payout_id.is_(None),
            orm.Payment.currency_code == currency,
        )
    rows = list(session.scalars(stmt.order_by(orm.Payment.id).with_for_update()))
    if payment_ids:
        missing = set(payment_ids) - {r.id for r in rows}
        if missing:
            raise InvalidInput("payment_ids", f"payment not found: {sorted(missing)[0]}")
    return rows


def _candidate(row: orm.Payment) -> pay_rules.PayoutCandidate:
    return pay_rules.PayoutCandidate(row.id, row.amount, row.fee, row.currency_code, row.status, row.payout_id)


#: what a list of payouts may be sorted by
PAYOUT_SORTS: dict[str, Any] = {
    "arrival": orm.Payout.arrival_date, "gross": orm.Payout.gross, "fees": orm.Payout.fees, "net": orm.Payout.net,
    "status": orm.Payout.status,
}


def list_payouts(container: Dispatching, partner_id: str, *, limit: int = 100, offset: int = 0) -> list[orm.Payout]:
    """The partner's payouts, newest first (one page: `page_payouts`)."""
    return page_payouts(container, partner_id, limit=limit, offset=offset).items


def page_payouts(container: Dispatching, partner_id: str, *, sort: str | None = None, desc: bool = False,
                 limit: int = 100, offset: int = 0) -> Page[orm.Payout]:
    """One page of the partner's payouts, newest first (or by a key of `PAYOUT_SORTS`), and the total."""
    stmt = select(orm.Payout).where(orm.Payout.partner_id == partner_id)
    if sort is not None:
        stmt = sorted_by(stmt, PAYOUT_SORTS, sort, desc, orm.Payout.created_at.desc(), orm.Payout.id)
    else:
        stmt = stmt.order_by(orm.Payout.created_at.desc(), orm.Payout.id)
    with container.uow() as uow:
        rows, total = fetch(uow.session, stmt, limit, offset)
        return detached(uow, Page(rows, total, limit, offset))


def get_payout(container: Dispatching, partner_id: str, payout_id: str) -> orm.Payout:
    """One payout of the partner; another partner's id is `NotFound`."""
    with container.uow() as uow:
        row = uow.session.get(orm.Payout, payout_id)
        if row is None or row.partner_id != partner_id:
            raise NotFound("payout", payout_id)
        return detached(uow, row)


def payout_payment_ids(container: Dispatching, partner_id: str, payout_id: str) -> list[str]:
    """Ids of the payments in a payout (scoped to the partner)."""
    with container.uow() as uow:
        return list(
            uow.session.scalars(
                select(orm.Payment.id)
                .where(orm.Payment.partner_id == partner_id, orm.Payment.payout_id == payout_id)
                .order_by(orm.Payment.id)
            )
        )
