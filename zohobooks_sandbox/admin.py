"""Acting as the Zoho user: the JSON admin API under ``/_sandbox`` and a small HTML page.

Every money-moving action calls the *same* Books handler the API uses (through
:func:`act`, which builds a handler context with an all-scopes admin token), so balances,
statuses, ``last_modified_time`` and change events (webhooks, persistence) move exactly as
they do for an API call. Admin calls are not Books API calls: they pass no guard, count
against no limit and appear in no counter.

Routes (all JSON unless noted; documented in the app's ``/openapi.json`` under the tag
``sandbox admin``):

* ``GET /_sandbox`` HTML page (``/_sandbox/`` too: the app drops trailing slashes); ``POST /_sandbox/ui`` its form actions.
* ``GET|POST /_sandbox/orgs``; ``GET /_sandbox/orgs/{org_id}``; ``POST /_sandbox/orgs/{org_id}/generate``.
* invoices: ``PATCH /_sandbox/orgs/{org_id}/invoices/{invoice_id}`` (amount, due date),
  ``POST .../payments``, ``.../credits``, ``.../writeoff``, ``.../void``, ``DELETE .../{invoice_id}``.
* contacts: ``DELETE /_sandbox/orgs/{org_id}/contacts/{contact_id}``, ``POST .../inactive``, ``.../active``.
* ``GET|PUT /_sandbox/orgs/{org_id}/limits``; ``GET|PUT|DELETE /_sandbox/orgs/{org_id}/faults``,
  ``POST /_sandbox/orgs/{org_id}/faults/script``, ``GET|PUT /_sandbox/orgs/{org_id}/faults/poison``
  (planted malformed invoices, see ``poison.py``).
* ``GET /_sandbox/orgs/{org_id}/stats``, ``POST /_sandbox/orgs/{org_id}/stats/reset``.
* ``POST /_sandbox/users/revoke`` (revoke a user's tokens), ``POST /_sandbox/clients`` (register an OAuth client).
* ``GET|POST /_sandbox/orgs/{org_id}/webhooks``, ``DELETE /_sandbox/webhooks/{webhook_id}``,
  ``GET /_sandbox/webhooks/deliveries``, ``PUT /_sandbox/webhooks/faults``.
* ``GET /_sandbox/requests`` (last N Books requests), ``POST /_sandbox/clock/advance``,
  ``POST /_sandbox/persist/save``.
"""
from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from . import errors
from .actions import act
from .faults import FaultPlan, FaultRule
from .generator import generate
from .poison import PlantedPoison, PoisonPlan
from .state import OAuthClient, OrgData, Sandbox
from .webhooks import WebhookFaults, WebhookSpec

TAG = "sandbox admin"


# ----------------------------------------------------------------------------- acting
def _org(sandbox: Sandbox, org_id: str) -> OrgData:
    org = sandbox.orgs.get(org_id)
    if org is None:
        raise HTTPException(404, f"Organization {org_id} does not exist in the sandbox.")
    return org


def _zoho(err: errors.ZohoError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status)


# ----------------------------------------------------------------------------- models
class OrgCreate(BaseModel):
    name: str
    currency_code: str = "USD"
    dc: str = Field(default="us", description="Data centre: us, eu, in, au, jp, ca, cn, sa, uk")
    plan: str = Field(default="premium", description="free, standard, professional, premium")
    organization_id: str | None = None
    user_email: str | None = Field(default="demo@zylker.test", description="Owner (must exist); None for none")


class GenerateRequest(BaseModel):
    customers: int = Field(default=25, ge=0)
    invoices: int = Field(default=200, ge=0)
    years: int = Field(default=2, ge=1)
    seed: int | None = None


class InvoiceEdit(BaseModel):
    """Edit as the Zoho user would: a new total (through the invoice's adjustment) or dates."""

    amount: Decimal | None = Field(default=None, description="New invoice total")
    due_date: dt.date | None = None
    date: dt.date | None = None
    reference_number: str | None = None


class PaymentRecord(BaseModel):
    amount: Decimal | None = Field(default=None, description="Default: the invoice's balance")
    date: dt.date | None = None
    payment_mode: str = "banktransfer"
    reference_number: str = ""
    account_id: str | None = None
    bank_charges: Decimal | None = None


