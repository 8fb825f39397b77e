"""No duck-typed fallbacks in the product: `hasattr(`, `importlib` and `.extras` stay out of ledgersync/.

Parts reach each other through named ports (`ledgersync/sync/ports.py` and the protocols their
consumers own), wired once in `ledgersync.bootstrap`. A "part not present yet" probe
(`hasattr(x, "post")`, an `importlib` import that may fail, a grab-bag `container.extras`) hides
what a function needs; this test fails as soon as one comes back. Code is read as tokens, so
prose in docstrings and comments may still name them.
"""

from __future__ import annotations

import io
import tokenize

import pytest

from tests.unit.package_sources import offenders


def fallbacks(source: str) -> list[str]:
    """`line: what` for every `hasattr(` call, `importlib` name and `.extras` attribute in code."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
    found: list[str] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        if tok.type != tokenize.NAME:
            continue
        if tok.string == "hasattr" and nxt is not None and nxt.string == "(":
            found.append(f"{tok.start[0]}: hasattr(")
        elif tok.string == "importlib":
            found.append(f"{tok.start[0]}: importlib")
        elif tok.string == "extras" and prev is not None and prev.string == ".":
            found.append(f"{tok.start[0]}: .extras")
    return found


@pytest.mark.parametrize("planted", [
    "def f(books):\n    return books if hasattr(books, 'post') else books()\n",
    "import importlib\nmod = importlib.import_module('ledgersync.sync.push')\n",
    "from importlib import import_module\n",
    "def f(container):\n    return container.extras['dispatcher']\n",
])
def test_a_planted_fallback_is_found(planted: str) -> None:
    assert fallbacks(planted), planted


def test_prose_and_other_names_are_not_fallbacks() -> None:
    clean = ('"""No hasattr( probes, no importlib, no container.extras."""\n'
             "# hasattr(x, 'y') would be found in code, not here\n"
             "extras = {'a': 1}\nhas_attr = getattr(object(), 'x', None)\n")
    assert fallbacks(clean) == []


def test_the_product_has_no_fallbacks() -> None:
    found = offenders(fallbacks)
    assert found == {}, found
