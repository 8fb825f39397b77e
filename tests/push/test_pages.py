"""Payments, payouts and reconciliation pages (TestClient) against the in-process sandbox:
pay an invoice from the form, see it synced with its Zoho id, ACH return → reversal, Retry,
Create payout, and the reconciliation verdict."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgersync.store import orm
from ledgersync.sync.push import PushConfig, drain_outbox
from tests.push.world import World, build_world

FAST = PushConfig(backoff_base_s=0.0, defer_s=0.0, waiting_recheck_s=0.0)


@pytest.fixture
def world(container, sandbox_app) -> World:
    return build_world(container, sandbox_app)


@pytest.fixture
def web(container, world: World):
    from ledgersync.web.app import create_app

    with container.uow() as uow:
        email = uow.session.scalars(select(orm.User.email).where(orm.User.partner_id == world.partner_id)).one()
    with TestClient(create_app(container), base_url="http://testserver") as c:
        r = c.post("/login", data={"email": email, "password": "push-pass-1234"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        yield c


def drain(w: World) -> None:
    drain_outbox(w.container, w.connection_id, cfg=FAST)


def only_payment(w: World) -> orm.Payment:
    with w.container.uow() as uow:
        rows = uow.session.scalars(select(orm.Payment).where(orm.Payment.partner_id == w.partner_id)
                                   .order_by(orm.Payment.created_at)).all()
        uow.session.expunge_all()
        return rows[-1]


def test_pay_invoice_form_then_synced_with_zoho_id_then_ach_return(web: TestClient, world: World) -> None:
    inv = world.zoho_invoice("120.00")
    page = web.get("/payments")
    assert page.status_code == 200 and "Pay invoice" in page.text and inv in page.text
    r = web.post("/payments/pay", data={"invoice_id": inv, "amount": "40.00", "method": "ach", "outcome": "succeeded"},
                 follow_redirects=False)
    assert r.status_code == 303
    p = only_payment(world)
    assert p.status == "succeeded" and "pending" in web.get("/payments").text
    drain(world)
    page = web.get("/payments").text
    zid = world.zoho_id("payment", p.id)
    assert 'data-push-state="done"' in page and f"#{zid}" in page
    assert "Fail (ACH return)" in page
    assert world.zinv(inv)["balance"] == 80
    r = web.post(f"/payments/{p.id}/ach-return", follow_redirects=False)
    assert r.status_code == 303
    drain(world)
    page = web.get("/payments").text
    assert "Reversal:" in page and page.count('data-push-state="done"') == 2
    assert world.zinv(inv)["balance"] == 120 and not world.org.payments


def test_declined_and_pending_payments_from_the_form(web: TestClient, world: World) -> None:
    inv = world.zoho_invoice("50.00")
    web.post("/payments/pay", data={"invoice_id": inv, "outcome": "failed"})
    assert only_payment(world).status == "failed"
    web.post("/payments/pay", data={"invoice_id": inv, "outcome": "pending", "method": "card"})
    p = only_payment(world)
    assert p.status == "pending"
    assert 'action="/payments/' + p.id + '/settle"' in web.get("/payments").text
    web.post(f"/payments/{p.id}/settle", data={"outcome": "succeeded"})
    drain(world)
    assert world.zinv(inv)["status"] == "paid"
    bad = web.post("/payments/pay", data={"invoice_id": inv, "amount": "abc"})
    assert "Amount must be a number" in bad.text


def test_waiting_and_failed_pushes_show_why_and_retry(web: TestClient, world: World, container) -> None:
    bank = world.connection().bank_account_id
    world.set_connection(bank_account_id=None)
    inv = world.zoho_invoice("30.00")
    web.post("/payments/pay", data={"invoice_id": inv})
    drain(world)
    page = web.get("/payments").text
    assert 'data-push-state="waiting"' in page and "accounts not set up: bank" in page and "Retry" in page
    world.set_connection(bank_account_id=bank)
    with container.uow() as uow:  # the customer loses its Zoho mapping: a permanent refusal
        uow.session.query(orm.ExternalRef).filter_by(entity="customer", local_id=world.customer_id).delete()
        uow.commit()
    drain(world)
    page = web.get("/payments").text
    assert 'data-push-state="failed"' in page and "not mapped to a Zoho contact" in page
    intent_id = re.search(r'/push/intents/([0-9a-f]+)/retry', page).group(1)
    with container.uow() as uow:
        uow.session.add(orm.ExternalRef(connection_id=world.connection_id, entity="customer",
                                        local_id=world.customer_id, zoho_id=world.customer_zoho_id))
        uow.commit()
    r = web.post(f"/push/intents/{intent_id}/retry", data={"next": "/payments"})
    assert "Sending it to Zoho Books again" in r.text
    drain(world)
    assert 'data-push-state="done"' in web.get("/payments").text


def test_retry_of_another_partners_intent_is_refused(web: TestClient, world: World, container, sandbox_app) -> None:
    other = build_world(container, sandbox_app)
    inv = other.zoho_invoice("10.00")
    from ledgersync.services import payments as pay_svc

    p = pay_svc.pay_invoices(container, other.partner_id, allocations=[pay_svc.AllocationInput(inv, 10)])
    pay_svc.settle(container, other.partner_id, p.id, "succeeded")
    with container.uow() as uow:
        intent = uow.session.scalars(select(orm.PushIntent).where(orm.PushIntent.subject_id == p.id)).one()
        intent.state = "failed"
        uow.commit()
        intent_id = intent.id
    r = web.post(f"/push/intents/{intent_id}/retry", data={"next": "//evil.test"}, follow_redirects=False)
    assert r.headers["location"] == "/payments"
    with container.uow() as uow:
        assert uow.session.get(orm.PushIntent, intent_id).state == "failed"


def test_create_payout_button_and_deposit_state(web: TestClient, world: World) -> None:
    assert "No payouts yet" in web.get("/payouts").text
    r = web.post("/payouts/create")
    assert "error" in r.text  # nothing to pay out yet
    inv = world.zoho_invoice("200.00")
    web.post("/payments/pay", data={"invoice_id": inv, "method": "card"})
    r = web.post("/payouts/create")
    assert "Payout of" in r.text
    drain(world)
    page = web.get("/payouts").text
    assert 'data-push-state="done"' in page and "193.90" in page  # 200 − (2.9% + 0.30)


def test_reconciliation_page(web: TestClient, world: World) -> None:
    rng = {"from": "2026-01-01", "to": (date.today() + timedelta(days=1)).isoformat()}
    assert "Reconcile" in web.get("/reconciliation").text
    inv = world.zoho_invoice("25.00")
    web.post("/payments/pay", data={"invoice_id": inv})
    page = web.get("/reconciliation", params=rng).text
    assert "missing in Zoho" in page and "difference" in page
    drain(world)
    page = web.get("/reconciliation", params=rng).text
    assert "Both sides agree" in page
    assert "valid date range" in web.get("/reconciliation", params={"from": "2026-02-01", "to": "2026-01-01"}).text


def test_reconciliation_filters_sort_and_csv_export(web: TestClient, world: World) -> None:
    """Issue 14: differences first, "differences only", kind and customer filters, CSV of the same rows."""
    import csv
    import io

    from ledgersync.sync.pull.records import sync_record

    rng = {"from": "2026-01-01", "to": (date.today() + timedelta(days=1)).isoformat()}
    ok_inv, gone, unpushed = world.zoho_invoice("10.00"), world.zoho_invoice("20.00"), world.zoho_invoice("30.00")
    world.zoho("DELETE", f"/invoices/{world.zoho_id('invoice', gone)}")
    sync_record(world.container, world.connection_id, "invoice", world.zoho_id("invoice", gone) or "")
    web.post("/payments/pay", data={"invoice_id": unpushed})  # settled, not pushed: real differences
    page = web.get("/reconciliation", params=rng).text
    states = re.findall(r'data-state="(\w+)"', page)
    assert states and states == sorted(states, key=["difference", "explained", "ok"].index), states
    assert "deleted in Zoho Books; archived on the platform" in page
    only = web.get("/reconciliation", params={**rng, "show": "differences"}).text
    assert set(re.findall(r'data-state="(\w+)"', only)) == {"difference"}
    kinds = web.get("/reconciliation", params={**rng, "kind": "payments"}).text
    assert set(re.findall(r'data-kind="(\w+)"', kinds)) == {"payments"}
    nobody = web.get("/reconciliation", params={**rng, "customer": "no such customer"}).text
    assert "No lines match these filters." in nobody
    r = web.get("/reconciliation.csv", params={**rng, "show": "explained"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["state"] for row in rows] == ["explained"] and rows[0]["platform_id"] == gone
    assert web.get("/reconciliation.csv").status_code == 400
    del ok_inv


def test_payout_shows_both_zoho_ids_and_a_standalone_deposit_its_accounts(web: TestClient, world: World) -> None:
    """Issue 14: the payouts page showed the transfer's Zoho id but not the fee expense's; a
    stand-alone deposit showed no "from"."""
    zinv, plat = world.zoho_invoice("200.00"), world.zoho_invoice("50.00", origin="platform")
    web.post("/payments/pay", data={"invoice_id": zinv, "method": "card"})
    web.post("/payments/pay", data={"invoice_id": plat, "method": "card"})
    drain(world)
    web.post("/payouts/create")
    drain(world)
    with world.container.uow() as uow:
        payout_id = uow.session.scalars(select(orm.Payout.id).where(orm.Payout.partner_id == world.partner_id)).one()
    by_ref = {t.reference_number: t.transaction_id for t in world.org.bank_transactions.values()}
    page = web.get("/payouts").text
    shown = dict(re.findall(r'data-zoho-step="(\w+)">#(\w+)<', page))
    assert shown == {"transfer": by_ref[f"ls:payout:{payout_id}"], "fees": by_ref[f"ls:payout:{payout_id}:fees"]}
    with world.container.uow() as uow:
        plat_payment = uow.session.scalars(select(orm.PaymentAllocation.payment_id).where(
            orm.PaymentAllocation.invoice_id == plat)).one()
    payments = web.get("/payments").text
    row = payments.split(f'data-payment-id="{plat_payment}"')[1].split("</tr>")[0]
    deposit = by_ref[f"ls:pay:{plat_payment}"]
    assert f"Stand-alone deposit <span class=\"mono\">#{deposit}</span>" in row
    assert "from Acme" in row and (world.connection().undeposited_account_name or "") in row
