"""Build the Zoho Books client of one connection, with tokens that live in the database.

`books_for(container, connection_id)` builds it (the composition root's default
`books_factory`, which the pull and push engines call through `ZohoAccess`). It reads the
connection row (organisation, `api_domain`, accounts server), decrypts the tokens, and hands
`ZohoBooks` a `DbTokenProvider` and the process's shared per-organisation rate limiter.

Refreshing is the delicate part. Zoho caps how many access tokens one refresh token may mint
in a short window, so N workers that all see a 401 must cause ONE refresh, not N:

* in a process, one `threading.Lock` per connection serialises refreshes, and a thread whose
  stale token was already replaced just takes the new one;
* across processes, the refresh runs inside a transaction that holds the connection row's lock
  (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite a no-op `UPDATE` takes the database's write
  lock first). Under that lock the row is re-read: if another worker already stored a newer
  token (`token_version` moved, or the token is no longer the stale one), that token is used
  and Zoho is not called. The new token is written with `token_version = token_version + 1`
  guarded by the version read (compare-and-swap), so a lost race can never overwrite a newer
  token.
* A refresh token Zoho refuses (revoked, or pushed out by the user's 21st token) moves the
  connection to `reauth_required` and raises `ZohoReauthorizationRequired`; nothing retries it.

Tokens are encrypted with the deployment's `TokenCipher` (`container.token_cipher`, built once
from `settings.token_encryption_key`) and registered with the connector's redaction, so they
never reach a log line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn, Protocol

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ledgersync.domain.connection import ConnectionStatus
from ledgersync.settings import Settings
from ledgersync.store.orm import Connection
from ledgersync.sync.connection_status import mark_reauth_required
from ledgersync.sync.ports import Transactional
from ledgersync.zoho.client import CallRecord, ZohoBooks
from ledgersync.zoho.errors import ZohoReauthorizationRequired
from ledgersync.zoho.oauth import ZohoOAuth
from ledgersync.zoho.ratelimit import RateLimiter, reserves_for
from ledgersync.zoho.tokens import TokenCipher, UndecryptableToken, register_secret

log = logging.getLogger(__name__)

# Zoho's daily API cap per organisation by plan (zoho-books-facts.md, "Limits").
PLAN_DAILY_LIMITS: dict[str, int] = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}

_REFRESH_LOCKS: dict[str, threading.Lock] = {}
_REFRESH_LOCKS_GUARD = threading.Lock()


class BooksFactory(Protocol):
    """Builds the Zoho Books client of one connection (`books_for`, or a test's sandbox-bound one)."""

    def __call__(self, container: Any, connection_id: str, /) -> ZohoBooks: ...


class ZohoAccess(Transactional, Protocol):
    """What talking to Zoho on behalf of a connection needs: settings (hosts, OAuth client,
    timeouts), the shared HTTP client, the deployment's token cipher, the process's rate
    limiter, and the factory that builds a connection's client."""

    @property
    def settings(self) -> Settings: ...

    @property
    def http(self) -> httpx.Client: ...

    @property
    def token_cipher(self) -> TokenCipher: ...

    @property
    def rate_limiter(self) -> RateLimiter: ...

    @property
    def books_factory(self) -> BooksFactory: ...


class ConnectionNotReady(RuntimeError):
    """The connection has no tokens or no organisation yet (not connected, or disconnected)."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _refresh_lock(connection_id: str) -> threading.Lock:
    with _REFRESH_LOCKS_GUARD:
        return _REFRESH_LOCKS.setdefault(connection_id, threading.Lock())


def oauth_client(container: ZohoAccess, accounts_server: str | None = None) -> ZohoOAuth:
    """The deployment's OAuth client (client id/secret/redirect URI from settings)."""
    s = container.settings
    return ZohoOAuth(
        container.http,
        s.zoho_client_id,
        s.zoho_client_secret.get_secret_value(),
        s.redirect_uri,
        accounts_server or s.zoho_accounts_url,
    )


def limiter_options(settings: Settings) -> dict[str, Any]:
    """The limiter's knobs from settings, shared by the in-memory and the Redis backends.

    Zoho's minute is `zoho_window_seconds` long (tests and benches scale it, the day with it);
    `zoho_per_minute_limit` calls per window; pushes own `zoho_push_reserve_per_minute` of every
    window and at least `zoho_push_reserve_per_day` calls of the day (pull and backfill are
    paced within the rest, backfill leaving a little more for incremental pulls: see
    `ledgersync.zoho.ratelimit.reserves_for`); the daily cap follows `zoho_plan`.
    """
    scale = settings.zoho_window_seconds / 60.0
    return {
        "per_minute": settings.zoho_per_minute_limit,
        "window_seconds": settings.zoho_window_seconds,
        "daily_limit": PLAN_DAILY_LIMITS.get(settings.zoho_plan, 10000),
        "day_seconds": 86400.0 * scale,
        "reserves": reserves_for(settings.zoho_push_reserve_per_minute, settings.zoho_push_reserve_per_day),
    }


def _lock_row(session: Session, connection_id: str) -> Connection | None:
    """Load the connection holding its row lock until the transaction ends."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: take the database write lock with a no-op write.
        session.execute(
            update(Connection).where(Connection.id == connection_id).values(token_version=Connection.token_version)
        )
        session.expire_all()
        return session.get(Connection, connection_id)
    return session.scalars(select(Connection).where(Connection.id == connection_id).with_for_update()).one_or_none()


UNDECRYPTABLE_DETAIL = ("The stored Zoho authorization cannot be decrypted with the configured encryption keys "
                        "(a key was changed or dropped). Reconnect to resume syncing.")


def rotate_connection_tokens(session: Session, conn: Connection, cipher: TokenCipher) -> bool:
    """Re-encrypt the row's tokens with the newest key if an older key made them; True if rewritten.

    A compare-and-swap on `token_version` (unchanged: the plaintext is the same), so a refresh
    that stored a newer token meanwhile is never overwritten. `UndecryptableToken` if no key fits.
    """
    encrypted = {"access_token_enc": conn.access_token_enc, "refresh_token_enc": conn.refresh_token_enc}
    stale = {col: value for col, value in encrypted.items() if value is not None and not cipher.is_current(value)}
    if not stale:
        return False
    rotated = {col: cipher.rotate(value) for col, value in stale.items()}
    result = session.execute(update(Connection)
                             .where(Connection.id == conn.id, Connection.token_version == conn.token_version)
                             .values(**rotated).execution_options(synchronize_session=False))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        for col, value in rotated.items():
            set_committed_value(conn, col, value)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def rotate_stored_tokens(container: ZohoAccess) -> dict[str, int]:
    """`ledgersync rotate-keys`: every connection's tokens under the newest key.

    Counts: `rotated`, `current` (nothing to do), `undecryptable` (no key fits: the connection
    is put in Reauthorization required, its partner reconnects).
    """
    cipher = container.token_cipher
    counts = {"rotated": 0, "current": 0, "undecryptable": 0}
    with container.uow() as uow:
        ids = list(uow.session.scalars(select(Connection.id).where(Connection.refresh_token_enc.is_not(None))))
    for connection_id in ids:
        with container.uow() as uow:
            conn = _lock_row(uow.session, connection_id)
            if conn is None or conn.refresh_token_enc is None:
                continue
            try:
                counts["rotated" if rotate_connection_tokens(uow.session, conn, cipher) else "current"] += 1
            except UndecryptableToken:
                mark_reauth_required(uow.session, connection_id, UNDECRYPTABLE_DETAIL)
                counts["undecryptable"] += 1
            uow.commit()
    return counts


class DbTokenProvider:
    """`TokenProvider` backed by the `connections` row (see module docstring)."""

    def __init__(
        self,
        container: ZohoAccess,
        connection_id: str,
        *,
        skew_seconds: float = 60.0,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._container = container
        self._connection_id = connection_id
        self._cipher = container.token_cipher
        self._skew = timedelta(seconds=skew_seconds)
        self._now = now
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self.refresh_count = 0  # refreshes THIS provider performed at Zoho

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is None or self._now() + self._skew < expires_at

    def access_token(self) -> str:
        if self._token is not None and self._fresh(self._expires_at):
            return self._token
        with self._container.uow() as uow:
            conn = uow.session.get(Connection, self._connection_id)
            if conn is None or conn.refresh_token_enc is None:
                raise ConnectionNotReady(f"connection {self._connection_id} has no tokens")
            try:
                rotate_connection_tokens(uow.session, conn, self._cipher)  # re-encrypt on read
                access = self._cipher.decrypt(conn.access_token_enc) if conn.access_token_enc else None
            except UndecryptableToken:
                self._lost(uow)
            uow.commit()
            if access is not None and self._fresh(conn.token_expires_at):
                self._remember(access, conn.token_expires_at)
                return access
            stale = access or ""
        return self.refresh_access_token(stale)

    def _lost(self, uow: Any) -> NoReturn:
        """No configured key decrypts the stored tokens: Reauthorization required, never a 500."""
        log.warning("zoho.token.undecryptable connection=%s", self._connection_id)
        uow.session.rollback()
        mark_reauth_required(uow.session, self._connection_id, UNDECRYPTABLE_DETAIL)
        uow.commit()
        raise ZohoReauthorizationRequired(401, None, "the stored tokens cannot be decrypted with the configured keys")

    def refresh_access_token(self, stale: str) -> str:
        with _refresh_lock(self._connection_id):
            if self._token is not None and self._token != stale and self._fresh(self._expires_at):
                return self._token  # another thread of this process refreshed already
            return self._refresh_under_row_lock(stale)

    def _remember(self, token: str, expires_at: datetime | None) -> None:
        register_secret(token)
        self._token = token
        self._expires_at = expires_at

    def _refresh_under_row_lock(self, stale: str) -> str:
        with self._container.uow() as uow:
            conn = _lock_row(uow.session, self._connection_id)
            if conn is None or conn.refresh_token_enc is None:
                raise ConnectionNotReady(f"connection {self._connection_id} has no tokens")
            if conn.status == ConnectionStatus.REAUTH_REQUIRED.value:
                raise ZohoReauthorizationRequired(401, None, "the connection needs to be reauthorized")
            try:
                current = self._cipher.decrypt(conn.access_token_enc) if conn.access_token_enc else None
                refresh_token = self._cipher.decrypt(conn.refresh_token_enc)
            except UndecryptableToken:
                self._lost(uow)
            if current is not None and current != stale and self._fresh(conn.token_expires_at):
                uow.commit()  # another worker refreshed while we waited for the lock
                self._remember(current, conn.token_expires_at)
                return current
            register_secret(refresh_token)
            version = conn.token_version
            oauth = oauth_client(self._container, conn.accounts_server)
            try:
                tokens = oauth.refresh(refresh_token, conn.accounts_server)
            except ZohoReauthorizationRequired:
                log.warning("zoho.token.refresh_refused connection=%s", self._connection_id)
                mark_reauth_required(
                    uow.session, self._connection_id,
                    "Zoho refused the stored authorization (revoked or replaced). Reconnect to resume syncing.",
                )
                uow.commit()
                raise
            result = uow.session.execute(
                update(Connection)
                .where(Connection.id == self._connection_id, Connection.token_version == version)
                .values(
                    access_token_enc=self._cipher.encrypt(tokens.access_token),
                    token_expires_at=tokens.expires_at,
                    token_version=version + 1,
                )
            )
            uow.commit()
            self.refresh_count += 1
            if result.rowcount != 1:  # type: ignore[attr-defined]  # pragma: no cover - only without a working row lock
                log.warning("zoho.token.refresh_lost_race connection=%s", self._connection_id)
            log.info("zoho.token.refreshed connection=%s version=%s", self._connection_id, version + 1)
            self._remember(tokens.access_token, tokens.expires_at)
            return tokens.access_token


def books_for(
    container: ZohoAccess,
    connection_id: str,
    *,
    limiter: RateLimiter | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
    tokens: DbTokenProvider | None = None,
    **client_kwargs: object,
) -> ZohoBooks:
    """The Zoho Books client of a connection (organisation, data centre, tokens from the row).

    Raises `ConnectionNotReady` if the connection has no organisation or no tokens. Priority is
    per call (`books.get(..., priority="pull")`); the limiter is the process's shared one
    (`container.rate_limiter`) unless one is passed. Extra keyword arguments go to `ZohoBooks`
    (e.g. `sleep`, `max_attempts`).
    """
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None:
            raise ConnectionNotReady(f"no connection {connection_id}")
        if not conn.organization_id or not conn.api_domain or conn.refresh_token_enc is None:
            raise ConnectionNotReady(f"connection {connection_id} is not connected to an organisation")
        org_id, api_domain = conn.organization_id, conn.api_domain
    return ZohoBooks(
        container.http,
        api_domain=api_domain,
        organization_id=org_id,
        tokens=tokens or DbTokenProvider(container, connection_id),
        limiter=limiter if limiter is not None else container.rate_limiter,
        on_call=on_call,
        timeout=container.settings.zoho_http_timeout_s,
        **client_kwargs,  # type: ignore[arg-type]
    )
