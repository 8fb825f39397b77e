"""Tokens: encrypted at rest, handed to the client by a provider, never written to a log.

* :class:`TokenCipher` — Fernet (AES + HMAC) with the keys from configuration, newest first
  (MultiFernet, for rotation without downtime); what the store keeps is ciphertext only.
* :class:`TokenProvider` — what :class:`~ledgersync.zoho.client.ZohoBooks` asks for a token.
  ``refresh_access_token(stale)`` is a compare-and-swap: it refreshes only if ``stale`` is still
  the current token, so N threads (or workers) that all got a 401 with the same token cause ONE
  refresh, and the others just pick up the new token. Zoho limits how many access tokens a
  refresh token may mint, so this is not an optimisation but a requirement. The DB-backed
  provider of the sync layer copies this pattern with a row lock / conditional UPDATE.
* :func:`redact` / :class:`RedactingFilter` — scrub tokens, codes and secrets from log text.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .errors import ZohoReauthorizationRequired
from .oauth import TokenSet, ZohoOAuth


class UndecryptableToken(ValueError):
    """No configured key decrypts the stored token (its key was dropped, or the text was altered).

    The token is lost for us: the caller moves the connection to Reauthorization required (the
    partner reconnects); it is never a 500.
    """


class TokenCipher:
    """Encrypt/decrypt tokens with one or more Fernet keys (urlsafe base64, 32 bytes), newest first.

    ``key`` is one key or several separated by commas (``LEDGERSYNC_TOKEN_ENCRYPTION_KEY``):
    encryption always uses the first, decryption tries each (``MultiFernet``). Rotation: put a
    new key in front, restart, then ``ledgersync rotate-keys`` (or simply use the app: every
    token read with an older key is written back under the newest, see :meth:`is_current`),
    then drop the old key.
    """

    def __init__(self, key: str | bytes) -> None:
        text = key.decode() if isinstance(key, bytes) else key
        keys = [k for k in text.replace(",", " ").split() if k]
        if not keys:
            raise ValueError("no token encryption key configured")
        self._newest = Fernet(keys[0].encode())
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """Raises :class:`UndecryptableToken` when no configured key made it (or it was altered)."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableToken("token ciphertext does not match any configured key") from exc

    def is_current(self, ciphertext: str) -> bool:
        """True when the newest key made ``ciphertext`` (nothing to rotate)."""
        try:
            self._newest.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: str) -> str:
        """``ciphertext`` re-encrypted with the newest key (:class:`UndecryptableToken` if no key fits)."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableToken("token ciphertext does not match any configured key") from exc


# --- redaction ----------------------------------------------------------------------------

_known_secrets: set[str] = set()
_known_lock = threading.Lock()

_PATTERNS = [
    (re.compile(r"(Zoho-oauthtoken|Bearer)\s+[^\s,'\"]+", re.I), r"\1 [REDACTED]"),
    (re.compile(r"((?:access_token|refresh_token|client_secret|code|token)[\"']?\s*[=:]\s*[\"']?)[^\s&,'\"}]+", re.I),
     r"\1[REDACTED]"),
    # a webhook's secret header (`X-Ledgersync-Webhook-Secret: …`) or a `webhook_secret` field
    (re.compile(r"(webhook[-_]secret[\"']?\s*[=:]\s*[\"']?)[^\s&,'\"}]+", re.I), r"\1[REDACTED]"),
    (re.compile(r"\b1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}\b", re.I), "[REDACTED]"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret so :func:`redact` removes it wherever it appears verbatim."""
    if value and len(value) >= 8:
        with _known_lock:
            _known_secrets.add(value)


def redact(text: str) -> str:
    """``text`` with tokens, codes and secrets replaced by ``[REDACTED]``."""
    with _known_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that redacts the formatted message (attach to handlers or loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not our business here
            return True
        record.msg = redact(message)
        record.args = None
        return True


# --- providers ----------------------------------------------------------------------------

@runtime_checkable
class TokenProvider(Protocol):
    def access_token(self) -> str:
        """A token believed valid (refreshing ahead of expiry if the provider can)."""

    def refresh_access_token(self, stale: str) -> str:
        """Called after Zoho refused ``stale``. Refresh only if ``stale`` is still current;
        otherwise return the token another caller already got. Raises
        ``ZohoReauthorizationRequired`` when the connection must be re-linked."""


class StaticTokenProvider:
    """A fixed access token (scripts, tests). It cannot refresh: a refusal means re-link."""

    def __init__(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_access_token(self, stale: str) -> str:
        if stale != self._token:
            return self._token
        raise ZohoReauthorizationRequired(401, None, "static access token refused and cannot be refreshed")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class RefreshingTokenProvider:
    """In-memory provider: caches the access token, refreshes near expiry or after a 401.

    One refresh at a time (``threading.Lock``) and only if the caller's stale token is still
    the current one. ``on_refresh`` receives each new :class:`TokenSet` (to persist it).
    """

    def __init__(self, oauth: ZohoOAuth, refresh_token: str, *, access_token: str | None = None,
                 expires_at: datetime | None = None, accounts_server: str | None = None,
                 on_refresh: Callable[[TokenSet], None] | None = None, skew_seconds: float = 60.0,
                 now: Callable[[], datetime] = _utcnow) -> None:
        register_secret(refresh_token)
        register_secret(access_token)
        self._oauth = oauth
        self._refresh_token = refresh_token
        self._token = access_token
        self._expires_at = expires_at
        self._accounts_server = accounts_server
        self._on_refresh = on_refresh
        self._skew = timedelta(seconds=skew_seconds)
        self._now = now
        self._lock = threading.Lock()
        self.refresh_count = 0

    def _expiring(self) -> bool:
        return self._expires_at is not None and self._now() + self._skew >= self._expires_at

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or self._expiring():
                self._refresh_locked()
            assert self._token is not None
            return self._token

    def refresh_access_token(self, stale: str) -> str:
        with self._lock:
            if self._token is not None and self._token != stale:
                return self._token  # someone else refreshed already
            self._refresh_locked()
            assert self._token is not None
            return self._token

    def _refresh_locked(self) -> None:
        tokens = self._oauth.refresh(self._refresh_token, self._accounts_server)
        register_secret(tokens.access_token)
        self._token = tokens.access_token
        self._expires_at = tokens.expires_at
        self.refresh_count += 1
        if self._on_refresh is not None:
            self._on_refresh(tokens)
