"""Tenant isolation, proven route by route: partner Beta tries every id-taking route of the
dashboard, the REST API and the webhooks with partner Alpha's ids.

The routes are enumerated from the app's own route table, with every parameter that carries an
id (path, query, form, or a field of a JSON body). A route that takes an id and is missing from
`CASES` fails `test_every_id_taking_route_is_covered`, so a new route cannot escape this suite.
Each case sends Beta's request with Alpha's id and checks the answer reveals nothing of Alpha
(no 2xx carrying Alpha's data, never a 5xx) and that Alpha's rows did not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.domain import webhook_auth
from ledgersync.services import api_keys, customers, invoices, partners, payments, payouts
from ledgersync.services.invoices import LineItemInput
from ledgersync.store import orm

ALPHA_MARK = "ALPHA-PRIVATE-7f3c"  # in Alpha's customer name: must never appear in an answer to Beta


def _id_params(dependant: Any) -> set[str]:
    names: set[str] = set()
    for param in (*dependant.path_params, *dependant.query_params, *dependant.body_params):
        names.add(param.name)
        model_fields = getattr(getattr(param.field_info, "annotation", None), "model_fields", None) or {}
        for name, info in model_fields.items():
            names.add(name)
            for arg in getattr(info.annotation, "__args__", ()):
                names.update(f"{name}[].{inner}" for inner in getattr(arg, "model_fields", {}) or {})
    for sub in dependant.dependencies:
        names |= _id_params(sub)
    return {n for n in names if n.endswith(("_id", "_ids")) or n == "token"}


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[Any, str]]:
    for route in routes:
        context = getattr(route, "include_context", None)
        if context is not None:  # FastAPI's included router
            yield from _walk(context.included_router.routes, prefix + context.prefix)
        elif getattr(route, "methods", None):
            yield route, prefix + route.path
        elif getattr(route, "routes", None):
            yield from _walk(route.routes, prefix + getattr(route, "path", ""))


def id_taking_routes(app: Any) -> set[tuple[str, str, str]]:
    """(METHOD, path, id parameter) for every route of the app that takes an id."""
    found = set()
    for route, path in _walk(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        for param in _id_params(dependant):
            for method in route.methods - {"HEAD", "OPTIONS"}:
                found.add((method, path, param))
    return found


@dataclass
class World:
    container: Container
    alpha: dict[str, str]
    beta_web: TestClient
    beta_api: TestClient
    beta_connection_token: str

    def alpha_state(self) -> dict[str, Any]:
        """What Beta must not be able to change: Alpha's rows, as plain values."""
        with self.container.uow() as uow:
            s = uow.session
            pid = self.alpha["partner_id"]
            return {
                "payments": sorted((p.id, p.status, p.payout_id) for p in s.query(orm.Payment).filter_by(partner_id=pid)),
                "invoices": sorted((i.id, str(i.outstanding), i.status) for i in s.query(orm.Invoice).filter_by(partner_id=pid)),
                "keys": sorted((k.id, k.revoked_at is None) for k in s.query(orm.ApiKey).filter_by(partner_id=pid)),
                "intents": sorted((i.id, i.state, i.attempts) for i in s.query(orm.PushIntent).filter_by(partner_id=pid)),
                "payouts": s.query(orm.Payout).filter_by(partner_id=pid).count(),
                "customers": s.query(orm.Customer).filter_by(partner_id=pid).count(),
                "webhook": sorted((c.webhook_token, c.webhook_secret_generation)
                                  for c in s.query(orm.Connection).filter_by(partner_id=pid)),
            }


