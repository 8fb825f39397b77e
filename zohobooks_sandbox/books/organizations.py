"""``/organizations``: the organisations the token's user belongs to (in this data centre).

``GET /organizations`` needs no ``organization_id``; scope ``settings``.
"""
from __future__ import annotations

from typing import Any

from .. import errors
from ..state import OrgData
from .common import ok
from .registry import Ctx, route

_PLAN = {"free": ("FREE", 0), "standard": ("STANDARD", 120), "professional": ("PROFESSIONAL", 130),
         "premium": ("PREMIUM", 140)}


def render(ctx: Ctx, od: OrgData) -> dict[str, Any]:
    org = od.org
    plan_name, plan_type = _PLAN.get(org.plan, (org.plan.upper(), 140))
    created = org.created_time or ctx.sandbox.now()
    return {
        "organization_id": org.organization_id,
        "name": org.name,
        "contact_name": ctx.sandbox.users[ctx.token.user_id].name if ctx.token.user_id in ctx.sandbox.users else "",
        "email": org.email,
        "is_default_org": org.is_default_org,
        "plan_type": plan_type,
        "plan_name": plan_name,
        "plan_period": "Monthly",
        "language_code": "en",
        "fiscal_year_start_month": org.fiscal_year_start_month - 1,
        "account_created_date": created.date().isoformat(),
        "account_created_date_formatted": created.strftime("%d %b %Y"),
        "time_zone": org.time_zone,
        "is_org_active": True,
        "currency_id": _currency_id(org.currency_code),
        "currency_code": org.currency_code,
        "currency_symbol": org.currency_symbol,
        "currency_format": "###,##0.00",
        "price_precision": 2,
        "country": org.country,
        "data_center": org.dc,
    }


def _currency_id(code: str) -> str:
    return str(982000000000000 + sum(ord(c) for c in code))


def visible_orgs(ctx: Ctx) -> list[OrgData]:
    user = ctx.sandbox.users.get(ctx.token.user_id)
    if user is None:
        return []
    return [ctx.sandbox.orgs[o] for o in user.org_ids if o in ctx.sandbox.orgs and ctx.sandbox.orgs[o].org.dc == ctx.dc]


@route("GET", "/organizations", "organizations.list", "settings", needs_org=False)
def list_orgs(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    return 200, ok(organizations=[render(ctx, o) for o in visible_orgs(ctx)])


@route("GET", "/organizations/{organization_id}", "organizations.get", "settings", needs_org=False)
def get_org(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    oid = ctx.path_args["organization_id"]
    for od in visible_orgs(ctx):
        if od.organization_id == oid:
            return 200, ok(organization=render(ctx, od))
    raise errors.not_found("Organization")
