"""Staff (operators of the deployment): their own accounts and server-side sessions, separate
from partner users — a staff login opens the operator console only, never a partner's pages,
and a partner login never opens the console.

Passwords are hashed like partner users' (argon2id, `services.partners.hash_password`). The
cookie holds a random token; the database keeps its SHA-256 with the times that end it (2 h idle,
12 h absolute). `ledgersync create-staff` creates an account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select

from ledgersync.services.errors import Conflict, InvalidInput
from ledgersync.services.partners import hash_password, verify_password
from ledgersync.store.orm import StaffSession, StaffUser
from ledgersync.sync.ports import Transactional

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
MIN_PASSWORD = 12


@dataclass(frozen=True)
class Staff:
    id: str
    email: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def create_staff(container: Transactional, email: str, password: str) -> Staff:
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput("email", "must be an e-mail address")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    with container.uow() as uow:
        if uow.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
            raise Conflict(f"a staff account {email} exists already")
        row = StaffUser(email=email, password_hash=hash_password(password))
        uow.session.add(row)
        uow.commit()
        return Staff(row.id, row.email)


def log_in(container: Transactional, email: str, password: str) -> str | None:
    """A new session token for the right email and password, else None (same answer either way)."""
    with container.uow() as uow:
        row = uow.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
        if row is None or not verify_password(password, row.password_hash):
            return None
        token = secrets.token_urlsafe(32)
        uow.session.add(StaffSession(token_digest=_digest(token), staff_id=row.id))
        uow.commit()
        return token


def staff_of(container: Transactional, token: str | None) -> Staff | None:
    """The staff member of a live session (touching it), or None."""
    if not token:
        return None
    now = datetime.now(timezone.utc)
    with container.uow() as uow:
        found = uow.session.execute(select(StaffSession, StaffUser).join(
            StaffUser, StaffUser.id == StaffSession.staff_id).where(StaffSession.token_digest == _digest(token))).first()
        if found is None:
            return None
        session, user = found
        if now - _aware(session.last_seen_at) > IDLE or now - _aware(session.created_at) > ABSOLUTE:
            uow.session.delete(session)
            uow.commit()
            return None
        session.last_seen_at = now
        uow.commit()
        return Staff(user.id, user.email)


def log_out(container: Transactional, token: str | None) -> None:
    if token:
        with container.uow() as uow:
            uow.session.execute(delete(StaffSession).where(StaffSession.token_digest == _digest(token)))
            uow.commit()
