"""Token cipher, redaction, and the compare-and-swap refresh of RefreshingTokenProvider."""
import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest

from ledgersync.zoho import RedactingFilter, RefreshingTokenProvider, TokenCipher, TokenSet, redact


def test_cipher_round_trip_and_wrong_key():
    cipher = TokenCipher(TokenCipher.generate_key())
    secret = "1000.aaaa.bbbb"
    sealed = cipher.encrypt(secret)
    assert secret not in sealed and cipher.decrypt(sealed) == secret
    with pytest.raises(ValueError):
        TokenCipher(TokenCipher.generate_key()).decrypt(sealed)


@pytest.mark.parametrize("text", [
    "Authorization: Zoho-oauthtoken 1000.abc123secretvalue",
    "POST /oauth/v2/token refresh_token=1000.zz99secret&client_secret=topsecret99",
    '{"access_token": "1000.jsonsecretvalue", "api_domain": "x"}',
    "revoke?token=1000.revokesecret1",
])
def test_redact_patterns(text):
    out = redact(text)
    assert "secret" not in out.replace("client_secret", "").replace("[REDACTED]", "") and "[REDACTED]" in out


def test_redacting_filter_scrubs_log_records(caplog):
    logger = logging.getLogger("ledgersync.test.redact")
    logger.addFilter(RedactingFilter())
    caplog.set_level(logging.INFO)
    logger.info("calling with %s", "Zoho-oauthtoken 1000.leakyleakyleaky")
    assert "leaky" not in caplog.text


class FakeOAuth:
    def __init__(self, now):
        self.count = 0
        self.now = now
        self.gate = threading.Event()

    def refresh(self, refresh_token, accounts_server=None):
        self.gate.wait(2)
        self.count += 1
        return TokenSet(f"1000.access{self.count}", refresh_token, "https://www.zohoapis.com",
                        self.now() + timedelta(hours=1))


def test_refreshes_only_if_stale_token_is_still_current():
    now = lambda: datetime(2025, 1, 1, tzinfo=timezone.utc)  # noqa: E731
    oauth = FakeOAuth(now)
    oauth.gate.set()
    saved = []
    provider = RefreshingTokenProvider(oauth, "1000.refresh", access_token="1000.old",
                                       expires_at=now() + timedelta(hours=1), on_refresh=saved.append, now=now)
    assert provider.access_token() == "1000.old" and oauth.count == 0
    assert provider.refresh_access_token("1000.old") == "1000.access1"
    assert provider.refresh_access_token("1000.old") == "1000.access1"  # second 401 with the old one
    assert oauth.count == 1 and len(saved) == 1


def test_many_threads_one_refresh():
    now = lambda: datetime(2025, 1, 1, tzinfo=timezone.utc)  # noqa: E731
    oauth = FakeOAuth(now)
    provider = RefreshingTokenProvider(oauth, "1000.refresh", access_token="1000.old",
                                       expires_at=now() + timedelta(hours=1), now=now)
    results = []
    threads = [threading.Thread(target=lambda: results.append(provider.refresh_access_token("1000.old")))
               for _ in range(8)]
    for t in threads:
        t.start()
    oauth.gate.set()
    for t in threads:
        t.join()
    assert oauth.count == 1 and set(results) == {"1000.access1"}


def test_refreshes_ahead_of_expiry():
    moment = [datetime(2025, 1, 1, tzinfo=timezone.utc)]
    oauth = FakeOAuth(lambda: moment[0])
    oauth.gate.set()
    provider = RefreshingTokenProvider(oauth, "1000.r", access_token="1000.old",
                                       expires_at=moment[0] + timedelta(seconds=120), skew_seconds=60,
                                       now=lambda: moment[0])
    assert provider.access_token() == "1000.old"
    moment[0] += timedelta(seconds=61)
    assert provider.access_token() == "1000.access1"