class CreditApply(BaseModel):
    amount: Decimal | None = Field(default=None, description="Default: the invoice's balance")
    date: dt.date | None = None


class LimitsUpdate(BaseModel):
    plan: str | None = None
    per_minute: int | None = Field(default=None, ge=0)
    daily: int | None = Field(default=None, ge=0)
    concurrency: int | None = Field(default=None, ge=0)
    enabled: bool | None = None


class RevokeRequest(BaseModel):
    email: str
    client_id: str | None = None


class ClientCreate(BaseModel):
    name: str = "Sandbox client"
    redirect_uris: list[str]
    client_id: str | None = None
    client_secret: str | None = None


class ClockAdvance(BaseModel):
    seconds: float = Field(ge=0)


def _money_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in body.items() if v is not None}


# ----------------------------------------------------------------------------- actions (Python API)
def create_org(sandbox: Sandbox, spec: OrgCreate) -> OrgData:
    from .demo import create_organization

    user = sandbox.user_by_email(spec.user_email) if spec.user_email else None
    if spec.user_email and user is None:
        raise HTTPException(400, f"No sandbox user {spec.user_email}.")
    if spec.organization_id and spec.organization_id in sandbox.orgs:
        raise HTTPException(409, f"Organization {spec.organization_id} already exists.")
    return create_organization(sandbox, spec.name, currency_code=spec.currency_code, dc=spec.dc, plan=spec.plan,
                               org_id=spec.organization_id, user=user)


def edit_invoice(sandbox: Sandbox, org: OrgData, invoice_id: str, edit: InvoiceEdit) -> dict[str, Any]:
    inv = org.invoices.get(invoice_id)
    if inv is None:
        raise errors.not_found("Invoice")
    body: dict[str, Any] = {}
    if edit.amount is not None:
        body["adjustment"] = str(inv.adjustment + (edit.amount - inv.total))
        body["adjustment_description"] = inv.adjustment_description or "Adjustment"
    for name in ("due_date", "date", "reference_number"):
        value = getattr(edit, name)
        if value is not None:
            body[name] = value.isoformat() if isinstance(value, dt.date) else value
    return act(sandbox, org, "PUT", f"/invoices/{invoice_id}", body)[1]


def record_payment(sandbox: Sandbox, org: OrgData, invoice_id: str, pay: PaymentRecord) -> dict[str, Any]:
    inv = org.invoices.get(invoice_id)
    if inv is None:
        raise errors.not_found("Invoice")
    amount = pay.amount if pay.amount is not None else inv.balance
    body = _money_body({
        "customer_id": inv.customer_id, "payment_mode": pay.payment_mode, "amount": amount,
        "date": pay.date or sandbox.clock.today(org.org.time_zone), "reference_number": pay.reference_number,
        "account_id": pay.account_id, "bank_charges": pay.bank_charges,
    })
    body["invoices"] = [{"invoice_id": invoice_id, "amount_applied": str(amount)}]
    return act(sandbox, org, "POST", "/customerpayments", body)[1]


def apply_credit(sandbox: Sandbox, org: OrgData, invoice_id: str, credit: CreditApply) -> dict[str, Any]:
    """Create a credit note for ``amount`` and apply it to the invoice (two core operations)."""
    inv = org.invoices.get(invoice_id)
    if inv is None:
        raise errors.not_found("Invoice")
    amount = credit.amount if credit.amount is not None else inv.balance
    day = (credit.date or sandbox.clock.today(org.org.time_zone)).isoformat()
    _, created = act(sandbox, org, "POST", "/creditnotes", {
        "customer_id": inv.customer_id, "date": day, "reference_number": inv.invoice_number,
        "line_items": [{"name": "Credit", "description": f"Credit for {inv.invoice_number}",
                        "rate": str(amount), "quantity": 1}]})
    note_id = created["creditnote"]["creditnote_id"]
    try:
        _, applied = act(sandbox, org, "POST", f"/creditnotes/{note_id}/invoices",
                         {"invoices": [{"invoice_id": invoice_id, "amount_applied": str(amount)}]})
    except errors.ZohoError:
        act(sandbox, org, "DELETE", f"/creditnotes/{note_id}")
        raise
    return {"creditnote": created["creditnote"], **applied}


