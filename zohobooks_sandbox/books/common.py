"""Shared pieces of the Books handlers: JSON in/out with exact money, field parsing,
list filtering, sorting and Zoho's ``page_context``.

Choices (documented because Zoho is silent or inconsistent):
- ``per_page`` above 200 is clamped to 200 (Zoho never returns more than 200 rows);
  ``per_page`` < 1 or a non-numeric ``page``/``per_page`` → HTTP 400 code 2.
- ``last_modified_time`` filters are inclusive (``>=``, at second precision) so a client that
  re-reads from its bookmark never misses records sharing the bookmark's second.
- ``response_option=1`` adds ``total``/``total_pages`` to ``page_context``; ``2`` answers only
  the ``page_context`` with ``total`` and ``total_pages`` (a count, no rows).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import errors
from ..clock import parse_zoho_timestamp, zoho_timestamp
from ..state import CENT, OrgData, money
from .registry import Ctx

MAX_PER_PAGE = 200

_DEC_RE = re.compile(r'"\\u0000D(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            # money has 2 decimals; quantities/rates with more keep every digit (never rounded)
            text = str(o.quantize(CENT)) if o.as_tuple().exponent >= -2 else format(o, "f")  # type: ignore[operator]
            return "\u0000D" + text + "\u0000"
        if isinstance(o, datetime):
            return zoho_timestamp(o)
        if isinstance(o, date):
            return o.isoformat()
        return super().default(o)


def dumps(obj: Any) -> bytes:
    """JSON with Decimals as plain numbers with two decimals (``40.60``), never floats."""
    return _DEC_RE.sub(r"\1", json.dumps(obj, cls=_Encoder, ensure_ascii=False)).encode("utf-8")


def loads(raw: bytes | str) -> Any:
    """Parse JSON keeping every non-integer number as Decimal."""
    return json.loads(raw, parse_float=Decimal)


# ----------------------------------------------------------------------------- field parsing
def ts(ctx: Ctx, moment: datetime | None) -> str:
    """A timestamp in the org's time zone, Zoho style; "" when unset."""
    if moment is None:
        return ""
    tz = ctx.org.org.time_zone if ctx.org else "UTC"
    return zoho_timestamp(moment, tz)


def d(value: date | None) -> str:
    return value.isoformat() if value else ""


def require(body: dict[str, Any], field: str) -> Any:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise errors.missing_field(field)
    return value


def as_decimal(value: Any, field: str, *, allow_negative: bool = False) -> Decimal:
    if isinstance(value, bool):
        raise errors.invalid_value(field)
    try:
        out = money(value)
    except (InvalidOperation, ValueError, TypeError):
        raise errors.invalid_value(field) from None
    if out.is_nan() or (not allow_negative and out < 0):
        raise errors.invalid_value(field)
    return out


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def as_date(value: Any, field: str) -> date:
    """A ``YYYY-MM-DD`` date (Zoho's only date format); ``2024-13-45`` or ``20240101`` → code 2."""
    text = str(value).strip()
    if not _DATE_RE.match(text):
        raise errors.invalid_value(field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise errors.invalid_value(field) from None


def as_rate(value: Any, field: str = "exchange_rate") -> Decimal:
    """An exchange rate: positive, every digit kept (Zoho stores rates like ``1.084312``)."""
    if value is None or value == "":
        return Decimal("1")
    if isinstance(value, bool):
        raise errors.invalid_value(field)
    try:
        out = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise errors.invalid_value(field) from None
    if not out.is_finite() or out <= 0:
        raise errors.invalid_value(field)
    return out


# ----------------------------------------------------------------------------- unique custom fields
def unique_header_match(ctx: Ctx, records: Iterable[Any]) -> Any | None:
    """The record whose custom field named by ``X-Unique-Identifier-Key`` (label, api_name,
    customfield_id or placeholder) holds ``X-Unique-Identifier-Value``; None without headers."""
    key = ctx.headers.get("x-unique-identifier-key")
    value = ctx.headers.get("x-unique-identifier-value")
    if not key or value is None:
        return None
    for rec in records:
        for cf in rec.custom_fields:
            if not isinstance(cf, dict):
                continue
            names = {str(cf.get(k)) for k in ("label", "api_name", "customfield_id", "placeholder") if cf.get(k)}
            if key in names and str(cf.get("value")) == value:
                return rec
    return None


def wants_upsert(ctx: Ctx) -> bool:
    return (ctx.headers.get("x-upsert") or "").strip().lower() == "true"


def upsert_by_unique_field(ctx: Ctx, records: Iterable[Any], id_arg: str, id_attr: str,
                           create: Callable[[Ctx], Any], update: Callable[[Ctx], Any], resource: str) -> Any:
    """``PUT /{module}`` (Zoho's "update using a custom field's unique value"): the record whose
    unique custom field matches the headers is updated; none matches → with ``X-Upsert: true``
    it is created, else 404 code 1002. Both answer HTTP 200 (the only status Zoho documents)."""
    if not ctx.headers.get("x-unique-identifier-key"):
        raise errors.missing_field("X-Unique-Identifier-Key")
    if ctx.headers.get("x-unique-identifier-value") is None:
        raise errors.missing_field("X-Unique-Identifier-Value")
    existing = unique_header_match(ctx, records)
    if existing is not None:
        ctx.path_args[id_arg] = getattr(existing, id_attr)
        return update(ctx)
    if not wants_upsert(ctx):
        raise errors.not_found(resource)
    _, body = create(ctx)
    return 200, body


def create_with_unique_field(ctx: Ctx, records: Iterable[Any], id_arg: str, id_attr: str,
                             update: Callable[[Ctx], Any], what: str) -> Any | None:
    """``POST /{module}`` with ``X-Unique-Identifier-*``: an existing value is updated with
    ``X-Upsert: true`` (answered 201, the create's status) or refused (1070). None: go create."""
    existing = unique_header_match(ctx, records)
    if existing is None:
        return None
    if wants_upsert(ctx):
        ctx.path_args[id_arg] = getattr(existing, id_attr)
        _, body = update(ctx)
        return 201, body
    raise errors.already_exists(f"{what} with this unique identifier value")


def as_str(value: Any, field: str, max_len: int | None = None) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, Decimal)) or isinstance(value, bool):
        raise errors.invalid_value(field)
    out = str(value)
    if max_len is not None and len(out) > max_len:
        raise errors.ZohoError(400, 2, f"Invalid value passed for {field}. Maximum length is {max_len}.")
    return out


