"""One page of a list and how many there are in all: what every list (dashboard and API) returns,
so a client can say "51–100 of 204" and ask for the next page without guessing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ledgersync.services.errors import InvalidInput

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, None on the last page."""
        end = self.offset + len(self.items)
        return end if end < self.total else None

    @property
    def first(self) -> int:
        """1-based number of the first item shown (0 when there is none)."""
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)


def count(session: Session, stmt: Select[Any]) -> int:
    """How many rows `stmt` selects, whatever its ORDER BY/LIMIT (a COUNT over it, without them)."""
    sub = stmt.order_by(None).limit(None).offset(None).subquery()
    return int(session.execute(select(func.count()).select_from(sub)).scalar_one())


def fetch(session: Session, stmt: Select[Any], limit: int, offset: int, *, scalars: bool = True) -> tuple[list[Any], int]:
    """(the rows of one page, the total) for an ordered statement."""
    total = count(session, stmt)
    result = session.execute(stmt.limit(limit).offset(offset))
    rows = list(result.scalars()) if scalars else list(result.all())
    return rows, total


def sorted_by(stmt: Select[Any], columns: dict[str, Any], sort: str, desc: bool, *tiebreak: Any) -> Select[Any]:
    """`stmt` ordered by the column `sort` names (a key of `columns`; empty values last either
    way), then by `tiebreak` so that pages never overlap; an unknown name is `InvalidInput`."""
    if sort not in columns:
        raise InvalidInput("sort", f"must be one of {', '.join(columns)}")
    column = columns[sort]
    return stmt.order_by((column.desc() if desc else column.asc()).nulls_last(), *tiebreak)
