"""The sandbox's data model: plain dataclasses, Decimal money, one lock for writes.

Where things live
-----------------
``Sandbox`` (one per app, at ``app.state.sandbox``) holds the config, the clock, Zoho Accounts
data (users, OAuth clients, codes, tokens) and one ``OrgData`` per organisation. ``OrgData``
holds that organisation's records in dicts keyed by id, its numbering sequences and the
counters benchmarks read (``api_calls`` by operation name, ``http_429``).

How to mutate safely
--------------------
Take ``sandbox.lock`` (an ``RLock``), change the records, set ``last_modified_time`` via
``sandbox.touch(record)``, keep account balances right with ``org.post(record)`` /
``org.unpost(record)``, then call ``sandbox.emit_change(org_id, module, event, record_id)`` so
listeners (webhooks, persistence) hear about it. See HOOKS.md.

Invoice arithmetic (as Zoho): ``balance = total - payment_made - credits_applied -
write_off_amount``. The stored ``base_status`` is ``draft``/``sent``/``void``; the visible
``status`` is derived (``paid``, ``partially_paid``, ``overdue``…) from balance and due date.
"""
from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .clock import Clock
from .config import SandboxConfig

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request
    from starlette.responses import Response

    from .webhooks import WebhookDispatcher

ZERO = Decimal("0")
CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


