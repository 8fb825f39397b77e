"""Issue 14: every `/api/v1` list pages by offset with the total (`X-Total-Count`) and next/prev
links, filters the same way across resources (`archived=all` for customers too), and refuses
out-of-range paging parameters with a 422 naming the parameter."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

LISTS = ["/api/v1/customers", "/api/v1/invoices", "/api/v1/payments", "/api/v1/payouts",
         "/api/v1/integration/sync-runs"]


def _next(r) -> str | None:  # type: ignore[no-untyped-def]
    m = re.search(r'<([^>]+)>; rel="next"', r.headers.get("link", ""))
    return m.group(1) if m else None


def test_walking_next_links_visits_every_customer_once(client: TestClient) -> None:
    made = {client.post("/api/v1/customers", json={"name": f"C{i:02d}"}).json()["id"] for i in range(23)}
    seen: list[str] = []
    url: str | None = "/api/v1/customers?limit=10"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["x-total-count"] == "23"
        seen += [c["id"] for c in r.json()]
        url, pages = _next(r), pages + 1
    assert pages == 3 and len(seen) == 23 and set(seen) == made
    last = client.get("/api/v1/customers", params={"limit": 10, "offset": 20})
    assert 'rel="prev"' in last.headers["link"] and "offset=10" in last.headers["link"] and _next(last) is None


@pytest.mark.parametrize("path", LISTS)
def test_every_list_has_a_total(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and isinstance(r.json(), list)
    assert int(r.headers["x-total-count"]) == len(r.json())


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"offset": 1_000_001},
                                    {"limit": "x"}])
def test_paging_parameters_are_bounded(client: TestClient, path: str, params: dict[str, object]) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422
    assert any(next(iter(params)) in d["loc"] for d in r.json()["detail"])


def test_archived_filter_is_the_same_for_customers_and_invoices(client: TestClient, container) -> None:  # type: ignore[no-untyped-def]
    from ledgersync.store import orm

    keep = client.post("/api/v1/customers", json={"name": "Kept"}).json()["id"]
    gone = client.post("/api/v1/customers", json={"name": "Gone"}).json()["id"]
    with container.uow() as uow:
        uow.session.get(orm.Customer, gone).archived = True
        uow.commit()
    ids = {v: {c["id"] for c in client.get("/api/v1/customers", params={"archived": v}).json()}
           for v in ("false", "true", "all")}
    assert ids == {"false": {keep}, "true": {gone}, "all": {keep, gone}}
    for path in ("/api/v1/customers", "/api/v1/invoices"):
        assert client.get(path, params={"archived": "maybe"}).status_code == 422


def test_openapi_documents_the_paging_headers(api_app) -> None:  # type: ignore[no-untyped-def]
    spec = TestClient(api_app).get("/openapi.json").json()
    for path in LISTS:
        headers = spec["paths"][path]["get"]["responses"]["200"]["headers"]
        assert {"X-Total-Count", "Link"} <= set(headers)
