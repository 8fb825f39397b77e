"""Partners (tenants) and their users: creation and password login.

Passwords are hashed with scrypt (memory-hard, stdlib) and a random salt per user; the stored
form carries its parameters so they can be raised later without breaking old hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from ledgersync.bootstrap import Container
from ledgersync.services._session import detached
from ledgersync.services.errors import AuthenticationFailed, InvalidInput
from ledgersync.store import orm

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt_hex$hash_hex` of `password` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a `hash_password` string."""
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = _scrypt(password, bytes.fromhex(salt_hex), int(n), int(r), int(p))
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
    container: Container, *, name: str, email: str, password: str, currency: str = "USD"
) -> CreatedPartner:
    """A new partner and its owner user, in one transaction."""
    email = _normalise_email(email)
    if not name.strip():
        raise InvalidInput("name", "must not be empty")
    if len(password) < 8:
        raise InvalidInput("password", "must be at least 8 characters")
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


def authenticate(container: Container, email: str, password: str) -> orm.User:
    """The active user with these credentials, else `AuthenticationFailed`."""
    with container.uow() as uow:
        user = uow.session.scalar(select(orm.User).where(func.lower(orm.User.email) == _normalise_email(email)))
        if user is None:
            verify_password(password, _DUMMY_HASH)
            raise AuthenticationFailed("invalid email or password")
        if not verify_password(password, user.password_hash) or not user.is_active:
            raise AuthenticationFailed("invalid email or password")
        return detached(uow, user)


def get_partner(container: Container, partner_id: str) -> orm.Partner | None:
    with container.uow() as uow:
        return detached(uow, uow.session.get(orm.Partner, partner_id))


def find_user_by_email(container: Container, email: str) -> orm.User | None:
    with container.uow() as uow:
        found = uow.session.scalar(select(orm.User).where(func.lower(orm.User.email) == _normalise_email(email)))
        return detached(uow, found)


def _normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidInput("email", "not an email address")
    return email
