"""Data generator: an organisation with N customers and M invoices over K years.

``generate(sandbox, org_id, customers=N, invoices=M, years=K, seed=S)`` builds the records
directly as state objects (no HTTP), so 100,000 invoices take seconds. Everything is drawn
from one ``random.Random(f"{seed}:{org_id}")``: the same seed on a fresh sandbox gives the
same organisation, ids included.

What an invoice may become (weights in :data:`OUTCOMES`): draft, sent (open or overdue),
paid (one or two payments), partially paid, credited (a credit note applied, possibly with a
payment for the rest), written off (after an optional partial payment), void, or deleted –
deleted invoices are simply absent (Zoho leaves no tombstone), their number is skipped.

Consistency is the point: every money field is Decimal and obeys Zoho's arithmetic
``balance = total - payment_made - credits_applied - write_off_amount``; every payment and
credit note exists as a record whose applications add up to the invoice's ``payment_made`` /
``credits_applied``; account balances are posted with the same double-entry rules as
``OrgData.postings_for`` (checked against ``org.recompute_balances()`` in the tests).
``created_time`` / ``last_modified_time`` spread over the years
and never pass the sandbox's "now".
"""
from __future__ import annotations

import bisect
import dataclasses
import gc
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .state import (
    Account,
    Contact,
    CreditApplication,
    CreditNote,
    CustomerPayment,
    Invoice,
    LineItem,
    OrgData,
    PaymentApplication,
    Sandbox,
    money,
)

ZERO = Decimal("0")
TWO = Decimal("2.00")

#: outcome -> weight (relative) of a generated invoice
OUTCOMES: dict[str, int] = {
    "draft": 3,
    "open": 14,
    "paid": 52,
    "partially_paid": 10,
    "credited": 7,
    "written_off": 3,
    "void": 5,
    "deleted": 6,
}

SERVICES: list[tuple[str, str, Decimal, Decimal]] = [
    # name, unit, min rate, max rate
    ("Managed Services - Per User", "user", Decimal("35"), Decimal("120")),
    ("Microsoft 365 Business Premium", "seat", Decimal("22"), Decimal("22")),
    ("Endpoint Protection", "device", Decimal("4"), Decimal("9")),
    ("Backup & Disaster Recovery", "TB", Decimal("60"), Decimal("180")),
    ("Project Labor", "hour", Decimal("95"), Decimal("185")),
    ("Network Hardware", "unit", Decimal("150"), Decimal("2400")),
    ("Help Desk Block", "block", Decimal("300"), Decimal("1500")),
    ("Cloud Hosting", "month", Decimal("80"), Decimal("900")),
    ("Security Awareness Training", "user", Decimal("3"), Decimal("6")),
    ("On-site Visit", "visit", Decimal("125"), Decimal("250")),
]

FIRST = ["Acme", "Blue", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iron", "Juniper",
         "Keystone", "Lakeside", "Maple", "Northwind", "Oak", "Pioneer", "Quartz", "River", "Summit", "Tidewater",
         "Union", "Valley", "Westbrook", "Yellowstone", "Zenith"]
SECOND = ["Dental", "Logistics", "Law Group", "Accounting", "Clinic", "Realty", "Manufacturing", "Foods",
          "Architects", "Insurance", "Motors", "Partners", "Consulting", "Pharmacy", "Builders", "Studios"]
SUFFIX = ["LLC", "Inc.", "Ltd", "Co.", "Group", "PLLC"]
PEOPLE_FIRST = ["Ava", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Isla", "Jack", "Kara", "Liam",
                "Mia", "Noah", "Olga", "Paul", "Rosa", "Sam", "Tara", "Victor"]
PEOPLE_LAST = ["Smith", "Jones", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Taylor", "Clark",
               "Lewis", "Walker", "Young", "King", "Wright", "Hill"]
PAYMENT_MODES = ["creditcard", "banktransfer", "check", "cash", "ach"]
TERMS = [(0, "Due On Receipt"), (15, "Net 15"), (30, "Net 30"), (45, "Net 45")]

