"""Partner API keys for the REST API.

A key looks like `ls_live_<prefix>_<secret>`: the prefix (public, unique) finds the row, the
sha256 of the whole key is compared in constant time. The plain key is returned once, at
creation, and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from ledgersync.services._session import detached
from ledgersync.services.errors import AuthenticationFailed, NotFound
from ledgersync.store import orm
from ledgersync.sync.ports import Transactional

KEY_PREFIX = "ls_live_"


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: orm.ApiKey
    plain: str  # shown to the partner once


def create_api_key(container: Transactional, partner_id: str, *, name: str = "") -> CreatedApiKey:
    """A new key for the partner; the only moment its plain text exists."""
    prefix = secrets.token_hex(6)
    plain = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with container.uow() as uow:
        if uow.session.get(orm.Partner, partner_id) is None:
            raise NotFound("partner", partner_id)
        row = orm.ApiKey(partner_id=partner_id, name=name, prefix=prefix, key_hash=_digest(plain))
        uow.session.add(row)
        uow.commit()
        return CreatedApiKey(api_key=row, plain=plain)


def partner_for_key(container: Transactional, plain: str) -> str:
    """The partner id owning this (unrevoked) key, else `AuthenticationFailed`."""
    prefix = _prefix_of(plain)
    with container.uow() as uow:
        row = uow.session.scalar(select(orm.ApiKey).where(orm.ApiKey.prefix == prefix)) if prefix else None
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _digest(plain)):
            raise AuthenticationFailed("invalid API key")
        return row.partner_id


def list_api_keys(container: Transactional, partner_id: str) -> list[orm.ApiKey]:
    with container.uow() as uow:
        rows = uow.session.scalars(
            select(orm.ApiKey).where(orm.ApiKey.partner_id == partner_id).order_by(orm.ApiKey.created_at)
        )
        return detached(uow, list(rows))


def revoke_api_key(container: Transactional, partner_id: str, key_id: str) -> None:
    with container.uow() as uow:
        row = uow.session.get(orm.ApiKey, key_id)
        if row is None or row.partner_id != partner_id:
            raise NotFound("api_key", key_id)
        if row.revoked_at is None:
            row.revoked_at = orm.utcnow()
        uow.commit()


def _prefix_of(plain: str) -> str | None:
    if not plain.startswith(KEY_PREFIX):
        return None
    prefix, sep, _secret = plain[len(KEY_PREFIX):].partition("_")
    return prefix if sep and prefix else None


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()
