"""Platform invoices: creation with line items, and the partner's invoice list.

Invoices from Zoho are written by the pull sync; here the partner creates platform-origin ones
(never pushed to Zoho; a payment on them becomes a stand-alone deposit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from ledgersync.domain.invoices import (
    COLLECTED,
    CREDITED,
    PARTIALLY_CREDITED,
    STANDING_LABELS,
    STANDINGS,
    STATUSES,
    invoice_status,
)
from ledgersync.domain.money import (
    CENT,
    MAX_AMOUNT,
    MAX_QUANTITY,
    MAX_RATE,
    MAX_UNIT_DECIMALS,
    ZERO,
    bounded_decimal,
)
from ledgersync.services._session import detached
from ledgersync.services.errors import InvalidInput, NotFound
from ledgersync.services.paging import Page, fetch, sorted_by
from ledgersync.store import orm
from ledgersync.sync.ports import Transactional


@dataclass(frozen=True)
class LineItemInput:
    name: str
    quantity: Decimal
    rate: Decimal
    description: str = ""
    tax_amount: Decimal = ZERO


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def create_invoice(
    container: Transactional,
    partner_id: str,
    *,
    customer_id: str,
    line_items: list[LineItemInput],
    due_date: date | None = None,
    issue_date: date | None = None,
    number: str | None = None,
) -> orm.Invoice:
    """A platform invoice in the customer's currency; total = Σ(quantity × rate, to the cent) + tax."""
    if not line_items:
        raise InvalidInput("line_items", "at least one line item is required")
    if len(line_items) > MAX_LINE_ITEMS:
        raise InvalidInput("line_items", f"at most {MAX_LINE_ITEMS} line items")
    amounts = [_line_amount(i, item) for i, item in enumerate(line_items)]
    total = sum(amounts, ZERO) + sum((item.tax_amount for item in line_items), ZERO)
    if total > MAX_AMOUNT:
        raise InvalidInput("line_items", f"the invoice total {total} is over the maximum {MAX_AMOUNT}")
    if number is not None:
        number = number.strip()
        if not number or len(number) > MAX_NUMBER_CHARS:
            raise InvalidInput("number", f"must be 1 to {MAX_NUMBER_CHARS} characters")
    issue = issue_date or today_utc()
    if due_date is not None and due_date < issue:
        raise InvalidInput("due_date", "is before the issue date")
    for _attempt in range(NUMBER_ATTEMPTS):
        with container.uow() as uow:
            customer = uow.session.get(orm.Customer, customer_id)
            if customer is None or customer.partner_id != partner_id:
                raise InvalidInput("customer_id", "customer not found")
            if number is None and uow.session.get_bind().dialect.name != "sqlite":
                # numbering is serialised per partner (the partner row's lock); the unique index and
                # the retry below remain the guarantee where locks are not available
                uow.session.get(orm.Partner, partner_id, with_for_update=True)
            chosen = number or _next_number(uow.session, partner_id)
            if number is not None and _number_taken(uow.session, partner_id, number):
                raise InvalidInput("number", f"{number} is already used by another invoice")
            invoice = orm.Invoice(
                partner_id=partner_id,
                customer_id=customer_id,
                number=chosen,
                currency_code=customer.currency_code,
                issue_date=issue,
                due_date=due_date,
                total=total,
                outstanding=total,
                status=invoice_status(total, total, due_date, today_utc()),
                origin="platform",
                line_items=[_line_row(i, item, amt) for i, (item, amt) in enumerate(zip(line_items, amounts, strict=True))],
            )
            uow.session.add(invoice)
            try:
                uow.commit()
            except IntegrityError:  # another request took the number between our look-up and insert
                uow.session.rollback()
                if number is not None:
                    raise InvalidInput("number", f"{number} is already used by another invoice") from None
                continue
            return detached(uow, invoice)
    raise InvalidInput("number", "could not allocate an invoice number; please try again")