def revoke_user_tokens(sandbox: Sandbox, email: str, client_id: str | None = None) -> int:
    """Revoke every token of the user (optionally only for one client): "disconnect the app"."""
    user = sandbox.user_by_email(email)
    if user is None:
        raise HTTPException(404, f"No sandbox user {email}.")
    n = 0
    with sandbox.lock:
        for tok in sandbox.tokens.values():
            if tok.user_id == user.user_id and not tok.revoked and (client_id is None or tok.client_id == client_id):
                tok.revoked = True
                n += 1
    return n


def register_client(sandbox: Sandbox, spec: ClientCreate) -> OAuthClient:
    client = OAuthClient(client_id=spec.client_id or f"1000.{secrets.token_hex(15).upper()}",
                         client_secret=spec.client_secret or secrets.token_hex(20), name=spec.name,
                         redirect_uris=list(spec.redirect_uris))
    with sandbox.lock:
        if client.client_id in sandbox.clients:
            raise HTTPException(409, f"OAuth client {client.client_id} already exists.")
        sandbox.clients[client.client_id] = client
    return client


def org_summary(sandbox: Sandbox, org: OrgData) -> dict[str, Any]:
    guard = sandbox.guard
    with sandbox.lock:
        out = {
            "organization_id": org.organization_id, "name": org.org.name, "currency_code": org.org.currency_code,
            "dc": org.org.dc, "plan": org.org.plan, "time_zone": org.org.time_zone,
            "contacts": len(org.contacts), "invoices": len(org.invoices), "customerpayments": len(org.payments),
            "creditnotes": len(org.creditnotes), "api_calls": sum(org.api_calls.values()), "http_429": org.http_429,
            "owners": [u.email for u in sandbox.users.values() if org.organization_id in u.org_ids],
        }
    if hasattr(guard, "limits_for"):
        limits = guard.limits_for(org)
        out["limits"] = {"per_minute": limits.per_minute, "daily": limits.daily,
                         "concurrency": limits.concurrency, "enabled": limits.enabled}
    return out


