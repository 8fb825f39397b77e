"""Dashboard logins: server-side sessions with idle and absolute lifetimes, and login throttling.

Sessions. The signed cookie holds only a random token; its SHA-256 is the `user_sessions` row's
id. So a copied cookie dies with its row: logout deletes the row, a password change deletes every
row of the user, and a row older than `ABSOLUTE` or unused for `IDLE` is refused (and deleted).
`last_seen_at` is written at most once a minute per session, not on every request.

Throttling. Every refused login is a `login_failures` row (email, address, time). While an
account has `MAX_PER_ACCOUNT` failures, or an address `MAX_PER_ADDRESS`, in the last `WINDOW`,
further attempts are refused without checking the password (`LoginThrottled`, shown as 429 with
when to try again). A successful login clears the account's failures; rows older than the
window are pruned as new ones are written.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from ledgersync.services.errors import ServiceError
from ledgersync.store import orm
from ledgersync.sync.ports import Transactional, UnitOfWork

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 10
MAX_PER_ADDRESS = 30


class LoginThrottled(ServiceError):
    """Too many refused logins for this account or from this address; `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class SessionUser:
    user_id: str
    partner_id: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- sessions


def start_session(container: Transactional, user_id: str) -> str:
    """A new session for the user; the token to put in the (signed) cookie."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with container.uow() as uow:
        uow.session.add(orm.UserSession(id=_digest(token), user_id=user_id, created_at=now, last_seen_at=now))
        uow.commit()
    return token


def session_user(container: Transactional, token: str | None) -> SessionUser | None:
    """The active user of a live session, else None (an expired session is deleted)."""
    if not token or not isinstance(token, str):
        return None
    now = _now()
    with container.uow() as uow:
        row = uow.session.get(orm.UserSession, _digest(token))
        if row is None:
            return None
        user = uow.session.get(orm.User, row.user_id)
        if user is None or not user.is_active or now - row.created_at > ABSOLUTE or now - row.last_seen_at > IDLE:
            uow.session.delete(row)
            uow.commit()
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
            uow.commit()
        return SessionUser(user_id=user.id, partner_id=user.partner_id)


def end_session(container: Transactional, token: str | None) -> None:
    """Logout: the session's row goes, so every copy of its cookie stops working."""
    if not token or not isinstance(token, str):
        return
    with container.uow() as uow:
        uow.session.execute(delete(orm.UserSession).where(orm.UserSession.id == _digest(token)))
        uow.commit()


def end_all_sessions(uow: UnitOfWork, user_id: str) -> None:
    """Every session of the user (password change, deactivation), in the caller's transaction."""
    uow.session.execute(delete(orm.UserSession).where(orm.UserSession.user_id == user_id))


# --------------------------------------------------------------------------- throttling


def check_throttle(container: Transactional, email: str, address: str) -> None:
    """`LoginThrottled` while the account or the address has too many recent failures."""
    now = _now()
    since = now - WINDOW
    email = email.strip().lower()
    with container.uow() as uow:
        for column, value, limit, what in (
            (orm.LoginFailure.email, email, MAX_PER_ACCOUNT, "this account"),
            (orm.LoginFailure.address, address, MAX_PER_ADDRESS, "your network address"),
        ):
            count, oldest = uow.session.execute(
                select(func.count(), func.min(orm.LoginFailure.at)).where(column == value, orm.LoginFailure.at > since)
            ).one()
            if count >= limit:
                wait = max(60, int((oldest + WINDOW - now).total_seconds()) + 1)
                minutes = (wait + 59) // 60
                raise LoginThrottled(
                    f"Too many failed log-ins for {what}. For your security, log-in is paused: "
                    f"try again in {minutes} minute{'s' if minutes != 1 else ''}.", wait)


def record_failure(container: Transactional, email: str, address: str) -> None:
    now = _now()
    with container.uow() as uow:
        uow.session.execute(delete(orm.LoginFailure).where(orm.LoginFailure.at <= now - WINDOW))
        uow.session.add(orm.LoginFailure(email=email.strip().lower()[:320], address=address[:64], at=now))
        uow.commit()


def clear_failures(container: Transactional, email: str) -> None:
    with container.uow() as uow:
        uow.session.execute(delete(orm.LoginFailure).where(orm.LoginFailure.email == email.strip().lower()))
        uow.commit()