MAX_LINE_ITEMS = 500
MAX_NUMBER_CHARS = 100
MAX_TEXT_CHARS = 2000
NUMBER_ATTEMPTS = 10


def _line_amount(index: int, item: LineItemInput) -> Decimal:
    """quantity x rate to the cent, after every part was checked against what the database and Zoho take."""
    field = f"line_items[{index}]"
    if not item.name.strip() or len(item.name) > 300:
        raise InvalidInput(f"{field}.name", "must be 1 to 300 characters")
    if len(item.description) > MAX_TEXT_CHARS:
        raise InvalidInput(f"{field}.description", f"must be at most {MAX_TEXT_CHARS} characters")
    for name, value, maximum, places, positive in (
        ("quantity", item.quantity, MAX_QUANTITY, MAX_UNIT_DECIMALS, True),
        ("rate", item.rate, MAX_RATE, MAX_UNIT_DECIMALS, False),
        ("tax_amount", item.tax_amount, MAX_AMOUNT, 2, False),
    ):
        problem = bounded_decimal(Decimal(value), maximum=maximum, places=places, strictly_positive=positive)
        if problem:
            raise InvalidInput(f"{field}.{name}", problem)
    amount = (item.quantity * item.rate).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"{field}.rate", f"quantity x rate is {amount}, over the maximum {MAX_AMOUNT}")
    return amount


def _line_row(position: int, item: LineItemInput, amount: Decimal) -> orm.InvoiceLineItem:
    return orm.InvoiceLineItem(
        position=position,
        name=item.name,
        description=item.description,
        quantity=item.quantity,
        rate=item.rate,
        amount=amount,
        tax_amount=item.tax_amount,
    )


def _next_number(session, partner_id: str) -> str:  # type: ignore[no-untyped-def]
    """`PL-<n+1>` after the highest `PL-<n>` of the partner (not a count: deleted or typed numbers
    would repeat one). Two requests at once may pick the same; the unique index refuses the
    second, which retries (`create_invoice`)."""
    numbers = session.scalars(select(orm.Invoice.number).where(
        orm.Invoice.partner_id == partner_id, orm.Invoice.number.like("PL-%")))
    highest = max((int(n[3:]) for n in numbers if n[3:].isdigit() and len(n) < 20), default=0)
    return f"PL-{highest + 1:05d}"


