"""The seed's pull rules as pure functions: a Zoho invoice/contact (plain dict) in, a platform
change out. No I/O, no ORM: the sync engine applies what these return.

Rules (from the seed's integration guide, plus the ❌ rows we do):
- amounts and due dates of *unpaid* invoices follow Zoho; paid/void invoices keep their amounts
  (Zoho refuses to edit them anyway, and the platform's history must not move under a receipt);
- platform-side edits never flow back (nothing here produces a Zoho write);
- partial payments, credits applied and write-offs set the outstanding amount to Zoho's
  `balance`, and the status to `partially_paid` / `paid` / `written_off` (a write-off is not a
  collection: an accountant must tell them apart); how much was paid, credited and written off
  is kept too (`settlement_updates`), so pages can say "credited" rather than "paid";
- void invoices are not collectable: status `void`, outstanding 0;
- a customer made inactive (or deleted, decided by the engine) in Zoho is archived;
- bad data (a required field missing, an unknown currency, a negative quantity) raises
  `BadRecord` naming the Zoho id and the problem, so the engine records a per-record error and
  carries on with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0")

#: ISO 4217 codes Zoho Books offers (a record with any other code is bad data).
KNOWN_CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF
    KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR
    MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG
    SEK SGD SHP SLE SLL SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
    UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)

#: Zoho's visible invoice status -> platform status (before balance-based refinement).
ZOHO_STATUS_MAP = {
    "draft": "draft",
    "sent": "open",
    "viewed": "open",
    "unpaid": "open",
    "pending": "open",
    "overdue": "overdue",
    "partially_paid": "partially_paid",
    "paid": "paid",
    "void": "void",
}

#: platform statuses in which an invoice is still collectable ("unpaid")
UNPAID_STATUSES = frozenset({"draft", "open", "overdue", "partially_paid"})


class BadRecord(ValueError):
    """A Zoho record the platform cannot accept as is; `zoho_id` may be None if even that is missing."""

    def __init__(self, zoho_id: str | None, message: str) -> None:
        super().__init__(f"{zoho_id or '?'}: {message}")
        self.zoho_id = zoho_id
        self.message = message


# --------------------------------------------------------------------------- parsing helpers


def parse_zoho_timestamp(raw: str) -> datetime:
    """`2013-11-18T02:02:51-0800` (Zoho) or ISO with a colon offset -> aware UTC datetime."""
    text = raw.strip()
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_zoho_timestamp(value: datetime) -> str:
    """Aware datetime -> Zoho's `YYYY-MM-DDTHH:MM:SS+0000` form (what list filters accept)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")


def bookmark_minus(raw: str, seconds: int = 0) -> str:
    """A bookmark moved back a little (harmless overlap when a server treats the filter as `>`)."""
    return format_zoho_timestamp(parse_zoho_timestamp(raw) - timedelta(seconds=seconds))


#: Largest amount the platform accepts from Zoho (money is stored as BIGINT cents; anything near
#: 9.2e16 would overflow the column, and no real invoice comes close to a trillion).
MAX_AMOUNT = Decimal("999999999999.99")
#: Largest quantity / rate magnitude, and most digits a quantity, rate or exchange rate may carry
#: (they are stored as decimal text of at most 48 characters).
MAX_FACTOR = Decimal("1e12")
MAX_DIGITS = 24
MAX_TEXT = {"invoice_number": 100, "customer_name": 300, "contact_name": 300, "email": 320, "name": 300,
            "description": 100_000}


def _require(record: dict[str, Any], name: str, zoho_id: str | None) -> Any:
    value = record.get(name)
    if value is None or value == "":
        raise BadRecord(zoho_id, f"field '{name}' is missing")
    return value


def _text(record: dict[str, Any], name: str, zoho_id: str | None, *, required: bool = True) -> str:
    """A string field (Zoho ids may arrive as numbers): refuses objects, lists and booleans, and
    text longer than the platform's column holds."""
    raw = _require(record, name, zoho_id) if required else record.get(name)
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise BadRecord(zoho_id, f"field '{name}' should be text, got {type(raw).__name__}")
    text = str(raw)
    limit = MAX_TEXT.get(name, 40 if name.endswith("_id") else 4000)
    if len(text) > limit:
        raise BadRecord(zoho_id, f"field '{name}' is {len(text)} characters long (at most {limit})")
    return text


