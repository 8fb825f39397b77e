"""Sortable columns of the list pages: the `sort`/`dir` query arguments, the header links that
set them (a column's link sorts by it ascending, or flips the current one) and `aria-sort` on
the sorted column's header. Sorting happens in the database (the services' `sort`), so it
holds across pages; page links and the filter form carry the sort along."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Sort:
    """The sort a list page shows, and how to link to another."""

    key: str
    desc: bool
    default: tuple[str, bool]
    path: str
    args: dict[str, str]  # the page's other query arguments (filters), empty ones dropped

    @property
    def is_default(self) -> bool:
        return (self.key, self.desc) == self.default

    @property
    def query(self) -> dict[str, str]:
        """`sort`/`dir` for links that keep this sort (nothing for the page's default order)."""
        return {} if self.is_default else {"sort": self.key, "dir": "desc" if self.desc else "asc"}

    def href(self, column: str) -> str:
        """The header link of `column`: ascending, or the other way when it is the current sort."""
        desc = not self.desc if column == self.key else False
        return f"{self.path}?{urlencode({**self.args, 'sort': column, 'dir': 'desc' if desc else 'asc'})}"

    def aria(self, column: str) -> str | None:
        """`aria-sort` of the column's header: only the sorted column has one."""
        if column != self.key:
            return None
        return "descending" if self.desc else "ascending"

    def page_link(self) -> Callable[[int], str]:
        """`page_link(n)` for the pager: the filters, this sort, page n."""
        return lambda n: f"{self.path}?{urlencode({**self.args, **self.query, 'page': n})}"


def read_sort(sort: str, direction: str, allowed: Iterable[str], default: tuple[str, bool], path: str,
              args: dict[str, str] | None = None) -> Sort:
    """The sort a request asks for; anything unknown falls back to the page's default order."""
    keys = set(allowed)
    if sort in keys:
        key, desc = sort, direction == "desc"
    else:
        key, desc = default
    return Sort(key=key, desc=desc, default=default, path=path, args={k: v for k, v in (args or {}).items() if v})