def _number_taken(session, partner_id: str, number: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether any invoice of the partner (platform or Zoho) already has this number."""
    return session.scalar(select(orm.Invoice.id).where(
        orm.Invoice.partner_id == partner_id, orm.Invoice.number == number).limit(1)) is not None


#: what an invoice can be filtered by: the stored statuses and the finer standings shown to people
STATUS_FILTERS = tuple(dict.fromkeys((*STANDINGS, *STATUSES)))
PAYABLE_STATUSES = ("open", "overdue", "partially_paid")


def _only_credits() -> ColumnElement[bool]:
    return and_(orm.Invoice.credited_amount > 0, orm.Invoice.paid_amount == 0)


def status_condition(status: str) -> ColumnElement[bool]:
    """SQL for one filter value, matching `domain.invoices.settlement_status` row for row."""
    inv = orm.Invoice
    partly_credited = and_(inv.status.in_(("open", "partially_paid")), inv.outstanding < inv.total, _only_credits())
    if status == COLLECTED:
        return and_(inv.status == "paid", not_(_only_credits()))
    if status == CREDITED:
        return and_(inv.status == "paid", _only_credits())
    if status == PARTIALLY_CREDITED:
        return partly_credited
    if status in ("open", "partially_paid"):
        return and_(inv.status == status, not_(partly_credited))
    return inv.status == status


def label_order() -> ColumnElement[int]:
    """SQL ranking each invoice by the status label people read (`STANDING_LABELS`, alphabetical).

    The Status column shows the standing ("Collected", "Credited", "Partially credited", …), not
    the stored status (`paid`, `partially_paid`, …), so sorting by the stored column put
    "Collected" between "Overdue" and "Partially paid". Each standing's filter condition
    (`status_condition`) picks its rows; the conditions do not overlap.
    """
    by_label = sorted(STANDINGS, key=lambda standing: STANDING_LABELS[standing].casefold())
    return case(*((status_condition(standing), rank) for rank, standing in enumerate(by_label)),
                else_=len(by_label))


#: what a list of invoices may be sorted by (the dashboard's columns; the REST API lists newest first)
INVOICE_SORTS: dict[str, Any] = {
    "number": orm.Invoice.number, "customer": func.lower(orm.Customer.name), "issued": orm.Invoice.issue_date,
    "due": orm.Invoice.due_date, "total": orm.Invoice.total, "outstanding": orm.Invoice.outstanding,
    "status": label_order(),
}


def list_invoices(container: Transactional, partner_id: str, **filters: object) -> list[orm.Invoice]:
    """The partner's invoices, newest first (one page: see `page_invoices`)."""
    return page_invoices(container, partner_id, **filters).items  # type: ignore[arg-type]


def page_invoices(
    container: Transactional,
    partner_id: str,
    *,
    status: str | None = None,
    archived: bool | None = False,
    search: str | None = None,
    customer_id: str | None = None,
    origin: str | None = None,
    payable: bool = False,
    ids: list[str] | None = None,
    sort: str | None = None,
    desc: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> Page[orm.Invoice]:
    """One page of the partner's invoices, newest first, and how many match in all.

    `archived=None` lists archived ones too; `search` matches the invoice number or the
    customer's name (case-insensitive); `status` is a stored status or a standing
    (`collected`, `credited`, …); `payable` keeps only what may be paid now (open amount, not
    archived, customer not archived). `sort` names a key of `INVOICE_SORTS` (`desc` flips it);
    without it, newest first.
    """
    if status is not None and status not in STATUS_FILTERS:
        raise InvalidInput("status", f"must be one of {', '.join(STATUS_FILTERS)}")
    stmt = (
        select(orm.Invoice)
        .join(orm.Customer, orm.Customer.id == orm.Invoice.customer_id)
        .where(orm.Invoice.partner_id == partner_id)
        .options(selectinload(orm.Invoice.line_items))
    )
    if status is not None:
        stmt = stmt.where(status_condition(status))
    if archived is not None:
        stmt = stmt.where(orm.Invoice.archived == archived)
    if customer_id is not None:
        stmt = stmt.where(orm.Invoice.customer_id == customer_id)
    if origin is not None:
        stmt = stmt.where(orm.Invoice.origin == origin)
    if ids is not None:
        stmt = stmt.where(orm.Invoice.id.in_(ids))
    if payable:
        stmt = stmt.where(orm.Invoice.status.in_(PAYABLE_STATUSES), orm.Invoice.outstanding > 0,
                          orm.Invoice.archived.is_(False), orm.Customer.archived.is_(False))
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(or_(func.lower(orm.Invoice.number).like(like), func.lower(orm.Customer.name).like(like)))
    if sort is not None:
        stmt = sorted_by(stmt, INVOICE_SORTS, sort, desc, orm.Invoice.issue_date.desc(), orm.Invoice.id)
    else:
        stmt = stmt.order_by(orm.Invoice.issue_date.desc(), orm.Invoice.number.desc(), orm.Invoice.id)
    with container.uow() as uow:
        rows, total = fetch(uow.session, stmt, limit, offset)
        return detached(uow, Page(rows, total, limit, offset))


def get_invoice(container: Transactional, partner_id: str, invoice_id: str) -> orm.Invoice:
    """One invoice of the partner with its line items; another partner's id is `NotFound`."""
    with container.uow() as uow:
        row = uow.session.get(orm.Invoice, invoice_id, options=[selectinload(orm.Invoice.line_items)])
        if row is None or row.partner_id != partner_id:
            raise NotFound("invoice", invoice_id)
        return detached(uow, row)