def _decimal(record: dict[str, Any], name: str, zoho_id: str | None, *, required: bool = True) -> Decimal:
    """A finite number of sane size; refuses NaN, Infinity, booleans, objects and numbers with
    more digits than the platform can store exactly."""
    raw = record.get(name)
    if raw is None or raw == "":
        if required:
            raise BadRecord(zoho_id, f"field '{name}' is missing")
        return ZERO
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        raise BadRecord(zoho_id, f"field '{name}' is not a number: {type(raw).__name__}")
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadRecord(zoho_id, f"field '{name}' is not a number: {str(raw)[:40]!r}") from None
    if not value.is_finite():
        raise BadRecord(zoho_id, f"field '{name}' is not a finite number ({value})")
    digits = value.as_tuple().digits
    if len(digits) > MAX_DIGITS:
        raise BadRecord(zoho_id, f"field '{name}' has {len(digits)} digits (at most {MAX_DIGITS})")
    if abs(value) >= MAX_FACTOR:
        raise BadRecord(zoho_id, f"field '{name}' is out of range ({value:.6g})")
    return value


def _money(record: dict[str, Any], name: str, zoho_id: str | None, *, required: bool = True) -> Decimal:
    """An amount: finite, at most two decimals (never rounded: a cent lost is money lost), and
    within `MAX_AMOUNT`."""
    value = _decimal(record, name, zoho_id, required=required)
    if value != value.quantize(CENT):
        raise BadRecord(zoho_id, f"field '{name}' has more than two decimals ({value})")
    if abs(value) > MAX_AMOUNT:
        raise BadRecord(zoho_id, f"field '{name}' is out of range ({value:.6g})")
    return value.quantize(CENT)