def as_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.invalid_value(field)


def today(ctx: Ctx) -> date:
    assert ctx.org is not None
    return ctx.sandbox.clock.today(ctx.org.org.time_zone)


# ----------------------------------------------------------------------------- lists
def param_date(ctx: Ctx, name: str) -> date | None:
    raw = ctx.params.get(name)
    if raw is None or raw == "":
        return None
    return as_date(raw, name)


def date_filters(ctx: Ctx, field: str, get: Callable[[Any], date | None]) -> list[Callable[[Any], bool]]:
    """``{field}``, ``{field}_start``, ``{field}_end``, ``{field}_before``, ``{field}_after``."""
    preds: list[Callable[[Any], bool]] = []
    for suffix, cmp in (("", lambda a, b: a == b), ("_start", lambda a, b: a >= b), ("_end", lambda a, b: a <= b),
                        ("_before", lambda a, b: a < b), ("_after", lambda a, b: a > b)):
        value = param_date(ctx, field + suffix)
        if value is not None:
            preds.append(lambda r, v=value, c=cmp: (get(r) is not None and c(get(r), v)))
    return preds


def modified_since(ctx: Ctx) -> Callable[[Any], bool] | None:
    raw = ctx.params.get("last_modified_time")
    if not raw:
        return None
    tz = ctx.org.org.time_zone if ctx.org else "UTC"
    try:
        since = parse_zoho_timestamp(raw, tz).replace(microsecond=0)
    except ValueError:
        raise errors.invalid_value("last_modified_time") from None
    return lambda r: r.last_modified_time is not None and r.last_modified_time.replace(microsecond=0) >= since


def text_match(needle: str, *haystack: str) -> bool:
    needle = needle.lower()
    return any(needle in (h or "").lower() for h in haystack)


def string_filter(ctx: Ctx, name: str, get: Callable[[Any], str]) -> list[Callable[[Any], bool]]:
    """Zoho's ``x``, ``x_startswith``, ``x_contains`` variants (case-insensitive)."""
    preds: list[Callable[[Any], bool]] = []
    exact = ctx.params.get(name)
    if exact:
        preds.append(lambda r, v=exact.lower(): (get(r) or "").lower() == v)
    sw = ctx.params.get(name + "_startswith")
    if sw:
        preds.append(lambda r, v=sw.lower(): (get(r) or "").lower().startswith(v))
    ct = ctx.params.get(name + "_contains")
    if ct:
        preds.append(lambda r, v=ct.lower(): v in (get(r) or "").lower())
    return preds


def page_args(ctx: Ctx) -> tuple[int, int]:
    try:
        page = int(ctx.params.get("page") or 1)
    except ValueError:
        raise errors.invalid_value("page") from None
    try:
        per_page = int(ctx.params.get("per_page") or MAX_PER_PAGE)
    except ValueError:
        raise errors.invalid_value("per_page") from None
    if page < 1:
        raise errors.invalid_value("page")
    if per_page < 1:
        raise errors.invalid_value("per_page")
    return page, min(per_page, MAX_PER_PAGE)


_NOT_FILTERS = {"page", "per_page", "response_option", "organization_id"}


