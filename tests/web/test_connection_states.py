"""The connection life cycle as a pure state machine (no database)."""

from __future__ import annotations

import pytest

from ledgersync.domain.connection import (
    ConnectionEvent as E,
)
from ledgersync.domain.connection import (
    ConnectionStatus as S,
)
from ledgersync.domain.connection import (
    InvalidTransition,
    allowed_events,
    can,
    transition,
)
from ledgersync.web.connection_view import view


def test_happy_path_connect_then_initial_sync_completes() -> None:
    status = transition(S.DISCONNECTED, E.AUTHORIZE)
    assert status is S.PENDING
    assert transition(status, E.INITIAL_SYNC_COMPLETED) is S.CONNECTED


@pytest.mark.parametrize("start", [S.PENDING, S.CONNECTED, S.ERROR])
def test_revoked_refresh_token_requires_reauthorization(start: S) -> None:
    assert transition(start, E.AUTH_REVOKED) is S.REAUTH_REQUIRED


def test_reauth_required_has_a_way_out() -> None:
    assert transition(S.REAUTH_REQUIRED, E.REAUTHORIZE) is S.CONNECTED  # same org, history synced
    assert transition(S.REAUTH_REQUIRED, E.AUTHORIZE) is S.PENDING  # new org / unfinished sync
    assert transition(S.REAUTH_REQUIRED, E.DISCONNECT) is S.DISCONNECTED
    assert not can(S.REAUTH_REQUIRED, E.INITIAL_SYNC_COMPLETED)


def test_error_has_ways_out() -> None:
    assert transition(S.ERROR, E.RECOVER) is S.CONNECTED
    assert transition(S.ERROR, E.RETRY) is S.PENDING
    assert transition(S.ERROR, E.AUTHORIZE) is S.PENDING
    assert transition(S.ERROR, E.DISCONNECT) is S.DISCONNECTED


@pytest.mark.parametrize(
    ("start", "event"),
    [
        (S.DISCONNECTED, E.INITIAL_SYNC_COMPLETED),  # a late worker must not resurrect it
        (S.DISCONNECTED, E.FAIL),
        (S.DISCONNECTED, E.AUTH_REVOKED),
        (S.DISCONNECTED, E.DISCONNECT),
        (S.DISCONNECTED, E.REAUTHORIZE),
        (S.CONNECTED, E.RETRY),
        (S.PENDING, E.RECOVER),
    ],
)
def test_invalid_transitions_refused(start: S, event: E) -> None:
    with pytest.raises(InvalidTransition):
        transition(start, event)
    assert not can(start, event)


def test_strings_accepted_and_unknown_refused() -> None:
    assert transition("pending", "initial_sync_completed") == "connected"
    with pytest.raises(ValueError):
        transition("bogus", "authorize")
    with pytest.raises(ValueError):
        transition("pending", "explode")


def test_every_status_has_a_view_and_an_exit() -> None:
    for status in S:
        assert view(status).label
        assert allowed_events(status), status
    assert view(S.PENDING).label == "Pending"
    assert view(S.REAUTH_REQUIRED).label == "Reauthorization required"
    assert view(S.REAUTH_REQUIRED).can_connect  # the Reconnect button


# --------------------------------------------------------------------------- health (issue 9)

from datetime import timedelta  # noqa: E402

from ledgersync.domain.alerts import AlertKind, active_kinds  # noqa: E402
from ledgersync.domain.connection import after_sync, on_auth_lost  # noqa: E402


@pytest.mark.parametrize("start", [S.PENDING, S.CONNECTED])
def test_failures_below_the_threshold_change_nothing_then_error(start: S) -> None:
    assert after_sync(start, failed=True, failures_in_a_row=2, initial_done=True, threshold=3) is None
    assert after_sync(start, failed=True, failures_in_a_row=3, initial_done=True, threshold=3) is E.FAIL


def test_recovery_is_by_itself_and_depends_on_the_initial_sync() -> None:
    assert after_sync(S.ERROR, failed=False, failures_in_a_row=0, initial_done=True) is E.RECOVER
    assert after_sync(S.ERROR, failed=False, failures_in_a_row=0, initial_done=False) is E.RETRY
    assert after_sync(S.CONNECTED, failed=False, failures_in_a_row=0, initial_done=True) is None
    assert after_sync(S.ERROR, failed=True, failures_in_a_row=9, initial_done=True) is None  # already Error
    for status in (S.DISCONNECTED, S.REAUTH_REQUIRED):  # a failing run never touches these
        assert after_sync(status, failed=True, failures_in_a_row=9, initial_done=True) is None
        assert after_sync(status, failed=False, failures_in_a_row=0, initial_done=True) is None


def test_auth_lost_once_and_never_for_a_disconnected_connection() -> None:
    assert on_auth_lost(S.CONNECTED) is E.AUTH_REVOKED and on_auth_lost(S.ERROR) is E.AUTH_REVOKED
    assert on_auth_lost(S.REAUTH_REQUIRED) is None and on_auth_lost(S.DISCONNECTED) is None


def test_alert_kinds() -> None:
    assert active_kinds(S.CONNECTED, None) == set()
    assert active_kinds(S.ERROR, None) == {AlertKind.FAILING}
    assert active_kinds(S.REAUTH_REQUIRED, timedelta(hours=2)) == {AlertKind.REAUTH}
    assert active_kinds(S.CONNECTED, timedelta(days=1)) == {AlertKind.STALE_ERRORS}
    assert active_kinds(S.DISCONNECTED, timedelta(days=3)) == set()
