"""Build the Zoho Books client of one connection, with tokens that live in the database.

`books_for(container, connection_id)` builds it (the composition root's default
`books_factory`, which the pull and push engines call through `ZohoAccess`). It reads the
connection row (organisation, `api_domain`, accounts server), decrypts the tokens, and hands
`ZohoBooks` a `DbTokenProvider` and the process's shared per-organisation rate limiter.

Refreshing is the delicate part. Zoho caps how many access tokens one refresh token may mint
in a short window, so N workers that all see a 401 must cause ONE refresh, not N:

* in a process, one `threading.Lock` per connection serialises refreshes, and a thread whose
  stale token was already replaced just takes the new one;
* across processes, a refresh is claimed, never locked: no transaction is open while Zoho's
  accounts server is called (a slow accounts server must not hold SQLite's write lock, or a
  PostgreSQL row lock, from every other write). One short transaction claims the refresh of
  the token version it read (`token_refresh_claim` set only if none is live: compare-and-swap);
  the HTTP call follows with nothing open; a second short transaction stores the new token as
  `token_version + 1` only if the claim is still ours. A worker that finds a live claim polls the
  row (bounded) until the claimant's token appears and uses it. A claim lives a little longer
  than two HTTP timeouts; a claimant that died is superseded once its claim expires, and its
  late answer, should it come, is not stored over the newer token.
* A reconnect stores the new grant's tokens as a new version and clears any claim (it was for
  the old grant). A refresh still in flight with the old refresh token is not stored; if Zoho
  refuses it (the reconnect revoked it), the worker takes the reconnect's token from the row
  instead of reporting the connection's authorization lost.
* A refresh token Zoho refuses (revoked, or pushed out by the user's 21st token) moves the
  connection to `reauth_required` and raises `ZohoReauthorizationRequired`; nothing retries it.

Tokens are encrypted with the deployment's `TokenCipher` (`container.token_cipher`, built once
from `settings.token_encryption_key`) and registered with the connector's redaction, so they
never reach a log line.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn, Protocol

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ledgersync.domain.connection import ConnectionStatus
from ledgersync.settings import Settings
from ledgersync.store.orm import Connection
from ledgersync.sync.connection_status import mark_reauth_required
from ledgersync.sync.ports import Transactional, UnitOfWork
from ledgersync.zoho.client import CallRecord, ZohoBooks
from ledgersync.zoho.errors import ZohoReauthorizationRequired, ZohoTransportError
from ledgersync.zoho.oauth import ZohoOAuth
from ledgersync.zoho.ratelimit import RateLimiter, reserves_for
from ledgersync.zoho.tokens import TokenCipher, UndecryptableToken, register_secret

log = logging.getLogger(__name__)

# Zoho's daily API cap per organisation by plan (zoho-books-facts.md, "Limits").
PLAN_DAILY_LIMITS: dict[str, int] = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}

#: how often a worker that found another's live refresh claim re-reads the row
REFRESH_POLL_S = 0.1
REFUSED_DETAIL = "Zoho refused the stored authorization (revoked or replaced). Reconnect to resume syncing."

_REFRESH_LOCKS: dict[str, threading.Lock] = {}
_REFRESH_LOCKS_GUARD = threading.Lock()


class BooksFactory(Protocol):
    """Builds the Zoho Books client of one connection (`books_for`, or a test's sandbox-bound one)."""

    def __call__(self, container: ZohoAccess, connection_id: str, /) -> ZohoBooks: ...


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


@dataclass(frozen=True)
class _SeenTokens:
    """What one read of the connection row found (tokens decrypted; never logged)."""

    current: str | None
    refresh_token: str
    version: int
    expires_at: datetime | None
    accounts_server: str | None
    claim_until: datetime | None  # when the refresh claim on the row expires; None: no claim


def refresh_claim_ttl(settings: Settings) -> timedelta:
    """How long a refresh claim lives: past the accounts server's HTTP timeout, twice over."""
    return timedelta(seconds=2 * settings.zoho_http_timeout_s + 5)


class DbTokenProvider:
    """`TokenProvider` backed by the `connections` row (see module docstring)."""

    def __init__(
        self,
        container: ZohoAccess,
        connection_id: str,
        *,
        skew_seconds: float = 60.0,
        now: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._container = container
        self._connection_id = connection_id
        self._cipher = container.token_cipher
        self._skew = timedelta(seconds=skew_seconds)
        self._now = now
        self._sleep = sleep
        self._claim_ttl = refresh_claim_ttl(container.settings)
        # (token, expiry) as ONE value: read and replaced whole, so a thread never pairs one
        # token with another's expiry (the pull engine reads ahead on a second thread)
        self._cached: tuple[str, datetime | None] | None = None
        self.refresh_count = 0  # refreshes THIS provider performed at Zoho

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is None or self._now() + self._skew < expires_at

    def access_token(self) -> str:
        cached = self._cached
        if cached is not None and self._fresh(cached[1]):
            return cached[0]
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

    def _lost(self, uow: UnitOfWork) -> NoReturn:
        """No configured key decrypts the stored tokens: Reauthorization required, never a 500."""
        log.warning("zoho.token.undecryptable connection=%s", self._connection_id)
        uow.session.rollback()
        mark_reauth_required(uow.session, self._connection_id, UNDECRYPTABLE_DETAIL)
        uow.commit()
        raise ZohoReauthorizationRequired(401, None, "the stored tokens cannot be decrypted with the configured keys")

    def refresh_access_token(self, stale: str) -> str:
        with _refresh_lock(self._connection_id):
            cached = self._cached
            if cached is not None and cached[0] != stale and self._fresh(cached[1]):
                return cached[0]  # another thread of this process refreshed already
            return self._refresh_by_claim(stale)

    def _remember(self, token: str, expires_at: datetime | None) -> None:
        register_secret(token)
        self._cached = (token, expires_at)

    def _refresh_by_claim(self, stale: str) -> str:
        """One refresh across processes, with no transaction open while Zoho is called.

        Read the row; a fresh token other than `stale` is used as it is. Otherwise claim the
        refresh (a short compare-and-swap), or, while another worker's claim is live, poll for
        the token it stores; an expired claim (its worker died) is taken over. Gives up with a
        retryable `ZohoTransportError` after two claim lifetimes without a token.
        """
        give_up = self._now() + 2 * self._claim_ttl
        while True:
            seen = self._read_row()
            if seen.current is not None and seen.current != stale and self._fresh(seen.expires_at):
                self._remember(seen.current, seen.expires_at)
                return seen.current
            if seen.claim_until is None or seen.claim_until <= self._now():
                claim = self._claim(seen.version)
                if claim is not None:
                    token = self._refresh_claimed(seen, claim)
                    if token is not None:
                        return token
                    continue  # a reconnect replaced the refused refresh token: its token is on the row
            if self._now() >= give_up:
                raise ZohoTransportError("another worker's Zoho token refresh did not finish in time")
            if seen.claim_until is not None and seen.claim_until > self._now():
                self._sleep(REFRESH_POLL_S)  # lost claim races re-read at once: the winner's claim shows

    def _read_row(self) -> _SeenTokens:
        """The row's tokens and refresh claim, in a read-only transaction ended before returning."""
        with self._container.uow() as uow:
            conn = uow.session.get(Connection, self._connection_id)
            if conn is None or conn.refresh_token_enc is None:
                raise ConnectionNotReady(f"connection {self._connection_id} has no tokens")
            if conn.status == ConnectionStatus.REAUTH_REQUIRED.value:
                raise ZohoReauthorizationRequired(401, None, "the connection needs to be reauthorized")
            try:
                current = self._cipher.decrypt(conn.access_token_enc) if conn.access_token_enc else None
                refresh_token = self._cipher.decrypt(conn.refresh_token_enc)
            except UndecryptableToken:
                self._lost(uow)
            return _SeenTokens(
                current=current, refresh_token=refresh_token, version=conn.token_version,
                expires_at=conn.token_expires_at, accounts_server=conn.accounts_server,
                claim_until=conn.token_refresh_claim_until if conn.token_refresh_claim else None,
            )

    def _claim(self, version: int) -> str | None:
        """Claim the refresh of token `version` unless a live claim exists; the claim id, or None."""
        claim, now = uuid.uuid4().hex, self._now()
        with self._container.uow() as uow:
            result = uow.session.execute(
                update(Connection)
                .where(Connection.id == self._connection_id, Connection.token_version == version,
                       or_(Connection.token_refresh_claim.is_(None), Connection.token_refresh_claim_until <= now))
                .values(token_refresh_claim=claim, token_refresh_claim_until=now + self._claim_ttl)
                .execution_options(synchronize_session=False)
            )
            uow.commit()
        return claim if result.rowcount == 1 else None  # type: ignore[attr-defined]

    def _refresh_claimed(self, seen: _SeenTokens, claim: str) -> str | None:
        """Call Zoho's accounts server (no transaction open), then store the token if the claim is still ours.

        None when Zoho refused the refresh token but the row no longer holds it: the partner
        reconnected meanwhile (which revokes the old grant), so the caller reads the new token
        instead of reporting a lost authorization for a connection that was just repaired.
        """
        register_secret(seen.refresh_token)
        oauth = oauth_client(self._container, seen.accounts_server)
        try:
            tokens = oauth.refresh(seen.refresh_token, seen.accounts_server)
        except ZohoReauthorizationRequired:
            if not self._release(claim, refused_version=seen.version):
                log.info("zoho.token.refresh_refused_after_reconnect connection=%s", self._connection_id)
                return None
            log.warning("zoho.token.refresh_refused connection=%s", self._connection_id)
            raise
        except BaseException:
            self._release(claim)  # the next caller claims at once instead of waiting the claim out
            raise
        self.refresh_count += 1
        if self._store(claim, seen.version, tokens.access_token, tokens.expires_at):
            log.info("zoho.token.refreshed connection=%s version=%s", self._connection_id, seen.version + 1)
        else:  # our claim expired and another worker took it over: its token stays, ours is still valid
            log.warning("zoho.token.refresh_claim_lost connection=%s", self._connection_id)
        self._remember(tokens.access_token, tokens.expires_at)
        return tokens.access_token

    def _store(self, claim: str, version: int, access: str, expires_at: datetime | None) -> bool:
        """Store the new token as `version + 1` if the claim is still ours (compare-and-swap)."""
        with self._container.uow() as uow:
            result = uow.session.execute(
                update(Connection)
                .where(Connection.id == self._connection_id, Connection.token_version == version,
                       Connection.token_refresh_claim == claim)
                .values(access_token_enc=self._cipher.encrypt(access), token_expires_at=expires_at,
                        token_version=version + 1, token_refresh_claim=None, token_refresh_claim_until=None)
                .execution_options(synchronize_session=False)
            )
            uow.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def _release(self, claim: str, *, refused_version: int | None = None) -> bool:
        """Drop our claim; if Zoho refused the refresh token of `refused_version` (and no reconnect
        replaced it since), the connection needs reauthorization. True when the refused token is
        still the stored one, i.e. the authorization is lost (False: nothing was refused, or a
        reconnect had replaced it)."""
        with self._container.uow() as uow:
            # the write comes first: on SQLite it takes the write lock before the row is read
            uow.session.execute(
                update(Connection)
                .where(Connection.id == self._connection_id, Connection.token_refresh_claim == claim)
                .values(token_refresh_claim=None, token_refresh_claim_until=None)
                .execution_options(synchronize_session=False)
            )
            lost = False
            if refused_version is not None:
                conn = uow.session.get(Connection, self._connection_id)
                lost = conn is not None and conn.token_version == refused_version
                if lost:
                    mark_reauth_required(uow.session, self._connection_id, REFUSED_DETAIL)
            uow.commit()
        return lost


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
