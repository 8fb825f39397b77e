"""Contacts (customers and vendors), scope ``contacts``.

Deleting a contact that has invoices, payments or credit notes is refused (HTTP 400, code
1040) as Zoho does; mark it inactive instead. ``contact_name`` is unique per organisation
(code 1070). ``outstanding_receivable_amount`` = sum of balances of its sent invoices;
``unused_credits_receivable_amount`` = unused payment amounts + open credit note balances.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from .. import errors
from ..state import ZERO, Contact, OrgData
from .common import (
    as_str,
    create_with_unique_field,
    filtered,
    get_record,
    list_response,
    modified_since,
    ok,
    require,
    string_filter,
    text_match,
    today,
    ts,
    upsert_by_unique_field,
)
from .registry import Ctx, route

_ADDRESS_FIELDS = ("attention", "address", "street2", "city", "state", "zip", "country", "phone", "fax")

_FILTERS = {
    "status.all": lambda c: True,
    "status.active": lambda c: c.status == "active",
    "status.inactive": lambda c: c.status == "inactive",
    "status.customers": lambda c: c.contact_type == "customer",
    "status.vendors": lambda c: c.contact_type == "vendor",
    "status.crm": lambda c: False,
    "status.duplicate": lambda c: False,
    "status.overdue": None,  # computed below
    "status.unpaid": None,
}


def receivables(org: OrgData, only: str | None = None) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(outstanding by customer, unused credits by customer) in one pass over the books."""
    outstanding: dict[str, Decimal] = defaultdict(lambda: ZERO)
    credits: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for inv in org.invoices.values():
        if inv.base_status == "sent" and (only is None or inv.customer_id == only):
            outstanding[inv.customer_id] += inv.balance
    for p in org.payments.values():
        if (only is None or p.customer_id == only) and p.invoices is not None:
            unused = p.unused_amount
            if unused:
                credits[p.customer_id] += unused
    for cn in org.creditnotes.values():
        if cn.base_status == "open" and (only is None or cn.customer_id == only):
            credits[cn.customer_id] += cn.balance
    return outstanding, credits


class _LazyView:
    """``.get(customer_id, default)`` computed on demand (what ``render`` reads per row)."""

    def __init__(self, compute: Any) -> None:
        self.compute = compute

    def get(self, cid: str, default: Decimal = ZERO) -> Decimal:
        return self.compute(cid)


def customer_index(org: OrgData) -> dict[str, tuple[list[Any], list[Any], list[Any]]]:
    """customer_id → (invoices, payments, credit notes), built once per organisation version."""
    def build() -> dict[str, tuple[list[Any], list[Any], list[Any]]]:
        index: dict[str, tuple[list[Any], list[Any], list[Any]]] = {}
        for slot, records in enumerate((org.invoices, org.payments, org.creditnotes)):
            for rec in records.values():
                entry = index.get(rec.customer_id)
                if entry is None:
                    entry = index[rec.customer_id] = ([], [], [])
                entry[slot].append(rec)
        return index
    return org.memo("customer_index", build)


def customer_receivables(org: OrgData, cid: str) -> tuple[Decimal, Decimal]:
    """(outstanding, unused credits) of one customer — same rules as :func:`receivables`."""
    invoices, payments, notes = customer_index(org).get(cid, ([], [], []))
    outstanding = sum((i.balance for i in invoices if i.base_status == "sent"), ZERO)
    unused = sum((p.unused_amount for p in payments), ZERO)
    unused += sum((n.balance for n in notes if n.base_status == "open"), ZERO)
    return outstanding, unused