def _partner_with_data(container: Container, name: str, email: str) -> dict[str, str]:
    partner = partners.create_partner(container, name=name, email=email, password="isolation-pass-1").partner
    cust = customers.create_customer(container, partner.id, name=f"{name} customer", currency="USD")
    inv = invoices.create_invoice(container, partner.id, customer_id=cust.id,
                                  line_items=[LineItemInput("Work", Decimal("2"), Decimal("100.00"))])
    paid = payments.pay_invoices(container, partner.id, allocations=[payments.AllocationInput(inv.id, Decimal("50.00"))])
    payments.settle(container, partner.id, paid.id, "succeeded")
    payout = payouts.create_payout(container, partner.id, payment_ids=[paid.id])
    pending = payments.pay_invoices(container, partner.id, allocations=[payments.AllocationInput(inv.id, Decimal("10.00"))])
    key = api_keys.create_api_key(container, partner.id, name="isolation")
    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner.id, provider="zoho_books", status="connected", plan="premium",
                              organization_id=f"org-{name}")
        uow.session.add(conn)
        uow.session.flush()
        intent = orm.PushIntent(key=f"isolation:{partner.id}", partner_id=partner.id, connection_id=conn.id,
                                kind="payment", subject_id=paid.id, state="failed", attempts=3)
        uow.session.add(intent)
        uow.commit()
        token, intent_id, connection_id = conn.webhook_token, intent.id, conn.id
    return {"partner_id": partner.id, "customer_id": cust.id, "invoice_id": inv.id, "payment_id": pending.id,
            "settled_payment_id": paid.id, "payout_id": payout.id, "key_id": key.api_key.id, "key": key.plain,
            "intent_id": intent_id, "token": token, "email": email, "connection_id": connection_id}


@pytest.fixture
def world(container: Container) -> Iterator[World]:
    from ledgersync.web.app import create_app

    alpha = _partner_with_data(container, ALPHA_MARK, "alpha@iso.test")
    beta = _partner_with_data(container, "Beta MSP", "beta@iso.test")
    app = create_app(container)
    web = TestClient(app, raise_server_exceptions=False)
    assert web.post("/login", data={"email": beta["email"], "password": "isolation-pass-1"},
                    follow_redirects=False).status_code == 303
    api = TestClient(app, headers={"Authorization": f"Bearer {beta['key']}"}, raise_server_exceptions=False)
    yield World(container, alpha, web, api, beta["token"])
    web.close()
    api.close()


Send = Callable[[World], Any]


def _web_get(path: str) -> Send:
    return lambda w: w.beta_web.get(path.format(**w.alpha), follow_redirects=False)


def _web_post(path: str, data: dict[str, str] | None = None) -> Send:
    return lambda w: w.beta_web.post(path.format(**w.alpha), data={k: v.format(**w.alpha) for k, v in (data or {}).items()},
                                     follow_redirects=False)


def _api_get(path: str) -> Send:
    return lambda w: w.beta_api.get(path.format(**w.alpha))


def _api_post(path: str, body: Any) -> Send:
    def send(w: World) -> Any:
        filled = json_format(body, w.alpha)
        return w.beta_api.post(path.format(**w.alpha), json=filled)
    return send