def money(value: Any) -> Decimal:
    """Exact Decimal rounded to cents (Zoho keeps 2 decimals for the base currencies here)."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, float):
        d = Decimal(repr(value))
    else:
        d = Decimal(str(value))
    return d.quantize(CENT)


# ----------------------------------------------------------------------------- Zoho Accounts
@dataclass
class User:
    user_id: str
    email: str
    password: str
    name: str
    org_ids: list[str] = field(default_factory=list)


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str] = field(default_factory=list)
    #: demo client accepts any local ``/integrations/zoho/callback`` (CONTRACTS.md).
    demo: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: frozenset[str]
    access_type: str
    dc: str
    org_id: str | None
    expires_at: float  # clock.monotonic() deadline
    used: bool = False
    scope_text: str = ""  # the scope string as the client sent it (echoed in the token response)


@dataclass
class Token:
    """An access or refresh token. Scopes are stored lower-cased (Zoho compares case-insensitively)."""

    token: str
    kind: str  # "access" | "refresh"
    client_id: str
    user_id: str
    scopes: frozenset[str]
    dc: str
    org_id: str | None
    created_at: float  # clock.monotonic()
    expires_at: float | None  # None: refresh tokens live until revoked
    revoked: bool = False
    parent: str | None = None  # refresh token that minted this access token
    scope_text: str = ""


# ----------------------------------------------------------------------------- Books records
@dataclass
class Organization:
    organization_id: str
    name: str
    currency_code: str = "USD"
    currency_symbol: str = "$"
    dc: str = "us"
    plan: str = "premium"
    time_zone: str = "America/Los_Angeles"
    country: str = "U.S.A"
    email: str = ""
    created_time: datetime | None = None
    fiscal_year_start_month: int = 1
    is_default_org: bool = False


@dataclass
class Contact:
    contact_id: str
    contact_name: str
    company_name: str = ""
    contact_type: str = "customer"  # customer | vendor
    status: str = "active"  # active | inactive
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    currency_code: str = "USD"
    payment_terms: int = 0
    payment_terms_label: str = "Due On Receipt"
    notes: str = ""
    website: str = ""
    billing_address: dict[str, Any] = field(default_factory=dict)
    shipping_address: dict[str, Any] = field(default_factory=dict)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    created_time: datetime | None = None
    last_modified_time: datetime | None = None


@dataclass
class LineItem:
    line_item_id: str
    name: str = ""
    description: str = ""
    item_id: str = ""
    rate: Decimal = ZERO
    quantity: Decimal = Decimal("1")
    discount: Decimal = ZERO  # percent
    unit: str = ""
    tax_id: str = ""
    tax_name: str = ""
    tax_percentage: Decimal = ZERO
    account_id: str = ""
    item_order: int = 1

    @property
    def item_total(self) -> Decimal:
        gross = self.rate * self.quantity
        if self.discount:
            gross -= gross * self.discount / _HUNDRED
        return gross.quantize(CENT)

    @property
    def tax_amount(self) -> Decimal:
        if not self.tax_percentage:
            return ZERO
        return (self.item_total * self.tax_percentage / _HUNDRED).quantize(CENT)


@dataclass
class Invoice:
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str
    date: date
    due_date: date
    line_items: list[LineItem] = field(default_factory=list)
    base_status: str = "draft"  # draft | sent | void
    currency_code: str = "USD"
    exchange_rate: Decimal = Decimal("1")
    reference_number: str = ""
    payment_terms: int = 0
    payment_terms_label: str = "Due On Receipt"
    discount: Decimal = ZERO  # percent, applied after tax when is_discount_before_tax False
    is_discount_before_tax: bool = True
    shipping_charge: Decimal = ZERO
    adjustment: Decimal = ZERO
    adjustment_description: str = ""
    notes: str = ""
    terms: str = ""
    salesperson_name: str = ""
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    payment_made: Decimal = ZERO
    credits_applied: Decimal = ZERO
    write_off_amount: Decimal = ZERO
    is_viewed_by_client: bool = False
    created_time: datetime | None = None
    last_modified_time: datetime | None = None
    last_payment_date: date | None = None

    #: fields whose change invalidates the cached totals (assign a new ``line_items`` list
    #: rather than mutating line items in place, or call ``invalidate_totals()``)
    _TOTAL_FIELDS = frozenset({"line_items", "discount", "is_discount_before_tax", "shipping_charge", "adjustment"})

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in Invoice._TOTAL_FIELDS:
            object.__setattr__(self, "_totals", None)

    def invalidate_totals(self) -> None:
        object.__setattr__(self, "_totals", None)

    def _compute(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        cached = self.__dict__.get("_totals")
        if cached is None:
            sub = sum((li.item_total for li in self.line_items), ZERO)
            tax = sum((li.tax_amount for li in self.line_items), ZERO)
            base = sub if self.is_discount_before_tax else sub + tax
            disc = money(base * self.discount / Decimal(100))
            total = money(sub + tax - disc + self.shipping_charge + self.adjustment)
            cached = (sub, tax, disc, total)
            object.__setattr__(self, "_totals", cached)
        return cached

    @property
    def sub_total(self) -> Decimal:
        return self._compute()[0]

    @property
    def tax_total(self) -> Decimal:
        return self._compute()[1]

    @property
    def discount_amount(self) -> Decimal:
        return self._compute()[2]

    @property
    def total(self) -> Decimal:
        return self._compute()[3]

    @property
    def balance(self) -> Decimal:
        if self.base_status == "void":
            return ZERO
        return self.total - self.payment_made - self.credits_applied - self.write_off_amount

    def status_on(self, today: date) -> str:
        """Zoho's visible status, derived: void/draft stay; else paid, partially_paid, overdue, sent."""
        if self.base_status in ("void", "draft"):
            return self.base_status
        if self.balance <= ZERO:
            return "paid"
        if self.payment_made > ZERO or self.credits_applied > ZERO:
            return "partially_paid"
        if self.due_date < today:
            return "overdue"
        return "viewed" if self.is_viewed_by_client else "sent"


@dataclass
class PaymentApplication:
    """One invoice a customer payment is applied to."""

    invoice_id: str
    amount_applied: Decimal
    tax_amount_withheld: Decimal = ZERO
    invoice_payment_id: str = ""


@dataclass
class Refund:
    refund_id: str
    date: date
    amount: Decimal
    refund_mode: str = "cash"
    reference_number: str = ""
    description: str = ""
    from_account_id: str = ""
    created_time: datetime | None = None
    last_modified_time: datetime | None = None


