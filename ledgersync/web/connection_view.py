"""What the dashboard says about the Zoho Books connection, derived from the state machine
(`domain.connection`) and the initial sync's progress so the badge, the banners, the step
markers and the counts can never contradict each other.

Rules this module guarantees (tests/web/test_connection_view.py):
- step markers follow the phase the text reports (never "1 · Last 12 months" beside "syncing
  all history");
- counts never exceed totals ("205 of 204" after a reconnect listed new invoices): the total
  shown is at least what is listed, and what is done at most the total;
- nothing says "connected" unless the status is Connected; "Connected since" only then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgersync.domain.connection import ConnectionStatus

STEPS = (("recent", "1 · Last 12 months"), ("history", "2 · All history"), ("done", "3 · Connected"))
_ORDER = {"recent": 0, "history": 1, "done": 2}


def steps(phase: str | None) -> list[dict[str, str]]:
    """The three markers, each `done`, `current` or `` for the phase (None = not started: step 1)."""
    at = _ORDER.get(phase or "recent", 0)
    out = []
    for key, label in STEPS:
        i = _ORDER[key]
        state = "done" if i < at or (phase == "done") else "current" if i == at else ""
        out.append({"key": key, "label": label, "state": state})
    return out


def clamp_progress(progress: dict[str, Any] | None) -> dict[str, Any] | None:
    """The progress report with counts that add up: total ≥ listed, done ≤ total, percent ≤ 100."""
    if progress is None:
        return None
    p = dict(progress)
    total = p.get("invoices_total")
    listed = int(p.get("invoices_listed") or 0)
    done = int(p.get("invoices_done") or 0)
    if total is not None:
        total = max(int(total), listed)
        done = min(done, total)
        p["invoices_total"] = total
    p["invoices_done"] = done
    if p.get("percent") is not None:
        p["percent"] = max(0.0, min(100.0, float(p["percent"])))
    return p


def progress_text(progress: dict[str, Any] | None) -> str:
    """The sentence under the bar (the page's script writes the same one while polling)."""
    p = progress or {}
    if not p.get("invoices_total"):
        return "Starting the initial sync…"
    text = f"{p.get('invoices_done', 0)} of {p['invoices_total']} invoices synced"
    if p.get("phase") == "history":
        text += " · syncing all history"
    return text


def callback_message(status: str) -> str:
    """The flash after Zoho's consent: Pending is not Connected yet, so it must not say so."""
    if status == ConnectionStatus.PENDING:
        return ("Zoho Books is linked and Pending: the initial sync is running (the last 12 months first, "
                "then all history); the status turns Connected when it finishes.")
    if status == ConnectionStatus.CONNECTED:
        return "Zoho Books is reconnected."
    return f"Zoho Books answered; the connection is {status.replace('_', ' ')}."


def show_connected_since(status: str) -> bool:
    return status == ConnectionStatus.CONNECTED


@dataclass(frozen=True)
class StatusView:
    """How the dashboard shows a status: label, badge class and what the partner can do next."""

    label: str
    badge: str
    can_connect: bool
    can_setup_accounts: bool
    can_disconnect: bool
    help: str


_VIEWS: dict[ConnectionStatus, StatusView] = {
    ConnectionStatus.DISCONNECTED: StatusView(
        "Not connected", "disconnected", True, False, False,
        "Connect your Zoho Books organisation to sync invoices and reconcile payments automatically.",
    ),
    ConnectionStatus.PENDING: StatusView(
        "Pending", "pending", False, True, True,
        "The initial sync is running: the last 12 months first, then all history.",
    ),
    ConnectionStatus.CONNECTED: StatusView(
        "Connected", "connected", False, True, True,
        "Invoices and customers sync hourly; payments and deposits reach Zoho within seconds.",
    ),
    ConnectionStatus.ERROR: StatusView(
        "Error", "error", True, True, True,
        "Syncing stopped because of an error. Reconnect, or wait for the next automatic retry.",
    ),
    ConnectionStatus.REAUTH_REQUIRED: StatusView(
        "Reauthorization required", "reauth_required", True, False, True,
        "Zoho no longer accepts our access (the authorization was revoked or expired). "
        "Reconnect to resume syncing.",
    ),
}


def view(status: str | ConnectionStatus) -> StatusView:
    return _VIEWS[ConnectionStatus(status)]
