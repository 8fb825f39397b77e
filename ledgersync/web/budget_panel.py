"""The budget panel (issues 13/14): a self-contained partial, `_budget_panel.html`, that any page
showing the Zoho connection includes with `{% include "_budget_panel.html" %}` (it needs `conn`
in the page's context). Its figures come from `services.budget.budget_report`, computed from the
database and the process's rate limiter on every render, so the history ETA survives leaving
the page."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import Request

from ledgersync.services.budget import BudgetReport, LimiterView, budget_report
from ledgersync.sync.ports import RateLimited


def _limiter_view(container: RateLimited, organization_id: str) -> LimiterView | None:
    """What the process's limiter knows of the organisation's day (None if it made no call)."""
    try:
        limiter = container.rate_limiter
        status = limiter.budget_status(organization_id)
    except Exception:  # noqa: BLE001 - the panel falls back to our own runs
        return None
    if status.resets_at is None:
        return None
    cfg = getattr(limiter, "cfg", None)
    return LimiterView(used_today=status.used_today, daily_limit=status.daily_limit,
                       remaining_today=status.remaining_today, resets_at=status.resets_at,
                       day_seconds=float(getattr(cfg, "day_seconds", 86_400.0)))


def panel_for(request: Request, conn: Any) -> BudgetReport | None:
    """The panel's report for the page's connection (None: nothing to show)."""
    container = getattr(request.app.state, "container", None)
    if container is None or conn is None or not getattr(conn, "organization_id", None):
        return None
    if getattr(conn, "status", None) in ("disconnected", None):
        return None
    return budget_report(container, conn.id, limiter=_limiter_view(container, conn.organization_id))


def duration(seconds: float | None) -> str:
    """`about 4 min`, `about 2 h 10 min`, `about 3 days` (what a person reads at a glance)."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"about {hours} h {rest} min" if rest else f"about {hours} h"
    return f"about {round(hours / 24)} days"


def until(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return duration((moment - datetime.now(timezone.utc)).total_seconds())


def install(env: Any) -> None:
    env.globals["budget_panel"] = panel_for
    env.filters["duration"] = duration
    env.filters["until"] = until