@dataclass
class CustomerPayment:
    payment_id: str
    payment_number: str
    customer_id: str
    customer_name: str
    payment_mode: str
    amount: Decimal
    date: date
    account_id: str
    reference_number: str = ""
    description: str = ""
    bank_charges: Decimal = ZERO
    exchange_rate: Decimal = Decimal("1")
    currency_code: str = "USD"
    invoices: list[PaymentApplication] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    created_time: datetime | None = None
    last_modified_time: datetime | None = None

    @property
    def applied_amount(self) -> Decimal:
        return sum((a.amount_applied for a in self.invoices), ZERO)

    @property
    def refunded_amount(self) -> Decimal:
        return sum((r.amount for r in self.refunds), ZERO)

    @property
    def unused_amount(self) -> Decimal:
        return self.amount - self.applied_amount - self.refunded_amount


@dataclass
class CreditApplication:
    creditnote_invoice_id: str
    invoice_id: str
    amount_applied: Decimal
    date: date
    created_time: datetime | None = None


@dataclass
class CreditNote:
    creditnote_id: str
    creditnote_number: str
    customer_id: str
    customer_name: str
    date: date
    line_items: list[LineItem] = field(default_factory=list)
    base_status: str = "open"  # draft | open | void  (closed is derived)
    currency_code: str = "USD"
    exchange_rate: Decimal = Decimal("1")
    reference_number: str = ""
    notes: str = ""
    terms: str = ""
    applications: list[CreditApplication] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    created_time: datetime | None = None
    last_modified_time: datetime | None = None

    @property
    def sub_total(self) -> Decimal:
        return sum((li.item_total for li in self.line_items), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((li.tax_amount for li in self.line_items), ZERO)

    @property
    def total(self) -> Decimal:
        return money(self.sub_total + self.tax_total)

    @property
    def applied_amount(self) -> Decimal:
        return sum((a.amount_applied for a in self.applications), ZERO)

    @property
    def balance(self) -> Decimal:
        if self.base_status == "void":
            return ZERO
        return self.total - self.applied_amount - sum((r.amount for r in self.refunds), ZERO)

    @property
    def status(self) -> str:
        if self.base_status in ("void", "draft"):
            return self.base_status
        return "closed" if self.balance <= ZERO else "open"


#: account types whose natural balance is a credit (shown positive when credit > debit)
CREDIT_NORMAL = {
    "income", "other_income", "equity", "other_current_liability", "accounts_payable",
    "credit_card", "long_term_liability", "other_liability",
}


@dataclass
class Account:
    """A chart-of-accounts entry; bank and credit-card accounts are also Zoho "bank accounts"."""

    account_id: str
    account_name: str
    account_type: str  # bank, cash, income, expense, other_current_asset, accounts_receivable, …
    account_code: str = ""
    description: str = ""
    currency_code: str = "USD"
    is_active: bool = True
    is_user_created: bool = False
    is_system_account: bool = False
    parent_account_id: str = ""
    account_number: str = ""
    bank_name: str = ""
    routing_number: str = ""
    is_primary_account: bool = False
    #: debit minus credit of everything posted; see ``display_balance``
    debit_balance: Decimal = ZERO
    created_time: datetime | None = None
    last_modified_time: datetime | None = None

    @property
    def display_balance(self) -> Decimal:
        return -self.debit_balance if self.account_type in CREDIT_NORMAL else self.debit_balance


@dataclass
class BankTransaction:
    transaction_id: str
    transaction_type: str  # deposit, transfer_fund, expense, owner_contribution, …
    amount: Decimal
    date: date
    from_account_id: str = ""
    to_account_id: str = ""
    reference_number: str = ""
    description: str = ""
    bank_charges: Decimal = ZERO
    customer_id: str = ""
    payment_mode: str = ""
    currency_code: str = "USD"
    exchange_rate: Decimal = Decimal("1")
    status: str = "manually_added"
    created_time: datetime | None = None
    last_modified_time: datetime | None = None


# ----------------------------------------------------------------------------- ledger
Posting = tuple[str, Decimal]  # (account_id, debit-positive amount)
_ONE = Decimal("1")


def _base(amount: Decimal, rate: Decimal) -> Decimal:
    """``amount`` in the organisation's base currency (to the cent, half up)."""
    return amount if rate == _ONE else (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


class OrgData:
    """All records of one organisation plus its counters.

    Account balances are kept incrementally: every record that moves money has postings
    (``postings_for``); ``post`` applies them, ``unpost`` reverses them. Call ``unpost`` before
    changing such a record and ``post`` after, so updates and deletes keep balances exact.
    """

    def __init__(self, org: Organization) -> None:
        self.org = org
        self.contacts: dict[str, Contact] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, CustomerPayment] = {}
        self.creditnotes: dict[str, CreditNote] = {}
        self.accounts: dict[str, Account] = {}
        self.bank_transactions: dict[str, BankTransaction] = {}
        #: taxes by tax_id: {"tax_id", "tax_name", "tax_percentage"} (seeded per org)
        self.taxes: dict[str, dict[str, Any]] = {}
        self.invoice_seq = itertools.count(1)
        self.payment_seq = itertools.count(1)
        self.creditnote_seq = itertools.count(1)
        #: calls answered, by operation name (``invoices.list``…); filled by the guard
        self.api_calls: Counter[str] = Counter()
        #: 429 answers given (filled by the guard), in total and by operation name
        self.http_429: int = 0
        self.http_429_by_op: Counter[str] = Counter()
        #: extra per-org knobs (plan overrides, faults…) owned by sandbox-ops
        self.settings: dict[str, Any] = {}
        self._posted: dict[str, list[Posting]] = {}
        #: ids of bulk-loaded records (generator) whose balances were added in aggregate: their
        #: postings are ``postings_for(record)`` as loaded, computed only if they are unposted
        self._bulk_posted: set[str] = set()
        #: bumped by ``Sandbox.emit_change``; derived data (sorted list results) is memoised per version
        self.version: int = 0
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """Memoise ``compute()`` until the next change of this organisation (see ``changed``).

        Lets a client page through 100,000 invoices without re-filtering and re-sorting on
        every page; any emitted change drops every memo."""
        if key in self._memo:
            return self._memo[key]
        if len(self._memo) > 32:
            self._memo.clear()
        value = self._memo[key] = compute()
        return value

    def changed(self) -> None:
        """Note that records changed (called by ``Sandbox.emit_change``; call it after bulk loads)."""
        self.version += 1
        self._memo.clear()

    @property
    def organization_id(self) -> str:
        return self.org.organization_id

    # --- well-known accounts (created by books.chartofaccounts.create_default_accounts) ---
    def system_account(self, name: str) -> Account:
        """The account with this exact name (e.g. "Accounts Receivable"); KeyError if missing."""
        for acc in self.accounts.values():
            if acc.account_name == name:
                return acc
        raise KeyError(name)

    def postings_for(self, record: Any) -> list[Posting]:
        """Double-entry postings of a record, debit positive, in the BASE currency.

        Zoho keeps the books in the organisation's base currency: a foreign-currency record
        (``exchange_rate`` ≠ 1) posts ``money(amount × exchange_rate)``. A payment clears the
        receivable at each invoice's own rate and deposits at the payment's rate; the
        difference goes to "Exchange Gain or Loss" (a gain is a credit)."""
        try:
            ar = self.system_account("Accounts Receivable").account_id
            sales = self.system_account("Sales").account_id
            fees = self.system_account("Bank Fees and Charges").account_id
            tax = self.system_account("Tax Payable").account_id
            bad = self.system_account("Bad Debt").account_id
        except KeyError:
            return []
        out: list[Posting] = []
        if isinstance(record, Invoice):
            if record.base_status in ("draft", "void"):
                return []
            rate = record.exchange_rate
            total, tax_total = _base(record.total, rate), _base(record.tax_total, rate)
            out += [(ar, total), (sales, -(total - tax_total)), (tax, -tax_total)]
            if record.write_off_amount:
                off = _base(record.write_off_amount, rate)
                out += [(bad, off), (ar, -off)]
        elif isinstance(record, CustomerPayment):
            rate = record.exchange_rate
            deposit, charges = _base(record.amount - record.bank_charges, rate), _base(record.bank_charges, rate)
            cleared = _base(record.amount - record.applied_amount, rate)  # unused part at the payment's rate
            for a in record.invoices:
                inv = self.invoices.get(a.invoice_id)
                cleared += _base(a.amount_applied, inv.exchange_rate if inv is not None else rate)
            out += [(record.account_id, deposit), (ar, -cleared)]
            if charges:
                out.append((fees, charges))
            if deposit + charges != cleared:
                try:
                    fx = self.system_account("Exchange Gain or Loss").account_id
                except KeyError:
                    fx = ar
                out.append((fx, cleared - deposit - charges))
            for r in record.refunds:
                amt = _base(r.amount, rate)
                out += [(ar, amt), (r.from_account_id or record.account_id, -amt)]
        elif isinstance(record, CreditNote):
            if record.base_status in ("draft", "void"):
                return []
            rate = record.exchange_rate
            total, tax_total = _base(record.total, rate), _base(record.tax_total, rate)
            out += [(sales, total - tax_total), (tax, tax_total), (ar, -total)]
            for r in record.refunds:
                amt = _base(r.amount, rate)
                out += [(ar, amt), (r.from_account_id, -amt)]
        elif isinstance(record, BankTransaction):
            rate = record.exchange_rate
            charges = _base(record.bank_charges, rate)
            if record.from_account_id:
                out.append((record.from_account_id, -_base(record.amount, rate)))
            if record.to_account_id:
                out.append((record.to_account_id, _base(record.amount, rate) - charges))
            if charges:
                out.append((fees, charges))
        return [(acc, amt) for acc, amt in out if acc and amt]

    def _key(self, record: Any) -> str:
        for attr in ("invoice_id", "payment_id", "creditnote_id", "transaction_id"):
            if hasattr(record, attr):
                return f"{attr}:{getattr(record, attr)}"
        raise TypeError(type(record))

    def post(self, record: Any) -> None:
        """Apply a record's postings to account balances (idempotent: reposts replace)."""
        self.unpost(record)
        postings = self.postings_for(record)
        for acc_id, amt in postings:
            if acc_id in self.accounts:
                self.accounts[acc_id].debit_balance += amt
        self._posted[self._key(record)] = postings

    def unpost(self, record: Any) -> None:
        """Reverse whatever was posted for this record."""
        key = self._key(record)
        postings = self._posted.pop(key, None)
        if postings is None:
            postings = []
            rid = key.partition(":")[2]
            if rid in self._bulk_posted:  # loaded in bulk and unchanged since (HOOKS: unpost before changing)
                self._bulk_posted.discard(rid)
                postings = self.postings_for(record)
        for acc_id, amt in postings:
            if acc_id in self.accounts:
                self.accounts[acc_id].debit_balance -= amt

    def postings_of(self, record: Any) -> list[Posting]:
        """What is currently posted for ``record`` (empty if nothing)."""
        key = self._key(record)
        if key in self._posted:
            return self._posted[key]
        return self.postings_for(record) if key.partition(":")[2] in self._bulk_posted else []

    def add_bulk_posted(self, record_ids: Any, balances: dict[str, Decimal]) -> None:
        """Bulk load: add aggregated ``balances`` (account_id → debit-positive amount) and remember
        that ``record_ids`` are posted as ``postings_for`` says (no per-record bookkeeping)."""
        for acc_id, amt in balances.items():
            if acc_id in self.accounts and amt:
                self.accounts[acc_id].debit_balance += amt
        self._bulk_posted.update(record_ids)

    def recompute_balances(self) -> None:
        """Rebuild every balance from the records (after bulk loads or restores)."""
        self.changed()
        self._posted.clear()
        self._bulk_posted.clear()
        for acc in self.accounts.values():
            acc.debit_balance = ZERO
        for coll in (self.invoices, self.payments, self.creditnotes, self.bank_transactions):
            for rec in coll.values():
                self.post(rec)


# ----------------------------------------------------------------------------- hooks
class Guard:
    """Hook around every Books request; sandbox-ops replaces it (``sandbox.guard = ...``).

    ``books_pipeline`` calls ``before`` after authentication and org resolution; a returned
    Response is sent instead of running the handler (429, injected 5xx…). ``after`` is then
    called exactly once per ``before`` – also when ``before`` answered or the handler failed –
    and may return a replacement Response (rate-limit headers, malformed body) or raise
    ``errors.ConnectionDropped`` (the write was applied, the client never sees the answer).
    ``org`` is None for calls without an organisation (``organizations.list``).
    """

    async def before(self, org: OrgData | None, op_name: str, request: Request) -> Response | None:
        return None

    async def after(self, org: OrgData | None, op_name: str, request: Request, response: Response) -> Response:
        if org is not None:
            org.api_calls[op_name] += 1
        return response

    def token_expired(self, org_id: str) -> None:
        """A call of ``org_id`` came with an access token past its lifetime (answered 401 before
        ``before``); sandbox-ops counts it as a fault that fired."""
        return None


ChangeListener = Callable[[str, str, str, str], None]


class Sandbox:
    """The whole emulated Zoho: accounts server data plus every organisation's books."""

    #: outgoing webhook deliveries (installed by ``ops.install`` when the app is built)
    webhooks: WebhookDispatcher

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock = Clock(self.config.time_scale, self.config.manual_clock)
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, Token] = {}
        self.orgs: dict[str, OrgData] = {}
        self.listeners: list[ChangeListener] = []
        self.guard: Guard = Guard()
        #: set by sandbox-ops to a data generator object (``seed_demo`` uses it if present)
        self.generator: Any = None
        self._ids = itertools.count(460000000000001)
        self._org_ids = itertools.count(700000001)

    # --- ids and time ---
    def next_id(self) -> str:
        """A new Zoho-style numeric id (unique across the whole sandbox)."""
        with self.lock:
            return str(next(self._ids))

    def next_org_id(self) -> str:
        with self.lock:
            while True:
                oid = str(next(self._org_ids))
                if oid not in self.orgs:
                    return oid

    def now(self) -> datetime:
        return self.clock.now()

    def touch(self, record: Any) -> None:
        """Stamp ``last_modified_time`` (and ``created_time`` if unset) with sandbox time."""
        now = self.clock.now()
        if getattr(record, "created_time", None) is None:
            record.created_time = now
        record.last_modified_time = now

    # --- lookups ---
    def org(self, org_id: str) -> OrgData:
        return self.orgs[org_id]

    def user_by_email(self, email: str) -> User | None:
        email = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == email), None)

    # --- change notification ---
    def on_change(self, listener: ChangeListener) -> None:
        """Register ``listener(org_id, module, event, record_id)``; module is e.g. ``invoices``,
        event one of ``created``/``updated``/``deleted``. Called synchronously under the lock:
        keep it quick (queue the work)."""
        self.listeners.append(listener)

    def emit_change(self, org_id: str, module: str, event: str, record_id: str) -> None:
        od = self.orgs.get(org_id)
        if od is not None:
            od.changed()
        for listener in list(self.listeners):
            listener(org_id, module, event, record_id)