#: accounts the generator needs; created if the organisation lacks them
REQUIRED_ACCOUNTS: list[tuple[str, str]] = [
    ("Accounts Receivable", "accounts_receivable"),
    ("Sales", "income"),
    ("Tax Payable", "other_current_liability"),
    ("Bank Fees and Charges", "expense"),
    ("Bad Debt", "expense"),
    ("Undeposited Funds", "cash"),
    ("Petty Cash", "cash"),
    ("Business Checking", "bank"),
]


@dataclass
class GenerateResult:
    """What ``generate`` built, for benchmarks and the admin API."""

    org_id: str
    customers: int = 0
    invoices: int = 0
    deleted_invoices: int = 0
    payments: int = 0
    creditnotes: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id, "customers": self.customers, "invoices": self.invoices,
            "deleted_invoices": self.deleted_invoices, "payments": self.payments,
            "creditnotes": self.creditnotes, "outcomes": dict(self.outcomes), "seconds": round(self.seconds, 3),
        }


def ensure_org(sandbox: Sandbox, org_id: str, name: str | None = None, currency_code: str = "USD",
               dc: str = "us", plan: str | None = None) -> OrgData:
    """The organisation ``org_id``, created (sandbox-core's ``create_organization``: Zoho's default
    chart of accounts and a sales tax) if missing."""
    with sandbox.lock:
        org = sandbox.orgs.get(org_id)
        if org is None:
            from .demo import create_organization

            org = create_organization(sandbox, name or f"Organization {org_id}", currency_code=currency_code,
                                      dc=dc, plan=plan, org_id=org_id)
        _ensure_accounts(sandbox, org)
        return org


def _ensure_accounts(sandbox: Sandbox, org: OrgData) -> None:
    if not org.accounts:
        try:  # sandbox-core's default chart of accounts, when present
            from .books import chartofaccounts  # type: ignore[attr-defined]

            chartofaccounts.create_default_accounts(sandbox, org)  # type: ignore[attr-defined]
        except (ImportError, AttributeError):
            pass
    names = {a.account_name for a in org.accounts.values()}
    for name, account_type in REQUIRED_ACCOUNTS:
        if name not in names:
            acc = Account(account_id=sandbox.next_id(), account_name=name, account_type=account_type,
                          currency_code=org.org.currency_code, is_system_account=account_type != "bank",
                          created_time=sandbox.now(), last_modified_time=sandbox.now())
            org.accounts[acc.account_id] = acc


class _Stamp:
    """Turns (date, seconds into the day) into UTC datetimes in the org's time zone, capped at now."""

    def __init__(self, tz: str, now: datetime) -> None:
        self.tz = ZoneInfo(tz)
        self.now = now

        self._midnights: dict[date, datetime] = {}

    def at(self, day: date, seconds: int) -> datetime:
        midnight = self._midnights.get(day)
        if midnight is None:
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(timezone.utc)
            self._midnights[day] = midnight
        return min(midnight + timedelta(seconds=seconds), self.now)


def generate(sandbox: Sandbox, org_id: str, customers: int = 50, invoices: int = 500, years: int = 2,
             seed: int | None = None) -> GenerateResult:
    """Fill organisation ``org_id`` (created if missing) with customers and invoices.

    Adds to whatever the organisation already holds; does not emit per-record change events
    (a bulk load), only one ``("organizations", "updated", org_id)`` at the end so persistence
    notices. Returns counts and the seconds it took.
    """
    started = time.perf_counter()
    # Hundreds of thousands of new container objects would trigger full cyclic-GC passes over
    # the whole heap again and again (quadratic); the records form no garbage cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        result = _generate(sandbox, org_id, customers, invoices, years, seed)
        # The loaded records live as long as the organisation: move them (and everything else
        # alive now) out of the collector's view, so the first full collection after the load
        # does not walk a million objects while a client waits for its first list page.
        gc.freeze()
    finally:
        if gc_was_enabled:
            gc.enable()
    result.seconds = time.perf_counter() - started
    sandbox.emit_change(org_id, "organizations", "updated", org_id)
    return result