# ----------------------------------------------------------------------------- router
def build_admin_router(sandbox: Sandbox) -> APIRouter:
    """The ``/_sandbox`` router bound to ``sandbox``."""
    r = APIRouter(prefix="/_sandbox", tags=[TAG])

    def guard() -> Any:
        return sandbox.guard

    def run(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except errors.ZohoError as err:
            return _zoho(err)

    @r.get("/orgs", summary="List organisations with counters")
    def list_orgs() -> list[dict[str, Any]]:
        return [org_summary(sandbox, o) for o in list(sandbox.orgs.values())]

    @r.post("/orgs", status_code=201, summary="Create an organisation (default chart of accounts)")
    def post_org(spec: OrgCreate) -> dict[str, Any]:
        return org_summary(sandbox, create_org(sandbox, spec))

    @r.get("/orgs/{org_id}", summary="One organisation with counters")
    def get_org(org_id: str) -> dict[str, Any]:
        return org_summary(sandbox, _org(sandbox, org_id))

    @r.post("/orgs/{org_id}/generate", summary="Generate customers and invoices (seeded)")
    def post_generate(org_id: str, req: GenerateRequest) -> dict[str, Any]:
        _org(sandbox, org_id)
        return generate(sandbox, org_id, customers=req.customers, invoices=req.invoices, years=req.years,
                        seed=req.seed).as_dict()

    @r.patch("/orgs/{org_id}/invoices/{invoice_id}", summary="Edit an invoice's amount or dates")
    def patch_invoice(org_id: str, invoice_id: str, edit: InvoiceEdit) -> Any:
        return run(edit_invoice, sandbox, _org(sandbox, org_id), invoice_id, edit)

    @r.post("/orgs/{org_id}/invoices/{invoice_id}/payments", summary="Record a customer payment for an invoice")
    def post_payment(org_id: str, invoice_id: str, pay: PaymentRecord) -> Any:
        return run(record_payment, sandbox, _org(sandbox, org_id), invoice_id, pay)

    @r.post("/orgs/{org_id}/invoices/{invoice_id}/credits", summary="Apply a credit (new credit note) to an invoice")
    def post_credit(org_id: str, invoice_id: str, credit: CreditApply) -> Any:
        return run(apply_credit, sandbox, _org(sandbox, org_id), invoice_id, credit)

    @r.post("/orgs/{org_id}/invoices/{invoice_id}/writeoff", summary="Write off an invoice's balance")
    def post_writeoff(org_id: str, invoice_id: str) -> Any:
        return run(lambda: act(sandbox, _org(sandbox, org_id), "POST", f"/invoices/{invoice_id}/writeoff")[1])

    @r.post("/orgs/{org_id}/invoices/{invoice_id}/void", summary="Void an invoice")
    def post_void(org_id: str, invoice_id: str) -> Any:
        return run(lambda: act(sandbox, _org(sandbox, org_id), "POST", f"/invoices/{invoice_id}/status/void")[1])

    @r.delete("/orgs/{org_id}/invoices/{invoice_id}", summary="Delete an invoice (no tombstone)")
    def delete_invoice(org_id: str, invoice_id: str) -> Any:
        return run(lambda: act(sandbox, _org(sandbox, org_id), "DELETE", f"/invoices/{invoice_id}")[1])

    @r.delete("/orgs/{org_id}/contacts/{contact_id}", summary="Delete a customer")
    def delete_contact(org_id: str, contact_id: str) -> Any:
        return run(lambda: act(sandbox, _org(sandbox, org_id), "DELETE", f"/contacts/{contact_id}")[1])

    @r.post("/orgs/{org_id}/contacts/{contact_id}/inactive", summary="Deactivate a customer")
    def inactivate_contact(org_id: str, contact_id: str) -> Any:
        return run(lambda: act(sandbox, _org(sandbox, org_id), "POST", f"/contacts/{contact_id}/inactive")[1])

    @r.post("/orgs/{org_id}/contacts/{contact_id}/active", summary="Reactivate a customer")
    def activate_contact(org_id: str, contact_id: str) -> Any:
        return run(lambda: act(sandbox, _org(sandbox, org_id), "POST", f"/contacts/{contact_id}/active")[1])

    @r.get("/orgs/{org_id}/limits", summary="Effective rate limits of an organisation")
    def get_limits(org_id: str) -> dict[str, Any]:
        limits = guard().limits_for(_org(sandbox, org_id))
        return {"per_minute": limits.per_minute, "daily": limits.daily, "concurrency": limits.concurrency,
                "enabled": limits.enabled}

    @r.put("/orgs/{org_id}/limits", summary="Override plan and limits of an organisation")
    def put_limits(org_id: str, update: LimitsUpdate) -> dict[str, Any]:
        org = _org(sandbox, org_id)
        fields = update.model_dump(exclude_unset=True)
        limits = guard().set_limits(org, **fields)
        return {"plan": org.org.plan, "per_minute": limits.per_minute, "daily": limits.daily,
                "concurrency": limits.concurrency, "enabled": limits.enabled}

    @r.get("/orgs/{org_id}/faults", summary="Fault plan (unconsumed script included)")
    def get_faults(org_id: str) -> FaultPlan:
        _org(sandbox, org_id)
        return guard().faults.plan(org_id)

    @r.put("/orgs/{org_id}/faults", summary="Replace the fault plan (reseeds)")
    def put_faults(org_id: str, plan: FaultPlan) -> FaultPlan:
        _org(sandbox, org_id)
        guard().faults.set_plan(org_id, plan)
        return guard().faults.plan(org_id)

    @r.post("/orgs/{org_id}/faults/script", summary="Append scripted faults for the next matching calls")
    def post_script(org_id: str, entries: list[FaultRule]) -> FaultPlan:
        _org(sandbox, org_id)
        guard().faults.add_script(org_id, entries)
        return guard().faults.plan(org_id)

    @r.put("/orgs/{org_id}/faults/poison", summary="Plant malformed invoices in replies (seeded; per_kind=0 clears)")
    def put_poison(org_id: str, plan: PoisonPlan) -> PlantedPoison:
        org = _org(sandbox, org_id)
        with sandbox.lock:
            ids = list(org.invoices)
        try:
            return guard().poison.plant(org_id, ids, plan)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None

    @r.get("/orgs/{org_id}/faults/poison", summary="The planted malformations (invoice ids by kind)")
    def get_poison(org_id: str) -> PlantedPoison:
        _org(sandbox, org_id)
        return guard().poison.planted(org_id) or PlantedPoison(seed=0, per_kind=0, planted={})

    @r.delete("/orgs/{org_id}/faults", summary="Clear every fault")
    def delete_faults(org_id: str) -> dict[str, Any]:
        _org(sandbox, org_id)
        guard().faults.set_plan(org_id, None)
        guard().poison.clear(org_id)
        return {"code": 0, "message": "Faults cleared."}

    @r.get("/orgs/{org_id}/stats", summary="API calls by operation, 429s, faults, windows")
    def get_stats(org_id: str) -> dict[str, Any]:
        return guard().stats(_org(sandbox, org_id))

    @r.post("/orgs/{org_id}/stats/reset", summary="Zero counters (and optionally rate windows)")
    def reset_stats(org_id: str, windows: bool = False) -> dict[str, Any]:
        org = _org(sandbox, org_id)
        guard().reset_stats(org, reset_windows=windows)
        return guard().stats(org)

    @r.post("/users/revoke", summary="Revoke every token of a user (disconnect the app)")
    def post_revoke(req: RevokeRequest) -> dict[str, Any]:
        return {"revoked": revoke_user_tokens(sandbox, req.email, req.client_id)}

    @r.post("/clients", status_code=201, summary="Register an OAuth client")
    def post_client(spec: ClientCreate) -> dict[str, Any]:
        c = register_client(sandbox, spec)
        return {"client_id": c.client_id, "client_secret": c.client_secret, "name": c.name,
                "redirect_uris": c.redirect_uris}

    @r.get("/orgs/{org_id}/webhooks", summary="Webhooks of an organisation")
    def list_webhooks(org_id: str) -> list[dict[str, Any]]:
        return [h.model_dump() for h in sandbox.webhooks.list(org_id)]  # type: ignore[attr-defined]

    @r.post("/orgs/{org_id}/webhooks", status_code=201, summary="Register a webhook (workflow rule)")
    def post_webhook(org_id: str, spec: WebhookSpec) -> dict[str, Any]:
        _org(sandbox, org_id)
        try:
            return sandbox.webhooks.register(org_id, spec).model_dump()  # type: ignore[attr-defined]
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None

    @r.delete("/webhooks/{webhook_id}", summary="Remove a webhook")
    def delete_webhook(webhook_id: str) -> dict[str, Any]:
        if not sandbox.webhooks.unregister(webhook_id):  # type: ignore[attr-defined]
            raise HTTPException(404, "No such webhook.")
        return {"code": 0, "message": "Webhook deleted."}

    @r.get("/webhooks/deliveries", summary="Webhook deliveries (newest last)")
    def list_deliveries(n: int = 50) -> list[dict[str, Any]]:
        return [d.as_dict() for d in sandbox.webhooks.deliveries[-n:]]  # type: ignore[attr-defined]

    @r.put("/webhooks/faults", summary="Duplicate / reorder webhook deliveries (seeded)")
    def put_webhook_faults(faults: WebhookFaults) -> WebhookFaults:
        sandbox.webhooks.set_faults(faults)  # type: ignore[attr-defined]
        return faults

    @r.get("/requests", summary="The last N Books requests")
    def last_requests(n: int = 50, org_id: str | None = None) -> list[dict[str, Any]]:
        return guard().last_requests(n, org_id)

    @r.post("/clock/advance", summary="Move sandbox time forward")
    def advance(req: ClockAdvance) -> dict[str, Any]:
        sandbox.clock.advance(req.seconds)
        return {"now": sandbox.now().isoformat()}

    @r.post("/persist/save", summary="Save the state file now")
    def persist_save() -> dict[str, Any]:
        persistence = getattr(sandbox, "persistence", None)
        if persistence is None:
            raise HTTPException(400, "The sandbox runs without persist_path.")
        return {"saved_orgs": persistence.save_all()}

    @r.get("", response_class=HTMLResponse, summary="Admin page (HTML)")
    def page(msg: str = "", org: str = "") -> HTMLResponse:
        return HTMLResponse(render_page(sandbox, msg, org))

    @r.post("/ui", include_in_schema=False)
    async def ui_action(request: Request) -> RedirectResponse:
        form = dict((await request.form()).items())
        try:
            msg = ui_dispatch(sandbox, {k: str(v) for k, v in form.items()})
        except errors.ZohoError as err:
            msg = f"Zoho error {err.code}: {err.message}"
        except HTTPException as exc:
            msg = str(exc.detail)
            if exc.status_code >= 400 and not msg.startswith(("Invalid", "Unknown")):
                msg = f"Invalid input: {msg}"
        except (ValueError, ArithmeticError) as exc:
            msg = f"Invalid input: {exc}"
        org_q = f"&org={quote(str(form.get('org_id', '')))}" if form.get("org_id") else ""
        return RedirectResponse(f"/_sandbox?msg={quote(msg)}{org_q}", status_code=303)

    return r


# ----------------------------------------------------------------------------- HTML page
def _form_amount(f: dict[str, str], key: str = "amount") -> Decimal | None:
    """A typed amount, or None when blank; a person's typo gets a sentence, not a Decimal signal name."""
    text = (f.get(key) or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{key} must be a number like 125.00 (got {text!r})") from None
    if not value.is_finite():
        raise ValueError(f"{key} must be a number like 125.00 (got {text!r})")
    return value


def _form_int(f: dict[str, str], key: str, default: int | None, minimum: int = 1) -> int | None:
    text = (f.get(key) or "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{key} must be a whole number (got {text!r})") from None
    if value < minimum:
        raise ValueError(f"{key} must be at least {minimum}")
    return value


def ui_dispatch(sandbox: Sandbox, f: dict[str, str]) -> str:
    """Perform one form action of the admin page; returns the message to show."""
    action = f.get("action", "")
    if action == "create_org":
        currency = (f.get("currency_code") or "USD").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError(f"currency_code must be a 3-letter ISO code like USD or EUR (got {currency!r})")
        f = {**f, "currency_code": currency}
        org = create_org(sandbox, OrgCreate(name=f.get("name") or "New organisation",
                                            currency_code=f.get("currency_code") or "USD", dc=f.get("dc") or "us",
                                            plan=f.get("plan") or "premium"))
        return f"Organisation {org.organization_id} created."
    org = _org(sandbox, f.get("org_id", ""))
    inv_id = f.get("invoice_id", "").strip()
    amount = _form_amount(f)
    if action == "generate":
        res = generate(sandbox, org.organization_id, customers=_form_int(f, "customers", 25) or 25,
                       invoices=_form_int(f, "invoices", 200) or 200, years=_form_int(f, "years", 2) or 2,
                       seed=_form_int(f, "seed", None, minimum=0))
        return f"Generated {res.invoices} invoices for {res.customers} customers in {res.seconds:.2f}s."
    if action == "edit_invoice":
        edit_invoice(sandbox, org, inv_id, InvoiceEdit(
            amount=amount, due_date=dt.date.fromisoformat(f["due_date"]) if f.get("due_date") else None))
        return f"Invoice {inv_id} updated."
    if action == "payment":
        record_payment(sandbox, org, inv_id, PaymentRecord(amount=amount, reference_number=f.get("reference_number", "")))
        return f"Payment recorded on invoice {inv_id}."
    if action == "credit":
        apply_credit(sandbox, org, inv_id, CreditApply(amount=amount))
        return f"Credit applied to invoice {inv_id}."
    paths = {"writeoff": ("POST", f"/invoices/{inv_id}/writeoff"), "void": ("POST", f"/invoices/{inv_id}/status/void"),
             "delete_invoice": ("DELETE", f"/invoices/{inv_id}"),
             "delete_contact": ("DELETE", f"/contacts/{f.get('contact_id', '')}"),
             "inactive_contact": ("POST", f"/contacts/{f.get('contact_id', '')}/inactive")}
    if action in paths:
        _, body = act(sandbox, org, *paths[action])
        return str(body.get("message", "Done."))
    if action == "limits":
        sandbox.guard.set_limits(org, **{k: _form_int(f, k, None) for k in ("per_minute", "daily", "concurrency")
                                         if (f.get(k) or "").strip()},
                                 **({"plan": f["plan"]} if f.get("plan") else {}))
        return "Limits updated."
    if action == "reset_stats":
        sandbox.guard.reset_stats(org, reset_windows=True)
        return "Counters reset."
    raise HTTPException(400, f"Unknown action {action!r}.")


def render_page(sandbox: Sandbox, msg: str = "", org_id: str = "") -> str:
    """The admin HTML page (``admin_page.render_page``)."""
    from .admin_page import render_page as render

    return render(sandbox, msg, org_id)
