"""SQLite persistence: a demo survives a restart (records, tokens, ids, webhooks)."""
from __future__ import annotations

import httpx

from zohobooks_sandbox import SandboxConfig, SandboxTransport, create_app
from zohobooks_sandbox.testing import books_client

ORG = "700000001"


def test_state_survives_a_restart(tmp_path) -> None:
    path = str(tmp_path / "sandbox.db")
    config = SandboxConfig(manual_clock=True, rate_limits_enabled=False, persist_path=path, demo_invoices=30)
    first = create_app(config)
    api = books_client(first)
    cust = api.post("/contacts", json={"contact_name": "Persisted Co"}).json()["contact"]["contact_id"]
    inv = api.post("/invoices", json={"customer_id": cust,
                                      "line_items": [{"name": "Kept", "rate": "12.34", "quantity": 2}]}).json()["invoice"]
    with httpx.Client(transport=SandboxTransport(first), base_url="http://127.0.0.1:8900") as admin:
        admin.post(f"/_sandbox/orgs/{ORG}/webhooks", json={"url": "https://x.test/h", "modules": ["invoice"]})
        assert admin.post("/_sandbox/persist/save").json()["saved_orgs"] == 2
    token = api.headers["Authorization"]
    counts = {o: len(d.invoices) for o, d in first.state.sandbox.orgs.items()}
    first.state.sandbox.persistence.close()
    api.close()

    second = create_app(config)
    sb = second.state.sandbox
    assert {o: len(d.invoices) for o, d in sb.orgs.items()} == counts  # restored, not re-seeded on top
    assert sb.orgs[ORG].taxes == first.state.sandbox.orgs[ORG].taxes
    with httpx.Client(transport=SandboxTransport(second), base_url="http://127.0.0.1:8900/books/v3",
                      headers={"Authorization": token, "X-com-zoho-books-organizationid": ORG}) as again:
        got = again.get(f"/invoices/{inv['invoice_id']}")  # the old access token still works
        assert got.status_code == 200 and got.json()["invoice"]["total"] == 24.68
        created = again.post("/contacts", json={"contact_name": "After Restart"}).json()["contact"]
    assert int(created["contact_id"]) > int(inv["invoice_id"])  # ids keep counting, no collisions
    assert [h.url for h in sb.webhooks.list(ORG)] == ["https://x.test/h"]
    sb.persistence.close()


def test_debounced_save_on_change(tmp_path) -> None:
    from zohobooks_sandbox.persistence import SqlitePersistence
    from zohobooks_sandbox.state import Sandbox

    sb = Sandbox(SandboxConfig(manual_clock=True))
    from zohobooks_sandbox.generator import generate
    store = SqlitePersistence(sb, str(tmp_path / "s.db"), interval=3600)
    store.start()
    generate(sb, "700000077", customers=3, invoices=10, seed=1)  # emits a change → dirty
    assert store.save() == 1  # what the background loop does on its tick
    fresh = Sandbox(SandboxConfig(manual_clock=True))
    assert SqlitePersistence(fresh, str(tmp_path / "s.db")).restore()
    assert len(fresh.orgs["700000077"].invoices) == 10
    store.close()
