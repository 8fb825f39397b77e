"""Zoho list pagination: ``page`` / ``per_page`` until ``page_context.has_more_page`` is false.

Two defences real syncs need:

* **Loop detection** — a page whose ids were all seen before is a server or paging bug
  (the same page served again); we stop with :class:`ZohoPagingLoop` instead of spinning
  through the daily budget.
* **Dedupe across pages** — Zoho's invoice list can return a record twice when records change
  while we page (it moves from page 3 to page 4). Ids already yielded are dropped.

Each :class:`Page` carries its number so a caller can checkpoint "resume from page N+1".
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import ZohoPagingLoop

M = TypeVar("M", bound=BaseModel)

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class RecordError:
    """One record that did not fit its model: kept apart so the rest of the page proceeds."""

    record_id: str | None
    error: str
    raw: Mapping[str, Any]


@dataclass
class Page:
    records: list[dict[str, Any]]
    page: int
    per_page: int
    has_more: bool
    duplicates_dropped: int = 0
    raw_count: int = 0
    page_context: dict[str, Any] = field(default_factory=dict)

    def parse(self, model: type[M], id_key: str | None = None) -> tuple[list[M], list[RecordError]]:
        """Validate each record into ``model``; bad ones become :class:`RecordError`."""
        good: list[M] = []
        bad: list[RecordError] = []
        for raw in self.records:
            try:
                good.append(model.model_validate(raw))
            except ValidationError as exc:
                rid = raw.get(id_key) if id_key else None
                bad.append(RecordError(str(rid) if rid is not None else None, str(exc), raw))
        return good, bad


class ZohoPagePaginator:
    """Drive ``fetch(page, per_page) -> envelope`` over a list endpoint."""

    def __init__(self, fetch: Callable[[int, int], dict[str, Any]], records_key: str, *, id_key: str | None = None,
                 per_page: int = MAX_PER_PAGE, start_page: int = 1) -> None:
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
        self._fetch = fetch
        self.records_key = records_key
        self.id_key = id_key or _guess_id_key(records_key)
        self.per_page = per_page
        self.start_page = start_page
        self.seen_ids: set[str] = set()
        self._page_signatures: set[tuple[str, ...]] = set()

    def __iter__(self) -> Iterator[Page]:
        page_no = self.start_page
        while True:
            envelope = self._fetch(page_no, self.per_page)
            rows = envelope.get(self.records_key) or []
            context = envelope.get("page_context") or {}
            if isinstance(context, list):  # the OpenAPI files type it as an array
                context = context[0] if context else {}
            has_more = bool(context.get("has_more_page", False))
            ids = tuple(str(r.get(self.id_key)) for r in rows if isinstance(r, dict) and r.get(self.id_key) is not None)
            if ids and ids in self._page_signatures:
                raise ZohoPagingLoop(f"{self.records_key}: page {page_no} repeats an earlier page")
            if ids:
                self._page_signatures.add(ids)
            fresh: list[dict[str, Any]] = []
            dropped = 0
            for row in rows:
                rid = row.get(self.id_key) if isinstance(row, dict) else None
                if rid is not None and str(rid) in self.seen_ids:
                    dropped += 1
                    continue
                if rid is not None:
                    self.seen_ids.add(str(rid))
                fresh.append(row)
            if rows and ids and dropped == len(rows) and has_more:
                raise ZohoPagingLoop(f"{self.records_key}: page {page_no} holds only records already seen")
            yield Page(fresh, page_no, self.per_page, has_more, dropped, len(rows), dict(context))
            if not has_more or not rows:
                return
            page_no += 1


_ID_KEYS = {
    "invoices": "invoice_id",
    "contacts": "contact_id",
    "customerpayments": "payment_id",
    "customer_payments": "payment_id",
    "chartofaccounts": "account_id",
    "bankaccounts": "account_id",
    "banktransactions": "transaction_id",
    "creditnotes": "creditnote_id",
    "organizations": "organization_id",
    "items": "item_id",
}


def _guess_id_key(records_key: str) -> str:
    return _ID_KEYS.get(records_key, records_key.rstrip("s") + "_id")
