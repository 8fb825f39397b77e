"""The product's source files, for the tests that read its code (`test_no_fallbacks`, `test_status_writes`).

One walk of `ledgersync/` so the checks that scan the package agree on what "the product" is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

PRODUCT = Path(__file__).resolve().parents[2] / "ledgersync"

Found = TypeVar("Found")


def product_sources() -> Iterator[tuple[str, str]]:
    """`(name, source)` for every `.py` file of `ledgersync/`, sorted; `name` is like `ledgersync/web/app.py`."""
    for path in sorted(PRODUCT.rglob("*.py")):
        yield path.relative_to(PRODUCT.parent).as_posix(), path.read_text(encoding="utf-8")


def offenders(check: Callable[[str], list[Found]], *, allowed: frozenset[str] = frozenset()) -> dict[str, list[Found]]:
    """`{name: what check found}` for every product file outside `allowed` where `check(source)` finds something."""
    return {name: found for name, source in product_sources()
            if name not in allowed and (found := check(source))}