def json_format(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [json_format(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: json_format(v, ids) for k, v in value.items()}
    return value


def _webhook(w: World) -> Any:
    """Alpha's webhook URL with a secret Beta could know (Beta's own connection's): refused."""
    secret = webhook_auth.connection_webhook_secret(w.container.settings.webhook_secret.get_secret_value(),
                                                    w.beta_connection_token, 0)
    return w.beta_web.post(f"/webhooks/zoho/{w.alpha['token']}", headers={webhook_auth.SECRET_HEADER: secret},
                           json={"module": "invoice", "event": "update", "event_time": "2026-01-01T00:00:00+0000"})


# (METHOD, path, id parameter) -> how Beta sends Alpha's id there, and which statuses are acceptable
REFUSED = {303, 400, 401, 403, 404, 409, 422}
CASES: dict[tuple[str, str, str], tuple[Send, set[int]]] = {
    ("GET", "/invoices/{invoice_id}", "invoice_id"): (_web_get("/invoices/{invoice_id}"), {404}),
    ("GET", "/invoices/{invoice_id}/pdf", "invoice_id"): (_web_get("/invoices/{invoice_id}/pdf"), {404}),
    ("GET", "/p/invoices/{invoice_id}/pdf", "invoice_id"): (_web_get("/p/invoices/{invoice_id}/pdf?expires=9999999999&signature=x"), {403, 404}),
    ("GET", "/payments", "invoice_id"): (_web_get("/payments?invoice_id={invoice_id}"), {200, 303}),
    ("POST", "/payments/pay", "invoice_id"): (_web_post("/payments/pay", {"invoice_id": "{invoice_id}", "amount": "5", "outcome": "succeeded"}), {303}),
    ("POST", "/payments/{payment_id}/settle", "payment_id"): (_web_post("/payments/{payment_id}/settle", {"outcome": "succeeded"}), {303, 404}),
    ("POST", "/payments/{payment_id}/ach-return", "payment_id"): (_web_post("/payments/{settled_payment_id}/ach-return"), {303, 404}),
    ("POST", "/push/intents/{intent_id}/retry", "intent_id"): (_web_post("/push/intents/{intent_id}/retry"), {303, 404}),
    ("POST", "/api-keys/{key_id}/revoke", "key_id"): (_web_post("/api-keys/{key_id}/revoke"), {200, 303, 404}),
    ("POST", "/integrations/zoho/organization", "organization_id"): (_web_post("/integrations/zoho/organization", {"organization_id": "org-" + ALPHA_MARK}), {303}),
    ("POST", "/integrations/zoho/accounts", "bank_account_id"): (_web_post("/integrations/zoho/accounts", {"bank_account_id": "1", "fees_account_id": "2", "undeposited_account_id": "3"}), {303}),
    ("POST", "/integrations/zoho/accounts", "fees_account_id"): (_web_post("/integrations/zoho/accounts", {"bank_account_id": "1", "fees_account_id": "2", "undeposited_account_id": "3"}), {303}),
    ("POST", "/integrations/zoho/accounts", "undeposited_account_id"): (_web_post("/integrations/zoho/accounts", {"bank_account_id": "1", "fees_account_id": "2", "undeposited_account_id": "3"}), {303}),
    ("POST", "/integrations/zoho/accounts", "income_account_id"): (_web_post("/integrations/zoho/accounts", {"bank_account_id": "1", "fees_account_id": "2", "undeposited_account_id": "3", "income_account_id": "4"}), {303}),
    ("POST", "/webhooks/zoho/{token}", "token"): (_webhook, {401}),
    # the operator console is staff only: a partner's session is sent to the staff login
    ("POST", "/ops/connections/{connection_id}/sync-now", "connection_id"): (
        _web_post("/ops/connections/{connection_id}/sync-now"), {303}),
    ("POST", "/ops/connections/{connection_id}/retry-failed", "connection_id"): (
        _web_post("/ops/connections/{connection_id}/retry-failed"), {303}),
    ("GET", "/api/v1/customers/{customer_id}", "customer_id"): (_api_get("/api/v1/customers/{customer_id}"), {404}),
    ("GET", "/api/v1/invoices", "customer_id"): (_api_get("/api/v1/invoices?customer_id={customer_id}"), {200}),
    ("POST", "/api/v1/invoices", "customer_id"): (_api_post("/api/v1/invoices", {"customer_id": "{customer_id}", "line_items": [{"name": "x", "quantity": "1", "rate": "1"}]}), {422}),
    ("GET", "/api/v1/invoices/{invoice_id}", "invoice_id"): (_api_get("/api/v1/invoices/{invoice_id}"), {404}),
    ("GET", "/api/v1/payments", "customer_id"): (_api_get("/api/v1/payments?customer_id={customer_id}"), {200}),
    ("GET", "/api/v1/payments", "invoice_id"): (_api_get("/api/v1/payments?invoice_id={invoice_id}"), {200}),
    ("POST", "/api/v1/payments", "allocations[].invoice_id"): (_api_post("/api/v1/payments", {"allocations": [{"invoice_id": "{invoice_id}", "amount": "5.00"}]}), {422}),
    ("GET", "/api/v1/payments/{payment_id}", "payment_id"): (_api_get("/api/v1/payments/{payment_id}"), {404}),
    ("POST", "/api/v1/payments/{payment_id}/settle", "payment_id"): (_api_post("/api/v1/payments/{payment_id}/settle", {"outcome": "succeeded"}), {404}),
    ("POST", "/api/v1/payouts", "payment_ids"): (_api_post("/api/v1/payouts", {"payment_ids": ["{settled_payment_id}"]}), REFUSED),
    ("GET", "/api/v1/payouts/{payout_id}", "payout_id"): (_api_get("/api/v1/payouts/{payout_id}"), {404}),
}


def test_every_id_taking_route_is_covered(container: Container) -> None:
    from ledgersync.web.app import create_app

    found = id_taking_routes(create_app(container))
    assert len(found) >= 20  # the walker sees the included routers (a broken walker finds nothing)
    missing = sorted(found - set(CASES))
    assert not missing, f"id-taking routes without a tenant-isolation case: {missing}"
    stale = sorted(set(CASES) - found)
    assert not stale, f"cases for routes that no longer exist: {stale}"


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]} {k[2]}")
def test_beta_cannot_reach_alpha(world: World, key: tuple[str, str, str]) -> None:
    send, allowed = CASES[key]
    before = world.alpha_state()
    response = send(world)
    assert response.status_code < 500, response.text[:300]
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    final = world.beta_web.get(response.headers["location"]) if response.status_code == 303 and \
        response.headers.get("location", "").startswith("/") else response
    body = final.text
    assert ALPHA_MARK not in body
    sent = str(response.request.url) + response.request.content.decode(errors="replace")
    for name in ("customer_id", "invoice_id", "payment_id", "settled_payment_id", "payout_id", "key_id", "intent_id"):
        if world.alpha[name] not in sent:  # echoing the id Beta sent ("… not found") discloses nothing
            assert world.alpha[name] not in body, f"Alpha's {name} in the answer"
    if response.status_code == 200 and key[1].startswith("/api/v1") and key[0] == "GET":
        assert response.json() == []  # a filter by Alpha's id lists nothing of Beta's either
    assert world.alpha_state() == before, "Alpha's data changed"
    # Alpha's API key still works (a revoke through Beta would have killed it)
    assert world.beta_api.get("/api/v1/invoices", headers={"Authorization": f"Bearer {world.alpha['key']}"}).status_code == 200