def _generate(sandbox: Sandbox, org_id: str, customers: int, invoices: int, years: int,
              seed: int | None) -> GenerateResult:
    seed = sandbox.config.seed if seed is None else seed
    rng = random.Random(f"{seed}:{org_id}")
    result = GenerateResult(org_id=org_id, outcomes={k: 0 for k in OUTCOMES})
    with sandbox.lock:
        org = ensure_org(sandbox, org_id)
        tz = org.org.time_zone
        now = sandbox.now()
        today = now.astimezone(ZoneInfo(tz)).date()
        start = today - timedelta(days=365 * max(1, years))
        span = (today - start).days
        stamp = _Stamp(tz, now)
        accounts = {a.account_name: a.account_id for a in org.accounts.values()}
        sales_id = accounts["Sales"]
        deposit_ids = [accounts["Undeposited Funds"], accounts["Business Checking"]]
        currency = org.org.currency_code
        tax_id, tax_name, tax_rate = _org_tax(sandbox, org)

        contacts = _make_customers(sandbox, org, rng, customers, start, span, stamp, currency)
        result.customers = len(contacts)
        if not contacts:
            return result

        names = [n for n in OUTCOMES if n != "deleted"]
        cumulative = list(itertools.accumulate(OUTCOMES[n] for n in names))
        weight_sum = cumulative[-1]
        new_id = _id_source(sandbox)
        deleted_share = OUTCOMES["deleted"] / sum(OUTCOMES.values())
        prices = _PriceBook(tax_rate)
        rand = rng.random
        ledger = _Ledger(org, new_id)
        new_object = object.__new__
        first_days: dict[str, date] = {}
        invoice_defaults = _defaults(Invoice)
        line_defaults = _defaults(LineItem)
        day_delta = {days: timedelta(days=days) for days, _ in TERMS}
        month_names = _Memo(lambda day: f"{day:%B %Y}", key=lambda day: (day.year, day.month))
        descriptions = _Memo(lambda name, month: f"{name} ({month})")
        while result.invoices < invoices:
            customer = contacts[int(rand() * len(contacts))]
            number = f"INV-{next(org.invoice_seq):06d}"
            invoice_id = new_id()
            if rand() < deleted_share:
                # Deleted in Zoho: nothing remains but the gap in the numbering.
                result.outcomes["deleted"] += 1
                result.deleted_invoices += 1
                continue
            outcome = names[bisect.bisect_right(cumulative, rand() * weight_sum)]
            result.outcomes[outcome] += 1
            first_day = first_days.get(customer.contact_id)
            if first_day is None:
                first_day = first_days[customer.contact_id] = customer.created_time.astimezone(stamp.tz).date()
            inv_date = first_day + timedelta(days=int(rand() * ((today - first_day).days + 1)))
            terms, label = TERMS[int(rand() * len(TERMS))]
            created = stamp.at(inv_date, 8 * 3600 + int(rand() * 36000))
            total = ZERO
            tax_total = ZERO
            month = month_names(inv_date)
            lines = []
            for order in range(1, 2 + int(rand() * 5)):
                service = int(rand() * len(SERVICES))
                name, unit, rate, qty, item_total, tax = prices.line(service, rand)
                taxed = rand() < 0.7
                li = new_object(LineItem)
                li.__dict__.update(line_defaults)
                li.__dict__.update(
                    line_item_id=new_id(), name=name, description=descriptions(name, month),
                    rate=rate, quantity=qty, unit=unit, account_id=sales_id, item_order=order,
                    tax_id=tax_id if taxed else "", tax_name=tax_name if taxed else "",
                    tax_percentage=tax_rate if taxed else ZERO)
                lines.append(li)
                total += item_total
                if taxed:
                    total += tax
                    tax_total += tax
            # Built through ``__dict__`` (no per-field ``__setattr__``) with the totals the generator
            # already knows cached as ``_totals`` — so neither the load nor the first list pays
            # for Invoice arithmetic. A test checks the cache equals a recomputation.
            inv = new_object(Invoice)
            fields = inv.__dict__
            fields.update(invoice_defaults)
            fields.update(
                invoice_id=invoice_id, invoice_number=number, customer_id=customer.contact_id,
                customer_name=customer.contact_name, date=inv_date, due_date=inv_date + day_delta[terms],
                line_items=lines, base_status="draft" if outcome == "draft" else "sent", currency_code=currency,
                payment_terms=terms, payment_terms_label=label, created_time=created, last_modified_time=created,
                reference_number=f"PO-{10000 + int(rand() * 90000)}" if rand() < 0.3 else "",
                custom_fields=[], _totals=(total - tax_total, tax_total, ZERO_CENTS, total),
            )
            last_event = created
            if outcome == "void":
                inv.base_status = "void"
                last_event = stamp.at(inv_date + timedelta(days=int(rand() * 21)), int(rand() * 86400))
            elif outcome == "paid":
                if rand() < 0.15 and total >= TWO:
                    first = money(total * Decimal(20 + int(rand() * 61)) / 100)
                    last_event = _pay(sandbox, org, rng, inv, first, stamp, today, deposit_ids, result, ledger)
                    last_event = _pay(sandbox, org, rng, inv, total - first, stamp, today, deposit_ids, result, ledger)
                else:
                    last_event = _pay(sandbox, org, rng, inv, total, stamp, today, deposit_ids, result, ledger)
            elif outcome == "partially_paid" and total >= TWO:
                part = money(total * Decimal(10 + int(rand() * 81)) / 100)
                last_event = _pay(sandbox, org, rng, inv, part, stamp, today, deposit_ids, result, ledger)
            elif outcome == "credited" and total >= TWO:
                full = rand() < 0.5
                credit = total if full else money(total * Decimal(10 + int(rand() * 51)) / 100)
                last_event = _credit(sandbox, org, rng, inv, credit, stamp, today, sales_id, result, ledger)
                if not full and rand() < 0.6:
                    last_event = max(last_event, _pay(sandbox, org, rng, inv, total - credit, stamp, today,
                                                      deposit_ids, result, ledger))
            elif outcome == "written_off":
                paid = ZERO
                if rand() < 0.4 and total >= TWO:
                    paid = money(total * Decimal(10 + int(rand() * 41)) / 100)
                    last_event = _pay(sandbox, org, rng, inv, paid, stamp, today, deposit_ids, result, ledger)
                inv.write_off_amount = total - paid
                off_day = min(today, inv.due_date + timedelta(days=60 + int(rand() * 141)))
                last_event = max(last_event, stamp.at(off_day, int(rand() * 86400)))
            inv.last_modified_time = max(created, last_event)
            org.invoices[invoice_id] = inv
            ledger.invoice(inv, total, tax_total)
            result.invoices += 1
        ledger.commit()
    return result


