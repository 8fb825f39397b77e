"""Route table of the Books API: method + path pattern → handler, op name and scope."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..state import OrgData, Sandbox, Token


@dataclass
class Ctx:
    """Everything a Books handler may use for one request."""

    sandbox: Sandbox
    org: OrgData | None
    token: Token
    method: str
    params: dict[str, str]  # query parameters (last value wins), trailing "&" ignored
    path_args: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    dc: str = "us"
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names


Handler = Callable[[Ctx], Any]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    op_name: str
    scope_module: str
    scope_action: str  # create | read | update | delete
    handler: Handler
    needs_org: bool = True
    #: False: documented by Zoho but not emulated — answered 405/37 before authentication
    emulated: bool = True


ROUTES: list[Route] = []
_SORTED: list[Route] = []

_ACTION = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}


def route(method: str, path: str, op_name: str, scope: str, action: str | None = None,
          needs_org: bool = True, emulated: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler. ``path`` like ``/invoices/{invoice_id}/status/void``."""
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"

    def deco(fn: Handler) -> Handler:
        ROUTES.append(Route(method, re.compile(regex), op_name, scope, action or _ACTION[method], fn, needs_org,
                            emulated))
        return fn

    return deco


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """Find the route; returns (route, path args, path_exists_with_other_method)."""
    other = False
    # literal segments win over {param} ones (``/invoices/pdf`` before ``/invoices/{invoice_id}``)
    if len(_SORTED) != len(ROUTES):
        _SORTED[:] = sorted(ROUTES, key=lambda r: r.pattern.groups)
    for r in _SORTED:
        m = r.pattern.match(path)
        if m:
            if r.method == method:
                return r, m.groupdict(), True
            other = True
    return None, {}, other
