"""Partners (tenants) and their users: creation, password login and password change.

Passwords are hashed with argon2id (argon2-cffi's `PasswordHasher`, RFC 9106's recommended
parameters); the stored PHC string carries its parameters. Hashes of an older scheme (the
`scrypt$n$r$p$salt$hash` form of earlier releases) or of weaker argon2 parameters keep working
and are replaced by a current hash at the next successful login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ledgersync.services._session import detached
from ledgersync.services.errors import AuthenticationFailed, InvalidInput
from ledgersync.store import orm
from ledgersync.sync.ports import Transactional

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # hashing cost must not be a denial of service


def hash_password(password: str) -> str:
    """The argon2id PHC string of `password` (fresh random salt)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Check `password` against a stored hash of any supported scheme (argon2id, legacy scrypt)."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when `stored` is not an argon2id hash with today's parameters."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    """The scheme of earlier releases: `scrypt$n$r$p$salt_hex$hash_hex` (constant-time compare)."""
    try:
        _scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        digest = _scrypt(password, bytes.fromhex(salt_hex), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(digest, bytes.fromhex(hash_hex))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


# A hash of nothing in particular, checked when the email is unknown so timing does not tell.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


@dataclass(frozen=True)
class CreatedPartner:
    partner: orm.Partner
    user: orm.User


def create_partner(
    container: Transactional, *, name: str, email: str, password: str, currency: str = "USD"
) -> CreatedPartner:
    """A new partner and its owner user, in one transaction."""
    email = _normalise_email(email)
    if not name.strip():
        raise InvalidInput("name", "must not be empty")
    _check_new_password(password)
    with container.uow() as uow:
        if uow.session.scalar(select(orm.User.id).where(func.lower(orm.User.email) == email)):
            raise InvalidInput("email", "already registered")
        partner = orm.Partner(id=orm.new_id(), name=name.strip(), base_currency=currency.upper())
        user = orm.User(partner_id=partner.id, email=email, name=name.strip(), password_hash=hash_password(password))
        uow.session.add(partner)
        uow.session.flush()
        uow.session.add(user)
        uow.commit()
        return CreatedPartner(partner=partner, user=user)


def authenticate(container: Transactional, email: str, password: str) -> orm.User:
    """The active user with these credentials, else `AuthenticationFailed`."""
    with container.uow() as uow:
        user = uow.session.scalar(select(orm.User).where(func.lower(orm.User.email) == _normalise_email(email)))
        if user is None:
            verify_password(password, _DUMMY_HASH)
            raise AuthenticationFailed("invalid email or password")
        if not verify_password(password, user.password_hash) or not user.is_active:
            raise AuthenticationFailed("invalid email or password")
        if needs_rehash(user.password_hash):  # an older scheme or cost: upgrade while we know the password
            user.password_hash = hash_password(password)
            uow.commit()
        return detached(uow, user)


def change_password(container: Transactional, user_id: str, current: str, new: str) -> None:
    """Replace the user's password (the current one is required) and end every session of theirs."""
    from ledgersync.services.logins import end_all_sessions

    _check_new_password(new)
    with container.uow() as uow:
        user = uow.session.get(orm.User, user_id)
        if user is None or not verify_password(current, user.password_hash):
            raise AuthenticationFailed("the current password is not correct")
        user.password_hash = hash_password(new)
        end_all_sessions(uow, user.id)
        uow.commit()


def set_password(container: Transactional, email: str, new: str) -> None:
    """Operator reset (CLI): a new password, every session of the user ended."""
    from ledgersync.services.logins import end_all_sessions

    _check_new_password(new)
    with container.uow() as uow:
        user = uow.session.scalar(select(orm.User).where(func.lower(orm.User.email) == _normalise_email(email)))
        if user is None:
            raise InvalidInput("email", "no user with this email")
        user.password_hash = hash_password(new)
        end_all_sessions(uow, user.id)
        uow.commit()


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput("password", f"must be at most {MAX_PASSWORD_CHARS} characters")


def get_partner(container: Transactional, partner_id: str) -> orm.Partner | None:
    with container.uow() as uow:
        return detached(uow, uow.session.get(orm.Partner, partner_id))


def find_user_by_email(container: Transactional, email: str) -> orm.User | None:
    with container.uow() as uow:
        found = uow.session.scalar(select(orm.User).where(func.lower(orm.User.email) == _normalise_email(email)))
        return detached(uow, found)


def _normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidInput("email", "not an email address")
    return email
