"""Issue 14: a written-off, credited or collected invoice reads as such on every page and in the
API, and its page lists the Zoho events that settled it (against the in-process sandbox)."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgersync.domain.invoices import settlement_status
from ledgersync.store import orm
from ledgersync.sync.pull.records import sync_record
from tests.push.world import World, build_world


@pytest.fixture
def world(container, sandbox_app) -> World:
    return build_world(container, sandbox_app)


@pytest.fixture
def web(container, world: World):
    from ledgersync.web.app import create_app

    with container.uow() as uow:
        email = uow.session.scalars(select(orm.User.email).where(orm.User.partner_id == world.partner_id)).one()
    with TestClient(create_app(container), base_url="http://testserver") as c:
        assert c.post("/login", data={"email": email, "password": "push-pass-1234"},
                      follow_redirects=False).status_code == 303
        yield c


def pull(w: World, local_id: str) -> None:
    assert sync_record(w.container, w.connection_id, "invoice", w.zoho_id("invoice", local_id) or "") == "applied"


def _credit_note(w: World, zid: str, amount: str) -> None:
    body = w.zoho("POST", "/creditnotes", {"customer_id": w.customer_zoho_id, "date": "2026-01-05",
                                           "line_items": [{"name": "Refund", "rate": amount, "quantity": 1}]})
    cn = str(body["creditnote"]["creditnote_id"])
    w.zoho("POST", f"/creditnotes/{cn}/invoices", {"invoices": [{"invoice_id": zid, "amount_applied": amount}]})


def test_standings_pages_api_and_events(web: TestClient, world: World) -> None:
    w = world
    off, credited, collected = w.zoho_invoice("40.00"), w.zoho_invoice("25.00"), w.zoho_invoice("30.00")
    zoff = w.zoho_id("invoice", off) or ""
    w.zoho("POST", "/customerpayments", {"customer_id": w.customer_zoho_id, "amount": "10.00", "date": "2026-01-06",
                                         "reference_number": "cheque 42", "payment_mode": "check",
                                         "invoices": [{"invoice_id": zoff, "amount_applied": "10.00"}]})
    w.zoho("POST", f"/invoices/{zoff}/writeoff")
    _credit_note(w, w.zoho_id("invoice", credited) or "", "25.00")
    w.zoho("POST", "/customerpayments", {"customer_id": w.customer_zoho_id, "amount": "30.00", "date": "2026-01-07",
                                         "invoices": [{"invoice_id": w.zoho_id("invoice", collected),
                                                       "amount_applied": "30.00"}]})
    for local_id in (off, credited, collected):
        pull(w, local_id)

    from ledgersync.services.api_keys import create_api_key

    key = create_api_key(w.container, w.partner_id).plain
    api = {i["id"]: i for i in web.get("/api/v1/invoices", params={"archived": "all"},
                                       headers={"Authorization": f"Bearer {key}"}).json()}
    assert (api[off]["status"], api[off]["settlement_status"]) == ("written_off", "written_off")
    assert (api[off]["paid_amount"], api[off]["written_off_amount"]) == ("10.00", "30.00")
    assert api[credited]["settlement_status"] == "credited" and api[credited]["credited_amount"] == "25.00"
    assert api[collected]["settlement_status"] == "collected"

    def listed(status: str) -> set[str]:
        return set(re.findall(r'data-invoice-id="(\w+)"', web.get("/invoices", params={"status": status}).text))

    assert listed("written_off") == {off}  # the filter that "always returned nothing"
    assert listed("credited") == {credited} and listed("collected") == {collected}

    page = web.get(f"/invoices/{off}").text
    assert re.search(r'id="invoice-status">Written off<', page)
    assert re.search(r'id="invoice-outstanding">0.00 USD<', page) and re.search(r'id="invoice-written-off">30.00', page)
    events = re.findall(r'<tr data-event="(\w+)">', page)
    assert events == ["payment", "write_off"], events
    assert "cheque 42" in page
    credit_page = web.get(f"/invoices/{credited}").text
    assert re.findall(r'<tr data-event="(\w+)">', credit_page) == ["credit"]
    assert re.search(r'id="invoice-status">Credited<', credit_page)


def test_events_are_cached_until_the_invoice_changes_in_zoho(web: TestClient, world: World) -> None:
    w = world
    inv = w.zoho_invoice("50.00")
    zid = w.zoho_id("invoice", inv) or ""
    w.zoho("POST", "/customerpayments", {"customer_id": w.customer_zoho_id, "amount": "20.00", "date": "2026-01-06",
                                         "invoices": [{"invoice_id": zid, "amount_applied": "20.00"}]})
    pull(w, inv)
    before = _calls(w)
    web.get(f"/invoices/{inv}")
    first = _calls(w) - before
    web.get(f"/invoices/{inv}")
    assert first >= 1 and _calls(w) - before == first  # second view: no call
    w.zoho("POST", "/customerpayments", {"customer_id": w.customer_zoho_id, "amount": "5.00", "date": "2026-01-08",
                                         "invoices": [{"invoice_id": zid, "amount_applied": "5.00"}]})
    pull(w, inv)
    assert re.findall(r'<tr data-event="(\w+)">', web.get(f"/invoices/{inv}").text) == ["payment", "payment"]


def _calls(w: World) -> int:
    """Calls the sandbox served this organisation's connector (its own counter, not ours)."""
    return int(w.guard.stats(w.org)["total_calls"])


@pytest.mark.parametrize("status,total,outstanding,paid,credited,expected", [
    ("paid", "10", "0", "10", "0", "collected"), ("paid", "10", "0", "0", "10", "credited"),
    ("paid", "10", "0", "4", "6", "collected"), ("paid", "10", "0", "0", "0", "collected"),
    ("partially_paid", "10", "4", "0", "6", "partially_credited"), ("partially_paid", "10", "4", "6", "0", "partially_paid"),
    ("written_off", "10", "0", "3", "0", "written_off"), ("void", "10", "0", "0", "0", "void"),
    ("overdue", "10", "4", "0", "6", "overdue"), ("open", "10", "10", "0", "0", "open"),
])
def test_settlement_status(status: str, total: str, outstanding: str, paid: str, credited: str, expected: str) -> None:
    assert settlement_status(status, D(total), D(outstanding), D(paid), D(credited)) == expected