def _date(record: dict[str, Any], name: str, zoho_id: str | None, *, required: bool = True) -> date | None:
    raw = record.get(name)
    if raw is None or raw == "":
        if required:
            raise BadRecord(zoho_id, f"field '{name}' is missing")
        return None
    if not isinstance(raw, str) or len(raw) != 10:
        raise BadRecord(zoho_id, f"field '{name}' is not a date: {str(raw)[:40]!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRecord(zoho_id, f"field '{name}' is not a date: {raw!r}") from None


def _currency(record: dict[str, Any], zoho_id: str | None) -> str:
    code = _text(record, "currency_code", zoho_id).upper()
    if code not in KNOWN_CURRENCIES:
        raise BadRecord(zoho_id, f"unknown currency '{code[:12]}'")
    return code


def _timestamp(record: dict[str, Any], name: str, zoho_id: str | None) -> str:
    raw = _text(record, name, zoho_id)
    try:
        parse_zoho_timestamp(raw)
    except ValueError:
        raise BadRecord(zoho_id, f"field '{name}' is not a timestamp: {raw[:40]!r}") from None
    return raw


def _record_id(record: dict[str, Any], name: str) -> str:
    raw = record.get(name)
    if not raw or isinstance(raw, bool) or not isinstance(raw, (str, int)) or len(str(raw)) > 40:
        raise BadRecord(None, f"field '{name}' is missing or not an id")
    return str(raw)


# --------------------------------------------------------------------------- invoices


@dataclass(frozen=True)
class InvoiceSnapshot:
    """What Zoho says about an invoice, validated and typed (from a list row or a detail)."""

    zoho_id: str
    number: str
    customer_zoho_id: str
    customer_name: str
    currency_code: str
    exchange_rate: Decimal
    issue_date: date
    due_date: date | None
    total: Decimal
    balance: Decimal
    zoho_status: str
    last_modified: str
    write_off_amount: Decimal = ZERO
    payment_made: Decimal | None = None  # only in Zoho's invoice detail, not in list rows
    credits_applied: Decimal | None = None


def _optional_money(record: dict[str, Any], name: str, zoho_id: str) -> Decimal | None:
    if record.get(name) in (None, ""):
        return None
    value = _money(record, name, zoho_id)
    if value < 0:
        raise BadRecord(zoho_id, f"negative {name}")
    return value


def invoice_snapshot(record: dict[str, Any]) -> InvoiceSnapshot:
    """Validate a Zoho invoice (summary or detail); raises `BadRecord`."""
    zoho_id = _record_id(record, "invoice_id")
    status = _text(record, "status", zoho_id).lower()
    if status not in ZOHO_STATUS_MAP:
        raise BadRecord(zoho_id, f"unknown invoice status '{status[:20]}'")
    total = _money(record, "total", zoho_id)
    balance = _money(record, "balance", zoho_id)
    if total < 0 or balance < 0:
        raise BadRecord(zoho_id, "negative total or balance")
    if balance > total:
        raise BadRecord(zoho_id, f"balance {balance} exceeds total {total}")
    rate = _decimal(record, "exchange_rate", zoho_id, required=False) or Decimal("1")
    if rate < 0:
        raise BadRecord(zoho_id, f"negative exchange rate ({rate})")
    return InvoiceSnapshot(
        zoho_id=zoho_id,
        number=_text(record, "invoice_number", zoho_id),
        customer_zoho_id=_text(record, "customer_id", zoho_id),
        customer_name=_text(record, "customer_name", zoho_id, required=False),
        currency_code=_currency(record, zoho_id),
        exchange_rate=rate,
        issue_date=_date(record, "date", zoho_id),  # type: ignore[arg-type]
        due_date=_date(record, "due_date", zoho_id, required=False),
        total=total,
        balance=balance,
        zoho_status=status,
        last_modified=_timestamp(record, "last_modified_time", zoho_id),
        write_off_amount=_money(record, "write_off_amount", zoho_id, required=False),
        payment_made=_optional_money(record, "payment_made", zoho_id),
        credits_applied=_optional_money(record, "credits_applied", zoho_id),
    )


def platform_status(snap: InvoiceSnapshot) -> str:
    """Zoho status + balance -> platform status.

    A void invoice is `void` whatever its balance. A written-off one (Zoho says `paid`, its
    balance zeroed by `write_off_amount`) is `written_off`. Otherwise the balance decides between
    `paid` (nothing left, by payments or credits) and `partially_paid` (something applied,
    something left), and Zoho's own status decides among the unpaid ones.
    """
    if snap.zoho_status == "void":
        return "void"
    if snap.write_off_amount > ZERO and snap.balance == ZERO:
        return "written_off"
    if snap.zoho_status == "draft" and snap.balance == snap.total:
        return "draft"
    if snap.balance == ZERO:
        return "paid" if snap.total > ZERO or snap.zoho_status == "paid" else ZOHO_STATUS_MAP[snap.zoho_status]
    if snap.balance < snap.total:
        return "partially_paid"
    return ZOHO_STATUS_MAP[snap.zoho_status] if snap.zoho_status not in ("paid", "partially_paid") else "open"


def collectable_outstanding(snap: InvoiceSnapshot) -> Decimal:
    """What the platform may collect: Zoho's balance, except nothing on a void invoice."""
    return ZERO if snap.zoho_status == "void" else snap.balance


def settlement_updates(paid: Decimal, credited: Decimal, written_off: Decimal,
                       snap: InvoiceSnapshot, *, payment_date_moved: bool = True) -> dict[str, Decimal]:
    """How the invoice's total was settled in Zoho: payments, credits, write-off.

    A detail carries `payment_made` and `credits_applied` and is taken as is. A list row only
    has the balance, the write-off and `last_payment_date`: what else was settled is split
    keeping the credits known so far when the payment date moved (a payment), else keeping the
    payments known so far (a credit: applying one leaves the payment date alone); a later detail
    read (the daily sweep, or opening the invoice) corrects a mixed hour. Returns only the
    fields that change.
    """
    new_off = ZERO if snap.zoho_status == "void" else snap.write_off_amount
    if snap.payment_made is not None and snap.credits_applied is not None:
        new_paid, new_credited = snap.payment_made, snap.credits_applied
    else:
        # a void invoice shows no balance but nothing settled it (Zoho voids only unpaid ones)
        settled = ZERO if snap.zoho_status == "void" else max(snap.total - snap.balance - new_off, ZERO)
        if payment_date_moved:
            new_credited = min(credited, settled)
            new_paid = settled - new_credited
        else:
            new_paid = min(paid, settled)
            new_credited = settled - new_paid
    wanted = {"paid_amount": new_paid, "credited_amount": new_credited, "written_off_amount": new_off}
    current = {"paid_amount": paid, "credited_amount": credited, "written_off_amount": written_off}
    return {k: v for k, v in wanted.items() if current[k] != v}


@dataclass(frozen=True)
class LocalInvoice:
    """The platform's current view of an invoice (what the rules need to decide)."""

    total: Decimal
    outstanding: Decimal
    status: str
    due_date: date | None
    issue_date: date
    number: str
    currency_code: str
    archived: bool = False


def invoice_updates(current: LocalInvoice | None, snap: InvoiceSnapshot) -> dict[str, Any]:
    """The field changes the platform must make so its invoice reflects Zoho.

    New invoice (`current is None`): every field. Existing one: status and outstanding always
    follow Zoho; amounts and due date follow Zoho while the invoice is unpaid (on the platform
    or in Zoho); returns `{}` when nothing changes (so the engine counts no update).
    """
    status = platform_status(snap)
    outstanding = collectable_outstanding(snap)
    full = {
        "number": snap.number,
        "currency_code": snap.currency_code,
        "exchange_rate": snap.exchange_rate,
        "issue_date": snap.issue_date,
        "due_date": snap.due_date,
        "total": snap.total,
        "outstanding": outstanding,
        "status": status,
    }
    if current is None:
        return full
    changes: dict[str, Any] = {}
    if current.status != status:
        changes["status"] = status
    if current.outstanding != outstanding:
        changes["outstanding"] = outstanding
    unpaid = current.status in UNPAID_STATUSES or status in UNPAID_STATUSES
    if unpaid:
        for name in ("total", "due_date", "issue_date", "number", "currency_code"):
            if getattr(current, name) != full[name]:
                changes[name] = full[name]
    return changes


@dataclass(frozen=True)
class LineItemSnapshot:
    zoho_line_item_id: str
    position: int
    name: str
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    tax_amount: Decimal


def line_items(detail: dict[str, Any]) -> list[LineItemSnapshot]:
    """Line items of a Zoho invoice detail; raises `BadRecord` on a missing list, a missing
    field or a negative quantity (credit lines are credit notes in Zoho, never negative rows)."""
    zoho_id = str(detail.get("invoice_id") or "") or None
    raw_items = detail.get("line_items")
    if not isinstance(raw_items, list):
        raise BadRecord(zoho_id, "field 'line_items' is missing")
    items: list[LineItemSnapshot] = []
    for position, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise BadRecord(zoho_id, f"line item {position + 1} is not an object")
        quantity = _decimal(raw, "quantity", zoho_id)
        if quantity < 0:
            raise BadRecord(zoho_id, f"line item {position + 1} has a negative quantity ({quantity})")
        rate = _decimal(raw, "rate", zoho_id)
        if raw.get("item_total") not in (None, ""):
            amount = _money(raw, "item_total", zoho_id)
        else:
            amount = (quantity * rate).quantize(CENT)
            if abs(amount) > MAX_AMOUNT:
                raise BadRecord(zoho_id, f"line item {position + 1} amount is out of range")
        pct = _decimal(raw, "tax_percentage", zoho_id, required=False)
        if not ZERO <= pct <= Decimal(100):
            raise BadRecord(zoho_id, f"line item {position + 1} has a tax percentage of {pct}")
        tax = (amount * pct / Decimal(100)).quantize(CENT)
        order = raw.get("item_order")
        if order not in (None, "") and (isinstance(order, bool) or not str(order).isdigit() or len(str(order)) > 6):
            raise BadRecord(zoho_id, f"line item {position + 1} has an unreadable item_order")
        items.append(
            LineItemSnapshot(
                zoho_line_item_id=_text(raw, "line_item_id", zoho_id, required=False),
                position=int(str(order)) if order not in (None, "") else position + 1,
                name=_text(raw, "name", zoho_id, required=False),
                description=_text(raw, "description", zoho_id, required=False),
                quantity=quantity,
                rate=rate,
                amount=amount,
                tax_amount=tax,
            )
        )
    return items


# --------------------------------------------------------------------------- customers


@dataclass(frozen=True)
class CustomerSnapshot:
    zoho_id: str
    name: str
    email: str | None
    currency_code: str
    active: bool
    last_modified: str
    is_customer: bool = True


def customer_snapshot(record: dict[str, Any]) -> CustomerSnapshot:
    """Validate a Zoho contact; raises `BadRecord`."""
    zoho_id = _record_id(record, "contact_id")
    return CustomerSnapshot(
        zoho_id=zoho_id,
        name=_text(record, "contact_name", zoho_id),
        email=_text(record, "email", zoho_id, required=False) or None,
        currency_code=_currency(record, zoho_id),
        active=(_text(record, "status", zoho_id, required=False) or "active").lower() == "active",
        last_modified=_timestamp(record, "last_modified_time", zoho_id),
        is_customer=(_text(record, "contact_type", zoho_id, required=False) or "customer") == "customer",
    )


@dataclass(frozen=True)
class LocalCustomer:
    name: str
    email: str | None
    currency_code: str
    archived: bool
    archived_reason: str | None = None


ARCHIVED_INACTIVE = "inactive in Zoho Books"
ARCHIVED_DELETED = "deleted in Zoho Books"


def customer_updates(current: LocalCustomer | None, snap: CustomerSnapshot) -> dict[str, Any]:
    """Changes so the platform's customer reflects Zoho: name/email/currency follow Zoho; an
    inactive contact is archived, a re-activated one (archived by us for that reason) comes back."""
    full: dict[str, Any] = {
        "name": snap.name,
        "email": snap.email,
        "currency_code": snap.currency_code,
        "archived": not snap.active,
        "archived_reason": None if snap.active else ARCHIVED_INACTIVE,
    }
    if current is None:
        return full
    changes = {k: v for k, v in full.items() if k in ("name", "email", "currency_code") and getattr(current, k) != v}
    if not snap.active and not current.archived:
        changes.update(archived=True, archived_reason=ARCHIVED_INACTIVE)
    elif snap.active and current.archived and current.archived_reason == ARCHIVED_INACTIVE:
        changes.update(archived=False, archived_reason=None)
    return changes


@dataclass
class DeletionVerdict:
    """Result of comparing local ids with the ids Zoho still lists in a range."""

    missing_in_zoho: list[str] = field(default_factory=list)  # archive these
    unknown_locally: list[str] = field(default_factory=list)  # sync these (a skipped record)


def compare_ids(local_ids: set[str], zoho_ids: set[str]) -> DeletionVerdict:
    return DeletionVerdict(sorted(local_ids - zoho_ids), sorted(zoho_ids - local_ids))


# --------------------------------------------------------------------------- detail calls
#
# Issue 13: a changed invoice costs a `GET /invoices/{id}` only when its line items can have
# changed. Zoho's list rows (`list-invoices-response` in invoices.yml) carry no line items but
# do carry the fields line items determine: `total` (Σ item totals + tax − discount + shipping
# + adjustment), `adjustment`, `shipping_charge`, `currency_code`, `exchange_rate` and the
# status (a draft is edited freely; leaving draft freezes what was edited). A payment, a credit,
# a write-off, a reminder, "viewed", a due-date change or a move to overdue changes `balance`,
# `status`, `due_date`, `last_payment_date` or `write_off_amount` and none of those: the list
# row alone is applied. A line-item edit that keeps every one of those fields (a description,
# two rates that offset) is invisible in the list; the daily sweep reads it within 24 h.

#: list-row fields whose movement means the line items may have changed (see above)
LINE_ITEM_FIELDS: tuple[str, ...] = ("total", "adjustment", "shipping_charge", "currency_code", "exchange_rate")


#: what an absent list-row field means (Zoho omits zero charges; a rate of 1 is the base currency)
_FINGERPRINT_DEFAULTS = {"adjustment": "0", "shipping_charge": "0", "exchange_rate": "1"}


def _canonical(value: Any, default: str = "") -> str:
    """One spelling per value: `40.6`, `40.60` and Decimal("40.60") compare equal."""
    if value is None or value == "":
        value = default
    if value == "":
        return ""
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value).strip().upper()
    return format(number.normalize(), "f") if number.is_finite() else str(value)


def line_item_fingerprint(row: dict[str, Any]) -> dict[str, str]:
    """The part of a Zoho invoice (list row or detail) that line items determine, as plain
    strings (stored as JSON on the invoice's external ref and compared on the next list row)."""
    fingerprint = {name: _canonical(row.get(name), _FINGERPRINT_DEFAULTS.get(name, "")) for name in LINE_ITEM_FIELDS}
    fingerprint["draft"] = "1" if str(row.get("status") or "").lower() == "draft" else "0"
    return fingerprint


def detail_call_reason(previous: dict[str, str] | None, row: dict[str, Any]) -> str | None:
    """Why this changed list row needs a detail call (`GET /invoices/{id}`), or None when the
    list row alone is enough. `previous` is the fingerprint stored when the invoice was last
    seen (None: never seen, or seen before fingerprints were kept)."""
    if previous is None:
        return "new"
    current = line_item_fingerprint(row)
    if previous.get("draft") == "1" and current["draft"] == "0":
        return "left draft"
    for name in LINE_ITEM_FIELDS:
        if previous.get(name, "") != current[name]:
            return f"{name} moved"
    return None
