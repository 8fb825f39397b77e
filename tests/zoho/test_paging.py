"""ZohoPagePaginator over hand-built pages."""
import pytest

from ledgersync.zoho import Page, ZohoInvoiceSummary, ZohoPagePaginator, ZohoPagingLoop


def envelope(ids, has_more, page=1):
    return {"code": 0, "message": "success",
            "invoices": [{"invoice_id": str(i), "customer_id": "c", "status": "sent", "total": 1, "balance": 1}
                         for i in ids],
            "page_context": {"page": page, "per_page": 3, "has_more_page": has_more}}


def scripted(pages):
    requested = []

    def fetch(page, per_page):
        requested.append((page, per_page))
        return pages[page]

    return fetch, requested


def test_stops_when_has_more_page_false():
    fetch, requested = scripted({1: envelope([1, 2, 3], True), 2: envelope([4, 5], False)})
    pages = list(ZohoPagePaginator(fetch, "invoices", per_page=3))
    assert [p.page for p in pages] == [1, 2]
    assert [r["invoice_id"] for p in pages for r in p.records] == ["1", "2", "3", "4", "5"]
    assert requested == [(1, 3), (2, 3)] and pages[-1].has_more is False


def test_repeated_page_raises():
    fetch, _ = scripted({1: envelope([1, 2, 3], True), 2: envelope([1, 2, 3], True)})
    with pytest.raises(ZohoPagingLoop):
        list(ZohoPagePaginator(fetch, "invoices", per_page=3))


def test_duplicates_across_pages_are_dropped():
    # invoice 3 changed during paging and slid onto page 2
    fetch, _ = scripted({1: envelope([1, 2, 3], True), 2: envelope([3, 4, 5], True), 3: envelope([6], False)})
    pages = list(ZohoPagePaginator(fetch, "invoices", per_page=3))
    assert [r["invoice_id"] for p in pages for r in p.records] == ["1", "2", "3", "4", "5", "6"]
    assert pages[1].duplicates_dropped == 1 and pages[1].raw_count == 3


def test_resume_from_page():
    fetch, requested = scripted({3: envelope([7, 8, 9], True), 4: envelope([10], False)})
    pages = list(ZohoPagePaginator(fetch, "invoices", per_page=3, start_page=3))
    assert [p.page for p in pages] == [3, 4] and requested[0] == (3, 3)


def test_empty_list_and_array_page_context():
    fetch, _ = scripted({1: {"code": 0, "invoices": [], "page_context": [{"has_more_page": False}]}})
    pages = list(ZohoPagePaginator(fetch, "invoices"))
    assert len(pages) == 1 and pages[0].records == []


def test_per_page_is_capped_at_200():
    with pytest.raises(ValueError):
        ZohoPagePaginator(lambda p, n: {}, "invoices", per_page=201)


def test_parse_keeps_bad_records_apart():
    page = Page([{"invoice_id": "1", "customer_id": "c", "status": "sent", "total": 1, "balance": 1},
                 {"invoice_id": "2", "status": "sent"}], 1, 200, False)
    good, bad = page.parse(ZohoInvoiceSummary, id_key="invoice_id")
    assert [g.invoice_id for g in good] == ["1"]
    assert bad[0].record_id == "2" and "customer_id" in bad[0].error


def test_client_paginate_sends_page_params(make_books):
    import httpx

    from .conftest import zoho_json

    seen = []

    def handler(request: httpx.Request):
        seen.append(dict(request.url.params))
        page = int(request.url.params["page"])
        return zoho_json(200, envelope([page], page < 2, page))

    books = make_books(handler)
    pages = list(books.iter_invoice_pages(last_modified_time="2024-01-01T00:00:00+0000", status="unpaid"))
    assert len(pages) == 2
    assert seen[0]["per_page"] == "200" and seen[0]["organization_id"] == "700000001"
    assert seen[0]["last_modified_time"] == "2024-01-01T00:00:00+0000" and seen[0]["status"] == "unpaid"
