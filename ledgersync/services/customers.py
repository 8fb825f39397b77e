"""The partner's customers (platform-created here; Zoho-origin ones arrive by the pull sync)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from ledgersync.domain.money import iso_currency
from ledgersync.services._session import detached
from ledgersync.services.errors import InvalidInput, NotFound
from ledgersync.services.paging import Page, fetch, sorted_by
from ledgersync.store import orm
from ledgersync.sync.ports import Transactional


def create_customer(
    container: Transactional, partner_id: str, *, name: str, email: str | None = None, currency: str | None = None
) -> orm.Customer:
    """A platform-origin customer of the partner (never pushed to Zoho)."""
    if not name.strip() or len(name) > 300:
        raise InvalidInput("name", "must be 1 to 300 characters")
    if email is not None and len(email) > 320:
        raise InvalidInput("email", "must be at most 320 characters")
    with container.uow() as uow:
        partner = uow.session.get(orm.Partner, partner_id)
        if partner is None:
            raise NotFound("partner", partner_id)
        code = iso_currency(currency or partner.base_currency)
        if code is None:
            raise InvalidInput("currency_code", "must be an ISO 4217 currency code such as USD or EUR")
        row = orm.Customer(partner_id=partner_id, name=name.strip(), email=email, currency_code=code, origin="platform")
        uow.session.add(row)
        uow.commit()
        return row


#: what a list of customers may be sorted by (the dashboard adds what they owe)
CUSTOMER_SORTS: dict[str, Any] = {
    "name": func.lower(orm.Customer.name), "email": func.lower(orm.Customer.email),
    "currency": orm.Customer.currency_code, "source": orm.Customer.origin, "state": orm.Customer.archived,
}


def list_customers(container: Transactional, partner_id: str, **filters: Any) -> list[orm.Customer]:
    """The partner's customers by name (one page: `page_customers`)."""
    return page_customers(container, partner_id, **filters).items


def page_customers(
    container: Transactional,
    partner_id: str,
    *,
    search: str | None = None,
    archived: bool | None = False,
    sort: str | None = None,
    desc: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> Page[orm.Customer]:
    """One page of the partner's customers by name and the total; `archived=None` means both."""
    stmt = select(orm.Customer).where(orm.Customer.partner_id == partner_id)
    if archived is not None:
        stmt = stmt.where(orm.Customer.archived == archived)
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(or_(func.lower(orm.Customer.name).like(like), func.lower(orm.Customer.email).like(like)))
    if sort is not None:
        stmt = sorted_by(stmt, CUSTOMER_SORTS, sort, desc, orm.Customer.name, orm.Customer.id)
    else:
        stmt = stmt.order_by(orm.Customer.name, orm.Customer.id)
    with container.uow() as uow:
        rows, total = fetch(uow.session, stmt, limit, offset)
        return detached(uow, Page(rows, total, limit, offset))


def get_customer(container: Transactional, partner_id: str, customer_id: str) -> orm.Customer:
    """One customer of the partner; another partner's id is `NotFound`."""
    with container.uow() as uow:
        row = uow.session.get(orm.Customer, customer_id)
        if row is None or row.partner_id != partner_id:
            raise NotFound("customer", customer_id)
        return detached(uow, row)