ZERO_CENTS = Decimal("0.00")


def _defaults(cls: type) -> dict[str, Any]:
    """The dataclass's immutable field defaults (mutable ones are set per record by the caller)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
    return out


class _Memo:
    """Tiny memo for strings built again and again (month names, line descriptions)."""

    def __init__(self, build: Callable[..., str], key: Callable[..., Any] | None = None) -> None:
        self.build, self.key, self.cache = build, key, {}

    def __call__(self, *args: Any) -> str:
        k = self.key(*args) if self.key else args
        value = self.cache.get(k)
        if value is None:
            value = self.cache[k] = self.build(*args)
        return value


def _id_source(sandbox: Sandbox) -> Callable[[], str]:
    """``sandbox.next_id`` without re-taking the lock per id (the generator holds it throughout)."""
    counter = getattr(sandbox, "_ids", None)
    if counter is None:
        return sandbox.next_id
    return lambda: str(next(counter))


def _org_tax(sandbox: Sandbox, org: OrgData) -> tuple[str, str, Decimal]:
    """(tax_id, name, percentage) of the organisation's first tax (core keeps them in ``org.taxes``)."""
    taxes = getattr(org, "taxes", None) or {}
    for tax in taxes.values():
        return str(tax["tax_id"]), str(tax["tax_name"]), Decimal(str(tax["tax_percentage"]))
    euro = org.org.currency_code == "EUR"
    tax_id = org.settings.setdefault("generator_tax_id", sandbox.next_id())
    return tax_id, ("VAT" if euro else "Sales Tax"), Decimal("19") if euro else Decimal("8.25")


