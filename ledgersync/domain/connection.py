"""The life cycle of a partner's connection to Zoho Books, as a pure state machine.

    disconnected --authorize--> pending --initial_sync_completed--> connected
         ^                        |  ^                                  |
         |                      fail |retry                           fail / auth_revoked
         |                        v  |                                  v
         +----disconnect------- error <------------------------- reauth_required
                                  (recover -> connected)   (reauthorize -> connected | authorize -> pending)

Every change of `connections.status` goes through `transition(status, event)`: a transition
not in the table raises `InvalidTransition`, so a late worker cannot, say, flip a
disconnected connection back to connected. Nothing here does I/O; the service layer loads the
row, asks this module for the next status, and writes it in the same transaction.

Error and Reauthorization required always have a way out: `reauthorize`/`authorize` (the
partner clicks Reconnect and consents again) or `disconnect`; `error` also `recover`s when a
later sync succeeds and `retry`s the initial sync.
"""

from __future__ import annotations

from enum import StrEnum


class ConnectionStatus(StrEnum):
    DISCONNECTED = "disconnected"
    PENDING = "pending"
    CONNECTED = "connected"
    ERROR = "error"
    REAUTH_REQUIRED = "reauth_required"


class ConnectionEvent(StrEnum):
    AUTHORIZE = "authorize"  # consent done, tokens stored, organisation chosen; initial sync starts
    REAUTHORIZE = "reauthorize"  # consent again for the SAME organisation after the initial sync
    INITIAL_SYNC_COMPLETED = "initial_sync_completed"
    FAIL = "fail"  # a sync could not run (Zoho down for long, scope missing, bad config)
    RETRY = "retry"  # the initial sync is started again after an error
    RECOVER = "recover"  # a later sync of a connected connection succeeded again
    AUTH_REVOKED = "auth_revoked"  # the refresh token is dead (revoked, or the 21st token pushed it out)
    DISCONNECT = "disconnect"


S = ConnectionStatus
E = ConnectionEvent

_TRANSITIONS: dict[ConnectionEvent, tuple[frozenset[ConnectionStatus], ConnectionStatus]] = {
    E.AUTHORIZE: (frozenset(set(S)), S.PENDING),  # a new organisation always starts over
    E.REAUTHORIZE: (frozenset({S.CONNECTED, S.ERROR, S.REAUTH_REQUIRED}), S.CONNECTED),
    E.INITIAL_SYNC_COMPLETED: (frozenset({S.PENDING, S.CONNECTED}), S.CONNECTED),
    E.FAIL: (frozenset({S.PENDING, S.CONNECTED, S.ERROR}), S.ERROR),
    E.RETRY: (frozenset({S.ERROR}), S.PENDING),
    E.RECOVER: (frozenset({S.ERROR, S.CONNECTED}), S.CONNECTED),
    E.AUTH_REVOKED: (frozenset({S.PENDING, S.CONNECTED, S.ERROR, S.REAUTH_REQUIRED}), S.REAUTH_REQUIRED),
    E.DISCONNECT: (frozenset(set(S) - {S.DISCONNECTED}), S.DISCONNECTED),
}


class InvalidTransition(ValueError):
    """The event is not allowed from the current status (the row is left unchanged)."""

    def __init__(self, status: ConnectionStatus, event: ConnectionEvent) -> None:
        super().__init__(f"cannot {event.value} a connection that is {status.value}")
        self.status = status
        self.event = event


def transition(status: str | ConnectionStatus, event: str | ConnectionEvent) -> ConnectionStatus:
    """The status after `event`, or `InvalidTransition`."""
    current = ConnectionStatus(status)
    ev = ConnectionEvent(event)
    sources, target = _TRANSITIONS[ev]
    if current not in sources:
        raise InvalidTransition(current, ev)
    return target


#: Failed runs in a row of one stream (whichever) after which the connection is shown as Error
#: (`sync/health.failures_in_a_row` counts them per stream; `connection_failure_threshold`).
FAILURE_THRESHOLD = 3


def after_sync(status: str | ConnectionStatus, *, failed: bool, failures_in_a_row: int, initial_done: bool,
               threshold: int = FAILURE_THRESHOLD) -> ConnectionEvent | None:
    """What a finished sync run means for the connection's health, or None (no change).

    A failure only counts once `failures_in_a_row` (this one included) reaches `threshold`: one
    Zoho hiccup, retried seconds later, is not worth alarming the partner. The first success
    after an Error brings the connection back by itself: Connected again, or Pending when the
    initial sync has not finished (it then completes as usual)."""
    current = ConnectionStatus(status)
    if failed:
        if current in (S.PENDING, S.CONNECTED) and failures_in_a_row >= threshold:
            return E.FAIL
        return None
    if current is S.ERROR:
        return E.RECOVER if initial_done else E.RETRY
    return None


def on_auth_lost(status: str | ConnectionStatus) -> ConnectionEvent | None:
    """A revoked, evicted or no longer decryptable token: Reauthorization required (once)."""
    current = ConnectionStatus(status)
    if current is S.REAUTH_REQUIRED or not can(current, E.AUTH_REVOKED):
        return None
    return E.AUTH_REVOKED


def can(status: str | ConnectionStatus, event: str | ConnectionEvent) -> bool:
    """Whether `event` is allowed from `status`."""
    return ConnectionStatus(status) in _TRANSITIONS[ConnectionEvent(event)][0]


def allowed_events(status: str | ConnectionStatus) -> list[ConnectionEvent]:
    current = ConnectionStatus(status)
    return [ev for ev, (sources, _) in _TRANSITIONS.items() if current in sources]