def list_response(
    ctx: Ctx,
    records: Iterable[Any] | Callable[[], Iterable[Any]],
    *,
    key: str,
    report_name: str,
    render: Callable[[Any], dict[str, Any]],
    sort_keys: dict[str, Callable[[Any], Any]],
    default_sort: str,
    id_of: Callable[[Any], str],
    applied_filter: str | None = None,
    default_order: str = "D",
    extra_context: dict[str, Any] | None = None,
    memo: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Sort, page and wrap filtered records as Zoho's list envelope.

    With ``memo`` (a list name) and ``records`` given as a callable, the filtered and sorted
    rows are memoised per organisation version, query (minus paging) and org date, so paging
    through a large list costs one filter+sort, not one per page."""
    sort_column = ctx.params.get("sort_column") or default_sort
    if sort_column not in sort_keys:
        raise errors.invalid_value("sort_column")
    sort_order = (ctx.params.get("sort_order") or default_order).upper()
    if sort_order not in ("A", "D", "ASCENDING", "DESCENDING"):
        raise errors.invalid_value("sort_order")
    sort_order = sort_order[0]
    keyf = sort_keys[sort_column]

    def compute() -> Sequence[Any]:
        source = records() if callable(records) else records
        return sort_records(source, keyf, id_of, descending=sort_order == "D")

    if memo and ctx.org is not None:
        query = tuple(sorted((k, v) for k, v in ctx.params.items() if k not in _NOT_FILTERS))
        memo_key = (memo, query, sort_column, sort_order, today(ctx))
        rows: Sequence[Any] = ctx.org.memo(memo_key, compute)
    else:
        rows = compute()
    page, per_page = page_args(ctx)
    start = (page - 1) * per_page
    chunk = rows[start:start + per_page]
    page_context: dict[str, Any] = {
        "page": page,
        "per_page": per_page,
        "has_more_page": start + per_page < len(rows),
        "report_name": report_name,
        "applied_filter": applied_filter or ctx.params.get("filter_by") or "Status.All",
        "sort_column": sort_column,
        "sort_order": sort_order,
        "search_criteria": [],
    }
    if extra_context:
        page_context.update(extra_context)
    option = ctx.params.get("response_option", "0")
    if option in ("1", "2"):
        page_context["total"] = len(rows)
        page_context["total_pages"] = (len(rows) + per_page - 1) // per_page
    body: dict[str, Any] = {"code": 0, "message": "success"}
    if option != "2":
        body[key] = [render(r) for r in chunk]
    body["page_context"] = page_context
    return 200, body


def sort_records(source: Iterable[Any], keyf: Callable[[Any], Any], id_of: Callable[[Any], str], *,
                 descending: bool) -> list[Any]:
    """Sort by ``keyf`` then numeric id (both in the requested direction), as Zoho orders lists.

    Two stable sorts (id first, then the column) instead of one sort on ``(key, int(id))``
    tuples, and plain comparable keys (timestamps as floats, dates as ordinals, text
    lower-cased): sorting 100,000 invoices then takes tens of milliseconds, not a second."""
    rows = list(source)
    rows.sort(key=lambda r: int(id_of(r)), reverse=descending)
    keys = [keyf(r) for r in rows]
    kinds = {type(k) for k in keys}
    if kinds <= {datetime}:
        keys = [k.timestamp() for k in keys]
    elif kinds <= {date}:
        keys = [k.toordinal() for k in keys]
    elif kinds <= {str}:
        keys = [k.lower() for k in keys]
    elif not kinds <= {Decimal, int} or not kinds:
        keys = [_sortable(k) for k in keys]
    order = sorted(range(len(rows)), key=keys.__getitem__, reverse=descending)
    return [rows[i] for i in order]


def filtered(values: Iterable[Any], preds: Sequence[Callable[[Any], bool]]) -> list[Any]:
    """Records passing every predicate (fast paths for none or one predicate)."""
    if not preds:
        return list(values)
    if len(preds) == 1:
        return list(filter(preds[0], values))
    return [r for r in values if all(p(r) for p in preds)]


def _sortable(value: Any) -> Any:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


def ok(message: str = "success", **payload: Any) -> dict[str, Any]:
    return {"code": 0, "message": message, **payload}


def get_record(coll: dict[str, Any], record_id: str, resource: str) -> Any:
    rec = coll.get(record_id)
    if rec is None:
        raise errors.not_found(resource)
    return rec


def account_name(org: OrgData, account_id: str) -> str:
    acc = org.accounts.get(account_id)
    return acc.account_name if acc else ""


def due_days(due: date, today_: date) -> str:
    delta = (due - today_).days
    if delta > 0:
        return f"Due in {delta} day(s)"
    if delta == 0:
        return "Due Today"
    return f"Overdue by {-delta} day(s)"


def add_days(day: date, n: int) -> date:
    return day + timedelta(days=n)