def _address(raw: Any, field: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise errors.invalid_value(field)
    return {k: as_str(raw.get(k), f"{field}.{k}") for k in _ADDRESS_FIELDS if raw.get(k) is not None}


def render(ctx: Ctx, c: Contact, outstanding: Decimal, unused: Decimal, *, full: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "contact_id": c.contact_id,
        "contact_name": c.contact_name,
        "customer_name": c.contact_name if c.contact_type == "customer" else "",
        "vendor_name": c.contact_name if c.contact_type == "vendor" else "",
        "company_name": c.company_name,
        "website": c.website,
        "language_code": "en",
        "contact_type": c.contact_type,
        "status": c.status,
        "customer_sub_type": "business" if c.company_name else "individual",
        "source": "api",
        "is_linked_with_zohocrm": False,
        "payment_terms": c.payment_terms,
        "payment_terms_label": c.payment_terms_label,
        "currency_id": "",
        "currency_code": c.currency_code,
        "outstanding_receivable_amount": outstanding,
        "outstanding_receivable_amount_bcy": outstanding,
        "unused_credits_receivable_amount": unused,
        "unused_credits_receivable_amount_bcy": unused,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone": c.phone,
        "mobile": "",
        "has_attachment": False,
        "created_time": ts(ctx, c.created_time),
        "last_modified_time": ts(ctx, c.last_modified_time),
    }
    if full:
        row.update({
            "is_active": c.status == "active",
            "notes": c.notes,
            "billing_address": {k: c.billing_address.get(k, "") for k in _ADDRESS_FIELDS},
            "shipping_address": {k: c.shipping_address.get(k, "") for k in _ADDRESS_FIELDS},
            "contact_persons": ([{
                "contact_person_id": str(int(c.contact_id) + 1),
                "first_name": c.first_name, "last_name": c.last_name, "email": c.email,
                "phone": c.phone, "mobile": "", "is_primary_contact": True,
            }] if (c.first_name or c.last_name or c.email) else []),
            "custom_fields": c.custom_fields,
            "outstanding_payable_amount": ZERO,
            "unused_credits_payable_amount": ZERO,
        })
    return row


def apply_body(ctx: Ctx, c: Contact, body: dict[str, Any], *, creating: bool) -> None:
    """Copy the writable fields Zoho accepts onto a contact (validating types)."""
    if "contact_name" in body or creating:
        c.contact_name = as_str(require(body, "contact_name"), "contact_name", 200).strip()
    for f, n in (("company_name", 200), ("website", None), ("notes", None)):
        if f in body:
            setattr(c, f, as_str(body[f], f, n))
    if body.get("currency_code"):
        code = as_str(body["currency_code"], "currency_code", 3).strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise errors.invalid_value("currency_code")
        c.currency_code = code
    if "contact_type" in body:
        ct = as_str(body["contact_type"], "contact_type")
        if ct not in ("customer", "vendor"):
            raise errors.invalid_value("contact_type")
        c.contact_type = ct
    if "payment_terms" in body:
        try:
            c.payment_terms = int(body["payment_terms"])
        except (TypeError, ValueError):
            raise errors.invalid_value("payment_terms") from None
        c.payment_terms_label = as_str(body.get("payment_terms_label"), "payment_terms_label") or (
            "Due On Receipt" if c.payment_terms == 0 else f"Net {c.payment_terms}")
    if "billing_address" in body:
        c.billing_address = _address(body["billing_address"], "billing_address")
    if "shipping_address" in body:
        c.shipping_address = _address(body["shipping_address"], "shipping_address")
    if "custom_fields" in body:
        if not isinstance(body["custom_fields"], list):
            raise errors.invalid_value("custom_fields")
        c.custom_fields = body["custom_fields"]
    persons = body.get("contact_persons")
    if persons is not None:
        if not isinstance(persons, list):
            raise errors.invalid_value("contact_persons")
        primary = next((p for p in persons if isinstance(p, dict) and p.get("is_primary_contact")),
                       persons[0] if persons else None)
        if isinstance(primary, dict):
            c.first_name = as_str(primary.get("first_name"), "first_name")
            c.last_name = as_str(primary.get("last_name"), "last_name")
            c.email = as_str(primary.get("email"), "email")
            c.phone = as_str(primary.get("phone"), "phone")
    for f in ("first_name", "last_name", "email", "phone"):
        if f in body:
            setattr(c, f, as_str(body[f], f))
    if c.email and "@" not in c.email:
        raise errors.invalid_value("email")


def _check_unique(org: OrgData, name: str, exclude: str | None = None) -> None:
    lname = name.lower()
    for other in org.contacts.values():
        if other.contact_id != exclude and other.contact_name.lower() == lname:
            raise errors.already_exists("The contact name")


@route("GET", "/contacts", "contacts.list", "contacts")
def list_contacts(ctx: Ctx):
    org = ctx.org
    assert org
    fb = (ctx.params.get("filter_by") or "Status.All").lower()
    if fb not in _FILTERS:
        raise errors.invalid_value("filter_by")
    day = today(ctx)

    # Receivables of every customer only when a filter or sort needs them (a full pass over the
    # books); a page of rows needs just its customers' (an index built once per version).
    everyone: list[tuple[dict[str, Decimal], dict[str, Decimal]]] = []

    def all_receivables() -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        if not everyone:
            everyone.append(org.memo(("receivables", day), lambda: receivables(org)))
        return everyone[0]

    def one(cid: str) -> tuple[Decimal, Decimal]:
        # the page's rows only: one pass over that customer's records (indexed once per org version)
        cache = org.memo(("receivables_of", day), dict)
        value = cache.get(cid)
        if value is None:
            value = cache[cid] = customer_receivables(org, cid)
        return value

    outstanding = _LazyView(lambda cid: one(cid)[0])
    unused = _LazyView(lambda cid: one(cid)[1])
    if fb == "status.overdue":
        from .invoices import invoice_status
        overdue_customers = {i.customer_id for i in org.invoices.values() if invoice_status(ctx, i) == "overdue"}
        pred = lambda c: c.contact_id in overdue_customers  # noqa: E731
    elif fb == "status.unpaid":
        pred = lambda c: all_receivables()[0].get(c.contact_id, ZERO) > 0  # noqa: E731
    else:
        pred = _FILTERS[fb]
    preds = [pred]
    ct = ctx.params.get("contact_type")
    if ct:
        preds.append(lambda c: c.contact_type == ct)
    for name, get in (("contact_name", lambda c: c.contact_name), ("company_name", lambda c: c.company_name),
                      ("first_name", lambda c: c.first_name), ("last_name", lambda c: c.last_name),
                      ("email", lambda c: c.email), ("phone", lambda c: c.phone)):
        preds += string_filter(ctx, name, get)
    st = ctx.params.get("search_text")
    if st:
        preds.append(lambda c: text_match(st, c.contact_name, c.company_name, c.email, c.first_name, c.last_name))
    since = modified_since(ctx)
    if since:
        preds.append(since)
    return list_response(
        ctx, lambda: filtered(org.contacts.values(), preds), key="contacts", memo="contacts", report_name="Contacts",
        render=lambda c: render(ctx, c, outstanding.get(c.contact_id, ZERO), unused.get(c.contact_id, ZERO), full=False),
        sort_keys={"contact_name": lambda c: c.contact_name, "first_name": lambda c: c.first_name,
                   "last_name": lambda c: c.last_name, "email": lambda c: c.email,
                   "company_name": lambda c: c.company_name,
                   "outstanding_receivable_amount": lambda c: all_receivables()[0].get(c.contact_id, ZERO),
                   "created_time": lambda c: c.created_time, "last_modified_time": lambda c: c.last_modified_time},
        default_sort="contact_name", default_order="A", id_of=lambda c: c.contact_id,
    )


def _one(ctx: Ctx, c: Contact) -> dict[str, Any]:
    assert ctx.org
    outstanding, unused = receivables(ctx.org, only=c.contact_id)
    return render(ctx, c, outstanding.get(c.contact_id, ZERO), unused.get(c.contact_id, ZERO), full=True)


@route("GET", "/contacts/{contact_id}", "contacts.get", "contacts")
def get_contact(ctx: Ctx):
    assert ctx.org
    c = get_record(ctx.org.contacts, ctx.path_args["contact_id"], "Contact")
    return 200, ok(contact=_one(ctx, c))


@route("POST", "/contacts", "contacts.create", "contacts")
def create_contact(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        upserted = create_with_unique_field(ctx, list(org.contacts.values()), "contact_id", "contact_id",
                                            update_contact, "A contact")
        if upserted is not None:
            return upserted
        c = Contact(contact_id=ctx.sandbox.next_id(), contact_name="", currency_code=org.org.currency_code)
        apply_body(ctx, c, ctx.body, creating=True)
        _check_unique(org, c.contact_name)
        ctx.sandbox.touch(c)
        org.contacts[c.contact_id] = c
        ctx.sandbox.emit_change(org.organization_id, "contacts", "created", c.contact_id)
    return 201, ok("The contact has been added.", contact=_one(ctx, c))


def _has_transactions(org: OrgData, contact_id: str) -> bool:
    return any(r.customer_id == contact_id for coll in (org.invoices, org.payments, org.creditnotes)
               for r in coll.values())


@route("PUT", "/contacts", "contacts.upsert", "contacts")
def upsert_contact(ctx: Ctx):
    assert ctx.org
    with ctx.sandbox.lock:
        return upsert_by_unique_field(ctx, list(ctx.org.contacts.values()), "contact_id", "contact_id",
                                      create_contact, update_contact, "Contact")


@route("PUT", "/contacts/{contact_id}", "contacts.update", "contacts")
def update_contact(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        c = get_record(org.contacts, ctx.path_args["contact_id"], "Contact")
        from copy import deepcopy
        draft = deepcopy(c)
        apply_body(ctx, draft, ctx.body, creating=False)
        _check_unique(org, draft.contact_name, exclude=c.contact_id)
        has_transactions = _has_transactions(org, c.contact_id)
        if draft.currency_code != c.currency_code and has_transactions:
            raise errors.bad_state("The currency of a contact with transactions cannot be changed.")
        if draft.contact_type != c.contact_type and has_transactions:
            raise errors.bad_state("The type of a contact with transactions cannot be changed.")
        renamed = draft.contact_name != c.contact_name
        c.__dict__.update(draft.__dict__)
        ctx.sandbox.touch(c)
        if renamed:  # Zoho shows the new name on the contact's transactions (their times do not move)
            for coll in (org.invoices, org.payments, org.creditnotes):
                for rec in coll.values():
                    if rec.customer_id == c.contact_id:
                        rec.customer_name = c.contact_name
        ctx.sandbox.emit_change(org.organization_id, "contacts", "updated", c.contact_id)
    return 200, ok("Contact has been updated successfully", contact=_one(ctx, c))


def _set_status(ctx: Ctx, status: str, message: str):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        c = get_record(org.contacts, ctx.path_args["contact_id"], "Contact")
        if c.status != status:
            c.status = status
            ctx.sandbox.touch(c)
            ctx.sandbox.emit_change(org.organization_id, "contacts", "updated", c.contact_id)
    return 200, ok(message)


@route("POST", "/contacts/{contact_id}/active", "contacts.active", "contacts", "update")
def mark_active(ctx: Ctx):
    return _set_status(ctx, "active", "The contact has been marked as active.")


@route("POST", "/contacts/{contact_id}/inactive", "contacts.inactive", "contacts", "update")
def mark_inactive(ctx: Ctx):
    return _set_status(ctx, "inactive", "The contact has been marked as inactive.")


def has_transactions(org: OrgData, contact_id: str) -> bool:
    return (any(i.customer_id == contact_id for i in org.invoices.values())
            or any(p.customer_id == contact_id for p in org.payments.values())
            or any(n.customer_id == contact_id for n in org.creditnotes.values())
            or any(t.customer_id == contact_id for t in org.bank_transactions.values()))


@route("DELETE", "/contacts/{contact_id}", "contacts.delete", "contacts")
def delete_contact(ctx: Ctx):
    org = ctx.org
    assert org
    with ctx.sandbox.lock:
        c = get_record(org.contacts, ctx.path_args["contact_id"], "Contact")
        if has_transactions(org, c.contact_id):
            raise errors.contact_in_use()
        del org.contacts[c.contact_id]
        ctx.sandbox.emit_change(org.organization_id, "contacts", "deleted", c.contact_id)
    return 200, ok("The contact has been deleted.")