def test_beta_never_sees_nor_rotates_alphas_webhook_secret(world: World) -> None:
    """The Webhooks panel and Rotate secret take no id: each acts on the session's own partner. Beta
    reveals and rotates: only Beta's secret moves, and no answer carries Alpha's token or secret.
    Planted: a rotation not scoped to the partner (every connection's generation moved) fails here."""
    deployment = world.container.settings.webhook_secret.get_secret_value()
    alpha_secret = webhook_auth.connection_webhook_secret(deployment, world.alpha["token"], 0)
    before = world.alpha_state()
    pages = [world.beta_web.get("/integrations?reveal=webhook-secret")]
    rotated = world.beta_web.post("/integrations/zoho/webhook/rotate", data={"confirm": "yes"},
                                  follow_redirects=False)
    assert rotated.status_code == 303
    pages.append(world.beta_web.get(rotated.headers["location"]))
    for page in pages:
        assert page.status_code == 200 and 'id="zoho-webhooks"' in page.text
        assert world.alpha["token"] not in page.text and alpha_secret not in page.text
        assert world.beta_connection_token in page.text  # Beta's own set-up is what is shown
    assert world.alpha_state() == before, "Alpha's webhook secret changed"
    beta_secret = webhook_auth.connection_webhook_secret(deployment, world.beta_connection_token, 1)
    assert beta_secret in pages[1].text  # Beta's rotation did happen
    hook = {"module": "invoice", "event": "update", "event_time": "2026-01-01T00:00:00+0000"}
    assert world.beta_web.post(f"/webhooks/zoho/{world.alpha['token']}", json=hook,  # Beta's new secret: refused
                               headers={webhook_auth.SECRET_HEADER: beta_secret}).status_code == 401