def _make_customers(sandbox: Sandbox, org: OrgData, rng: random.Random, count: int, start: date, span: int,
                    stamp: _Stamp, currency: str) -> list[Contact]:
    out: list[Contact] = []
    for n in range(count):
        company = f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(SUFFIX)}"
        if n >= len(FIRST) * len(SECOND):
            company = f"{company} #{n}"
        first, last = rng.choice(PEOPLE_FIRST), rng.choice(PEOPLE_LAST)
        created_day = start + timedelta(days=rng.randrange(max(1, int(span * 0.8))))
        created = stamp.at(created_day, rng.randrange(8 * 3600, 18 * 3600))
        terms, label = TERMS[rng.randrange(len(TERMS))]
        slug = "".join(ch for ch in company.lower() if ch.isalnum())[:20]
        c = Contact(
            contact_id=sandbox.next_id(), contact_name=company, company_name=company, first_name=first,
            last_name=last, email=f"{first.lower()}.{last.lower()}@{slug}.example", phone=f"+1-555-{rng.randrange(10**7):07d}",
            currency_code=currency, payment_terms=terms, payment_terms_label=label,
            status="inactive" if rng.random() < 0.05 else "active", created_time=created,
            last_modified_time=stamp.at(created_day + timedelta(days=rng.randrange(max(1, span // 4))), rng.randrange(86400)),
            billing_address={"address": f"{rng.randint(1, 9999)} Main Street", "city": "Springfield",
                             "state": "CA", "zip": f"{rng.randrange(90000, 96000)}", "country": "U.S.A"},
        )
        c.last_modified_time = max(c.created_time, c.last_modified_time)
        org.contacts[c.contact_id] = c
        out.append(c)
    return out


def _event_day(rng: random.Random, inv: Invoice, today: date) -> date:
    day = inv.date + timedelta(days=int(rng.random() * (inv.payment_terms + 21)))
    return min(day, today)


def _pay(sandbox: Sandbox, org: OrgData, rng: random.Random, inv: Invoice, amount: Decimal, stamp: _Stamp,
         today: date, deposit_ids: list[str], result: GenerateResult, ledger: _Ledger) -> datetime:
    """Record one customer payment fully applied to ``inv``; returns its timestamp."""
    day = _event_day(rng, inv, today)
    if inv.last_payment_date and day < inv.last_payment_date:
        day = inv.last_payment_date
    moment = stamp.at(day, int(rng.random() * 86400))
    mode = PAYMENT_MODES[int(rng.random() * len(PAYMENT_MODES))]
    fees = money(amount * Decimal("0.029") + Decimal("0.30")) if mode == "creditcard" and amount > 1 else ZERO
    application = _new(PaymentApplication)
    application.__dict__.update(invoice_id=inv.invoice_id, amount_applied=amount, tax_amount_withheld=ZERO,
                                invoice_payment_id=ledger.new_id())  # the id DELETE /invoices/{id}/payments/{..} takes
    pay = _new(CustomerPayment)
    pay.__dict__.update(_PAYMENT_DEFAULTS)
    pay.__dict__.update(
        payment_id=ledger.new_id(), payment_number=str(next(org.payment_seq)),
        customer_id=inv.customer_id, customer_name=inv.customer_name, payment_mode=mode, amount=amount,
        date=day, account_id=deposit_ids[0] if mode in ("creditcard", "ach") else deposit_ids[1],
        reference_number=f"{mode.upper()[:3]}-{int(rng.random() * 10**8):08d}", bank_charges=fees,
        currency_code=inv.currency_code, exchange_rate=inv.exchange_rate, invoices=[application], refunds=[],
        custom_fields=[], created_time=moment, last_modified_time=moment,
    )
    org.payments[pay.payment_id] = pay
    ledger.payment(pay)
    inv.payment_made += amount
    inv.last_payment_date = day
    result.payments += 1
    return moment


_new = object.__new__
_PAYMENT_DEFAULTS: dict[str, Any] = {}


def _credit(sandbox: Sandbox, org: OrgData, rng: random.Random, inv: Invoice, amount: Decimal, stamp: _Stamp,
            today: date, sales_id: str, result: GenerateResult, ledger: _Ledger) -> datetime:
    """Create a credit note of ``amount`` (no tax) and apply it entirely to ``inv``."""
    day = _event_day(rng, inv, today)
    moment = stamp.at(day, int(rng.random() * 86400))
    note = CreditNote(
        creditnote_id=ledger.new_id(), creditnote_number=f"CN-{next(org.creditnote_seq):05d}",
        customer_id=inv.customer_id, customer_name=inv.customer_name, date=day, currency_code=inv.currency_code,
        reference_number=inv.invoice_number,
        line_items=[LineItem(line_item_id=ledger.new_id(), name="Service credit",
                             description=f"Credit for {inv.invoice_number}", rate=amount, account_id=sales_id)],
        created_time=moment, last_modified_time=moment,
    )
    note.applications.append(CreditApplication(ledger.new_id(), inv.invoice_id, amount, day, moment))
    org.creditnotes[note.creditnote_id] = note
    ledger.creditnote(note, amount)
    inv.credits_applied += amount
    result.creditnotes += 1
    return moment


class _PriceBook:
    """Pre-computed rates and line totals: Decimal arithmetic once per distinct line, not per line."""

    STEPS = 40

    def __init__(self, tax_rate: Decimal) -> None:
        self.tax_rate = tax_rate
        self.rates: list[list[Decimal]] = []
        for _name, _unit, low, high in SERVICES:
            if low == high:
                self.rates.append([low])
            else:
                self.rates.append([money(low + (high - low) * Decimal(i) / (self.STEPS - 1)) for i in range(self.STEPS)])
        self._lines: dict[tuple[int, int, int], tuple[str, str, Decimal, Decimal, Decimal, Decimal]] = {}

    def line(self, service: int, rand: Any) -> tuple[str, str, Decimal, Decimal, Decimal, Decimal]:
        """(name, unit, rate, quantity, item_total, tax_if_taxed) of one random line of ``service``."""
        name, unit, _low, _high = SERVICES[service]
        rates = self.rates[service]
        r = int(rand() * len(rates))
        q = 1 + int(rand() * (40 if unit in ("user", "seat", "device", "hour") else 3))
        key = (service, r, q)
        cached = self._lines.get(key)
        if cached is None:
            rate, qty = rates[r], Decimal(q)
            item_total = money(rate * qty)
            cached = (name, unit, rate, qty, item_total, money(item_total * self.tax_rate / Decimal(100)))
            self._lines[key] = cached
        return cached


class _Ledger:
    """Posts generated records to the accounts with the totals the generator already knows.

    Same double-entry rules as ``OrgData.postings_for`` (a test checks the result equals a full
    ``org.recompute_balances()``), but summed per account in local Decimals and added once
    (``OrgData.add_bulk_posted``): no per-record posting lists, no invoice totals recomputed.
    A generated record that is later changed is unposted with ``postings_for`` (see ``unpost``).
    """

    def __init__(self, org: OrgData, new_id: Callable[[], str]) -> None:
        self.org = org
        self.new_id = new_id
        acc = {a.account_name: a.account_id for a in org.accounts.values()}
        self.ar, self.sales, self.tax = acc["Accounts Receivable"], acc["Sales"], acc["Tax Payable"]
        self.fees, self.bad = acc["Bank Fees and Charges"], acc["Bad Debt"]
        self.ids: list[str] = []
        # running totals, debit positive
        self.ar_total = self.sales_total = self.tax_total = self.fees_total = self.bad_total = ZERO
        self.deposits: dict[str, Decimal] = {}

    def invoice(self, inv: Invoice, total: Decimal, tax_total: Decimal) -> None:
        self.ids.append(inv.invoice_id)
        if inv.base_status in ("draft", "void"):
            return
        self.ar_total += total - inv.write_off_amount
        self.sales_total -= total - tax_total
        self.tax_total -= tax_total
        self.bad_total += inv.write_off_amount

    def payment(self, pay: CustomerPayment) -> None:
        self.ids.append(pay.payment_id)
        self.deposits[pay.account_id] = self.deposits.get(pay.account_id, ZERO) + (pay.amount - pay.bank_charges)
        self.ar_total -= pay.amount
        self.fees_total += pay.bank_charges

    def creditnote(self, note: CreditNote, total: Decimal) -> None:
        self.ids.append(note.creditnote_id)
        self.sales_total += total
        self.ar_total -= total

    def commit(self) -> None:
        """Add the sums to the account balances (once, at the end of the load)."""
        balances: dict[str, Decimal] = dict(self.deposits)
        for acc_id, amt in ((self.ar, self.ar_total), (self.sales, self.sales_total), (self.tax, self.tax_total),
                            (self.fees, self.fees_total), (self.bad, self.bad_total)):
            balances[acc_id] = balances.get(acc_id, ZERO) + amt
        self.org.add_bulk_posted(self.ids, balances)
        self.ids = []
