"""When a partner must be told about their Zoho connection: pure rules, no I/O.

An *incident* is one of the kinds below being true; it opens once (one message), stays open
while the condition holds whatever the number of retries, and closes with one "resolved"
message when the condition is gone. `ledgersync.sync.alerts` stores incidents and sends mail;
this module only says which kinds are true now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from ledgersync.domain.connection import ConnectionStatus

#: Per-record errors open this long become an incident of their own.
STALE_ERRORS_AFTER = timedelta(days=1)


class AlertKind(StrEnum):
    REAUTH = "reauth_required"  # Zoho no longer accepts our access
    FAILING = "failing"  # syncs have been failing past the threshold (status Error)
    STALE_ERRORS = "stale_errors"  # records Zoho sent stay unusable for a day


@dataclass(frozen=True)
class AlertText:
    """What the banner and the e-mail say, and where the partner fixes it (a path of the app)."""

    title: str
    action: str
    path: str


TEXTS: dict[AlertKind, AlertText] = {
    AlertKind.REAUTH: AlertText("Zoho Books needs to be reconnected",
                                "Zoho no longer accepts our access. Reconnect Zoho Books to resume syncing.",
                                "/integrations"),
    AlertKind.FAILING: AlertText("Syncing with Zoho Books keeps failing",
                                 "We keep retrying by ourselves; if it lasts, check Zoho Books' status or reconnect.",
                                 "/integrations"),
    AlertKind.STALE_ERRORS: AlertText("Some Zoho records could not be synced for a day",
                                      "Fix the records listed under 'Records that need attention' in Zoho Books; "
                                      "they are retried on every run.", "/sync-log"),
}


def active_kinds(status: str | ConnectionStatus, oldest_open_error_age: timedelta | None) -> set[AlertKind]:
    """The incident kinds true for a connection now (a disconnected one has none: the partner chose it)."""
    current = ConnectionStatus(status)
    kinds: set[AlertKind] = set()
    if current is ConnectionStatus.REAUTH_REQUIRED:
        kinds.add(AlertKind.REAUTH)
    if current is ConnectionStatus.ERROR:
        kinds.add(AlertKind.FAILING)
    if (current is not ConnectionStatus.DISCONNECTED and oldest_open_error_age is not None
            and oldest_open_error_age >= STALE_ERRORS_AFTER):
        kinds.add(AlertKind.STALE_ERRORS)
    return kinds
