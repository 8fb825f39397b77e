"""The REST API end to end over HTTP (TestClient), on the real database."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient

from ledgersync.store import orm


def _customer(client: TestClient, name: str = "Acme Corp") -> dict:
    r = client.post("/api/v1/customers", json={"name": name, "email": "ap@acme.test"})
    assert r.status_code == 201, r.text
    return r.json()


def _invoice(client: TestClient, customer_id: str, rate: str = "100.00") -> dict:
    body = {"customer_id": customer_id, "due_date": "2099-01-31",
            "line_items": [{"name": "Managed services", "quantity": "1", "rate": rate}]}
    r = client.post("/api/v1/invoices", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_auth_required(api_app, api_key) -> None:
    with TestClient(api_app) as anon:
        assert anon.get("/api/v1/customers").status_code == 401
        r = anon.get("/api/v1/customers", headers={"Authorization": "Bearer ls_live_nope_nope"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert anon.get("/api/v1/customers", headers={"X-API-Key": api_key}).status_code == 200


def test_customers_and_invoices(client) -> None:
    cust = _customer(client)
    assert cust["origin"] == "platform" and cust["currency_code"] == "USD"
    assert client.get(f"/api/v1/customers/{cust['id']}").json()["name"] == "Acme Corp"
    assert [c["id"] for c in client.get("/api/v1/customers", params={"search": "acm"}).json()] == [cust["id"]]
    body = {"customer_id": cust["id"], "due_date": "2099-01-31", "line_items": [
        {"name": "Hours", "quantity": "2.5", "rate": "120.333"},
        {"name": "Licence", "quantity": 3, "rate": "19.99", "tax_amount": "4.80"},
    ]}
    r = client.post("/api/v1/invoices", json=body)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["total"] == "365.60" and inv["outstanding"] == "365.60"  # decimal strings
    assert [li["amount"] for li in inv["line_items"]] == ["300.83", "59.97"]
    assert client.get(f"/api/v1/invoices/{inv['id']}").json() == inv
    listed = client.get("/api/v1/invoices", params={"status": "open", "search": "acme", "customer_id": cust["id"]})
    assert [i["id"] for i in listed.json()] == [inv["id"]]
    assert client.get("/api/v1/invoices", params={"archived": "true"}).json() == []


def test_bad_input_names_the_field(client) -> None:
    cust = _customer(client)
    r = client.post("/api/v1/invoices", json={"customer_id": cust["id"], "line_items": [{"name": "x", "quantity": "1"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "line_items", 0, "rate"]
    r = client.post("/api/v1/invoices", json={"customer_id": "nope", "line_items": [{"name": "x", "quantity": 1, "rate": 1}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "customer_id"]
    inv = _invoice(client, cust["id"])
    r = client.post("/api/v1/payments", json={"allocations": [{"invoice_id": inv["id"], "amount": "100.01"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "allocations[0].amount"
    r = client.post("/api/v1/payments", json={"allocations": [{"invoice_id": inv["id"], "amount": "1.001"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:4] == ["body", "allocations", 0, "amount"]
    r = client.post("/api/v1/payments", json={"method": "cash", "allocations": [{"invoice_id": inv["id"], "amount": "1"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "method"]
    assert client.get("/api/v1/invoices", params={"status": "bogus"}).json()["detail"][0]["loc"] == ["query", "status"]


def test_pay_settle_and_payout(client) -> None:
    cust = _customer(client)
    a, b = _invoice(client, cust["id"], "100.00"), _invoice(client, cust["id"], "50.00")
    r = client.post("/api/v1/payments", json={"method": "card", "allocations": [
        {"invoice_id": a["id"], "amount": "100.00"}, {"invoice_id": b["id"], "amount": "20.00"}]})
    assert r.status_code == 201, r.text
    pay = r.json()
    assert pay["status"] == "pending" and pay["amount"] == "120.00" and pay["fee"] == "0.00"
    assert client.get(f"/api/v1/invoices/{b['id']}").json()["outstanding"] == "50.00"

    r = client.post(f"/api/v1/payments/{pay['id']}/settle", json={"outcome": "succeeded"})
    assert r.status_code == 200 and r.json()["status"] == "succeeded" and r.json()["fee"] == "3.78"
    assert client.get(f"/api/v1/invoices/{a['id']}").json()["status"] == "paid"
    assert client.get(f"/api/v1/invoices/{b['id']}").json()["outstanding"] == "30.00"
    assert client.post(f"/api/v1/payments/{pay['id']}/settle", json={"outcome": "failed"}).status_code == 409
    assert client.post(f"/api/v1/payments/{pay['id']}/settle", json={"outcome": "maybe"}).status_code == 422

    r = client.post("/api/v1/payouts", json={})
    assert r.status_code == 201, r.text
    po = r.json()
    assert (po["gross"], po["fees"], po["net"], po["payment_ids"]) == ("120.00", "3.78", "116.22", [pay["id"]])
    assert client.get(f"/api/v1/payouts/{po['id']}").json() == po
    assert [p["id"] for p in client.get("/api/v1/payouts").json()] == [po["id"]]
    assert client.post("/api/v1/payouts", json={}).status_code == 409
    assert client.get(f"/api/v1/payments/{pay['id']}").json()["payout_id"] == po["id"]
    paid_out = client.get("/api/v1/payments", params={"status": "succeeded", "paid_out": True}).json()
    assert [p["id"] for p in paid_out] == [pay["id"]]


def test_ach_failure_after_success_over_api(client) -> None:
    cust = _customer(client)
    inv = _invoice(client, cust["id"], "100.00")
    pay = client.post("/api/v1/payments", json={"method": "ach", "allocations": [
        {"invoice_id": inv["id"], "amount": "60.00"}]}).json()
    client.post(f"/api/v1/payments/{pay['id']}/settle", json={"outcome": "succeeded"})
    r = client.post(f"/api/v1/payments/{pay['id']}/settle", json={"outcome": "failed", "reason": "R01"})
    assert r.json()["status"] == "failed" and r.json()["failure_reason"] == "R01"
    assert client.get(f"/api/v1/invoices/{inv['id']}").json()["outstanding"] == "100.00"


def test_other_partners_ids_are_404(client, other_client) -> None:
    cust = _customer(client)
    inv = _invoice(client, cust["id"])
    pay = client.post("/api/v1/payments", json={"allocations": [{"invoice_id": inv["id"], "amount": "10.00"}]}).json()
    client.post(f"/api/v1/payments/{pay['id']}/settle", json={"outcome": "succeeded"})
    po = client.post("/api/v1/payouts", json={}).json()
    for path in (f"customers/{cust['id']}", f"invoices/{inv['id']}", f"payments/{pay['id']}", f"payouts/{po['id']}"):
        assert other_client.get(f"/api/v1/{path}").status_code == 404
    assert other_client.post(f"/api/v1/payments/{pay['id']}/settle", json={"outcome": "failed"}).status_code == 404
    for path in ("customers", "invoices", "payments", "payouts", "integration/sync-runs"):
        assert other_client.get(f"/api/v1/{path}").json() == []
    r = other_client.post("/api/v1/payments", json={"allocations": [{"invoice_id": inv["id"], "amount": "1.00"}]})
    assert r.status_code == 422
    assert client.get(f"/api/v1/payments/{pay['id']}").json()["status"] == "succeeded"


def test_integration_status_and_sync_runs(client, container, partner) -> None:
    assert client.get("/api/v1/integration").json()["status"] == "disconnected"
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    with container.uow() as uow:
        conn = orm.Connection(
            partner_id=partner.id, status="pending", organization_id="700000001", organization_name="Zylker IT Services",
            currency_code="USD", data_center="us", undeposited_account_id="a1", undeposited_account_name="Undeposited Funds",
            initial_sync_phase="recent",
        )
        uow.session.add(conn)
        uow.session.flush()
        uow.session.add(orm.SyncCursor(connection_id=conn.id, stream="invoices", state={"page": 3, "total": 10}))
        uow.session.add(orm.SyncRun(connection_id=conn.id, stream="invoices", trigger="initial", status="succeeded",
                                    started_at=now, finished_at=now, created=12, calls=4))
        uow.commit()
    body = client.get("/api/v1/integration").json()
    assert body["status"] == "pending" and body["organization_name"] == "Zylker IT Services"
    assert body["accounts"]["undeposited_funds"] == {"id": "a1", "name": "Undeposited Funds"}
    assert body["accounts"]["bank"] == {"id": None, "name": None}
    assert body["initial_sync_phase"] == "recent"
    assert body["streams"][0]["stream"] == "invoices" and body["streams"][0]["state"] == {"page": 3, "total": 10}
    (run,) = client.get("/api/v1/integration/sync-runs").json()
    assert run["stream"] == "invoices" and run["created"] == 12 and run["started_at"].startswith("2026-01-02T03:04:05")


def test_openapi_documents_the_api(api_app) -> None:
    with TestClient(api_app) as c:
        spec = c.get("/openapi.json").json()
    assert "/api/v1/payments/{payment_id}/settle" in spec["paths"]
    schemes = spec["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)


def test_mounted_in_the_dashboard_app(container, api_key) -> None:
    from ledgersync.web.app import create_app

    with TestClient(create_app(container), headers={"X-API-Key": api_key}) as c:
        assert c.get("/api/v1/customers").json() == []
        assert "/api/v1/invoices" in c.get("/openapi.json").json()["paths"]
