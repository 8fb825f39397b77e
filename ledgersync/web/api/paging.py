"""Offset pagination of every `/api/v1` list, with the total.

Bodies stay plain JSON arrays (existing clients keep working); the page's context travels in
headers, as GitHub's and many REST APIs do:

- `X-Total-Count`: how many items match the filters in all;
- `Link`: `<…?offset=100&limit=50>; rel="next"` (and `rel="prev"`), absent at either end.

`limit` is 1–500 (default 100, 50 for sync runs) and `offset` 0–1,000,000; anything else is a 422
naming the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from ledgersync.services.paging import Page

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, 1–{MAX_LIMIT}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="how many matching items to skip")]

PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page of the list (a JSON array); the total and the next/previous pages in headers.",
        "headers": {
            "X-Total-Count": {"description": "how many items match the filters in all",
                              "schema": {"type": "integer", "minimum": 0}},
            "Link": {"description": 'RFC 8288 links to the next and previous pages: `<url>; rel="next"`',
                     "schema": {"type": "string"}},
        },
    }
}


def _link(request: Request, offset: int, limit: int) -> str:
    return str(request.url.include_query_params(offset=offset, limit=limit))


def paged(request: Request, response: Response, page: Page[Any]) -> list[Any]:
    """The page's items, with `X-Total-Count` and `Link` set on the response."""
    response.headers["X-Total-Count"] = str(page.total)
    links = []
    if page.next_offset is not None:
        links.append(f'<{_link(request, page.next_offset, page.limit)}>; rel="next"')
    if page.offset > 0:
        links.append(f'<{_link(request, max(0, page.offset - page.limit), page.limit)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return page.items
