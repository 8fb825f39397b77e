"""QA findings on the dashboard pages, each pinned by a test (TestClient against `create_app`).

Walking the demo as a partner showed: a third decimal in "Pay invoice" gave a 500 (the money
column refuses it); a form missing a field, an unknown page or an unknown PDF answered bare JSON;
empty lists said "No invoices match." before anything was connected; invoices had no page with
their line items; reconciliation and payment allocations showed raw numbers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.services import customers as customer_svc
from ledgersync.services import invoices as invoice_svc
from ledgersync.services import payments as pay_svc
from ledgersync.store import orm
from ledgersync.web.forms import FormError, parse_money
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD


@pytest.fixture
def browser_like(container: Container, partner: orm.Partner) -> TestClient:
    """A logged-in client that asks for HTML like a browser and never re-raises server errors."""
    from ledgersync.web.app import create_app

    c = TestClient(create_app(container), base_url="http://testserver", raise_server_exceptions=False,
                   headers={"Accept": "text/html,application/xhtml+xml"})
    r = c.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    return c


@pytest.fixture
def invoice(container: Container, partner: orm.Partner) -> orm.Invoice:
    cust = customer_svc.create_customer(container, partner.id, name="Acme Dental", email="ap@acme.test")
    return invoice_svc.create_invoice(
        container, partner.id, customer_id=cust.id, issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1),
        line_items=[invoice_svc.LineItemInput("Managed services", Decimal("3"), Decimal("400.00"), "November"),
                    invoice_svc.LineItemInput("Backup", Decimal("1.5"), Decimal("100.00"))])


@pytest.mark.parametrize(("typed", "expected"), [
    ("125", Decimal("125.00")), ("1,250.5", Decimal("1250.50")), ("$99.90", Decimal("99.90")), ("  ", None),
    ("12.340", Decimal("12.34")),
])
def test_parse_money_accepts_what_people_type(typed: str, expected: Decimal | None) -> None:
    assert parse_money(typed) == expected


@pytest.mark.parametrize("typed", ["abc", "NaN", "Infinity", "-5", "0", "12.345", "1e-3"])
def test_parse_money_refuses_with_a_reason(typed: str) -> None:
    with pytest.raises(FormError):
        parse_money(typed)


@pytest.mark.parametrize(("typed", "message"), [
    ("12.345", "at most two decimals"), ("abc", "must be a number"), ("-5", "greater than zero"),
    ("NaN", "must be a number"), ("99999", "exceeds"),
])
def test_pay_invoice_bad_amount_is_a_message_not_a_500(browser_like: TestClient, invoice: orm.Invoice,
                                                       container: Container, partner: orm.Partner,
                                                       typed: str, message: str) -> None:
    r = browser_like.post("/payments/pay", data={"invoice_id": invoice.id, "amount": typed, "outcome": "pending"})
    assert r.status_code == 200
    assert message in r.text
    assert "flash-error" in r.text
    assert pay_svc.list_payments(container, partner.id) == []  # nothing recorded, nothing lost


def test_service_refuses_a_third_decimal_even_without_the_form(container: Container, partner: orm.Partner,
                                                                invoice: orm.Invoice) -> None:
    from ledgersync.services.errors import InvalidInput

    with pytest.raises(InvalidInput, match="two decimals"):
        pay_svc.pay_invoices(container, partner.id, allocations=[pay_svc.AllocationInput(invoice.id, Decimal("1.005"))])


def test_pay_confirmation_shows_money_with_currency(browser_like: TestClient, invoice: orm.Invoice) -> None:
    r = browser_like.post("/payments/pay", data={"invoice_id": invoice.id, "amount": "1,000", "outcome": "pending"})
    assert "Payment of 1,000.00 USD on" in r.text
    row = r.text.split('id="payments"')[1]
    assert "(1,000.00 USD)" in row  # the allocation, with currency
    assert f'href="/invoices/{invoice.id}"' in row


def test_missing_form_field_unknown_page_and_unknown_pdf_are_html_pages(browser_like: TestClient) -> None:
    r = browser_like.post("/payments/pay", data={})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "invoice id" in r.text and "Nothing was changed" in r.text
    r = browser_like.get("/no-such-page")
    assert r.status_code == 404 and 'id="error-page"' in r.text
    r = browser_like.get("/invoices/nope/pdf")
    assert r.status_code == 404 and "No such invoice" in r.text and "{" not in r.text.split("<main")[1][:200]
    r = browser_like.get("/p/invoices/nope/pdf?e=abc&s=x")
    assert r.status_code == 422 and 'id="error-page"' in r.text


def test_api_errors_stay_json(browser_like: TestClient) -> None:
    r = browser_like.get("/api/v1/invoices", headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.json()["detail"]


def test_unexpected_error_is_logged_and_shown_without_a_traceback(container: Container, partner: orm.Partner,
                                                                   browser_like: TestClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ledgersync.web.routes import payouts

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("database exploded: secret details")

    monkeypatch.setattr(payouts.payout_svc, "page_payouts", boom)
    r = browser_like.get("/payouts")
    assert r.status_code == 500
    assert "Something went wrong" in r.text and "Traceback" not in r.text and "secret details" not in r.text


def test_empty_lists_say_what_to_do_next(browser_like: TestClient) -> None:
    for path, words in (("/invoices", "Connect Zoho Books to import your invoices"),
                        ("/customers", "Connect Zoho Books to import your customers"),
                        ("/payments", "Connect Zoho Books to import your invoices")):
        r = browser_like.get(path)
        assert words in r.text, path
        assert 'href="/integrations"' in r.text
    r = browser_like.get("/invoices?q=zzz")
    assert "No invoices match these filters" in r.text
    r = browser_like.get("/payouts")
    assert "collect one on the" in r.text and "disabled" in r.text


def test_invoice_page_shows_line_items_with_money_and_a_pay_link(browser_like: TestClient,
                                                                  invoice: orm.Invoice) -> None:
    listing = browser_like.get("/invoices").text
    assert f'href="/invoices/{invoice.id}"' in listing
    r = browser_like.get(f"/invoices/{invoice.id}")
    assert r.status_code == 200
    items = r.text.split('id="line-items"')[1]
    assert "Managed services" in items and "November" in items and "Backup" in items
    assert "1,200.00 USD" in items and "150.00 USD" in items and ">1.5<" in items and ">3<" in items
    assert "1,350.00 USD" in r.text  # total
    assert f'/payments?invoice_id={invoice.id}' in r.text
    assert browser_like.get("/invoices/unknown").status_code == 404


def test_invoice_page_of_another_partner_is_not_found(container: Container, browser_like: TestClient) -> None:
    from ledgersync.services import partners

    other = partners.create_partner(container, name="Other", email="o@o.test", password="other-pass-1234").partner
    cust = customer_svc.create_customer(container, other.id, name="Theirs")
    inv = invoice_svc.create_invoice(container, other.id, customer_id=cust.id,
                                     line_items=[invoice_svc.LineItemInput("x", Decimal("1"), Decimal("5"))])
    r = browser_like.get(f"/invoices/{inv.id}")
    assert r.status_code == 404 and "Theirs" not in r.text


def test_payout_flash_formats_money(browser_like: TestClient, invoice: orm.Invoice) -> None:
    browser_like.post("/payments/pay", data={"invoice_id": invoice.id, "outcome": "succeeded"})
    r = browser_like.post("/payouts/create")
    assert "Payout of " in r.text and " USD created (fees " in r.text


def test_a_refused_amount_stays_in_the_form(browser_like: TestClient, invoice: orm.Invoice) -> None:
    r = browser_like.post("/payments/pay", data={"invoice_id": invoice.id, "amount": "12.345", "next": "/payments"},
                          follow_redirects=False)
    assert r.status_code == 303 and "amount=12.345" in r.headers["location"]
    page = browser_like.get(r.headers["location"]).text
    assert 'value="12.345"' in page and "at most two decimals" in page
    assert f'<option value="{invoice.id}" selected' in page


def test_unknown_page_keeps_the_navigation_when_logged_in(browser_like: TestClient) -> None:
    r = browser_like.get("/no-such-page")
    assert r.status_code == 404 and 'class="mainnav"' in r.text


def test_sync_log_notes_get_their_own_row(browser_like: TestClient, container: Container,
                                          partner: orm.Partner) -> None:
    from datetime import UTC, datetime


    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner.id, provider="zoho_books", status="connected", organization_id="1")
        uow.session.add(conn)
        uow.session.flush()
        uow.session.add(orm.SyncRun(connection_id=conn.id, stream="push", trigger="event", status="succeeded",
                                    started_at=datetime.now(UTC), message="x" * 250))
        uow.commit()
    page = browser_like.get("/sync-log").text
    assert 'class="note-row"' in page and "x" * 250 in page


@pytest.mark.parametrize(("reason", "link", "words"), [
    ("Zoho refused our access: Zoho 200 code=None: refresh token refused (invalid_code); reconnect Zoho Books",
     "/integrations", "Waiting for Zoho Books to be reconnected"),
    ("accounts not set up: bank, fees", "/integrations/zoho/accounts", "Set Up Accounts"),
    ("Zoho Books is not connected", "/integrations", "nothing is lost"),
])
def test_waiting_push_says_what_fixes_it(reason: str, link: str, words: str) -> None:
    from types import SimpleNamespace

    from ledgersync.web.templating import templates

    st = SimpleNamespace(state="waiting", badge="pending", label="waiting", zoho_id=None, reason=reason,
                         unused_credit=None, retryable=True, intent_id="i1")
    html = templates.env.get_template("_push_state.html").render(st=st, back="/payments")
    assert words in html and f'href="{link}"' in html and "code=None" not in html.split("title=")[0]


def test_reversed_payment_reads_as_reversed_not_twice_synced() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from ledgersync.web.sorting import read_sort
    from ledgersync.web.templating import templates

    def st(state: str, zoho_id: str | None) -> SimpleNamespace:
        return SimpleNamespace(state=state, badge="succeeded", label="synced", zoho_id=zoho_id, reason=None,
                               unused_credit=None, retryable=False, intent_id="i")

    pay = SimpleNamespace(id="p1", settled_at=datetime.now(UTC), created_at=datetime.now(UTC), customer_id="c",
                          allocations=[], method="ach", amount=Decimal("10.00"), fee=Decimal("0.50"),
                          currency_code="USD", status="failed", failure_reason="ACH return R01")
    html = templates.env.get_template("payments.html").render(
        payments=[pay], states={"p1": {"push": st("done", "4600001"), "reversal": st("done", "4600001")}},
        names={}, numbers={}, payable=[], conn=None, in_progress=False, partner=None, flashes=[], nav="payments",
        sort=read_sort("", "", ["date"], ("date", True), "/payments"))
    cell = html.split('class="sync"')[1]
    assert "reversed in Zoho" in cell and "was synced" in cell and "#4600001" in cell
    assert ">synced<" not in cell


def _connection_with_status(container: Container, partner: orm.Partner, status: str) -> None:
    with container.uow() as uow:
        uow.session.add(orm.Connection(partner_id=partner.id, provider="zoho_books", status=status,
                                       organization_id="700000001" if status != "disconnected" else None))
        uow.commit()


def test_reconciliation_without_a_usable_connection_explains_instead_of_a_500(
        browser_like: TestClient, container: Container, partner: orm.Partner) -> None:
    r = browser_like.get("/reconciliation?from=2026-11-01&to=2026-11-30")
    assert r.status_code == 200 and "Connect Zoho Books first" in r.text
    _connection_with_status(container, partner, "disconnected")
    r = browser_like.get("/reconciliation?from=2026-11-01&to=2026-11-30")
    assert r.status_code == 200 and "Connect Zoho Books first" in r.text and "disabled" in r.text


def test_reconciliation_when_reauthorization_is_required(browser_like: TestClient, container: Container,
                                                         partner: orm.Partner) -> None:
    _connection_with_status(container, partner, "reauth_required")
    r = browser_like.get("/reconciliation?from=2026-11-01&to=2026-11-30")
    assert r.status_code == 200 and "reconnected" in r.text


def test_sync_log_of_a_disconnected_connection(browser_like: TestClient, container: Container,
                                               partner: orm.Partner) -> None:
    _connection_with_status(container, partner, "disconnected")
    page = browser_like.get("/sync-log").text
    assert 'id="sync-disconnected"' in page and "Sync now</button>" not in page
    r = browser_like.post("/sync-log/sync-now")
    assert "Connect Zoho Books first" in r.text


def test_archived_invoices_cannot_be_paid(browser_like: TestClient, container: Container, partner: orm.Partner,
                                          invoice: orm.Invoice) -> None:
    """QA: after switching Zoho organisation the old organisation's invoices (archived) were still offered
    in Pay invoice, and the push then failed at Zoho with 'Invalid value passed for customer_id'."""
    from ledgersync.services.errors import InvalidInput

    with container.uow() as uow:
        uow.session.get(orm.Invoice, invoice.id).archived = True
        uow.commit()
    page = browser_like.get("/payments").text
    assert f'<option value="{invoice.id}"' not in page
    with pytest.raises(InvalidInput, match="archived"):
        pay_svc.pay_invoices(container, partner.id, allocations=[pay_svc.AllocationInput(invoice.id, Decimal("1.00"))])
    assert 'id="invoice-pay"' not in browser_like.get(f"/invoices/{invoice.id}").text


def test_unused_credit_flag_only_on_a_synced_push() -> None:
    from types import SimpleNamespace

    from ledgersync.web.templating import templates

    tpl = templates.env.get_template("_push_state.html")
    failed = SimpleNamespace(state="failed", badge="failed", label="failed", zoho_id=None, reason="Zoho 400",
                             unused_credit="1400.00", retryable=True, intent_id="i")
    assert "unused credit" not in tpl.render(st=failed, back="/payments")
    done = SimpleNamespace(**{**failed.__dict__, "state": "done", "zoho_id": "46", "reason": None})
    assert "1400.00 left as the customer" in tpl.render(st=done, back="/payments")
